package mgmt

import (
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/sim/world"
)

// Rules the labeller applies; they mirror the management detections'
// documented defaults (docs/management-detections.md).
const (
	inactiveAfter   = 30 * 24 * time.Hour
	sessionGap      = 2 * time.Hour
	incidentGap     = time.Hour
	psLookback      = 45 * 24 * time.Hour
	psMinHistory    = 14 * 24 * time.Hour
	psMinActiveDays = 5
	learning        = 7 * 24 * time.Hour
	countryRecency  = 30 * 24 * time.Hour
	travelSpeedKmh  = 900
	travelMinKm     = 500
	sharedBy        = 3 // other users that make an address, /24 or NAT-like ASN shared
)

// labeller replays the generated events in time order and labels the
// inactive-account, PowerShell and location incidents by the detection
// rules, so that the truth says what a correct detector must raise.
type labeller struct {
	w        *world.World
	first    map[*principal]time.Time
	firstCP  map[*principal]time.Time
	lastCP   map[*principal]time.Time
	lastAny  map[*principal]time.Time
	cpDays   map[*principal]map[int64]bool
	returned map[*principal]bool
	gap      map[*principal]time.Duration
	lastPS   map[*principal]time.Time
	psOpen   map[*principal]bool
	lastLoc  map[*principal]loc
	orgs     map[string]*orgState
	open     map[openKey]*openIncident
	out      []eval.Incident
}

// orgState is what the organisation has seen. As in the detector, an
// organisation is the Azure tenant, an AWS account or a GCP project.
type orgState struct {
	first    time.Time
	country  map[string]time.Time
	ipUsers  map[netip.Addr]*peopleSet
	netUsers map[netip.Prefix]*peopleSet
	asnUsers map[uint32]*asnShare
}

func (l *labeller) org(e *event) *orgState {
	key := "azure"
	switch e.src {
	case srcCloudTrail:
		key = "aws:" + e.sub
	case srcGCP:
		key = "gcp:" + e.sub
	}
	o := l.orgs[key]
	if o == nil {
		o = &orgState{first: e.t, country: map[string]time.Time{}, ipUsers: map[netip.Addr]*peopleSet{},
			netUsers: map[netip.Prefix]*peopleSet{}, asnUsers: map[uint32]*asnShare{}}
		l.orgs[key] = o
	}
	return o
}

type loc struct {
	t     time.Time
	place world.Place
	ip    netip.Addr
}

type openKey struct {
	typ string
	p   *principal
}

type openIncident struct {
	idx     int
	country string
}

// peopleSet remembers up to sharedBy+1 distinct people.
type peopleSet struct{ ps []*person }

func (s *peopleSet) add(p *person) {
	if len(s.ps) >= sharedBy+1 {
		return
	}
	for _, x := range s.ps {
		if x == p {
			return
		}
	}
	s.ps = append(s.ps, p)
}

// others counts the people other than p in the set.
func (s *peopleSet) others(p *person) int {
	if s == nil {
		return 0
	}
	n := 0
	for _, x := range s.ps {
		if x != p {
			n++
		}
	}
	return n
}

// asnShare counts an ASN's users and addresses: an ASN is NAT-like when
// many users share few addresses.
type asnShare struct {
	users map[*person]bool
	addrs map[netip.Addr]bool
}

func (a *asnShare) natLike(p *person) bool {
	if a == nil {
		return false
	}
	others := len(a.users)
	if a.users[p] {
		others--
	}
	return others >= sharedBy && len(a.users) >= 2*len(a.addrs)
}

func newLabeller(w *world.World) *labeller {
	return &labeller{w: w, first: map[*principal]time.Time{}, firstCP: map[*principal]time.Time{}, lastCP: map[*principal]time.Time{},
		lastAny: map[*principal]time.Time{}, cpDays: map[*principal]map[int64]bool{}, returned: map[*principal]bool{},
		gap: map[*principal]time.Duration{}, lastPS: map[*principal]time.Time{}, psOpen: map[*principal]bool{},
		lastLoc: map[*principal]loc{}, orgs: map[string]*orgState{}, open: map[openKey]*openIncident{}}
}

func (l *labeller) raise(typ string, e *event, note, country string) {
	k := openKey{typ, e.p}
	if o := l.open[k]; o != nil {
		in := &l.out[o.idx]
		if e.t.Sub(in.End) <= incidentGap && o.country == country {
			in.End = e.t
			return
		}
	}
	l.out = append(l.out, eval.Incident{Type: typ, Key: e.p.id, Start: e.t, End: e.t, Note: note})
	l.open[k] = &openIncident{idx: len(l.out) - 1, country: country}
}

// extend lengthens an open incident when e continues it.
func (l *labeller) extend(typ string, e *event, country string) bool {
	o := l.open[openKey{typ, e.p}]
	if o == nil {
		return false
	}
	in := &l.out[o.idx]
	if e.t.Sub(in.End) > incidentGap || o.country != country {
		return false
	}
	in.End = e.t
	return true
}

func (l *labeller) observe(e *event) {
	p := e.p
	// The organisation's learning week starts at its first event of any
	// kind (a service principal's, a failed call), as the detector's does,
	// not at its first located user activity.
	l.org(e)
	if _, ok := l.first[p]; !ok {
		l.first[p] = e.t
	}
	// PowerShell sessions: opened by the first PowerShell event (sign-ins
	// included) of a principal with enough history and no PowerShell use
	// in the look-back; they last while the principal keeps acting.
	if last, ok := l.lastAny[p]; ok && e.t.Sub(last) > sessionGap {
		l.psOpen[p] = false
	}
	if e.tool() == audit.ToolPowerShell && e.src != srcCloudTrail && e.src != srcGCP {
		if !l.psOpen[p] {
			last, used := l.lastPS[p]
			fcp, hasCP := l.firstCP[p]
			if hasCP && e.t.Sub(fcp) >= psMinHistory && len(l.cpDays[p]) >= psMinActiveDays && (!used || e.t.Sub(last) > psLookback) {
				l.psOpen[p] = true
			}
		}
		l.lastPS[p] = e.t
	}
	if e.src.controlPlane() {
		l.controlPlane(e)
	}
	l.lastAny[p] = e.t
	if p.kind == kindUser && p.person != nil && !e.fail {
		l.location(e)
	}
}

func (l *labeller) controlPlane(e *event) {
	p := e.p
	persist := e.persistence()
	// Inactive account: the first control-plane activity after a long
	// silence opens a returning session; persistence in it is the alert.
	if last, ok := l.lastCP[p]; ok {
		switch gap := e.t.Sub(last); {
		case gap >= inactiveAfter:
			l.returned[p] = true
			l.gap[p] = gap
		case gap > sessionGap:
			l.returned[p] = false
		}
	}
	if l.returned[p] && persist {
		l.raise(alert.InactiveAccountSession, e, "persistence after "+daysText(l.gap[p])+" without control-plane activity", "")
	}
	if e.src == srcActivity && e.tool() == audit.ToolPowerShell && persist && l.psOpen[p] {
		l.raise(alert.PowerShellSession, e, "persistence with Azure PowerShell by a principal that had not used it in 45 days", "")
	}
	if _, ok := l.firstCP[p]; !ok {
		l.firstCP[p] = e.t
	}
	l.lastCP[p] = e.t
	days := l.cpDays[p]
	if days == nil {
		days = map[int64]bool{}
		l.cpDays[p] = days
	}
	days[e.t.Unix()/86400] = true
}

func daysText(d time.Duration) string {
	return itoa(int(d/(24*time.Hour))) + " days"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func (l *labeller) location(e *event) {
	if !e.ip.IsValid() || !e.ip.IsGlobalUnicast() || e.ip.IsPrivate() {
		return
	}
	pl, ok := l.w.Lookup(e.ip)
	if !ok {
		return
	}
	per := e.p.person
	o := l.org(e)
	orgLearned := e.t.Sub(o.first) >= learning
	net24 := netip.PrefixFrom(e.ip, 24).Masked()

	// Anonymous IP, unless at least three colleagues share the address.
	if l.anonymous(e.ip, pl) && orgLearned && o.ipUsers[e.ip].others(per) < sharedBy {
		l.raise(alert.AnonymousIP, e, "activity from anonymising "+anonKind(l.w, e.ip, pl)+" "+e.ip.String(), e.ip.String())
	}

	// Infrequent country.
	if last, seen := o.country[pl.Country]; orgLearned && (!seen || e.t.Sub(last) > countryRecency) {
		l.raise(alert.InfrequentCountry, e, "activity from "+pl.CountryName+", not used by the organisation in 30 days", pl.Country)
	} else {
		l.extend(alert.InfrequentCountry, e, pl.Country)
	}
	o.country[pl.Country] = e.t

	// Impossible travel.
	if prev, ok := l.lastLoc[e.p]; ok && e.t.Sub(l.first[e.p]) >= learning && prev.ip != e.ip {
		countryOnly := prev.place.City == "" || pl.City == ""
		d := world.DistanceKm(prev.place.Lat, prev.place.Lon, pl.Lat, pl.Lon)
		if !countryOnly {
			d -= float64(prev.place.RadiusKm) + float64(pl.RadiusKm)
		}
		hours := max(e.t.Sub(prev.t).Hours(), 1.0/60)
		fast := d > travelMinKm && d/hours > travelSpeedKmh
		near := prev.place.Country == pl.Country || l.w.Neighbours(prev.place.Country, pl.Country)
		if fast && !(countryOnly && near) && !o.shared(prev.ip, prev.place, per) && !o.shared(e.ip, pl, per) {
			l.raise(alert.ImpossibleTravel, e, "from "+prev.place.CountryName+" to "+pl.CountryName+" in "+e.t.Sub(prev.t).Round(time.Minute).String(), pl.Country)
		} else {
			l.extend(alert.ImpossibleTravel, e, pl.Country)
		}
	}
	l.lastLoc[e.p] = loc{t: e.t, place: pl, ip: e.ip}
	add := func(m map[netip.Addr]*peopleSet, k netip.Addr) {
		if m[k] == nil {
			m[k] = &peopleSet{}
		}
		m[k].add(per)
	}
	add(o.ipUsers, e.ip)
	if o.netUsers[net24] == nil {
		o.netUsers[net24] = &peopleSet{}
	}
	o.netUsers[net24].add(per)
	as := o.asnUsers[pl.ASN]
	if as == nil {
		as = &asnShare{users: map[*person]bool{}, addrs: map[netip.Addr]bool{}}
		o.asnUsers[pl.ASN] = as
	}
	as.users[per] = true
	as.addrs[e.ip] = true
}

// shared reports whether an address is shared egress: the address, its
// /24 or its NAT-like ASN used by at least three other users.
func (o *orgState) shared(ip netip.Addr, pl world.Place, per *person) bool {
	return o.ipUsers[ip].others(per) >= sharedBy ||
		o.netUsers[netip.PrefixFrom(ip, 24).Masked()].others(per) >= sharedBy ||
		o.asnUsers[pl.ASN].natLike(per)
}

func (l *labeller) anonymous(ip netip.Addr, pl world.Place) bool {
	return pl.Kind == world.KindVPNService || ip == l.w.MistaggedEgress() || l.w.IsTorExit(ip)
}

func anonKind(w *world.World, ip netip.Addr, pl world.Place) string {
	if w.IsTorExit(ip) {
		return "Tor exit"
	}
	if pl.Kind == world.KindVPNService {
		return "VPN service (" + pl.Org + ")"
	}
	return "listed address"
}
