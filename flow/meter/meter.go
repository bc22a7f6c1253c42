// Package meter turns raw packets into flow records, as softflowd or
// nfpcapd do, so that a capture of plain traffic can be scanned like a
// NetFlow export.
//
// Packets are tracked per bidirectional 5-tuple. The side that sent the
// first SYN (or received the first SYN-ACK) is the initiator; each finished
// connection yields one record per direction that carried packets, and the
// record whose source is the initiator comes first. The reply direction is
// marked with flow.FlagReverse and BiflowReverseInitiator, so consumers can
// tell "who connected to whom" without guessing from port numbers.
//
// Time is the packets' own time, never the wall clock: a capture that
// starts at the epoch meters exactly like a live one. Timestamps that go
// backwards do not move the meter's clock back.
package meter

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/pcap"
)

// Config holds the expiry rules. The defaults follow softflowd's
// (general and UDP idle 300 s) with a shorter grace after a TCP close, and
// Cisco's 30-minute active timeout so that long connections are reported
// while they last.
type Config struct {
	// IdleTimeout ends a flow that has seen no packet for this long.
	IdleTimeout time.Duration
	// ActiveTimeout reports a flow that has lasted this long and starts
	// counting it afresh (the connection's initiator is remembered).
	ActiveTimeout time.Duration
	// ClosedTimeout ends a TCP flow this long after an RST, or after a
	// FIN in each direction, so that the final ACKs still count.
	ClosedTimeout time.Duration
	// MaxFlows bounds the table; when full, the least recently active
	// flows are ended early and counted in Stats.Forced.
	MaxFlows int
}

// DefaultConfig returns the defaults: idle 300 s, active 1800 s, closed
// 10 s, 65536 flows.
func DefaultConfig() Config {
	return Config{
		IdleTimeout:   300 * time.Second,
		ActiveTimeout: 1800 * time.Second,
		ClosedTimeout: 10 * time.Second,
		MaxFlows:      65536,
	}
}

// Stats counts the meter's work.
type Stats struct {
	Packets uint64 // packets metered
	Records uint64 // records emitted
	Idle    uint64 // flows ended by the idle timeout
	Active  uint64 // reports forced by the active timeout
	Closed  uint64 // TCP flows ended after FIN/RST
	Forced  uint64 // flows ended early because the table was full
	Flushed uint64 // flows still open at Flush
}

// key is the canonical bidirectional 5-tuple: endpoint a sorts before b.
type key struct {
	a, b   netip.Addr
	ap, bp uint16
	proto  uint8
}

type dirCounters struct {
	start, end     time.Time
	packets, bytes uint64
	flags          uint8
	icmp           uint16 // ICMP type<<8|code of the direction's last packet
}

// ending is a flow due to be reported; keep is set when the active timeout
// reports it but the flow goes on.
type ending struct {
	s    *state
	keep bool
}

// state is one tracked flow. fwd counts packets from the initiator.
type state struct {
	k              key
	init, resp     netip.Addr
	initP, respP   uint16
	known          bool // the initiator was seen to open the connection
	fwd, rev       dirCounters
	first, last    time.Time
	finFwd, finRev bool
	rst            bool
	closedAt       time.Time
}

// Meter is the flow table. It is not safe for concurrent use.
type Meter struct {
	cfg      Config
	flows    map[key]*state
	free     []*state
	now      time.Time
	lastScan time.Time
	out      []ending
	byLast   []*state // evict's scratch, kept: a flood of tuples evicts often
	stats    Stats
}

// New returns an empty Meter; zero fields of cfg take their defaults.
func New(cfg Config) *Meter {
	def := DefaultConfig()
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.ActiveTimeout <= 0 {
		cfg.ActiveTimeout = def.ActiveTimeout
	}
	if cfg.ClosedTimeout <= 0 {
		cfg.ClosedTimeout = def.ClosedTimeout
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = def.MaxFlows
	}
	return &Meter{cfg: cfg, flows: make(map[key]*state)}
}

// Stats returns the counters.
func (m *Meter) Stats() Stats { return m.stats }

// Len returns the number of flows currently tracked.
func (m *Meter) Len() int { return len(m.flows) }

// Add meters one packet. Records of flows that end are passed to h.
func (m *Meter) Add(p *pcap.Packet, h flow.Handler) {
	m.stats.Packets++
	if p.Time.After(m.now) {
		m.now = p.Time
	}
	if m.now.Sub(m.lastScan) >= time.Second {
		m.lastScan = m.now
		m.expire(h, false)
	}

	k := canonical(p)
	s := m.flows[k]
	syn := p.Proto == flow.ProtoTCP && p.TCPFlags&(flow.TCPSyn|flow.TCPAck) == flow.TCPSyn
	if s != nil && syn && (s.rst || (s.finFwd && s.finRev)) {
		// A new connection reusing the 5-tuple of a closed one.
		m.stats.Closed++
		m.emitOne(s, h)
		s = nil
	}
	if s == nil {
		if len(m.flows) >= m.cfg.MaxFlows {
			m.evict(h)
		}
		s = m.newState(k, p)
	}

	forward := (p.Src == s.init && p.SrcPort == s.initP)
	if s.init == s.resp && s.initP == s.respP {
		forward = true // a flow from an endpoint to itself has one direction
	}
	d := &s.rev
	if forward {
		d = &s.fwd
	}
	if d.packets == 0 || p.Time.Before(d.start) {
		d.start = p.Time
	}
	if p.Time.After(d.end) {
		d.end = p.Time
	}
	d.packets++
	d.bytes += uint64(p.IPLength)
	d.flags |= p.TCPFlags
	d.icmp = p.DstPort
	if p.Time.Before(s.first) {
		s.first = p.Time
	}
	if p.Time.After(s.last) {
		s.last = p.Time
	}
	if p.Proto == flow.ProtoTCP {
		closed := s.rst || (s.finFwd && s.finRev)
		if p.TCPFlags&flow.TCPRst != 0 {
			s.rst = true
		}
		if p.TCPFlags&flow.TCPFin != 0 {
			if forward {
				s.finFwd = true
			} else {
				s.finRev = true
			}
		}
		if !closed && (s.rst || (s.finFwd && s.finRev)) {
			s.closedAt = p.Time
		}
	}
}

// canonical orders the endpoints so both directions share a key.
func canonical(p *pcap.Packet) key {
	k := key{proto: p.Proto}
	c := p.Src.Compare(p.Dst)
	fromA := c < 0 || (c == 0 && p.SrcPort <= p.DstPort)
	if fromA {
		k.a, k.b, k.ap, k.bp = p.Src, p.Dst, p.SrcPort, p.DstPort
	} else {
		k.a, k.b, k.ap, k.bp = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	if p.Proto == flow.ProtoICMP || p.Proto == flow.ProtoICMPv6 {
		// An echo request (type 8/128) and its reply (0/129) carry
		// different type codes; key ICMP on addresses and the
		// direction-free part so the reply joins the request.
		k.ap, k.bp = 0, 0
	}
	return k
}

func (m *Meter) newState(k key, p *pcap.Packet) *state {
	var s *state
	if n := len(m.free); n > 0 {
		s = m.free[n-1]
		m.free = m.free[:n-1]
		*s = state{}
	} else {
		s = new(state)
	}
	s.k = k
	s.first, s.last = p.Time, p.Time
	s.init, s.initP, s.resp, s.respP = p.Src, p.SrcPort, p.Dst, p.DstPort
	if p.Proto == flow.ProtoTCP {
		switch p.TCPFlags & (flow.TCPSyn | flow.TCPAck) {
		case flow.TCPSyn:
			s.known = true
		case flow.TCPSyn | flow.TCPAck:
			// The capture started between SYN and SYN-ACK: the receiver
			// of the SYN-ACK opened the connection.
			s.known = true
			s.init, s.initP, s.resp, s.respP = p.Dst, p.DstPort, p.Src, p.SrcPort
		}
	}
	m.flows[k] = s
	return s
}

// expire ends flows by the timeouts at the meter's clock; all ends every
// flow (Flush).
func (m *Meter) expire(h flow.Handler, all bool) {
	m.out = m.out[:0]
	for _, s := range m.flows {
		switch {
		case all:
			m.stats.Flushed++
		case (s.rst || (s.finFwd && s.finRev)) && m.now.Sub(s.closedAt) >= m.cfg.ClosedTimeout:
			m.stats.Closed++
		case m.now.Sub(s.last) >= m.cfg.IdleTimeout:
			m.stats.Idle++
		case m.now.Sub(s.first) >= m.cfg.ActiveTimeout:
			m.stats.Active++
			m.out = append(m.out, ending{s, true})
			continue
		default:
			continue
		}
		m.out = append(m.out, ending{s, false})
	}
	m.emitSorted(h)
}

// emitSorted emits m.out in start order so output is deterministic; flows
// that hit the active timeout are reset and stay in the table.
func (m *Meter) emitSorted(h flow.Handler) {
	slices.SortFunc(m.out, func(x, y ending) int {
		if c := x.s.first.Compare(y.s.first); c != 0 {
			return c
		}
		return compareKey(x.s.k, y.s.k)
	})
	for _, e := range m.out {
		s := e.s
		if e.keep {
			m.report(s, h)
			s.fwd, s.rev = dirCounters{}, dirCounters{}
			s.first = s.last
			continue
		}
		m.emitOne(s, h)
	}
	m.out = m.out[:0]
}

// emitOne reports s and removes it from the table.
func (m *Meter) emitOne(s *state, h flow.Handler) {
	m.report(s, h)
	delete(m.flows, s.k)
	if len(m.free) < 1024 {
		m.free = append(m.free, s)
	}
}

func (m *Meter) report(s *state, h flow.Handler) {
	var r flow.Record
	r.Proto = s.k.proto
	r.Format = flow.FormatPacket
	r.SamplingRate = 1
	r.Flags = flow.FlagDeltaCounters
	if r.Proto == flow.ProtoTCP {
		r.Flags |= flow.FlagHasTCPFlags
	}
	fwdDir, revDir := flow.BiflowArbitrary, flow.BiflowArbitrary
	if s.known {
		fwdDir, revDir = flow.BiflowInitiator, flow.BiflowReverseInitiator
	}
	icmp := r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6
	if s.fwd.packets > 0 {
		fill(&r, &s.fwd, s.init, s.resp, s.initP, s.respP, icmp)
		r.BiflowDirection = fwdDir
		m.stats.Records++
		h(&r)
	}
	if s.rev.packets > 0 {
		fill(&r, &s.rev, s.resp, s.init, s.respP, s.initP, icmp)
		r.BiflowDirection = revDir
		r.Flags |= flow.FlagReverse
		m.stats.Records++
		h(&r)
	}
}

func fill(r *flow.Record, d *dirCounters, src, dst netip.Addr, sp, dp uint16, icmp bool) {
	r.Start, r.End = d.start, d.end
	r.SrcAddr, r.DstAddr = src, dst
	r.SrcPort, r.DstPort = sp, dp
	if icmp {
		r.SrcPort, r.DstPort = 0, d.icmp
	}
	r.Packets, r.Bytes = d.packets, d.bytes
	r.TCPFlags = d.flags
}

// evict ends the least recently active sixteenth of the table at once, so
// a flood of new tuples costs one sort per many packets, not one per packet.
func (m *Meter) evict(h flow.Handler) {
	all := m.byLast[:0]
	for _, s := range m.flows {
		all = append(all, s)
	}
	m.byLast = all
	slices.SortFunc(all, func(x, y *state) int { return x.last.Compare(y.last) })
	n := max(1, len(all)/16)
	m.out = m.out[:0]
	for _, s := range all[:n] {
		m.out = append(m.out, ending{s, false})
	}
	m.stats.Forced += uint64(n)
	m.emitSorted(h)
}

// Flush ends and reports every flow still in the table, in start order.
// Call it at the end of a capture.
func (m *Meter) Flush(h flow.Handler) { m.expire(h, true) }

func compareKey(x, y key) int {
	if c := x.a.Compare(y.a); c != 0 {
		return c
	}
	if c := x.b.Compare(y.b); c != 0 {
		return c
	}
	if c := cmp.Compare(x.ap, y.ap); c != 0 {
		return c
	}
	if c := cmp.Compare(x.bp, y.bp); c != 0 {
		return c
	}
	return cmp.Compare(x.proto, y.proto)
}
