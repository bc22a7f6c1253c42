package collector

import (
	"net/netip"
	"slices"
	"time"
)

// Stats is a snapshot of the collector. Per-exporter counters lag by at most
// Config.StatsInterval; socket counters are current.
type Stats struct {
	Listeners []ListenerStats
}

// ListenerStats describes one listener and its workers.
type ListenerStats struct {
	Name    string
	Addr    netip.AddrPort
	Workers int
	// ReceiveBuffer is the receive buffer each socket was granted, as
	// getsockopt(SO_RCVBUF) reports it (the kernel doubles the request).
	ReceiveBuffer int
	// Datagrams and Bytes were read from the sockets; ReadErrors are
	// failed reads.
	Datagrams, Bytes, ReadErrors uint64
	// KernelDrops are datagrams the kernel dropped because a socket's
	// receive buffer was full (the larger of SO_RXQ_OVFL and the drops
	// column of /proc/net/udp, summed over the sockets).
	KernelDrops uint64
	// Records decoded from all exporters.
	Records uint64
	// Exporters are sorted by address.
	Exporters []ExporterStats
}

// ExporterStats are the counters of one exporter address on one listener.
type ExporterStats struct {
	Listener string
	Exporter netip.Addr
	// Datagrams received from the exporter, decodable or not.
	Datagrams uint64
	// Records decoded (a biflow's reverse half counts as a record).
	Records uint64
	// Errors counts malformed or undecodable input by reason.
	Errors map[string]uint64
	// LastSeen is when the last datagram arrived.
	LastSeen time.Time
	// Silent is set when nothing arrived for Config.SilentAfter.
	Silent bool
}

// ErrorTotal sums Errors.
func (e ExporterStats) ErrorTotal() uint64 {
	var n uint64
	for _, v := range e.Errors {
		n += v
	}
	return n
}

// KernelUDPCounters are the host's UDP counters from /proc/net/snmp and
// /proc/net/snmp6.
type KernelUDPCounters struct {
	InDatagrams, InErrors, RcvbufErrors, NoPorts uint64
}

// Stats returns a snapshot of every listener.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	ls := c.listeners
	c.mu.Unlock()
	drops := socketDrops()
	now := c.deps.Now()
	var st Stats
	for _, l := range ls {
		s := ListenerStats{Name: l.cfg.Name, Addr: l.addr, Workers: len(l.workers)}
		byAddr := map[netip.Addr]*ExporterStats{}
		for _, w := range l.workers {
			if s.ReceiveBuffer == 0 {
				s.ReceiveBuffer = w.rcvbuf
			}
			s.Datagrams += w.datagrams.Load()
			s.Bytes += w.bytes.Load()
			s.ReadErrors += w.readErrors.Load()
			s.KernelDrops += max(uint64(w.overflow.Load()), drops[w.inode])
			w.mu.Lock()
			pub := w.pub
			w.mu.Unlock()
			for _, e := range pub {
				m := byAddr[e.Exporter]
				if m == nil {
					m = &ExporterStats{Listener: l.cfg.Name, Exporter: e.Exporter, Errors: map[string]uint64{}}
					byAddr[e.Exporter] = m
				}
				m.Datagrams += e.Datagrams
				m.Records += e.Records
				for k, v := range e.Errors {
					m.Errors[k] += v
				}
				if e.LastSeen.After(m.LastSeen) {
					m.LastSeen = e.LastSeen
				}
			}
		}
		for _, e := range byAddr {
			e.Silent = !e.LastSeen.IsZero() && now.Sub(e.LastSeen) > c.cfg.SilentAfter
			s.Records += e.Records
			s.Exporters = append(s.Exporters, *e)
		}
		slices.SortFunc(s.Exporters, func(a, b ExporterStats) int { return a.Exporter.Compare(b.Exporter) })
		st.Listeners = append(st.Listeners, s)
	}
	return st
}
