// Package world builds a deterministic simulated internet for the
// simulator: real countries and cities with approximate coordinates, IPv4
// networks per city and country drawn from each region's real public
// space, ASNs with their organisations (home ISPs, mobile carriers,
// hosting providers, the three clouds, VPN services and the estate's own
// corporate network), Tor exit addresses and anonymising VPN endpoints.
//
// One seed always gives the same world; different seeds move every
// network, ASN number and Tor exit. The world writes itself out as MaxMind
// DB files (City and ASN schema), a Tor exit list and an anonymity feed so
// that the rest of Vigil reads it exactly as it would read real data.
package world

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
)

// Kind says what sort of network a prefix is.
type Kind uint8

// Kinds of network.
const (
	KindUnknown      Kind = iota
	KindResidential       // home broadband of an ISP, located to a city
	KindMobile            // mobile carrier, located to the country only
	KindHosting           // hosting provider (Tor exits and scanners live here)
	KindCloud             // a cloud provider's region
	KindCorporate         // the organisation's own offices
	KindCorporateVPN      // the organisation's VPN egress, shared by many users
	KindVPNService        // a commercial anonymising VPN service endpoint
)

var kindNames = [...]string{"unknown", "residential", "mobile", "hosting", "cloud", "corporate", "corporate-vpn", "vpn-service"}

// String returns the kind's name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// City is a city with a representative point and its usual offset from
// UTC in hours (no daylight saving: the simulator only needs office hours
// to be roughly right).
type City struct {
	Name      string
	Lat, Lon  float64
	UTCOffset float64
}

// Country is a real ISO 3166-1 country of the simulated world.
type Country struct {
	Code, Name string
	// Lat and Lon are a representative point (the capital), which is what
	// a country-level GeoIP record carries.
	Lat, Lon   float64
	Neighbours []string
	Cities     []City
}

// Place is one network of the world and everything known about it. City
// is empty for networks located only to the country (mobile carriers),
// whose coordinates are then the country's and whose radius is large.
type Place struct {
	Prefix      netip.Prefix
	Country     string
	CountryName string
	City        string
	Lat, Lon    float64
	RadiusKm    uint16
	UTCOffset   float64
	ASN         uint32
	Org         string
	Kind        Kind
	// Cloud and Region are set for KindCloud ("azure", "westeurope").
	Cloud, Region string
}

// Indicator is one anonymity-feed entry: an address or prefix and its
// category ("vpn", "proxy" or "tor").
type Indicator struct {
	Prefix     netip.Prefix
	Category   string
	Source     string
	Confidence int
}

// World is a simulated internet. It is immutable once built and safe for
// concurrent use.
type World struct {
	seed      int64
	org       string
	domain    string
	hq        string
	hqCity    City
	countries []Country
	byCode    map[string]int
	nets      []Place // sorted by prefix address, non-overlapping
	byCountry map[countryKind][]int
	byKind    map[Kind][]int
	tor       []torExit
	anon      []Indicator
	corpVPN   netip.Prefix
	mistagged netip.Addr
	corpASN   uint32
}

type countryKind struct {
	country string
	kind    Kind
}

type torExit struct {
	addr        netip.Addr
	fingerprint string
	// age is how long before the list's publication the relay was
	// published, in seconds; it keeps the list stable for a seed.
	age int
}

// New builds the world for a seed.
func New(seed int64) *World {
	r := rand.New(rand.NewPCG(uint64(seed), 0x776f726c64)) // "world"
	w := &World{
		seed:      seed,
		byCode:    map[string]int{},
		byCountry: map[countryKind][]int{},
		byKind:    map[Kind][]int{},
	}
	o := orgs[r.IntN(len(orgs))]
	w.org, w.domain = o.name, o.domain
	for i, row := range countries {
		w.countries = append(w.countries, Country{Code: row.code, Name: row.name, Lat: row.lat, Lon: row.lon,
			Neighbours: slices.Clone(row.neighbours), Cities: slices.Clone(row.cities)})
		w.byCode[row.code] = i
	}
	w.hq = hqCountries[r.IntN(len(hqCountries))]
	w.hqCity = w.countries[w.byCode[w.hq]].Cities[0]

	a := newAllocator(r)
	asns := newASNs(r)

	for _, row := range countries {
		ctry := w.countries[w.byCode[row.code]]
		// Two home ISPs per country, each present in every city.
		for n, suffix := range []string{"Fibre Networks", "Telecom"} {
			asn := asns.next()
			org := ctry.Name + " " + suffix
			for _, city := range ctry.Cities {
				if n == 1 && len(ctry.Cities) == 1 && r.IntN(2) == 0 {
					continue
				}
				w.add(Place{Prefix: a.sixteen(row.rir, 16), Country: ctry.Code, City: city.Name, Lat: city.Lat, Lon: city.Lon,
					RadiusKm: uint16(10 + r.IntN(41)), UTCOffset: city.UTCOffset, ASN: asn, Org: org, Kind: KindResidential})
			}
		}
		// One mobile carrier, known only to the country: carrier-grade
		// NAT pools are geolocated no finer than that.
		w.add(Place{Prefix: a.sixteen(row.rir, 16), Country: ctry.Code, Lat: ctry.Lat, Lon: ctry.Lon,
			RadiusKm: 1000, UTCOffset: ctry.Cities[0].UTCOffset, ASN: asns.next(), Org: ctry.Name + " Mobile", Kind: KindMobile})
	}
	for _, cr := range cloudRegions {
		for _, reg := range cr.regions {
			cc, cityName, region := split3(reg)
			city := w.city(cc, cityName)
			w.add(Place{Prefix: a.fromOctets(cr.octets, 16), Country: cc, City: city.Name, Lat: city.Lat, Lon: city.Lon,
				RadiusKm: 100, UTCOffset: city.UTCOffset, ASN: cr.asn, Org: cr.org, Kind: KindCloud, Cloud: cr.provider, Region: region})
		}
	}
	for _, hp := range hostingProviders {
		for _, cc := range hp.countries {
			ctry := w.countries[w.byCode[cc]]
			city := ctry.Cities[r.IntN(len(ctry.Cities))]
			w.add(Place{Prefix: a.sixteen(rirOf(cc), 20), Country: cc, City: city.Name, Lat: city.Lat, Lon: city.Lon,
				RadiusKm: 20, UTCOffset: city.UTCOffset, ASN: hp.asn, Org: hp.org, Kind: KindHosting})
		}
	}
	for _, vs := range vpnServices {
		asn := asns.next()
		for _, cc := range vs.countries {
			ctry := w.countries[w.byCode[cc]]
			city := ctry.Cities[0]
			p := Place{Prefix: a.sixteen(rirOf(cc), 22), Country: cc, City: city.Name, Lat: city.Lat, Lon: city.Lon,
				RadiusKm: 20, UTCOffset: city.UTCOffset, ASN: asn, Org: vs.org, Kind: KindVPNService}
			w.add(p)
			w.anon = append(w.anon, Indicator{Prefix: p.Prefix, Category: "vpn", Source: "sim-anonymity-feed", Confidence: 80 + r.IntN(20)})
		}
	}
	// The organisation: office networks in the head-office country and a
	// small VPN egress prefix that most remote users share.
	w.corpASN = asns.next()
	hqRow := w.countries[w.byCode[w.hq]]
	block := a.sixteen(rirOf(w.hq), 16).Addr().As4()
	for i, city := range hqRow.Cities {
		if i > 1 {
			break
		}
		b := block
		b[2] = byte(10 + i)
		w.add(Place{Prefix: netip.PrefixFrom(netip.AddrFrom4(b), 24), Country: w.hq, City: city.Name, Lat: city.Lat, Lon: city.Lon,
			RadiusKm: 10, UTCOffset: city.UTCOffset, ASN: w.corpASN, Org: w.org, Kind: KindCorporate})
	}
	b := block
	b[2], b[3] = 200, 16
	w.corpVPN = netip.PrefixFrom(netip.AddrFrom4(b), 28)
	w.add(Place{Prefix: w.corpVPN, Country: w.hq, City: w.hqCity.Name, Lat: w.hqCity.Lat, Lon: w.hqCity.Lon,
		RadiusKm: 10, UTCOffset: w.hqCity.UTCOffset, ASN: w.corpASN, Org: w.org, Kind: KindCorporateVPN})
	// A commercial feed that lists one of the corporate egress addresses
	// as a VPN: the mis-tagged egress that anonymous-ip must not report
	// because many of the organisation's users share it.
	b[3] = 16 + 1 + byte(r.IntN(2))
	w.mistagged = netip.AddrFrom4(b)
	w.anon = append(w.anon, Indicator{Prefix: netip.PrefixFrom(w.mistagged, 32), Category: "vpn", Source: "commercial-anonymizer-feed", Confidence: 60})

	slices.SortFunc(w.nets, func(x, y Place) int { return x.Prefix.Addr().Compare(y.Prefix.Addr()) })
	for i, p := range w.nets {
		w.byCountry[countryKind{p.Country, p.Kind}] = append(w.byCountry[countryKind{p.Country, p.Kind}], i)
		w.byKind[p.Kind] = append(w.byKind[p.Kind], i)
	}

	// Tor exits: a few hundred relays on hosting networks, as in reality.
	hosting := w.byKind[KindHosting]
	seen := map[netip.Addr]bool{}
	for len(w.tor) < 120 {
		p := w.nets[hosting[r.IntN(len(hosting))]]
		ip := randomIn(r, p.Prefix)
		if seen[ip] {
			continue
		}
		seen[ip] = true
		var fp [20]byte
		for i := range fp {
			fp[i] = byte(r.Uint32())
		}
		w.tor = append(w.tor, torExit{addr: ip, fingerprint: fmt.Sprintf("%X", fp[:]), age: 600 + r.IntN(20*3600)})
	}
	slices.SortFunc(w.tor, func(x, y torExit) int { return x.addr.Compare(y.addr) })
	for _, t := range w.tor {
		w.anon = append(w.anon, Indicator{Prefix: netip.PrefixFrom(t.addr, 32), Category: "tor", Source: "tor-exit-list", Confidence: 100})
	}
	return w
}

func (w *World) add(p Place) {
	p.CountryName = w.countries[w.byCode[p.Country]].Name
	w.nets = append(w.nets, p)
}

func (w *World) city(cc, name string) City {
	for _, c := range w.countries[w.byCode[cc]].Cities {
		if c.Name == name {
			return c
		}
	}
	panic("world: unknown city " + cc + "/" + name) // static table error
}

func rirOf(cc string) rir {
	for _, row := range countries {
		if row.code == cc {
			return row.rir
		}
	}
	return ripe
}

func split3(s string) (string, string, string) {
	var parts [3]string
	n := 0
	start := 0
	for i := 0; i < len(s) && n < 2; i++ {
		if s[i] == '/' {
			parts[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	parts[2] = s[start:]
	return parts[0], parts[1], parts[2]
}

// allocator hands out distinct /16 blocks from each registry's space.
type allocator struct {
	r    *rand.Rand
	used map[[2]byte]bool
}

func newAllocator(r *rand.Rand) *allocator { return &allocator{r: r, used: map[[2]byte]bool{}} }

// reservedSixteen lists special-purpose /16s inside otherwise allocated
// first octets (RFC 5737, RFC 6890 and friends).
func reservedSixteen(a, b byte) bool {
	return (a == 203 && b == 0) || (a == 202 && b == 0) || (a == 1 && b == 1) || (a == 1 && b == 0)
}

func (a *allocator) fromOctets(octets []byte, bits int) netip.Prefix {
	for {
		x, y := octets[a.r.IntN(len(octets))], byte(a.r.IntN(256))
		if a.used[[2]byte{x, y}] || reservedSixteen(x, y) {
			continue
		}
		a.used[[2]byte{x, y}] = true
		third := byte(0)
		if bits > 16 {
			// A smaller network sits somewhere inside the /16.
			step := 1 << (24 - bits)
			third = byte(a.r.IntN(256/step) * step)
		}
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{x, y, third, 0}), bits)
	}
}

func (a *allocator) sixteen(reg rir, bits int) netip.Prefix {
	return a.fromOctets(firstOctets[reg], bits)
}

// asnSource hands out distinct public ASNs, avoiding the documentation,
// private and reserved ranges (RFC 5398, RFC 6996, RFC 7300).
type asnSource struct {
	r    *rand.Rand
	used map[uint32]bool
}

func newASNs(r *rand.Rand) *asnSource {
	u := map[uint32]bool{}
	for _, cr := range cloudRegions {
		u[cr.asn] = true
	}
	for _, hp := range hostingProviders {
		u[hp.asn] = true
	}
	return &asnSource{r: r, used: u}
}

func (s *asnSource) next() uint32 {
	for {
		var n uint32
		if s.r.IntN(3) == 0 {
			n = 131072 + uint32(s.r.IntN(270000)) // 32-bit ASNs as the registries now assign them
		} else {
			n = 1000 + uint32(s.r.IntN(63000))
		}
		if n == 23456 || (n >= 64496 && n <= 65551) || s.used[n] {
			continue
		}
		s.used[n] = true
		return n
	}
}

// randomIn returns a host address inside p, avoiding the first and last
// address of each /24.
func randomIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	size := uint32(1) << (32 - p.Bits())
	for {
		off := uint32(r.Int64N(int64(size)))
		if size >= 4 && (off&0xff == 0 || off&0xff == 0xff) {
			continue
		}
		v := base + off
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
}

// Seed returns the seed the world was built from.
func (w *World) Seed() int64 { return w.seed }

// Org returns the estate owner's organisation name and mail domain.
func (w *World) Org() (name, domain string) { return w.org, w.domain }

// HQ returns the head office's country code and city.
func (w *World) HQ() (country string, city City) { return w.hq, w.hqCity }

// CorporateASN returns the organisation's own ASN.
func (w *World) CorporateASN() uint32 { return w.corpASN }

// CorporateVPN returns the organisation's VPN egress prefix, which many
// users share.
func (w *World) CorporateVPN() netip.Prefix { return w.corpVPN }

// CorporateEgress returns the addresses the corporate VPN translates
// its users to: a small NAT pool inside CorporateVPN, so that each address
// is shared by many users.
func (w *World) CorporateEgress() []netip.Addr {
	b := w.corpVPN.Addr().As4()
	out := make([]netip.Addr, 0, 2)
	for i := range 2 {
		b[3] = 17 + byte(i)
		out = append(out, netip.AddrFrom4(b))
	}
	return out
}

// MistaggedEgress returns the corporate egress address that the
// simulated commercial anonymity feed wrongly lists as a VPN service.
func (w *World) MistaggedEgress() netip.Addr { return w.mistagged }

// Countries returns the world's countries in a fixed order.
func (w *World) Countries() []Country { return w.countries }

// Country returns a country by ISO code.
func (w *World) Country(code string) (Country, bool) {
	i, ok := w.byCode[code]
	if !ok {
		return Country{}, false
	}
	return w.countries[i], true
}

// Neighbours reports whether two countries share a border.
func (w *World) Neighbours(a, b string) bool {
	c, ok := w.Country(a)
	return ok && slices.Contains(c.Neighbours, b)
}

// Networks returns every network of the world, sorted by address.
func (w *World) Networks() []Place { return w.nets }

// NetworksOf returns the networks of one kind in a country ("" for any
// country), sorted by address.
func (w *World) NetworksOf(country string, kind Kind) []Place {
	var idx []int
	if country == "" {
		idx = w.byKind[kind]
	} else {
		idx = w.byCountry[countryKind{country, kind}]
	}
	out := make([]Place, len(idx))
	for i, j := range idx {
		out[i] = w.nets[j]
	}
	return out
}

// RandomIP returns an address of a home broadband or mobile network in a
// country (three in four are broadband). It returns the zero Addr for a
// country the world does not know.
func (w *World) RandomIP(r *rand.Rand, country string) netip.Addr {
	kind := KindResidential
	if r.IntN(4) == 0 {
		kind = KindMobile
	}
	ip, ok := w.RandomIPIn(r, country, kind)
	if !ok {
		ip, _ = w.RandomIPIn(r, country, KindResidential)
	}
	return ip
}

// RandomIPIn returns an address of a network of the given kind in a
// country ("" for any country).
func (w *World) RandomIPIn(r *rand.Rand, country string, kind Kind) (netip.Addr, bool) {
	var idx []int
	if country == "" {
		idx = w.byKind[kind]
	} else {
		idx = w.byCountry[countryKind{country, kind}]
	}
	if len(idx) == 0 {
		return netip.Addr{}, false
	}
	return randomIn(r, w.nets[idx[r.IntN(len(idx))]].Prefix), true
}

// RandomCityIP returns a home broadband address in a given city, and
// false when no network serves that city.
func (w *World) RandomCityIP(r *rand.Rand, country, city string) (netip.Addr, bool) {
	var cand []int
	for _, i := range w.byCountry[countryKind{country, KindResidential}] {
		if w.nets[i].City == city {
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return netip.Addr{}, false
	}
	return randomIn(r, w.nets[cand[r.IntN(len(cand))]].Prefix), true
}

// CloudIP returns an address in a cloud provider's region ("azure",
// "westeurope"); an empty region picks any of the provider's regions.
func (w *World) CloudIP(r *rand.Rand, provider, region string) (netip.Addr, bool) {
	var cand []int
	for _, i := range w.byKind[KindCloud] {
		if p := w.nets[i]; p.Cloud == provider && (region == "" || p.Region == region) {
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return netip.Addr{}, false
	}
	return randomIn(r, w.nets[cand[r.IntN(len(cand))]].Prefix), true
}

// Lookup returns the network holding an address.
func (w *World) Lookup(ip netip.Addr) (Place, bool) {
	ip = ip.Unmap()
	i, _ := slices.BinarySearchFunc(w.nets, ip, func(p Place, a netip.Addr) int { return cmp.Compare(p.Prefix.Addr().Compare(a), 0) })
	// i is the first network starting after ip (or at it).
	if i < len(w.nets) && w.nets[i].Prefix.Addr() == ip {
		return w.nets[i], true
	}
	if i > 0 && w.nets[i-1].Prefix.Contains(ip) {
		return w.nets[i-1], true
	}
	return Place{}, false
}

// TorExits returns the Tor exit addresses, sorted.
func (w *World) TorExits() []netip.Addr {
	out := make([]netip.Addr, len(w.tor))
	for i, t := range w.tor {
		out[i] = t.addr
	}
	return out
}

// IsTorExit reports whether an address is a Tor exit.
func (w *World) IsTorExit(ip netip.Addr) bool {
	_, ok := slices.BinarySearchFunc(w.tor, ip, func(t torExit, a netip.Addr) int { return t.addr.Compare(a) })
	return ok
}

// Anonymizers returns the anonymity-feed entries: VPN-service prefixes,
// the mis-tagged corporate egress address, and the Tor exits.
func (w *World) Anonymizers() []Indicator { return w.anon }

// DistanceKm returns the great-circle distance between two points.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371.0
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}
