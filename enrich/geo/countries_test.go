package geo

import (
	"math"
	"testing"
)

func TestCountryTable(t *testing.T) {
	all := Countries()
	if len(all) < 249 {
		t.Fatalf("table has %d countries, want every ISO 3166-1 code (249) and Kosovo", len(all))
	}
	for _, c := range all {
		if len(c.Code) != 2 || c.Code[0] < 'A' || c.Code[0] > 'Z' || c.Code[1] < 'A' || c.Code[1] > 'Z' {
			t.Errorf("bad code %q", c.Code)
		}
		if c.Name == "" || math.Abs(c.Latitude) > 90 || math.Abs(c.Longitude) > 180 {
			t.Errorf("%s: bad entry %+v", c.Code, c)
		}
		for _, n := range c.Borders {
			if _, ok := Country(n); !ok {
				t.Errorf("%s borders unknown %s", c.Code, n)
			}
			if !Bordering(n, c.Code) {
				t.Errorf("%s lists %s as a neighbour but %s does not list %s", c.Code, n, n, c.Code)
			}
			if n == c.Code {
				t.Errorf("%s borders itself", c.Code)
			}
		}
	}
}

func TestBordering(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"FR", "DE", true}, {"US", "CA", true}, {"US", "MX", true}, {"CN", "RU", true},
		{"de", "at", true}, {"ES", "PT", true}, {"IN", "PK", true}, {"BR", "AR", true},
		{"ZA", "LS", true}, {"KP", "KR", true}, {"FR", "GB", false}, {"US", "RU", false},
		{"AU", "NZ", false}, {"JP", "CN", false}, {"FR", "FR", false}, {"ZZ", "FR", false},
	} {
		if got := Bordering(tc.a, tc.b); got != tc.want {
			t.Errorf("Bordering(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := Bordering(tc.b, tc.a); got != tc.want {
			t.Errorf("Bordering(%s, %s) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestCountryLookup(t *testing.T) {
	c, ok := Country("fr")
	if !ok || c.Code != "FR" || c.Name != "France" {
		t.Fatalf("Country(fr) = %+v, %v", c, ok)
	}
	// The representative point lies inside the country: within 600 km of
	// its capital for these compact ones.
	capitals := map[string][2]float64{"FR": {48.86, 2.35}, "DE": {52.52, 13.40}, "ES": {40.42, -3.70}, "JP": {35.68, 139.69}, "GB": {51.51, -0.13}}
	for code, p := range capitals {
		c, _ := Country(code)
		if d := DistanceKm(c.Latitude, c.Longitude, p[0], p[1]); d > 600 {
			t.Errorf("%s: representative point %.0f km from the capital", code, d)
		}
	}
	if _, ok := Country("ZZ"); ok {
		t.Error("Country(ZZ) found")
	}
	lat, lon, ok := Table{}.Centroid("US")
	if !ok || lat == 0 || lon == 0 {
		t.Errorf("Centroid(US) = %v, %v, %v", lat, lon, ok)
	}
}

func TestDistanceKm(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want                   float64
	}{
		{"Paris-London", 48.8566, 2.3522, 51.5074, -0.1278, 344},
		{"New York-Los Angeles", 40.7128, -74.0060, 34.0522, -118.2437, 3936},
		{"Sydney-Tokyo", -33.8688, 151.2093, 35.6762, 139.6503, 7823},
		{"same point", 10, 10, 10, 10, 0},
		{"antipodes", 0, 0, 0, 180, math.Pi * earthRadiusKm},
	} {
		if got := DistanceKm(tc.lat1, tc.lon1, tc.lat2, tc.lon2); math.Abs(got-tc.want) > tc.want*0.005+0.5 {
			t.Errorf("%s: %.1f km, want %.1f", tc.name, got, tc.want)
		}
	}
}
