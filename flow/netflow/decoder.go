package netflow

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP era 0) to
// the Unix epoch.
const ntpEpochOffset = 2208988800

// msgHeader is what the records of a message need from its header.
type msgHeader struct {
	version   uint16
	exportSec uint32
	exportNs  uint32 // NetFlow v5 only
	sysUpTime uint32 // NetFlow v5 and v9: milliseconds since the exporter booted
	domain    uint32
}

func (h *msgHeader) exportTime() int64 {
	return int64(h.exportSec)*1e9 + int64(h.exportNs)
}

func (h *msgHeader) format() flow.Format {
	switch h.version {
	case 5:
		return flow.FormatNetFlowV5
	case 9:
		return flow.FormatNetFlowV9
	}
	return flow.FormatIPFIX
}

// counters are kept per observation domain and summed up in Stats.
type counters struct {
	messages, dataRecords, reverseRecords, optionsRecords uint64
	templates, optionsTemplates, withdrawals              uint64
	unknownSampling, undecodable                          uint64
	errs                                                  [numReasons]uint64
}

type domainKey struct {
	version uint16
	id      uint32
}

// domain is the state of one (exporter, version, observation domain or
// source id): its templates and what its options records announced.
type domain struct {
	exp       *exporter
	key       domainKey
	templates map[uint16]*template
	// samplers maps a sampler or selector id (IE 48 or 302) announced in
	// options data to its rate.
	samplers map[uint64]uint32
	// rate is a rate announced by options data without a sampler id, which
	// applies to the whole domain.
	rate       uint32
	sysInit    int64 // systemInitTimeMilliseconds from options data
	hasSysInit bool
	pending    int // data sets of this domain in the pending buffer
	c          counters
}

// exporter is the state of one exporter address.
type exporter struct {
	addr        netip.Addr
	defaultRate uint32
	messages    uint64
	errs        [numReasons]uint64
	domains     map[domainKey]*domain
	last        *domain
}

// scratch holds the values of a record that need the whole record before
// they become flow.Record fields.
type scratch struct {
	start, end, obs   uint64
	sysInit           uint64
	revPkts, revBytes uint64
	revFlags          uint8
	icmp              uint16
	samplerID         uint64
	interval, random  uint64
	alg               uint64
	pktInterval       uint64
	pktSpace          uint64
	size, population  uint64
	probability       float64
	frame             []byte // dataLinkFrameSection, valid during the record
	frameSize         uint64
}

// pendingSet is a data set held until its template arrives.
type pendingSet struct {
	dom   *domain
	id    uint16
	hdr   msgHeader
	added int64
	data  []byte
}

// Decoder decodes NetFlow v5, v9 and IPFIX messages. It is not safe for
// concurrent use.
type Decoder struct {
	cfg       Config
	defaults  map[netip.Addr]uint32
	exporters map[netip.Addr]*exporter
	last      *exporter
	errs      [numReasons]uint64 // not attributable to an exporter

	rec   flow.Record
	s     scratch
	tmp   flow.Record // options records are walked into this one
	flds  []field
	now   int64
	sweep int64 // clock of the next sweep of expired templates

	pending      []pendingSet
	pendingBytes int
	free         [][]byte

	firstErr error
}

// NewDecoder returns a Decoder with cfg, whose zero fields take their
// defaults.
func NewDecoder(cfg Config) *Decoder {
	cfg = cfg.withDefaults()
	d := &Decoder{
		cfg:       cfg,
		defaults:  make(map[netip.Addr]uint32, len(cfg.DefaultSamplingRate)),
		exporters: make(map[netip.Addr]*exporter),
	}
	for a, r := range cfg.DefaultSamplingRate {
		d.defaults[a.Unmap()] = r
	}
	return d
}

// fail counts a reason against the narrowest known scope and remembers the
// first fault of the message for Decode's result.
func (d *Decoder) fail(exp *exporter, dom *domain, r reason) {
	switch {
	case dom != nil:
		dom.c.errs[r]++
	case exp != nil:
		exp.errs[r]++
	default:
		d.errs[r]++
	}
	if d.firstErr == nil && r.isError() {
		d.firstErr = reasonErrors[r]
	}
}

func (d *Decoder) exporter(addr netip.Addr) *exporter {
	if e := d.last; e != nil && e.addr == addr {
		return e
	}
	e := d.exporters[addr]
	if e == nil {
		if len(d.exporters) >= d.cfg.MaxExporters {
			return nil
		}
		e = &exporter{addr: addr, defaultRate: d.defaults[addr], domains: make(map[domainKey]*domain)}
		d.exporters[addr] = e
	}
	d.last = e
	return e
}

func (d *Decoder) domain(exp *exporter, version uint16, id uint32) *domain {
	k := domainKey{version, id}
	if dom := exp.last; dom != nil && dom.key == k {
		return dom
	}
	dom := exp.domains[k]
	if dom == nil {
		if len(exp.domains) >= d.cfg.MaxDomains {
			d.fail(exp, nil, rDomainLimit)
			return nil
		}
		dom = &domain{exp: exp, key: k, templates: make(map[uint16]*template)}
		exp.domains[k] = dom
	}
	exp.last = dom
	return dom
}

// Decode decodes one message (a UDP payload, or one message read from a file
// or stream) whose version, 5, 9 or 10, is read from its header, and calls h
// for each flow record, including records of earlier data sets that were
// waiting for a template this message defines. The record is only valid
// during the call. The error, if any, wraps ErrTruncated, ErrVersion,
// ErrMalformed or ErrLimit and names the first fault; every fault is also
// counted in Stats.
func (d *Decoder) Decode(exporter netip.AddrPort, tr Transport, msg []byte, h flow.Handler) error {
	d.firstErr = nil
	exp := d.exporter(exporter.Addr().Unmap())
	if exp == nil {
		d.fail(nil, nil, rExporterLimit)
		return d.firstErr
	}
	exp.messages++
	if tr == TransportUDP || len(d.pending) > 0 {
		d.now = d.cfg.Now().UnixNano()
		d.housekeep(tr)
	}
	if len(msg) < 4 {
		d.fail(exp, nil, rShortHeader)
		return d.firstErr
	}
	switch binary.BigEndian.Uint16(msg) {
	case 5:
		d.decodeV5(exp, msg, h)
	case 9:
		d.decodeV9(exp, tr, msg, h)
	case 10:
		d.decodeIPFIX(exp, tr, msg, h)
	default:
		d.fail(exp, nil, rBadVersion)
	}
	return d.firstErr
}

func (d *Decoder) decodeV9(exp *exporter, tr Transport, msg []byte, h flow.Handler) {
	if len(msg) < 20 {
		d.fail(exp, nil, rShortHeader)
		return
	}
	hdr := msgHeader{
		version:   9,
		sysUpTime: binary.BigEndian.Uint32(msg[4:]),
		exportSec: binary.BigEndian.Uint32(msg[8:]),
		domain:    binary.BigEndian.Uint32(msg[16:]),
	}
	dom := d.domain(exp, 9, hdr.domain)
	if dom == nil {
		return
	}
	dom.c.messages++
	d.decodeSets(dom, tr, &hdr, msg[20:], h)
}

func (d *Decoder) decodeIPFIX(exp *exporter, tr Transport, msg []byte, h flow.Handler) {
	if len(msg) < 16 {
		d.fail(exp, nil, rShortHeader)
		return
	}
	n := int(binary.BigEndian.Uint16(msg[2:]))
	if n < 16 {
		d.fail(exp, nil, rShortHeader)
		return
	}
	if n > len(msg) {
		d.fail(exp, nil, rLengthMismatch)
		return
	}
	if n < len(msg) {
		d.fail(exp, nil, rTrailingBytes)
		msg = msg[:n]
	}
	hdr := msgHeader{
		version:   10,
		exportSec: binary.BigEndian.Uint32(msg[4:]),
		domain:    binary.BigEndian.Uint32(msg[12:]),
	}
	dom := d.domain(exp, 10, hdr.domain)
	if dom == nil {
		return
	}
	dom.c.messages++
	d.decodeSets(dom, tr, &hdr, msg[16:], h)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeSets walks the sets (v9 FlowSets) of a message.
func (d *Decoder) decodeSets(dom *domain, tr Transport, hdr *msgHeader, b []byte, h flow.Handler) {
	v9 := hdr.version == 9
	for len(b) > 0 {
		if len(b) < 4 {
			if !allZero(b) {
				d.fail(nil, dom, rBadSetLength)
			}
			return
		}
		id := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			// Exporters that pad a message past its last set pad with zeros.
			if v9 && allZero(b) {
				return
			}
			d.fail(nil, dom, rBadSetLength)
			return
		}
		body := b[4:n]
		b = b[n:]
		switch {
		case id >= 256:
			d.dataSet(dom, tr, hdr, id, body, h)
		case v9 && id == 0:
			d.v9TemplateSet(dom, tr, body, h)
		case v9 && id == 1:
			d.v9OptionsTemplateSet(dom, tr, body, h)
		case !v9 && (id == 2 || id == 3):
			d.ipfixTemplateSet(dom, tr, body, id == 3, h)
		default:
			d.fail(nil, dom, rReservedSetID)
		}
	}
}

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

// dataSet decodes a data set, or holds it until its template arrives.
func (d *Decoder) dataSet(dom *domain, tr Transport, hdr *msgHeader, id uint16, b []byte, h flow.Handler) {
	t := dom.templates[id]
	if t != nil && t.udp && d.now-t.seen > int64(d.cfg.TemplateTimeout) {
		delete(dom.templates, id)
		d.fail(nil, dom, rTemplateExpired)
		t = nil
	}
	if t == nil {
		d.hold(dom, hdr, id, b)
		return
	}
	if t.options {
		d.optionsRecords(dom, t, hdr, b)
		return
	}
	d.dataRecords(dom, t, hdr, b, h)
}

// walk applies the operations of t to the record at b[pos:] and returns the
// position after it, or false when a variable-length field overruns b.
func walk(t *template, b []byte, pos int, r *flow.Record, s *scratch) (int, bool) {
	base := pos
	for _, o := range t.ops {
		at := base + int(o.off)
		if o.kind == opVar || o.kind == opVarFrame {
			if at >= len(b) {
				return 0, false
			}
			n := int(b[at])
			at++
			if n == 255 {
				if at+2 > len(b) {
					return 0, false
				}
				n = int(binary.BigEndian.Uint16(b[at:]))
				at += 2
			}
			base = at + n
			if base > len(b) {
				return 0, false
			}
			if o.kind == opVarFrame {
				s.frame = b[at:base]
			}
			continue
		}
		end := at + int(o.len)
		if end > len(b) {
			return 0, false
		}
		v := b[at:end]
		switch o.kind {
		case opSrc4:
			r.SrcAddr = netip.AddrFrom4([4]byte(v))
		case opDst4:
			r.DstAddr = netip.AddrFrom4([4]byte(v))
		case opSrc6:
			r.SrcAddr = netip.AddrFrom16([16]byte(v)).Unmap()
		case opDst6:
			r.DstAddr = netip.AddrFrom16([16]byte(v)).Unmap()
		case opSrc4NZ:
			if binary.BigEndian.Uint32(v) != 0 || !r.SrcAddr.IsValid() {
				r.SrcAddr = netip.AddrFrom4([4]byte(v))
			}
		case opDst4NZ:
			if binary.BigEndian.Uint32(v) != 0 || !r.DstAddr.IsValid() {
				r.DstAddr = netip.AddrFrom4([4]byte(v))
			}
		case opSrc6NZ:
			if !allZero(v) || !r.SrcAddr.IsValid() {
				r.SrcAddr = netip.AddrFrom16([16]byte(v)).Unmap()
			}
		case opDst6NZ:
			if !allZero(v) || !r.DstAddr.IsValid() {
				r.DstAddr = netip.AddrFrom16([16]byte(v)).Unmap()
			}
		case opSrcPort:
			r.SrcPort = uint16(readUint(v))
		case opDstPort:
			r.DstPort = uint16(readUint(v))
		case opProto:
			r.Proto = v[len(v)-1]
		case opTCPFlags:
			r.TCPFlags = v[len(v)-1]
		case opPackets:
			r.Packets = readUint(v)
		case opBytes:
			r.Bytes = readUint(v)
		case opRevPackets:
			s.revPkts = readUint(v)
		case opRevBytes:
			s.revBytes = readUint(v)
		case opRevTCPFlags:
			s.revFlags = v[len(v)-1]
		case opDirection:
			switch readUint(v) {
			case 0:
				r.Direction = flow.DirectionIngress
			case 1:
				r.Direction = flow.DirectionEgress
			}
		case opBiflowDir:
			if x := readUint(v); x <= 3 {
				r.BiflowDirection = flow.BiflowDirection(x + 1)
			}
		case opICMPTypeCode:
			s.icmp = uint16(readUint(v))
		case opICMPType:
			s.icmp = s.icmp&0x00ff | uint16(v[len(v)-1])<<8
		case opICMPCode:
			s.icmp = s.icmp&0xff00 | uint16(v[len(v)-1])
		case opStart:
			s.start = readUint(v)
		case opEnd:
			s.end = readUint(v)
		case opObsTime:
			s.obs = readUint(v)
		case opSysInit:
			s.sysInit = readUint(v)
		case opSamplerID:
			s.samplerID = readUint(v)
		case opInterval:
			s.interval = readUint(v)
		case opRandomInterval:
			s.random = readUint(v)
		case opSelectorAlg:
			s.alg = readUint(v)
		case opPktInterval:
			s.pktInterval = readUint(v)
		case opPktSpace:
			s.pktSpace = readUint(v)
		case opSize:
			s.size = readUint(v)
		case opPopulation:
			s.population = readUint(v)
		case opFrame:
			s.frame = v
		case opFrameSize:
			s.frameSize = readUint(v)
		case opProbability:
			if len(v) == 4 {
				s.probability = float64(math.Float32frombits(binary.BigEndian.Uint32(v)))
			} else {
				s.probability = math.Float64frombits(binary.BigEndian.Uint64(v))
			}
		}
	}
	end := base + t.tail
	if end > len(b) {
		return 0, false
	}
	return end, true
}

// dataRecords decodes the records of a data set and hands them to h.
func (d *Decoder) dataRecords(dom *domain, t *template, hdr *msgHeader, b []byte, h flow.Handler) {
	exp := dom.exp
	r, s := &d.rec, &d.s
	base := flow.Record{Exporter: exp.addr, ObsDomain: hdr.domain, Format: hdr.format(), Flags: t.flags}
	setRate := dom.rate
	if setRate == 0 {
		setRate = exp.defaultRate
	}
	var sysInit int64 = -1
	if dom.hasSysInit {
		sysInit = dom.sysInit
	}
	lastID, lastRate, haveLast := uint64(0), uint32(0), false
	pos := 0
	for len(b)-pos >= t.minLen {
		*r = base
		if t.fast {
			fastWalk(&t.fastLayout, b[pos:pos+t.minLen], r, s)
			pos += t.minLen
		} else {
			next, ok := walk(t, b, pos, r, s)
			if !ok {
				d.fail(nil, dom, rBadVarLength)
				return
			}
			pos = next
		}

		// Times.
		si := sysInit
		if t.has[opSysInit] {
			si = int64(s.sysInit)
		}
		start, okS := timeOf(t.startKind, s.start, hdr, si)
		end, okE := timeOf(t.endKind, s.end, hdr, si)
		switch {
		case okS && okE:
		case okS:
			end = start
		case okE:
			start = end
		default:
			obs, ok := timeOf(t.obsKind, s.obs, hdr, si)
			if !ok {
				obs = hdr.exportTime()
				if t.startKind == timeUptime || t.endKind == timeUptime {
					// IPFIX uptime-relative times need the system init time
					// (IE 160), which this exporter has not sent yet.
					d.fail(nil, dom, rNoSysInit)
				}
			}
			start, end = obs, obs
		}
		r.Start = time.Unix(0, start).UTC()
		r.End = time.Unix(0, end).UTC()

		// Sampling: the record's own parameters, then its sampler's, then the
		// domain's, then the configured default.
		var rate uint32
		if t.perRecordRate {
			rate = rateOf(&t.has, s)
		}
		if rate == 0 && t.has[opSamplerID] {
			if !haveLast || s.samplerID != lastID {
				lastID, lastRate, haveLast = s.samplerID, dom.samplers[s.samplerID], true
			}
			rate = lastRate
		}
		if rate == 0 {
			rate = setRate
		}
		if rate == 0 {
			dom.c.unknownSampling++
		}
		r.SamplingRate = rate

		if t.frame {
			// A packet report: one sampled packet of dataLinkFrameSize
			// bytes (or of the section's length when the size is absent).
			parseFrame(s.frame, r)
			if !t.has[opPackets] {
				r.Packets = 1
			}
			if !t.has[opBytes] {
				r.Bytes = uint64(len(s.frame))
				if t.has[opFrameSize] {
					r.Bytes = s.frameSize
				}
			}
		}
		if t.icmp && (r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6) && r.SrcPort == 0 && r.DstPort == 0 {
			r.DstPort = s.icmp
		}
		dom.c.dataRecords++
		h(r)

		if t.reverse && (s.revPkts != 0 || s.revBytes != 0) {
			reverse(t, r, s)
			if rate == 0 {
				dom.c.unknownSampling++
			}
			dom.c.reverseRecords++
			h(r)
		}
	}
	if pos < len(b) && !allZero(b[pos:]) {
		d.fail(nil, dom, rRecordTruncated)
	}
}

// reverse turns the forward record of an RFC 5103 biflow into its reverse
// record. BiflowDirection keeps describing the record's own endpoints: the
// initiator values swap, arbitrary and perimeter stay as exported (with
// FlagReverse telling that the exported source is now the destination).
func reverse(t *template, r *flow.Record, s *scratch) {
	r.SrcAddr, r.DstAddr = r.DstAddr, r.SrcAddr
	r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
	r.Packets, r.Bytes = s.revPkts, s.revBytes
	if t.has[opRevTCPFlags] {
		r.TCPFlags = s.revFlags
		r.Flags |= flow.FlagHasTCPFlags
	} else {
		r.TCPFlags = 0
		r.Flags &^= flow.FlagHasTCPFlags
	}
	r.Flags |= flow.FlagReverse
	switch r.BiflowDirection {
	case flow.BiflowInitiator:
		r.BiflowDirection = flow.BiflowReverseInitiator
	case flow.BiflowReverseInitiator:
		r.BiflowDirection = flow.BiflowInitiator
	}
}

// timeOf converts a time field to Unix nanoseconds. sysInitMs is the
// exporter's boot time in Unix milliseconds, or -1 when unknown.
func timeOf(k timeKind, v uint64, hdr *msgHeader, sysInitMs int64) (int64, bool) {
	switch k {
	case timeNTPMicro:
		// The fraction is rounded to the microsecond the exporter meant:
		// truncating it would turn .492060 into .492059999.
		sec := int64(v>>32) - ntpEpochOffset
		frac := v & 0xffffffff
		return sec*1e9 + int64((frac*1e6+1<<31)>>32)*1e3, true
	case timeNTPNano:
		sec := int64(v>>32) - ntpEpochOffset
		frac := v & 0xffffffff
		return sec*1e9 + int64((frac*1e9+1<<31)>>32), true
	case timeMillis:
		return int64(v) * 1e6, true
	case timeSeconds:
		return int64(v) * 1e9, true
	case timeDeltaUs:
		return hdr.exportTime() - int64(v)*1e3, true
	case timeUptime:
		if sysInitMs >= 0 {
			return (sysInitMs + int64(v)) * 1e6, true
		}
		if hdr.version != 10 {
			// The signed difference handles sysUpTime wrapping after 49.7
			// days, and records stamped slightly after the header.
			return hdr.exportTime() - int64(int32(hdr.sysUpTime-uint32(v)))*1e6, true
		}
	}
	return 0, false
}

// rateOf computes a sampling rate from the sampling parameters of a record:
// the selector algorithm picks the parameters when it is given; otherwise
// the most specific parameters present win. It returns 0 when none apply.
func rateOf(has *[numOpKinds]bool, s *scratch) uint32 {
	nOfN := has[opSize] && has[opPopulation] && s.size > 0 && s.population > 0
	count := has[opPktInterval] && has[opPktSpace] && s.pktInterval > 0
	prob := has[opProbability] && s.probability > 0 && s.probability <= 1
	alg := uint64(0)
	if has[opSelectorAlg] {
		alg = s.alg
	}
	nOfNRate := func() uint32 { return clampRate(math.Round(float64(s.population) / float64(s.size))) }
	countRate := func() uint32 {
		return clampRate(math.Round(float64(s.pktInterval+s.pktSpace) / float64(s.pktInterval)))
	}
	probRate := func() uint32 { return clampRate(math.Round(1 / s.probability)) }
	switch {
	case alg == algRandomNOutOfN && nOfN:
		return nOfNRate()
	case alg == algSystematicCount && count:
		return countRate()
	case alg == algUniformProb && prob:
		return probRate()
	case nOfN:
		return nOfNRate()
	case count:
		return countRate()
	case prob:
		return probRate()
	case has[opRandomInterval] && s.random > 0:
		return clampRate(float64(s.random))
	case has[opInterval] && s.interval > 0:
		return clampRate(float64(s.interval))
	}
	return 0
}

func clampRate(f float64) uint32 {
	if f < 1 || math.IsNaN(f) {
		return 0
	}
	if f > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(f)
}

// optionsRecords decodes options data: sampler rates per sampler or
// selector id, a domain-wide rate, and the exporter's system init time.
func (d *Decoder) optionsRecords(dom *domain, t *template, hdr *msgHeader, b []byte) {
	r, s := &d.tmp, &d.s
	pos := 0
	for len(b)-pos >= t.minLen {
		next, ok := walk(t, b, pos, r, s)
		if !ok {
			d.fail(nil, dom, rBadVarLength)
			return
		}
		pos = next
		dom.c.optionsRecords++
		if t.has[opSysInit] {
			dom.sysInit, dom.hasSysInit = int64(s.sysInit), true
		}
		rate := rateOf(&t.has, s)
		if rate == 0 {
			continue
		}
		if !t.has[opSamplerID] {
			dom.rate = rate
			continue
		}
		if dom.samplers == nil {
			dom.samplers = make(map[uint64]uint32)
		}
		if _, ok := dom.samplers[s.samplerID]; !ok && len(dom.samplers) >= d.cfg.MaxTemplates {
			d.fail(nil, dom, rSamplerLimit)
			continue
		}
		dom.samplers[s.samplerID] = rate
	}
	if pos < len(b) && !allZero(b[pos:]) {
		d.fail(nil, dom, rRecordTruncated)
	}
}

func (d *Decoder) decodeV5(exp *exporter, msg []byte, h flow.Handler) {
	const hdrLen, recLen = 24, 48
	if len(msg) < hdrLen {
		d.fail(exp, nil, rShortHeader)
		return
	}
	hdr := msgHeader{
		version:   5,
		sysUpTime: binary.BigEndian.Uint32(msg[4:]),
		exportSec: binary.BigEndian.Uint32(msg[8:]),
		exportNs:  binary.BigEndian.Uint32(msg[12:]),
		domain:    uint32(msg[20])<<8 | uint32(msg[21]),
	}
	dom := d.domain(exp, 5, hdr.domain)
	if dom == nil {
		return
	}
	dom.c.messages++
	count := int(binary.BigEndian.Uint16(msg[2:]))
	avail := (len(msg) - hdrLen) / recLen
	switch {
	case count == 0:
		d.fail(nil, dom, rV5BadCount)
		return
	case count > avail:
		d.fail(nil, dom, rV5Truncated)
		count = avail
	case count < avail || (len(msg)-hdrLen)%recLen != 0:
		d.fail(nil, dom, rTrailingBytes)
	}
	// The low 14 bits are the interval; 0 says the exporter does not sample,
	// unless the configuration knows better.
	rate := uint32(binary.BigEndian.Uint16(msg[22:]) & 0x3fff)
	if rate == 0 {
		rate = exp.defaultRate
		if rate == 0 {
			rate = 1
		}
	}
	r := &d.rec
	for i := range count {
		b := msg[hdrLen+i*recLen : hdrLen+(i+1)*recLen]
		*r = flow.Record{
			SrcAddr:      netip.AddrFrom4([4]byte(b[0:4])),
			DstAddr:      netip.AddrFrom4([4]byte(b[4:8])),
			Exporter:     exp.addr,
			Packets:      uint64(binary.BigEndian.Uint32(b[16:])),
			Bytes:        uint64(binary.BigEndian.Uint32(b[20:])),
			SamplingRate: rate,
			ObsDomain:    hdr.domain,
			SrcPort:      binary.BigEndian.Uint16(b[32:]),
			DstPort:      binary.BigEndian.Uint16(b[34:]),
			TCPFlags:     b[37],
			Proto:        b[38],
			Format:       flow.FormatNetFlowV5,
			Flags:        flow.FlagHasTCPFlags | flow.FlagDeltaCounters,
		}
		start, _ := timeOf(timeUptime, uint64(binary.BigEndian.Uint32(b[24:])), &hdr, -1)
		end, _ := timeOf(timeUptime, uint64(binary.BigEndian.Uint32(b[28:])), &hdr, -1)
		r.Start = time.Unix(0, start).UTC()
		r.End = time.Unix(0, end).UTC()
		dom.c.dataRecords++
		h(r)
	}
}
