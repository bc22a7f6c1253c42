package netflow

import "github.com/vigil-ids/vigil/flow"

// hold copies a data set whose template is unknown into the bounded pending
// buffer, evicting the oldest sets to make room.
func (d *Decoder) hold(dom *domain, hdr *msgHeader, id uint16, b []byte) {
	if d.cfg.PendingMax == 0 {
		d.fail(nil, dom, rPendingDisabled)
		dom.c.undecodable++
		return
	}
	if len(b) > d.cfg.PendingMaxBytes {
		d.fail(nil, dom, rPendingEvicted)
		dom.c.undecodable++
		return
	}
	for len(d.pending) > 0 && (len(d.pending) >= d.cfg.PendingMax || d.pendingBytes+len(b) > d.cfg.PendingMaxBytes) {
		d.drop(0, rPendingEvicted)
	}
	if len(d.pending) == 0 {
		// The clock is only read per message when something may expire.
		d.now = d.cfg.Now().UnixNano()
	}
	var buf []byte
	if n := len(d.free); n > 0 {
		buf, d.free = d.free[n-1][:0], d.free[:n-1]
	}
	buf = append(buf, b...)
	d.pending = append(d.pending, pendingSet{dom: dom, id: id, hdr: *hdr, added: d.now, data: buf})
	d.pendingBytes += len(buf)
	dom.pending++
}

// remove takes entry i out of the pending buffer, keeping its memory.
func (d *Decoder) remove(i int) {
	p := d.pending[i]
	p.dom.pending--
	d.pendingBytes -= len(p.data)
	if len(d.free) < 64 {
		d.free = append(d.free, p.data[:0])
	}
	copy(d.pending[i:], d.pending[i+1:])
	d.pending[len(d.pending)-1] = pendingSet{}
	d.pending = d.pending[:len(d.pending)-1]
}

// drop gives up on pending entry i and counts it as undecodable.
func (d *Decoder) drop(i int, r reason) {
	dom := d.pending[i].dom
	d.fail(nil, dom, r)
	dom.c.undecodable++
	d.remove(i)
}

// release decodes the pending sets that wait for template t of dom, in the
// order they arrived.
func (d *Decoder) release(dom *domain, t *template, h flow.Handler) {
	for i := 0; i < len(d.pending); {
		p := &d.pending[i]
		if p.dom != dom || p.id != t.id {
			i++
			continue
		}
		hdr := p.hdr
		if t.options {
			d.optionsRecords(dom, t, &hdr, p.data)
		} else {
			d.dataRecords(dom, t, &hdr, p.data, h)
		}
		d.remove(i)
	}
}

// housekeep expires pending sets and, over UDP, templates.
func (d *Decoder) housekeep(tr Transport) {
	maxAge := int64(d.cfg.PendingMaxAge)
	for len(d.pending) > 0 && d.now-d.pending[0].added > maxAge {
		d.drop(0, rPendingExpired)
	}
	if tr != TransportUDP || d.now < d.sweep {
		return
	}
	timeout := int64(d.cfg.TemplateTimeout)
	if d.sweep != 0 {
		for _, exp := range d.exporters {
			for _, dom := range exp.domains {
				for id, t := range dom.templates {
					if t.udp && d.now-t.seen > timeout {
						delete(dom.templates, id)
						d.fail(nil, dom, rTemplateExpired)
					}
				}
			}
		}
	}
	d.sweep = d.now + timeout/4
}

// Flush ends the input: pending sets whose template is known by now are
// decoded, and the others are counted as undecodable.
func (d *Decoder) Flush(h flow.Handler) {
	for len(d.pending) > 0 {
		p := &d.pending[0]
		if t := p.dom.templates[p.id]; t != nil {
			d.release(p.dom, t, h)
			continue
		}
		d.drop(0, rNoTemplate)
	}
}
