package netflow

import (
	"encoding/binary"

	"github.com/vigil-ids/vigil/flow"
)

// parseFields reads count field specifiers; enterprise tells whether the
// high bit of a type announces a 4-byte enterprise number (IPFIX). It
// returns the bytes consumed.
func (d *Decoder) parseFields(b []byte, count int, enterprise bool) (int, bool) {
	d.flds = d.flds[:0]
	p := 0
	for range count {
		if p+4 > len(b) {
			return 0, false
		}
		f := field{id: binary.BigEndian.Uint16(b[p:]), length: binary.BigEndian.Uint16(b[p+2:])}
		p += 4
		if enterprise && f.id&0x8000 != 0 {
			if p+4 > len(b) {
				return 0, false
			}
			f.id &^= 0x8000
			f.pen = binary.BigEndian.Uint32(b[p:])
			p += 4
		}
		d.flds = append(d.flds, f)
	}
	return p, true
}

func (d *Decoder) v9TemplateSet(dom *domain, tr Transport, b []byte, h flow.Handler) {
	for len(b) >= 4 {
		id := binary.BigEndian.Uint16(b)
		count := int(binary.BigEndian.Uint16(b[2:]))
		if id < 256 {
			if !allZero(b) {
				d.fail(nil, dom, rBadTemplateID)
			}
			return
		}
		if count == 0 {
			// NetFlow v9 has no withdrawal: a template without fields is malformed.
			d.fail(nil, dom, rEmptyTemplate)
			b = b[4:]
			continue
		}
		n, ok := d.parseFields(b[4:], count, false)
		if !ok {
			d.fail(nil, dom, rShortTemplate)
			return
		}
		spec := b[2 : 4+n]
		b = b[4+n:]
		d.addTemplate(dom, tr, id, false, 0, spec, h)
	}
	if !allZero(b) {
		d.fail(nil, dom, rShortTemplate)
	}
}

func (d *Decoder) v9OptionsTemplateSet(dom *domain, tr Transport, b []byte, h flow.Handler) {
	for len(b) >= 6 {
		id := binary.BigEndian.Uint16(b)
		scopeLen := int(binary.BigEndian.Uint16(b[2:]))
		optLen := int(binary.BigEndian.Uint16(b[4:]))
		if id < 256 {
			if !allZero(b) {
				d.fail(nil, dom, rBadTemplateID)
			}
			return
		}
		if scopeLen%4 != 0 || optLen%4 != 0 {
			d.fail(nil, dom, rBadScope)
			return
		}
		need := 6 + scopeLen + optLen
		if need > len(b) {
			d.fail(nil, dom, rShortTemplate)
			return
		}
		spec := b[2:need]
		if scopeLen+optLen == 0 {
			d.fail(nil, dom, rEmptyTemplate)
			b = b[need:]
			continue
		}
		d.parseFields(b[6:need], (scopeLen+optLen)/4, false)
		b = b[need:]
		d.addTemplate(dom, tr, id, true, scopeLen/4, spec, h)
	}
	if !allZero(b) {
		d.fail(nil, dom, rShortTemplate)
	}
}

func (d *Decoder) ipfixTemplateSet(dom *domain, tr Transport, b []byte, options bool, h flow.Handler) {
	for len(b) >= 4 {
		id := binary.BigEndian.Uint16(b)
		count := int(binary.BigEndian.Uint16(b[2:]))
		if count == 0 {
			if id == 0 && allZero(b) {
				return // padding
			}
			b = b[4:]
			d.withdraw(dom, tr, id, options)
			continue
		}
		if id < 256 {
			d.fail(nil, dom, rBadTemplateID)
			return
		}
		hl, scope := 4, 0
		if options {
			if len(b) < 6 {
				d.fail(nil, dom, rShortTemplate)
				return
			}
			scope = int(binary.BigEndian.Uint16(b[4:]))
			hl = 6
		}
		n, ok := d.parseFields(b[hl:], count, true)
		if !ok {
			d.fail(nil, dom, rShortTemplate)
			return
		}
		spec := b[2 : hl+n]
		b = b[hl+n:]
		if options && (scope == 0 || scope > count) {
			d.fail(nil, dom, rBadScope)
			continue
		}
		d.addTemplate(dom, tr, id, options, 0, spec, h)
	}
	if !allZero(b) {
		d.fail(nil, dom, rShortTemplate)
	}
}

// withdraw handles an IPFIX template withdrawal: template id 2 in a template
// set or 3 in an options template set withdraws them all (RFC 7011 §8.1).
func (d *Decoder) withdraw(dom *domain, tr Transport, id uint16, options bool) {
	if tr == TransportUDP {
		d.fail(nil, dom, rWithdrawalUDP)
		return
	}
	dom.c.withdrawals++
	if (id == 2 && !options) || (id == 3 && options) {
		for k, t := range dom.templates {
			if t.options == options {
				delete(dom.templates, k)
			}
		}
		return
	}
	if id < 256 {
		d.fail(nil, dom, rBadTemplateID)
		return
	}
	t := dom.templates[id]
	if t == nil || t.options != options {
		d.fail(nil, dom, rWithdrawUnknown)
		return
	}
	delete(dom.templates, id)
}

// addTemplate defines or refreshes a template from d.flds, then decodes
// the data sets that were waiting for it.
func (d *Decoder) addTemplate(dom *domain, tr Transport, id uint16, options bool, skipScope int, spec []byte, h flow.Handler) {
	if options {
		dom.c.optionsTemplates++
	} else {
		dom.c.templates++
	}
	for i, f := range d.flds {
		// NetFlow v9 scope fields may have no value (a "System" scope).
		if f.length == 0 && i >= skipScope {
			d.fail(nil, dom, rZeroLengthField)
			return
		}
	}
	t := dom.templates[id]
	if t == nil || !t.sameSpec(options, spec) {
		if t == nil && len(dom.templates) >= d.cfg.MaxTemplates {
			d.fail(nil, dom, rTemplateLimit)
			return
		}
		t = compile(id, options, d.flds, skipScope, spec)
		if t.minLen == 0 {
			d.fail(nil, dom, rEmptyTemplate)
			return
		}
		if t.minLen > 0xffff-4 {
			// No set could hold one record; this also keeps every field
			// offset within the 16 bits of an op.
			d.fail(nil, dom, rTemplateTooLong)
			return
		}
		if t.badLength {
			d.fail(nil, dom, rBadFieldLength)
		}
		dom.templates[id] = t
	}
	t.seen = d.now
	t.udp = tr == TransportUDP
	if dom.pending > 0 {
		d.release(dom, t, h)
	}
}
