package management

import (
	"net/netip"

	"github.com/vigil-ids/vigil/audit"
)

// The test world: networks with a place, an ASN and whether the GeoIP
// database knows the city or only the country.
type netPlace struct {
	prefix netip.Prefix
	loc    audit.Location
	asn    uint32
	asOrg  string
}

var world = []netPlace{
	{netip.MustParsePrefix("81.56.0.0/16"), audit.Location{Country: "FR", City: "Paris", Latitude: 48.8566, Longitude: 2.3522, RadiusKm: 20}, 3215, "Orange"},
	{netip.MustParsePrefix("90.0.0.0/16"), audit.Location{Country: "FR", City: "Lyon", Latitude: 45.764, Longitude: 4.8357, RadiusKm: 20}, 3215, "Orange"},
	{netip.MustParsePrefix("198.51.100.0/24"), audit.Location{Country: "US", City: "Ashburn", Latitude: 39.0438, Longitude: -77.4874, RadiusKm: 10}, 64500, "Corp VPN"},
	{netip.MustParsePrefix("24.0.0.0/16"), audit.Location{Country: "US", City: "New York", Latitude: 40.7128, Longitude: -74.006, RadiusKm: 25}, 7922, "Comcast"},
	{netip.MustParsePrefix("1.120.0.0/16"), audit.Location{Country: "AU", City: "Sydney", Latitude: -33.8688, Longitude: 151.2093, RadiusKm: 25}, 1221, "Telstra"},
	{netip.MustParsePrefix("95.24.0.0/16"), audit.Location{Country: "RU", City: "Moscow", Latitude: 55.7558, Longitude: 37.6173, RadiusKm: 50}, 8402, "Beeline"},
	{netip.MustParsePrefix("105.112.0.0/16"), audit.Location{Country: "NG", City: "Lagos", Latitude: 6.5244, Longitude: 3.3792, RadiusKm: 50}, 36873, "Airtel"},
	{netip.MustParsePrefix("185.220.101.0/24"), audit.Location{Country: "DE", CountryOnly: true}, 208294, "Tor relays"},
	{netip.MustParsePrefix("91.64.0.0/16"), audit.Location{Country: "DE", City: "Berlin", Latitude: 52.52, Longitude: 13.405, RadiusKm: 20}, 3209, "Vodafone"},
	{netip.MustParsePrefix("81.240.0.0/16"), audit.Location{Country: "BE", CountryOnly: true}, 5432, "Proximus"},
	{netip.MustParsePrefix("86.0.0.0/16"), audit.Location{Country: "GB", City: "London", Latitude: 51.5074, Longitude: -0.1278, RadiusKm: 20}, 5607, "Sky"},
	{netip.MustParsePrefix("20.50.0.0/16"), audit.Location{Country: "NL", City: "Amsterdam", Latitude: 52.37, Longitude: 4.89, RadiusKm: 100}, 8075, "Microsoft"},
}

type fakeLocator struct{}

func (fakeLocator) Locate(ip netip.Addr) (audit.Location, uint32, string, bool) {
	for _, n := range world {
		if n.prefix.Contains(ip) {
			return n.loc, n.asn, n.asOrg, true
		}
	}
	return audit.Location{}, 0, "", false
}

type fakeCountries struct{}

var centroids = map[string][2]float64{
	"FR": {46.2, 2.2}, "US": {37.1, -95.7}, "AU": {-25.3, 133.8}, "RU": {61.5, 105.3},
	"NG": {9.1, 8.7}, "DE": {51.2, 10.5}, "BE": {50.5, 4.5}, "GB": {55.4, -3.4}, "NL": {52.1, 5.3},
}

var borders = map[[2]string]bool{
	{"FR", "BE"}: true, {"FR", "DE"}: true, {"DE", "NL"}: true, {"BE", "NL"}: true, {"BE", "DE"}: true,
}

func (fakeCountries) Bordering(a, b string) bool {
	return borders[[2]string{a, b}] || borders[[2]string{b, a}]
}

func (fakeCountries) Centroid(code string) (float64, float64, bool) {
	c, ok := centroids[code]
	return c[0], c[1], ok
}

// fakeAnonymity lists a Tor exit and, wrongly, the corporate VPN egress: the
// suppression by shared users must absorb the latter.
type fakeAnonymity struct{}

func (fakeAnonymity) Anonymous(ip netip.Addr) (string, string, string, int, bool) {
	switch {
	case netip.MustParsePrefix("185.220.101.0/24").Contains(ip):
		return "tor", ip.String(), "tor-exits", 100, true
	case ip == netip.MustParseAddr("198.51.100.10"):
		return "vpn", "198.51.100.0/24", "vpn-list", 60, true
	}
	return "", "", "", 0, false
}

func testDeps() Deps {
	return Deps{Locator: fakeLocator{}, Countries: fakeCountries{}, Anonymity: fakeAnonymity{}}
}
