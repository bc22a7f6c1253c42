package management

import (
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/audit"
)

// Bounds of the per-principal lists. They are LRU-like: when full, the entry
// used least recently is replaced.
const (
	maxPrincipalCountries = 16
	maxPrincipalIPs       = 32
	maxPrincipalASNs      = 16
	maxPrincipalTools     = 8
	maxCountryUsers       = 1024
	maxASNUsers           = 64
	maxDeployments        = 16
)

// seen records one value a principal used: when first and last, and on how
// many distinct UTC days.
type seen[T comparable] struct {
	V     T         `json:"v"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Days  int       `json:"days"`
}

// touch records v at t in a bounded list and reports whether v is new to it.
func touch[T comparable](list []seen[T], v T, t time.Time, limit int) ([]seen[T], bool) {
	for i := range list {
		if list[i].V == v {
			e := &list[i]
			if dayOf(t) != dayOf(e.Last) && t.After(e.Last) {
				e.Days++
			}
			if t.After(e.Last) {
				e.Last = t
			}
			if t.Before(e.First) {
				e.First = t
			}
			return list, false
		}
	}
	if len(list) < limit {
		return append(list, seen[T]{V: v, First: t, Last: t, Days: 1}), true
	}
	oldest := 0
	for i := range list {
		if list[i].Last.Before(list[oldest].Last) {
			oldest = i
		}
	}
	list[oldest] = seen[T]{V: v, First: t, Last: t, Days: 1}
	return list, true
}

func find[T comparable](list []seen[T], v T) *seen[T] {
	for i := range list {
		if list[i].V == v {
			return &list[i]
		}
	}
	return nil
}

func dayOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s+1)/86400 - 1
	}
	return s / 86400
}

// place is where a principal last acted from, for impossible travel.
type place struct {
	T           time.Time  `json:"t"`
	IP          netip.Addr `json:"ip"`
	Lat         float64    `json:"lat"`
	Lon         float64    `json:"lon"`
	RadiusKm    float64    `json:"radius_km,omitempty"`
	Country     string     `json:"country,omitempty"`
	City        string     `json:"city,omitempty"`
	CountryOnly bool       `json:"country_only,omitempty"`
	ASN         uint32     `json:"asn,omitempty"`
	ASOrg       string     `json:"as_org,omitempty"`
}

// principal is the profile of one principal.
type principal struct {
	ID    string              `json:"id"`
	Name  string              `json:"name,omitempty"`
	Type  audit.PrincipalType `json:"type,omitempty"`
	Cloud audit.Cloud         `json:"cloud"`
	Org   string              `json:"org"`

	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Control-plane activity (sign-ins excluded) and sign-ins, apart: the
	// inactive rule looks only at the former.
	FirstCP     time.Time `json:"first_cp,omitzero"`
	LastCP      time.Time `json:"last_cp,omitzero"`
	FirstSignIn time.Time `json:"first_signin,omitzero"`
	LastSignIn  time.Time `json:"last_signin,omitzero"`
	// ActiveDays counts distinct UTC days with control-plane activity.
	ActiveDays int `json:"active_days"`

	Tools     []seen[audit.Tool] `json:"tools,omitempty"`
	Countries []seen[string]     `json:"countries,omitempty"`
	IPs       []seen[netip.Addr] `json:"ips,omitempty"`
	ASNs      []seen[uint32]     `json:"asns,omitempty"`
	Last      *place             `json:"last_place,omitempty"`

	// Session state.
	// ReturnStart is set while a control-plane session that began after at
	// least the inactive period lasts; ReturnPrev is the activity before it.
	ReturnStart time.Time `json:"return_start,omitzero"`
	ReturnPrev  time.Time `json:"return_prev,omitzero"`
	// PSStart is set while a session in which PowerShell was used for the
	// first time in the lookback lasts; PSPrev is the PowerShell use before.
	PSStart time.Time `json:"ps_start,omitzero"`
	PSPrev  time.Time `json:"ps_prev,omitzero"`

	// Not persisted: per-run caches.
	deployments []deployment
	cacheIP     netip.Addr
	cacheLoc    located
	cacheValid  bool
	anonIP      netip.Addr
	cacheAnon   anonHit
	anonValid   bool
}

type deployment struct {
	corr string
	t    time.Time
}

// located is the resolved location of an address.
type located struct {
	loc    audit.Location
	asn    uint32
	asOrg  string
	ok     bool
	viaGeo bool
}

type anonHit struct {
	category, indicator, source string
	confidence                  int
	ok                          bool
}

func (p *principal) toolLast(t audit.Tool) time.Time {
	if s := find(p.Tools, t); s != nil {
		return s.Last
	}
	return time.Time{}
}

// share records the users of an address or network of an organisation.
type share struct {
	Last  time.Time `json:"last"`
	Users []uint64  `json:"users"`
}

func (s *share) add(u uint64, t time.Time, limit int) {
	if t.After(s.Last) {
		s.Last = t
	}
	for _, x := range s.Users {
		if x == u {
			return
		}
	}
	if len(s.Users) < limit {
		s.Users = append(s.Users, u)
	}
}

// others counts the users other than u.
func (s *share) others(u uint64) int {
	if s == nil {
		return 0
	}
	n := len(s.Users)
	for _, x := range s.Users {
		if x == u {
			n--
			break
		}
	}
	return n
}

// asnShare records the users and the addresses of an ASN: egress NAT or VPN
// shows many users behind few addresses, home ISPs about one address each.
type asnShare struct {
	Last  time.Time `json:"last"`
	Users []uint64  `json:"users"`
	IPs   []uint64  `json:"ips"`
}

type orgCountry struct {
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	Users []uint64  `json:"users"`
}

// org is the profile of an organisation: an Azure tenant, AWS account or GCP
// project.
type org struct {
	Key       string                  `json:"key"`
	FirstSeen time.Time               `json:"first_seen"`
	LastSeen  time.Time               `json:"last_seen"`
	Countries map[string]*orgCountry  `json:"countries"`
	IPs       map[netip.Addr]*share   `json:"ips"`
	Prefixes  map[netip.Prefix]*share `json:"prefixes"`
	ASNs      map[uint32]*asnShare    `json:"asns"`
}

func newOrg(key string) *org {
	return &org{
		Key:       key,
		Countries: map[string]*orgCountry{},
		IPs:       map[netip.Addr]*share{},
		Prefixes:  map[netip.Prefix]*share{},
		ASNs:      map[uint32]*asnShare{},
	}
}

// learn records a located user activity.
func (o *org) learn(u uint64, t time.Time, ip netip.Addr, loc located, newCountryForUser bool) {
	if o.FirstSeen.IsZero() || t.Before(o.FirstSeen) {
		o.FirstSeen = t
	}
	if t.After(o.LastSeen) {
		o.LastSeen = t
	}
	if loc.ok && loc.loc.Country != "" {
		c := o.Countries[loc.loc.Country]
		if c == nil {
			c = &orgCountry{First: t, Last: t}
			o.Countries[loc.loc.Country] = c
			newCountryForUser = true
		}
		if t.After(c.Last) {
			c.Last = t
		}
		if newCountryForUser && len(c.Users) < maxCountryUsers {
			found := false
			for _, x := range c.Users {
				if x == u {
					found = true
					break
				}
			}
			if !found {
				c.Users = append(c.Users, u)
			}
		}
	}
	s := o.IPs[ip]
	if s == nil {
		s = &share{}
		o.IPs[ip] = s
	}
	s.add(u, t, maxSharedUsers)
	pfx := egressPrefix(ip)
	ps := o.Prefixes[pfx]
	if ps == nil {
		ps = &share{}
		o.Prefixes[pfx] = ps
	}
	ps.add(u, t, maxSharedUsers)
	if loc.asn != 0 {
		a := o.ASNs[loc.asn]
		if a == nil {
			a = &asnShare{}
			o.ASNs[loc.asn] = a
		}
		if t.After(a.Last) {
			a.Last = t
		}
		a.Users = addCapped(a.Users, u, maxASNUsers)
		a.IPs = addCapped(a.IPs, addrHash(ip), maxASNUsers)
	}
}

// addCapped adds v to the set s unless it is there already or s holds
// limit values: the sets it keeps (users, addresses, evidence) must stay
// small whatever the input.
func addCapped[T comparable](s []T, v T, limit int) []T {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	if len(s) < limit {
		s = append(s, v)
	}
	return s
}

// sharedEgress reports whether an address is egress shared by at least n
// other users of the organisation: the same address, the same /24 or /48, or
// an ASN where users outnumber addresses two to one (NAT, VPN).
func (o *org) sharedEgress(u uint64, ip netip.Addr, asn uint32, n int) bool {
	if o == nil {
		return false
	}
	if o.IPs[ip].others(u) >= n {
		return true
	}
	if o.Prefixes[egressPrefix(ip)].others(u) >= n {
		return true
	}
	if asn != 0 {
		if a := o.ASNs[asn]; a != nil {
			users := len(a.Users)
			for _, x := range a.Users {
				if x == u {
					users--
					break
				}
			}
			if users >= n && len(a.Users) >= 2*len(a.IPs) {
				return true
			}
		}
	}
	return false
}

// prune forgets shares and countries not seen since before cutoff... except
// countries, whose last use is what infrequent-country asks about; they are
// bounded by the number of countries.
func (o *org) prune(cutoff time.Time) {
	for k, s := range o.IPs {
		if s.Last.Before(cutoff) {
			delete(o.IPs, k)
		}
	}
	for k, s := range o.Prefixes {
		if s.Last.Before(cutoff) {
			delete(o.Prefixes, k)
		}
	}
	for k, s := range o.ASNs {
		if s.Last.Before(cutoff) {
			delete(o.ASNs, k)
		}
	}
}

// strHash is FNV-1a of a string: stable across runs, so it can be saved.
func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func addrHash(ip netip.Addr) uint64 {
	b := ip.As16()
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
