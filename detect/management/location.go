package management

import (
	"math"
	"net/netip"
	"sort"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

// location runs infrequent-country, anonymous-ip and impossible-travel on a
// user's activity from a routable address, then learns where the user and
// the organisation act from. Failed sign-ins are left out: a failed password
// from far away says nothing about where the user is.
func (d *Detector) location(ev *audit.Event, p *principal, o *org) {
	if !isUser(ev) || !routable(ev.SourceIP) {
		return
	}
	if ev.Kind == audit.KindSignIn && ev.Result == audit.ResultFailure {
		return
	}
	ip := ev.SourceIP.Unmap()
	t := ev.Time
	u := strHash(p.ID)
	if !p.anonValid || p.anonIP != ip {
		p.anonIP, p.anonValid = ip, true
		p.cacheAnon = anonHit{}
		if d.deps.Anonymity != nil {
			c, ind, src, conf, ok := d.deps.Anonymity.Anonymous(ip)
			p.cacheAnon = anonHit{category: c, indicator: ind, source: src, confidence: conf, ok: ok}
		}
	}
	loc := d.cur
	country := loc.loc.Country
	orgLearnt := !o.FirstSeen.IsZero() && t.Sub(o.FirstSeen) >= days(d.cfg.Location.OrgLearningDays)

	// infrequent-country
	if country != "" && orgLearnt {
		c := o.Countries[country]
		recency := days(d.cfg.Location.CountryRecencyDays)
		if c == nil || t.Sub(c.Last) > recency {
			var last any
			if c != nil {
				last = c.Last.UTC().Format(time.RFC3339Nano)
			}
			m := d.newMatch(alert.InfrequentCountry, ev, p, map[string]any{
				"country":                  country,
				"city":                     loc.loc.City,
				"ip":                       ip.String(),
				"asn":                      loc.asn,
				"as_org":                   loc.asOrg,
				"country_last_seen_in_org": last,
				"org_recent_countries":     o.recentCountries(t, recency, 20),
				"recency_days":             d.cfg.Location.CountryRecencyDays,
			}, "country_last_seen_in_org", "org_recent_countries")
			m.ops[0].Country = country
			d.raise(m)
		} else if inc := d.incidents[incKey{alert.InfrequentCountry, p.ID}]; inc != nil &&
			inc.extra["country"] == country && !t.After(inc.a.End.Add(d.cfg.IncidentGap)) {
			// The same user still acting from the country that raised the
			// alert extends it.
			m := d.newMatch(alert.InfrequentCountry, ev, p, nil)
			m.ops[0].Country = country
			d.raise(m)
		}
	}

	// anonymous-ip
	if a := p.cacheAnon; a.ok && orgLearnt {
		users := o.IPs[ip].others(u)
		if users < d.cfg.Location.SharedMinUsers {
			m := d.newMatch(alert.AnonymousIP, ev, p, map[string]any{
				"ip":              ip.String(),
				"category":        a.category,
				"indicator":       a.indicator,
				"source":          a.source,
				"confidence":      a.confidence,
				"org_users_on_ip": users,
				"country":         country,
				"asn":             loc.asn,
				"as_org":          loc.asOrg,
			})
			m.ops[0].Country = country
			m.countries = []string{country}
			d.raise(m)
		}
	}

	// impossible-travel
	if here, ok := d.placeOf(t, ip, loc); ok {
		if prev := p.Last; prev != nil && prev.IP != ip {
			d.travel(ev, p, o, u, prev, here)
		}
		switch {
		case p.Last == nil:
			p.Last = &here
		case !t.Before(p.Last.T):
			*p.Last = here
		}
	}

	// Learn.
	var newCountry bool
	if country != "" {
		p.Countries, newCountry = touch(p.Countries, country, t, maxPrincipalCountries)
	}
	p.IPs, _ = touch(p.IPs, ip, t, maxPrincipalIPs)
	if loc.asn != 0 {
		p.ASNs, _ = touch(p.ASNs, loc.asn, t, maxPrincipalASNs)
	}
	o.learn(u, t, ip, loc, newCountry)
}

// locate resolves where the caller of an event is, once per address per
// principal: most consecutive events of a principal come from one address.
func (d *Detector) locate(ev *audit.Event, p *principal) located {
	if !routable(ev.SourceIP) {
		if ev.Location.Known() {
			return located{loc: ev.Location, ok: true}
		}
		return located{}
	}
	ip := ev.SourceIP.Unmap()
	if !p.cacheValid || p.cacheIP != ip || (!p.cacheLoc.ok && ev.Location.Known()) {
		p.cacheIP, p.cacheValid = ip, true
		p.cacheLoc = d.resolve(ip, ev)
	}
	if p.cacheLoc.viaGeo {
		d.stats.enriched++
	}
	return p.cacheLoc
}

// resolve locates an address: GeoIP first, then what the log says.
func (d *Detector) resolve(ip netip.Addr, ev *audit.Event) located {
	if d.deps.Locator != nil {
		if l, asn, asOrg, ok := d.deps.Locator.Locate(ip); ok {
			r := located{loc: l, asn: asn, asOrg: asOrg, ok: l.Known() || asn != 0, viaGeo: true}
			if !l.Known() && ev.Location.Known() {
				r.loc = ev.Location
			}
			return r
		}
	}
	if ev.Location.Known() {
		return located{loc: ev.Location, ok: true}
	}
	return located{}
}

// placeOf gives the coordinates of a location: its own, or its country's
// centroid when only the country is known.
func (d *Detector) placeOf(t time.Time, ip netip.Addr, loc located) (place, bool) {
	l := loc.loc
	if l.Country == "" {
		return place{}, false
	}
	pl := place{T: t, IP: ip, Country: l.Country, City: l.City, ASN: loc.asn, ASOrg: loc.asOrg,
		Lat: l.Latitude, Lon: l.Longitude, RadiusKm: l.RadiusKm, CountryOnly: l.CountryOnly}
	// Without a city the place is the country: GeoIP records of the country
	// level carry the country's coordinates, or none.
	if l.CountryOnly || l.City == "" || (l.Latitude == 0 && l.Longitude == 0) {
		pl.CountryOnly = true
		pl.RadiusKm = 0
		if l.Latitude == 0 && l.Longitude == 0 {
			if d.deps.Countries == nil {
				return place{}, false
			}
			lat, lon, ok := d.deps.Countries.Centroid(l.Country)
			if !ok {
				return place{}, false
			}
			pl.Lat, pl.Lon = lat, lon
		}
	}
	if math.IsNaN(pl.Lat) || math.IsNaN(pl.Lon) || math.Abs(pl.Lat) > 90 || math.Abs(pl.Lon) > 180 {
		return place{}, false
	}
	return pl, true
}

// travel judges the move from prev to here.
func (d *Detector) travel(ev *audit.Event, p *principal, o *org, u uint64, prev *place, here place) {
	cfg := d.cfg.Location
	countryLevel := prev.CountryOnly || here.CountryOnly
	if countryLevel && (prev.Country == here.Country ||
		d.deps.Countries != nil && d.deps.Countries.Bordering(prev.Country, here.Country)) {
		return
	}
	dist := haversineKm(prev.Lat, prev.Lon, here.Lat, here.Lon)
	eff := dist
	if !countryLevel {
		eff = dist - prev.RadiusKm - here.RadiusKm
	}
	if eff <= cfg.MinDistanceKm {
		return
	}
	dt := here.T.Sub(prev.T)
	if dt < 0 {
		dt = -dt
	}
	// Two records in the same instant: a minute is the resolution the logs
	// and the clocks behind them support.
	hours := math.Max(dt.Hours(), 1.0/60)
	speed := eff / hours
	if speed <= cfg.MaxSpeedKmh {
		return
	}
	if ev.Time.Sub(p.FirstSeen) < days(cfg.UserLearningDays) {
		return
	}
	if d.vpnASN[prev.ASN] || d.vpnASN[here.ASN] {
		return
	}
	if o.sharedEgress(u, prev.IP, prev.ASN, cfg.SharedMinUsers) || o.sharedEgress(u, here.IP, here.ASN, cfg.SharedMinUsers) {
		return
	}
	from, to := *prev, here
	if from.T.After(to.T) {
		from, to = to, from
	}
	m := d.newMatch(alert.ImpossibleTravel, ev, p, map[string]any{
		"from":                  from.evidence(),
		"to":                    to.evidence(),
		"distance_km":           round1(dist),
		"effective_distance_km": round1(eff),
		"elapsed_minutes":       round1(dt.Minutes()),
		"speed_kmh":             math.Round(speed),
		"country_level":         countryLevel,
	})
	m.ops[0].Country = here.Country
	m.start, m.end = from.T, to.T
	m.ips = []netip.Addr{from.IP, to.IP}
	m.countries = []string{from.Country, to.Country}
	d.raise(m)
}

func (pl place) evidence() map[string]any {
	m := map[string]any{
		"time":    pl.T.UTC().Format(time.RFC3339Nano),
		"ip":      pl.IP.String(),
		"country": pl.Country,
		"lat":     math.Round(pl.Lat*1e4) / 1e4,
		"lon":     math.Round(pl.Lon*1e4) / 1e4,
	}
	if pl.City != "" {
		m["city"] = pl.City
	}
	if pl.RadiusKm > 0 {
		m["radius_km"] = pl.RadiusKm
	}
	if pl.CountryOnly {
		m["country_only"] = true
	}
	if pl.ASN != 0 {
		m["asn"] = pl.ASN
	}
	if pl.ASOrg != "" {
		m["as_org"] = pl.ASOrg
	}
	return m
}

// recentCountries lists the countries the organisation used within the
// recency, most used first.
func (o *org) recentCountries(t time.Time, recency time.Duration, limit int) []string {
	type cu struct {
		c string
		n int
	}
	var list []cu
	for c, e := range o.Countries {
		if t.Sub(e.Last) <= recency {
			list = append(list, cu{c, len(e.Users)})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].c < list[j].c
	})
	out := []string{}
	for i := 0; i < len(list) && i < limit; i++ {
		out = append(out, list[i].c)
	}
	return out
}
