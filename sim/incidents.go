package sim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/eval"
)

// activity is something scheduled on a resource for [from, to): an
// incident (labelled) or a look-alike (must not alert).
type activity struct {
	typ      string
	res      *resource
	from, to time.Time
	note     string
	incident bool
	run      func(g *gen, from, to time.Time) // emits its connections for a part of the span
}

// spec describes one incident to schedule.
type spec struct {
	typ      string
	source   int  // flow source of the target resource
	strength int  // attempts per hour, distinct remote addresses per hour, or beacons
	hours    int  // duration in whole hours
	learning bool // during the first week of flows, before baselines exist
	edge     bool // near the detection edge
}

// incidentSpecs are the network incidents of one copy of the estate. The
// strengths are per hour. Single-source incidents come from one to three
// addresses; -multi incidents from (or to) that many distinct addresses,
// with two to six attempts each. Sources: 0 edge-a (IPFIX 1:1), 1 edge-b
// (IPFIX 1:10), 2 edge-c (pcap), 3 Azure NSG, 4 Azure VNet, 5 AWS VPC.
var incidentSpecs = []spec{
	{typ: alert.IncomingSSH, source: 0, strength: 6000, hours: 2},
	{typ: alert.IncomingSSH, source: 0, strength: 3000, hours: 1},
	{typ: alert.IncomingSSH, source: 0, strength: 4000, hours: 1, learning: true},
	{typ: alert.IncomingSSH, source: 0, strength: 900, hours: 1, edge: true},
	{typ: alert.IncomingSSH, source: 0, strength: 650, hours: 1, edge: true},
	{typ: alert.IncomingSSH, source: 1, strength: 3000, hours: 2},
	{typ: alert.IncomingSSH, source: 2, strength: 1500, hours: 1},
	{typ: alert.IncomingSSH, source: 3, strength: 2000, hours: 1},
	{typ: alert.IncomingSSH, source: 5, strength: 1200, hours: 2},
	{typ: alert.IncomingRDP, source: 0, strength: 4000, hours: 2},
	{typ: alert.IncomingRDP, source: 0, strength: 1000, hours: 1, edge: true},
	{typ: alert.IncomingRDP, source: 1, strength: 2500, hours: 1},
	{typ: alert.IncomingRDP, source: 2, strength: 2000, hours: 1},
	{typ: alert.IncomingRDP, source: 3, strength: 1500, hours: 1},
	{typ: alert.IncomingRDP, source: 3, strength: 650, hours: 1, edge: true},
	{typ: alert.IncomingSSHMulti, source: 0, strength: 1500, hours: 2},
	{typ: alert.IncomingSSHMulti, source: 0, strength: 400, hours: 1},
	{typ: alert.IncomingSSHMulti, source: 0, strength: 150, hours: 1, edge: true},
	{typ: alert.IncomingSSHMulti, source: 0, strength: 120, hours: 1, edge: true},
	{typ: alert.IncomingSSHMulti, source: 2, strength: 300, hours: 1},
	{typ: alert.IncomingSSHMulti, source: 5, strength: 600, hours: 1},
	{typ: alert.IncomingRDPMulti, source: 0, strength: 1000, hours: 1},
	{typ: alert.IncomingRDPMulti, source: 0, strength: 150, hours: 1, edge: true},
	{typ: alert.IncomingRDPMulti, source: 1, strength: 1500, hours: 1},
	{typ: alert.IncomingRDPMulti, source: 3, strength: 400, hours: 1},
	{typ: alert.OutgoingSSH, source: 0, strength: 5000, hours: 2},
	{typ: alert.OutgoingSSH, source: 0, strength: 900, hours: 1, edge: true},
	{typ: alert.OutgoingSSH, source: 0, strength: 450, hours: 1, edge: true},
	{typ: alert.OutgoingSSH, source: 4, strength: 2000, hours: 1},
	{typ: alert.OutgoingSSH, source: 5, strength: 1500, hours: 1},
	{typ: alert.OutgoingSSHMulti, source: 0, strength: 2000, hours: 2},
	{typ: alert.OutgoingSSHMulti, source: 0, strength: 150, hours: 1, edge: true},
	{typ: alert.OutgoingSSHMulti, source: 2, strength: 500, hours: 1},
	{typ: alert.OutgoingRDP, source: 0, strength: 3000, hours: 1},
	{typ: alert.OutgoingRDP, source: 0, strength: 800, hours: 1, edge: true},
	{typ: alert.OutgoingRDP, source: 3, strength: 1500, hours: 1},
	{typ: alert.OutgoingRDPMulti, source: 0, strength: 1200, hours: 1},
	{typ: alert.OutgoingRDPMulti, source: 0, strength: 150, hours: 1, edge: true},
	{typ: alert.OutgoingRDPMulti, source: 0, strength: 80, hours: 1, edge: true},
	{typ: alert.OutgoingRDPMulti, source: 4, strength: 300, hours: 1},
	// malicious-address strengths are connections per hour.
	{typ: alert.MaliciousAddress, source: 0, strength: 12, hours: 4},
	{typ: alert.MaliciousAddress, source: 0, strength: 1, hours: 1, edge: true},
	{typ: alert.MaliciousAddress, source: 1, strength: 30, hours: 2},
	{typ: alert.MaliciousAddress, source: 3, strength: 3, hours: 2},
	{typ: alert.MaliciousAddress, source: 5, strength: 6, hours: 3},
	{typ: alert.MaliciousAddress, source: 2, strength: 4, hours: 1}, // inbound session from a listed address
}

// eligible reports whether an incident of typ can happen on res.
func eligible(typ string, res *resource) bool {
	if res.role == roleBastion || res.role == roleJump || res.role == roleRDPGateway || res.role == roleDB || len(res.public) == 0 {
		return false
	}
	switch typ {
	case alert.IncomingSSH, alert.IncomingSSHMulti:
		return !res.role.windows()
	case alert.IncomingRDP, alert.IncomingRDPMulti:
		return res.role.windows()
	}
	return true
}

// schedule picks targets and times for the incidents and the look-alikes.
func (s *simulator) schedule() {
	r := s.r
	e := s.estate
	fs, end := s.flowStart, s.end
	learnEnd := fs.Add(7 * 24 * time.Hour)
	if s.cfg.FlowDays < 10 {
		learnEnd = fs.Add(time.Duration(s.cfg.FlowDays) * 12 * time.Hour)
	}
	hours := func(from, to time.Time) int { return int(to.Sub(from).Hours()) }

	for copyN := range s.cfg.Scale {
		for _, sp := range incidentSpecs {
			var cands []*resource
			for _, res := range e.resources {
				if res.sources[0] == sp.source && len(res.sources) == 1 && eligible(sp.typ, res) {
					cands = append(cands, res)
				}
			}
			if len(cands) == 0 {
				continue
			}
			lo, hi := learnEnd, end.Add(-time.Duration(sp.hours+3)*time.Hour)
			if sp.learning {
				lo, hi = fs.Add(24*time.Hour), learnEnd.Add(-time.Duration(sp.hours+1)*time.Hour)
			}
			if hours(lo, hi) <= 0 {
				lo, hi = fs.Add(2*time.Hour), end.Add(-time.Duration(sp.hours+3)*time.Hour)
			}
			if hours(lo, hi) <= 0 {
				continue
			}
			for try := 0; try < 200; try++ {
				res := cands[r.IntN(len(cands))]
				from := lo.Add(time.Duration(r.IntN(hours(lo, hi))) * time.Hour)
				to := from.Add(time.Duration(sp.hours) * time.Hour)
				if res.isBusy(from.Add(-6*time.Hour), to.Add(6*time.Hour)) {
					continue
				}
				s.addIncident(sp, res, from, to, copyN)
				break
			}
		}
	}
	s.scheduleLookAlikes(learnEnd)
}

func (s *simulator) addIncident(sp spec, res *resource, from, to time.Time, copyN int) {
	r := s.r
	e := s.estate
	a := &activity{typ: sp.typ, res: res, from: from, to: to, incident: true}
	edge := ""
	if sp.edge {
		edge = ", near the detection edge"
	}
	if sp.learning {
		edge += ", during the learning week"
	}
	src := e.sources[res.sources[0]]
	where := fmt.Sprintf(" (%s, %s 1:%d)", res.role, src.name, src.rate)
	switch sp.typ {
	case alert.IncomingSSH, alert.IncomingRDP:
		port := uint16(portSSH)
		if sp.typ == alert.IncomingRDP {
			port = portRDP
		}
		srcs := e.internet(r, r.between(1, 3))
		a.note = fmt.Sprintf("brute force: %d attempts/hour on %d from %d source(s)%s%s", sp.strength, port, len(srcs), edge, where)
		a.run = s.inbound(res, port, srcs, sp.strength, 0)
	case alert.IncomingSSHMulti, alert.IncomingRDPMulti:
		port := uint16(portSSH)
		if sp.typ == alert.IncomingRDPMulti {
			port = portRDP
		}
		pool := s.botnet(sp.strength * 2)
		a.note = fmt.Sprintf("botnet: %d distinct sources/hour on %d, 2-6 attempts each%s%s", sp.strength, port, edge, where)
		a.run = s.inbound(res, port, pool, 0, sp.strength)
	case alert.OutgoingSSH, alert.OutgoingRDP:
		port := uint16(portSSH)
		if sp.typ == alert.OutgoingRDP {
			port = portRDP
		}
		dsts := e.internet(r, r.between(1, 3))
		a.note = fmt.Sprintf("compromised machine: %d attempts/hour to %d on %d external host(s)%s%s", sp.strength, port, len(dsts), edge, where)
		a.run = s.outbound(res, port, dsts, sp.strength, 0)
	case alert.OutgoingSSHMulti, alert.OutgoingRDPMulti:
		port := uint16(portSSH)
		if sp.typ == alert.OutgoingRDPMulti {
			port = portRDP
		}
		a.note = fmt.Sprintf("compromised machine scanning: %d distinct destinations/hour on %d%s%s", sp.strength, port, edge, where)
		a.run = s.outbound(res, port, nil, 0, sp.strength)
	case alert.MaliciousAddress:
		c2 := e.c2[(len(s.acts)+copyN)%len(e.c2)]
		if sp.source == 2 {
			a.note = fmt.Sprintf("listed address %s opens %d accepted SSH or RDP sessions/hour to the resource, data both ways%s%s", c2, sp.strength, edge, where)
			a.run = s.inboundSession(res, c2, sp.strength)
		} else {
			a.note = fmt.Sprintf("beaconing: %d connections/hour to listed address %s%s%s", sp.strength, c2, edge, where)
			a.run = s.beacon(res, c2, sp.strength)
		}
	}
	res.busy = append(res.busy, interval{from, to})
	s.acts = append(s.acts, a)
}

func (s *simulator) lookAlike(typ string, res *resource, from, to time.Time, format string, args ...any) {
	s.lookalikes = append(s.lookalikes, eval.Incident{Type: typ, Key: res.id, Start: from.UTC(), End: to.UTC(), Note: fmt.Sprintf(format, args...)})
}

func (s *simulator) scheduleLookAlikes(learnEnd time.Time) {
	r := s.r
	e := s.estate
	fs, end := s.flowStart, s.end
	for _, res := range e.resources {
		switch res.role {
		case roleBastion:
			s.lookAlike(alert.IncomingSSH, res, fs, end, "bastion: heavy SSH from administrators and CI runners, normal here")
			s.lookAlike(alert.OutgoingSSH, res, fs, end, "bastion: proxied SSH to internal machines, normal here")
		case roleJump:
			s.lookAlike(alert.OutgoingSSH, res, fs, end, "jump host: SSH to every internal Linux machine all day, normal here")
			s.lookAlike(alert.OutgoingSSHMulti, res, fs, end, "jump host: SSH to many internal destinations, normal here")
		case roleRDPGateway:
			s.lookAlike(alert.IncomingRDP, res, fs, end, "remote-desktop gateway: heavy RDP from users, normal here")
			s.lookAlike(alert.IncomingRDPMulti, res, fs, end, "remote-desktop gateway: RDP from many users, normal here")
			s.lookAlike(alert.OutgoingRDP, res, fs, end, "remote-desktop gateway: RDP to internal Windows machines, normal here")
		}
		if len(res.sources) > 1 {
			s.lookAlike(alert.IncomingSSH, res, fs, end, "seen by two exporters (%s 1:%d and %s 1:%d): counted from one, never summed",
				e.sources[res.sources[0]].name, e.sources[res.sources[0]].rate, e.sources[res.sources[1]].name, e.sources[res.sources[1]].rate)
		} else if e.sources[res.sources[0]].rate > 1 && len(res.public) > 0 {
			// Busier commodity probing on sampled resources: distinct
			// sources must not be multiplied by the sampling rate.
			res.probeSSH, res.probeRDP = 30+10*r.Float64(), 30+10*r.Float64()
			s.lookAlike(alert.IncomingSSHMulti, res, fs, end, "1-in-%d sampling: about %.0f commodity probes/hour on 22 from scattered sources; distinct sources are never scaled by the rate", e.sources[res.sources[0]].rate, res.probeSSH)
		}
	}

	// A machine whose public address changes in the middle of an hour in
	// which it is brute-forced: no alert for that hour (issue 4).
	for try := 0; try < 500; try++ {
		res := e.resources[r.IntN(len(e.resources))]
		if res.sources[0] != 0 || len(res.sources) > 1 || !eligible(alert.IncomingSSH, res) {
			continue
		}
		lo := learnEnd
		span := int(end.Sub(lo).Hours()) - 8
		if span <= 0 {
			lo, span = fs.Add(2*time.Hour), int(end.Sub(fs).Hours())-8
		}
		if span <= 0 {
			break
		}
		h := lo.Add(time.Duration(r.IntN(span)) * time.Hour)
		if res.isBusy(h.Add(-6*time.Hour), h.Add(7*time.Hour)) {
			continue
		}
		at := h.Add(time.Duration(15+r.IntN(30)) * time.Minute)
		last := &res.public[len(res.public)-1]
		last.to = at
		res.public = append(res.public, ipSpan{addr: e.newAddr(r, res.cloud, res.region), from: at})
		srcs := e.internet(r, 1)
		const n = 3000
		a := &activity{res: res, from: h, to: h.Add(time.Hour), run: s.inbound(res, portSSH, srcs, n, 0)}
		res.busy = append(res.busy, interval{a.from, a.to})
		s.acts = append(s.acts, a)
		s.lookAlike(alert.IncomingSSH, res, a.from, a.to, "address changed mid-hour (%s to %s at %s) during a brute force of %d attempts/hour: not an incident for that hour",
			last.addr, res.public[len(res.public)-1].addr, at.Format("15:04"), n)
		break
	}

	// Inbound-only probes from listed addresses: evidence, not an alert.
	n := 0
	for try := 0; try < 500 && n < 2*s.cfg.Scale; try++ {
		res := e.resources[r.IntN(len(e.resources))]
		if len(res.public) == 0 || len(res.sources) > 1 || res.role == roleDB {
			continue
		}
		from := fs.Add(time.Duration(24+r.IntN(int(end.Sub(fs).Hours())-30)) * time.Hour)
		to := from.Add(time.Duration(1+r.IntN(2)) * time.Hour)
		if res.isBusy(from.Add(-3*time.Hour), to.Add(3*time.Hour)) {
			continue
		}
		c2 := e.c2[len(e.c2)-1-n%len(e.c2)]
		a := &activity{res: res, from: from, to: to, run: s.listedProbes(res, c2)}
		res.busy = append(res.busy, interval{from, to})
		s.acts = append(s.acts, a)
		s.lookAlike(alert.MaliciousAddress, res, from, to, "inbound-only probes from listed address %s, no data back", c2)
		n++
	}
}

// botnet returns n fresh internet addresses.
func (s *simulator) botnet(n int) []netip.Addr { return s.estate.internet(s.r, n) }

// inbound emits brute force against res: perHour attempts spread over
// srcs, or, when distinct > 0, that many distinct sources of the pool per
// hour with two to six attempts each.
func (s *simulator) inbound(res *resource, port uint16, srcs []netip.Addr, perHour, distinct int) func(*gen, time.Time, time.Time) {
	return func(g *gen, from, to time.Time) {
		frac := to.Sub(from).Hours()
		kind := attemptKind(res, port)
		one := func(src netip.Addr) {
			t := g.at(from, to)
			if a, ok := res.publicAt(t); ok {
				g.conn(kind, t, src, nil, a, res, port)
			}
		}
		if distinct > 0 {
			k := roundFrac(distinct, frac)
			off := g.r.IntN(len(srcs))
			for i := range k {
				src := srcs[(off+i)%len(srcs)]
				for range g.r.between(2, 6) {
					one(src)
				}
			}
			return
		}
		n := roundFrac(perHour, frac)
		for i := range n {
			one(srcs[i%len(srcs)])
		}
	}
}

// outbound emits brute force or scanning from res.
func (s *simulator) outbound(res *resource, port uint16, dsts []netip.Addr, perHour, distinct int) func(*gen, time.Time, time.Time) {
	return func(g *gen, from, to time.Time) {
		frac := to.Sub(from).Hours()
		fail := kSSHFail
		if port == portRDP {
			fail = kRDPFail
		}
		one := func(dst netip.Addr, kind int) {
			t := g.at(from, to)
			if a, ok := res.publicAt(t); ok {
				g.conn(kind, t, a, res, dst, nil, port)
			}
		}
		if distinct > 0 {
			for range roundFrac(distinct, frac) {
				dst := s.estate.randomInternet(g.r)
				kind := kNoAnswer
				if g.r.IntN(4) == 0 {
					kind = fail
				} else if g.r.IntN(3) == 0 {
					kind = kRefused
				}
				for range g.r.between(1, 2) {
					one(dst, kind)
				}
			}
			return
		}
		n := roundFrac(perHour, frac)
		for i := range n {
			one(dsts[i%len(dsts)], fail)
		}
	}
}

// beacon emits perHour connections from res to a command-and-control
// address, with data both ways.
func (s *simulator) beacon(res *resource, c2 netip.Addr, perHour int) func(*gen, time.Time, time.Time) {
	port := pick(s.r, []uint16{443, 8443, 8080, 4444})
	return func(g *gen, from, to time.Time) {
		n := max(1, roundFrac(perHour, to.Sub(from).Hours()))
		for i := range n {
			t := from.Add(to.Sub(from) * time.Duration(i) / time.Duration(n)).Add(time.Duration(g.r.IntN(20)) * time.Second)
			src := res.private
			if a, ok := res.publicAt(t); ok {
				src = a
			}
			g.conn(kBeacon, t, src, res, c2, nil, port)
		}
	}
}

// inboundSession emits remote sessions (SSH, or RDP on Windows) from a
// listed address that the resource accepts and answers.
func (s *simulator) inboundSession(res *resource, c2 netip.Addr, perHour int) func(*gen, time.Time, time.Time) {
	port := uint16(portSSH)
	if res.role.windows() {
		port = portRDP
	}
	kind := kSSHSession
	if port == portRDP {
		kind = kRDPSession
	}
	return func(g *gen, from, to time.Time) {
		for range max(1, roundFrac(perHour, to.Sub(from).Hours())) {
			t := g.at(from, to)
			if a, ok := res.publicAt(t); ok {
				g.conn(kind, t, c2, nil, a, res, port)
			}
		}
	}
}

// listedProbes emits SYNs from a listed address that get no answer.
func (s *simulator) listedProbes(res *resource, c2 netip.Addr) func(*gen, time.Time, time.Time) {
	return func(g *gen, from, to time.Time) {
		for range g.r.between(3, 20) {
			t := g.at(from, to)
			if a, ok := res.publicAt(t); ok {
				port := pick(g.r, []uint16{portSSH, portRDP, 23, 445, 5900})
				g.conn(kDropped, t, c2, nil, a, res, port)
			}
		}
	}
}

// truth returns the labelled incidents.
func (s *simulator) truth() []eval.Incident {
	var out []eval.Incident
	for _, a := range s.acts {
		if a.incident {
			out = append(out, eval.Incident{Type: a.typ, Key: a.res.id, Start: a.from.UTC(), End: a.to.UTC(), Note: a.note})
		}
	}
	return out
}
