package mgmt

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/sim/world"
)

var firstNames = []string{"Alice", "Bruno", "Chloe", "David", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Luca",
	"Maya", "Nils", "Olivia", "Pavel", "Quentin", "Rosa", "Samir", "Tara", "Ugo", "Vera", "Wim", "Xenia", "Yann", "Zoe",
	"Amir", "Beatriz", "Carlos", "Dana", "Elif", "Femke", "Goran", "Hana", "Ivan", "Julia", "Kenji", "Lea", "Marco", "Nadia"}
var lastNames = []string{"Martin", "Dubois", "Schmidt", "Peeters", "Jansen", "Rossi", "Garcia", "Smith", "Brown", "Tanaka",
	"Nguyen", "Kowalski", "Novak", "Larsen", "Silva", "Moreau", "Weber", "Claes", "Bakker", "Romano", "Lopez", "Taylor",
	"Wilson", "Sato", "Patel", "Cohen", "Fischer", "Lambert", "Meyer", "Janssens"}

func (s *sim) newPerson(country string, scripted bool) *person {
	r := s.r
	w := s.w
	ctry, _ := w.Country(country)
	first, last := pick(r, firstNames), pick(r, lastNames)
	base := strings.ToLower(first + "." + last)
	s.names[base]++
	if n := s.names[base]; n > 1 {
		base = fmt.Sprintf("%s%d", base, n)
	}
	p := &person{first: first, last: last, country: country, city: pick(r, ctry.Cities), scripted: scripted,
		activeFrom: s.cfg.Start, opsPerDay: 1 + r.IntN(6), scriptedOff: map[time.Time]bool{}, customRole: guid(r)}
	for range 2 {
		ip, ok := w.RandomCityIP(r, country, p.city.Name)
		if !ok {
			ip = w.RandomIP(r, country)
		}
		p.homeIPs = append(p.homeIPs, ip)
	}
	if ip, ok := w.RandomIPIn(r, country, world.KindMobile); ok {
		p.mobileIPs = append(p.mobileIPs, ip)
	}
	hq, _ := w.HQ()
	p.office = country == hq && r.IntN(2) == 0
	p.tools = [3]int{6, 3, 0}
	if r.IntN(3) == 0 {
		p.tools = [3]int{2, 8, 0}
	}
	if !scripted {
		if r.IntN(5) < 3 {
			p.vpn = 0.4 + 0.4*r.Float64()
		}
		if r.IntN(5) == 0 {
			p.psRegular = true
			p.tools = [3]int{2, 1, 7}
		}
	}
	_, domain := w.Org()
	p.azure = &principal{id: guid(r), name: first + " " + last, upn: base + "@" + domain, kind: kindUser, cloud: srcActivity, person: p}
	s.people = append(s.people, p)
	return p
}

func (s *sim) addAWS(p *person) {
	acct := s.est.accounts[s.r.IntN(len(s.est.accounts))]
	user := strings.ToLower(p.first + "." + p.last)
	p.aws = &principal{id: "arn:aws:iam::" + acct + ":user/" + user, name: user, upn: p.azure.upn, kind: kindUser, cloud: srcCloudTrail,
		account: acct, awsUser: user, person: p}
}

func (s *sim) addGCP(p *person) {
	p.gcp = &principal{id: p.azure.upn, name: p.azure.name, upn: p.azure.upn, kind: kindUser, cloud: srcGCP,
		project: s.est.projects[s.r.IntN(len(s.est.projects))], person: p}
}

// buildPopulation creates the background people and service identities.
func (s *sim) buildPopulation() {
	r := s.r
	hq, _ := s.w.HQ()
	hqCtry, _ := s.w.Country(hq)
	others := []string{"GB", "ES", "IN", "JP", "AU", "SG", "IE", "NL", "US", "CA", "IT", "PL"}
	n := s.cfg.Users * s.cfg.Scale
	for i := range n {
		var cc string
		switch x := r.IntN(100); {
		case x < 40 || i < 4:
			cc = hq
		case x < 65 && len(hqCtry.Neighbours) > 0:
			cc = pick(r, hqCtry.Neighbours)
		case x < 80:
			cc = pick(r, []string{"US", "CA"})
		default:
			cc = pick(r, others)
		}
		p := s.newPerson(cc, false)
		if r.IntN(100) < 35 {
			s.addAWS(p)
		}
		if r.IntN(100) < 25 {
			s.addGCP(p)
		}
	}
	// Weekly role administrators: assign built-in roles, and now and then
	// update a custom role that nobody is granted.
	admins := 0
	for _, p := range s.people {
		if admins < 3 && p.country == hq {
			p.roleAdmin = true
			admins++
		}
	}
	// New users in their learning week.
	for i := range 3 {
		p := s.people[len(s.people)-1-i]
		p.activeFrom = s.cfg.End.Add(-time.Duration(2+2*i) * 24 * time.Hour)
		p.psRegular = false
		p.tools = [3]int{7, 3, 0}
		p.trips = nil
		p.aws, p.gcp = nil, nil
	}
	for _, p := range s.people {
		s.homeCnt[p.country]++
	}
	// Travel, only to countries where colleagues live (so that the trip
	// is realistic travel and not an infrequent country), with a flight
	// day at each end.
	days := int(s.cfg.End.Sub(s.cfg.Start) / (24 * time.Hour))
	for _, p := range s.people {
		if p.activeFrom != s.cfg.Start || r.IntN(100) >= 30 {
			continue
		}
		nTrips := 1 + r.IntN(2)
		for range nTrips {
			dst := s.commonCountry(p.country, 0)
			if dst == "" {
				break
			}
			ctry, _ := s.w.Country(dst)
			d0 := 10 + r.IntN(days-20)
			length := 3 + r.IntN(5)
			t := trip{depart: s.day(d0), back: s.day(d0 + length), country: dst, city: pick(r, ctry.Cities)}
			if d0+length >= days-1 || overlaps(p.trips, t) {
				continue
			}
			p.trips = append(p.trips, t)
		}
	}

	// Service principals and managed identities (automation).
	for i := range 3 * s.cfg.Scale {
		name := []string{"ci-deploy", "backup-automation", "monitoring-agent"}[i%3]
		if i >= 3 {
			name = fmt.Sprintf("%s-%d", name, i/3)
		}
		k := kindService
		if strings.HasPrefix(name, "backup") {
			k = kindManagedIdentity
		}
		s.sps = append(s.sps, &principal{id: guid(r), name: name, kind: k, cloud: srcActivity, appID: guid(r)})
	}
	for _, acct := range s.est.accounts {
		s.awsRoles = append(s.awsRoles, &principal{id: "arn:aws:sts::" + acct + ":assumed-role/github-actions-deploy/GitHubActions",
			name: "github-actions-deploy", kind: kindService, cloud: srcCloudTrail, account: acct})
	}
	for _, proj := range s.est.projects {
		s.gcpSAs = append(s.gcpSAs, &principal{id: "terraform@" + proj + ".iam.gserviceaccount.com", name: "terraform",
			kind: kindService, cloud: srcGCP, project: proj})
	}
}

func overlaps(ts []trip, t trip) bool {
	for _, o := range ts {
		if !t.depart.After(o.back.Add(24*time.Hour)) && !o.depart.After(t.back.Add(24*time.Hour)) {
			return true
		}
	}
	return false
}

// commonCountry returns a country, other than from, where at least two
// colleagues live and which is at least minKm away; "" when none.
func (s *sim) commonCountry(from string, minKm float64) string {
	fc, _ := s.w.Country(from)
	var cand []string
	for _, c := range s.w.Countries() {
		if c.Code == from || s.homeCnt[c.Code] < 2 {
			continue
		}
		if world.DistanceKm(fc.Lat, fc.Lon, c.Lat, c.Lon) < minKm {
			continue
		}
		cand = append(cand, c.Code)
	}
	if len(cand) == 0 {
		return ""
	}
	return pick(s.r, cand)
}

// unusedCountry returns a country where nobody in the organisation lives.
func (s *sim) unusedCountry(exclude ...string) string {
	var cand []string
	for _, c := range s.w.Countries() {
		if s.homeCnt[c.Code] == 0 && !slices.Contains(exclude, c.Code) && !s.visited[c.Code] {
			cand = append(cand, c.Code)
		}
	}
	return pick(s.r, cand)
}

func (s *sim) day(i int) time.Time { return s.cfg.Start.Add(time.Duration(i) * 24 * time.Hour) }

// where says where a person is on a day: abroad (the trip), in flight
// (no activity), or at home.
func (p *person) where(day time.Time) (t *trip, flying bool) {
	for i := range p.trips {
		tr := &p.trips[i]
		if day.Equal(tr.depart) || day.Equal(tr.back) {
			return tr, true
		}
		if day.After(tr.depart) && day.Before(tr.back) {
			return tr, false
		}
	}
	return nil, false
}

func (p *person) pickApp(r *rand.Rand) string {
	total := p.tools[0] + p.tools[1] + p.tools[2]
	x := r.IntN(total)
	switch {
	case x < p.tools[0]:
		return audit.AppIDPortal
	case x < p.tools[0]+p.tools[1]:
		return audit.AppIDCLI
	}
	return audit.AppIDPowerShell
}

// dayIP returns the address a person uses on a day, and whether it is
// a corporate VPN egress.
func (s *sim) dayIP(p *person, tr *trip, r *rand.Rand) netip.Addr {
	if r.Float64() < p.vpn {
		return pick(r, s.w.CorporateEgress())
	}
	if tr != nil {
		if r.IntN(3) == 0 {
			if ip, ok := s.w.RandomIPIn(r, tr.country, world.KindMobile); ok {
				return ip
			}
		}
		if ip, ok := s.w.RandomCityIP(r, tr.country, tr.city.Name); ok {
			return ip
		}
		return s.w.RandomIP(r, tr.country)
	}
	hq, _ := s.w.HQ()
	if p.office && r.IntN(10) < 6 {
		if ip, ok := s.w.RandomIPIn(r, hq, world.KindCorporate); ok {
			return ip
		}
	}
	if len(p.mobileIPs) > 0 && r.IntN(5) == 0 {
		return p.mobileIPs[0]
	}
	return pick(r, p.homeIPs)
}
