package sim

import (
	"math"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// Service ports.
const (
	portSSH   = 22
	portRDP   = 3389
	portHTTPS = 443
	portHTTP  = 80
)

// conn is one simulated connection (or attempt), from the initiator
// (client) to the responder (server), as an edge router would see it:
// public addresses for internet traffic, private ones inside the network.
// Sinks turn it into unidirectional records, NSG tuples or VPC lines.
type conn struct {
	start          time.Time
	dur            time.Duration
	client, server netip.Addr
	cport, sport   uint16
	proto          uint8
	cPkts, sPkts   uint32
	cBytes, sBytes uint64
	cFlags, sFlags uint8
	denied         bool      // a firewall dropped it (NSG "D", VPC REJECT)
	cres, sres     *resource // the estate's side(s), nil for the internet
}

// kinds of connection.
const (
	kDropped    = iota // SYN dropped by the estate's firewall (inbound to a closed port)
	kNoAnswer          // SYN allowed out, but nobody answers
	kRefused           // SYN answered by RST
	kSSHFail           // a failed SSH login: full handshake, a few exchanges
	kRDPFail           // a failed RDP (NLA) login
	kBanner            // a scanner reads the SSH banner and leaves
	kSSHSession        // an interactive or automated SSH session
	kRDPSession        // a remote desktop session
	kWeb               // an HTTPS request
	kBeacon            // a small exchange with a command-and-control server
	kUpdate            // a download from a package mirror
	kDNS               // one UDP query and answer
)

// gen turns connection kinds into conns with plausible packet and byte
// counts and TCP flags.
type gen struct {
	r    rng
	emit func(*conn)
	c    conn
}

const fullFlags = flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin

func (g *gen) conn(kind int, t time.Time, client netip.Addr, cres *resource, server netip.Addr, sres *resource, sport uint16) {
	r := g.r
	c := &g.c
	*c = conn{start: t, client: client, server: server, cres: cres, sres: sres,
		cport: uint16(32768 + r.IntN(28000)), sport: sport, proto: flow.ProtoTCP}
	switch kind {
	case kDropped:
		c.cPkts, c.cBytes, c.cFlags = uint32(r.between(1, 2)), 60, flow.TCPSyn
		c.cBytes *= uint64(c.cPkts)
		c.dur = time.Duration(c.cPkts-1) * time.Second
		c.denied = true
	case kNoAnswer:
		c.cPkts, c.cBytes, c.cFlags = uint32(r.between(1, 2)), 60, flow.TCPSyn
		c.cBytes *= uint64(c.cPkts)
		c.dur = time.Duration(c.cPkts-1) * time.Second
	case kRefused:
		c.cPkts, c.cBytes, c.cFlags = 1, 60, flow.TCPSyn
		c.sPkts, c.sBytes, c.sFlags = 1, 40, flow.TCPRst|flow.TCPAck
	case kSSHFail:
		c.cPkts, c.sPkts = uint32(r.between(11, 18)), uint32(r.between(10, 15))
		c.cBytes, c.sBytes = uint64(1800+r.IntN(1400)), uint64(2600+r.IntN(1600))
		c.cFlags, c.sFlags = fullFlags, fullFlags
		c.dur = time.Duration(800+r.IntN(5000)) * time.Millisecond
	case kRDPFail:
		c.cPkts, c.sPkts = uint32(r.between(12, 22)), uint32(r.between(10, 18))
		c.cBytes, c.sBytes = uint64(3000+r.IntN(3000)), uint64(5000+r.IntN(4000))
		c.cFlags, c.sFlags = fullFlags, fullFlags
		c.dur = time.Duration(1000+r.IntN(6000)) * time.Millisecond
	case kBanner:
		c.cPkts, c.sPkts = uint32(r.between(4, 7)), uint32(r.between(3, 6))
		c.cBytes, c.sBytes = uint64(300+r.IntN(400)), uint64(500+r.IntN(600))
		c.cFlags, c.sFlags = fullFlags, fullFlags
		c.dur = time.Duration(200+r.IntN(2000)) * time.Millisecond
	case kSSHSession:
		c.dur = time.Duration(20+r.IntN(40*60)) * time.Second
		c.cPkts = uint32(30 + r.IntN(1500))
		c.sPkts = c.cPkts + uint32(r.IntN(400))
		c.cBytes, c.sBytes = uint64(c.cPkts)*uint64(90+r.IntN(60)), uint64(c.sPkts)*uint64(150+r.IntN(600))
		c.cFlags, c.sFlags = fullFlags, fullFlags
	case kRDPSession:
		c.dur = time.Duration(120+r.IntN(90*60)) * time.Second
		c.cPkts = uint32(500 + r.IntN(8000))
		c.sPkts = c.cPkts + uint32(r.IntN(6000))
		c.cBytes, c.sBytes = uint64(c.cPkts)*uint64(80+r.IntN(60)), uint64(c.sPkts)*uint64(400+r.IntN(800))
		c.cFlags, c.sFlags = fullFlags, fullFlags
	case kWeb:
		c.cPkts, c.sPkts = uint32(r.between(6, 30)), uint32(r.between(8, 60))
		c.cBytes, c.sBytes = uint64(c.cPkts)*uint64(80+r.IntN(200)), uint64(c.sPkts)*uint64(600+r.IntN(800))
		c.cFlags, c.sFlags = fullFlags, fullFlags
		c.dur = time.Duration(50+r.IntN(20000)) * time.Millisecond
	case kBeacon:
		c.cPkts, c.sPkts = uint32(r.between(6, 10)), uint32(r.between(5, 9))
		c.cBytes, c.sBytes = uint64(700+r.IntN(900)), uint64(1500+r.IntN(4000))
		c.cFlags, c.sFlags = fullFlags, fullFlags
		c.dur = time.Duration(200+r.IntN(1500)) * time.Millisecond
	case kUpdate:
		c.cPkts, c.sPkts = uint32(r.between(20, 200)), uint32(r.between(40, 800))
		c.cBytes, c.sBytes = uint64(c.cPkts)*60, uint64(c.sPkts)*1400
		c.cFlags, c.sFlags = fullFlags, fullFlags
		c.dur = time.Duration(500+r.IntN(30000)) * time.Millisecond
	case kDNS:
		c.proto = flow.ProtoUDP
		c.cPkts, c.sPkts, c.cBytes, c.sBytes = 1, 1, uint64(60+r.IntN(30)), uint64(90+r.IntN(200))
		c.dur = time.Duration(r.IntN(40)) * time.Millisecond
	}
	g.emit(c)
}

// diurnal is the share of peak working activity at t: weekdays 07:00-18:00
// UTC are busy, evenings half, nights and weekends quiet.
func diurnal(t time.Time) float64 {
	wd := t.Weekday()
	h := t.Hour()
	if wd == time.Saturday || wd == time.Sunday {
		return 0.12
	}
	switch {
	case h >= 7 && h < 18:
		return 1
	case h >= 18 && h < 22:
		return 0.4
	}
	return 0.08
}

// at returns a uniformly random instant in [from, to).
func (g *gen) at(from, to time.Time) time.Time {
	d := to.Sub(from)
	if d <= 0 {
		return from
	}
	return from.Add(time.Duration(g.r.Int64N(int64(d))))
}

// scanner picks a commodity scanner; a few are much busier than the rest.
func (e *estate) scanner(r rng) netip.Addr {
	u := r.Float64()
	return e.scanners[int(u*u*float64(len(e.scanners)))]
}

// serviceOpen reports whether the resource listens on port.
func serviceOpen(res *resource, port uint16) bool {
	switch port {
	case portSSH:
		return !res.role.windows()
	case portRDP:
		return res.role.windows()
	case portHTTPS, portHTTP:
		return res.role == roleWeb || res.role == roleRDPGateway
	}
	return false
}

// attemptKind is what an unauthorised login attempt on port looks like.
func attemptKind(res *resource, port uint16) int {
	if !serviceOpen(res, port) {
		return kDropped
	}
	if port == portRDP {
		return kRDPFail
	}
	return kSSHFail
}

// internal lists the resources that administrators reach from the
// bastion, the jump host and the remote-desktop gateway.
type internal struct {
	linux, windows []*resource
}

// background emits the normal traffic of res for [from, to), an hour or
// less. It also reports commodity brute force as look-alikes.
func (s *simulator) background(g *gen, res *resource, from, to time.Time) {
	r := g.r
	e := s.estate
	frac := to.Sub(from).Hours()
	d := diurnal(from)
	_, hasPub := res.publicAt(from)
	target := func(t time.Time) (netip.Addr, bool) { return res.publicAt(t) }

	if hasPub {
		for _, svc := range [...]struct {
			port uint16
			mean float64
		}{{portSSH, res.probeSSH}, {portRDP, res.probeRDP}} {
			// Scattered scanners, one to four attempts each.
			for range r.poisson(svc.mean * frac / 2.5) {
				src := e.scanner(r)
				t := g.at(from, to)
				kind := attemptKind(res, svc.port)
				if kind == kSSHFail && r.IntN(3) == 0 {
					kind = kBanner
				}
				for range r.between(1, 4) {
					if a, ok := target(t); ok {
						g.conn(kind, t, src, nil, a, res, svc.port)
					}
					t = t.Add(time.Duration(1+r.IntN(20)) * time.Second)
				}
			}
			// Now and then a commodity brute-forcer: tens to a few hundred
			// attempts from one address, which every public endpoint
			// receives and no detector should report.
			if frac == 1 && serviceOpen(res, svc.port) && r.IntN(40) == 0 && !res.isBusy(from.Add(-2*time.Hour), to.Add(2*time.Hour)) {
				n := r.between(50, 250)
				src := e.scanner(r)
				start := g.at(from, from.Add(20*time.Minute))
				span := time.Duration(10+r.IntN(30)) * time.Minute
				for range n {
					t := g.at(start, start.Add(span))
					if a, ok := target(t); ok {
						g.conn(attemptKind(res, svc.port), t, src, nil, a, res, svc.port)
					}
				}
				typ := "incoming-ssh"
				if svc.port == portRDP {
					typ = "incoming-rdp"
				}
				s.lookAlike(typ, res, from, to, "commodity brute force: %d attempts in the hour from one source (%s)", n, src)
			}
		}
	}

	switch res.role {
	case roleWeb:
		for range r.poisson((50*d + 6) * frac) {
			t := g.at(from, to)
			if a, ok := target(t); ok {
				port := uint16(portHTTPS)
				if r.IntN(8) == 0 {
					port = portHTTP
				}
				g.conn(kWeb, t, e.randomInternet(r), nil, a, res, port)
			}
		}
	case roleBastion:
		// Automation and administrators through the bastion, proxied on to
		// internal machines: heavy, steady SSH that is normal here.
		for _, ci := range e.ciRunners {
			for range r.poisson((30 + 30*d) * frac) {
				t := g.at(from, to)
				if a, ok := target(t); ok {
					g.conn(kSSHSession, t, ci, nil, a, res, portSSH)
				}
				if len(s.internal.linux) > 0 {
					dst := pick(r, s.internal.linux)
					g.conn(kSSHSession, t.Add(300*time.Millisecond), res.private, res, dst.private, dst, portSSH)
				}
			}
		}
		for range r.poisson((70*d + 4) * frac) {
			t := g.at(from, to)
			if a, ok := target(t); ok {
				g.conn(kSSHSession, t, pick(r, e.admins), nil, a, res, portSSH)
			}
		}
	case roleJump:
		for range r.poisson((8*d + 1) * frac) {
			t := g.at(from, to)
			if a, ok := target(t); ok {
				g.conn(kSSHSession, t, pick(r, e.admins), nil, a, res, portSSH)
			}
		}
		// Configuration runs and administrators fan out to every internal
		// Linux machine, all day.
		for range r.poisson((140*d + 40) * frac) {
			if len(s.internal.linux) == 0 {
				break
			}
			dst := pick(r, s.internal.linux)
			g.conn(kSSHSession, g.at(from, to), res.private, res, dst.private, dst, portSSH)
		}
	case roleRDPGateway:
		for range r.poisson((90*d + 3) * frac) {
			t := g.at(from, to)
			u := pick(r, e.users)
			if a, ok := target(t); ok {
				g.conn(kRDPSession, t, u, nil, a, res, portRDP)
			}
			if len(s.internal.windows) > 0 {
				dst := pick(r, s.internal.windows)
				g.conn(kRDPSession, t.Add(400*time.Millisecond), res.private, res, dst.private, dst, portRDP)
			}
		}
	case roleLinux, roleDB:
		if hasPub {
			for range r.poisson(0.4 * d * frac) {
				t := g.at(from, to)
				if a, ok := target(t); ok {
					g.conn(kSSHSession, t, pick(r, e.admins), nil, a, res, portSSH)
				}
			}
		}
	case roleWindows:
		if hasPub {
			for range r.poisson(0.3 * d * frac) {
				t := g.at(from, to)
				if a, ok := target(t); ok {
					g.conn(kRDPSession, t, pick(r, e.admins), nil, a, res, portRDP)
				}
			}
		}
	}
	// Everyone fetches updates and resolves names.
	for range r.poisson(2 * frac) {
		t := g.at(from, to)
		src := res.private
		if a, ok := target(t); ok {
			src = a
		}
		g.conn(kUpdate, t, src, res, pick(r, e.updates), nil, portHTTPS)
	}
	for range r.poisson(3 * frac) {
		g.conn(kDNS, g.at(from, to), res.private, res, s.dnsServer, nil, 53)
	}
}

// roundFrac scales a per-hour figure to a fraction of an hour.
func roundFrac(perHour int, frac float64) int { return int(math.Round(float64(perHour) * frac)) }
