package netflow

import (
	"encoding/binary"
	"net/netip"

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
