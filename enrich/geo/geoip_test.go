package geo

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/vigil-ids/vigil/audit"
)

// writeDB writes a MaxMind DB of the given type with one record per
// network, as MaxMind lays them out.
func writeDB(t *testing.T, dbType string, recs map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		Languages:               []string{"en"},
		IncludeReservedNetworks: true, // the test networks are documentation ranges
		RecordSize:              28,
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range recs {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func country(iso string) mmdbtype.Map {
	return mmdbtype.Map{"iso_code": mmdbtype.String(iso), "names": mmdbtype.Map{"en": mmdbtype.String(iso)}}
}

func TestLookup(t *testing.T) {
	city := writeDB(t, "GeoIP2-City", map[string]mmdbtype.Map{
		// A city-level record.
		"192.0.2.0/24": {
			"country":  country("fr"),
			"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Lyon")}},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(45.75), "longitude": mmdbtype.Float64(4.85), "accuracy_radius": mmdbtype.Uint16(20)},
		},
		// A country-level record: MaxMind gives the country's centre.
		"198.51.100.0/24": {
			"country":  country("DE"),
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(51.3), "longitude": mmdbtype.Float64(9.5), "accuracy_radius": mmdbtype.Uint16(1000)},
		},
		// No country, only the registered one, and no coordinates.
		"203.0.113.0/24": {"registered_country": country("JP")},
		"2001:db8::/32": {
			"country":  country("US"),
			"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Chicago")}},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(41.88), "longitude": mmdbtype.Float64(-87.63), "accuracy_radius": mmdbtype.Uint16(50)},
		},
	})
	countryDB := writeDB(t, "GeoLite2-Country", map[string]mmdbtype.Map{
		"192.0.2.0/24": {"country": country("FR")},
	})
	asn := writeDB(t, "GeoLite2-ASN", map[string]mmdbtype.Map{
		"192.0.2.0/24":    {"autonomous_system_number": mmdbtype.Uint32(64500), "autonomous_system_organization": mmdbtype.String("Example Transit")},
		"100.64.0.0/10":   {"autonomous_system_number": mmdbtype.Uint32(64501), "autonomous_system_organization": mmdbtype.String("Carrier NAT")},
		"198.51.100.0/24": {"autonomous_system_number": mmdbtype.Uint32(64502)},
	})
	fr, _ := Country("FR")
	jp, _ := Country("JP")

	tests := []struct {
		name      string
		loc, asn  string
		ip        string
		want      Result
		wantFound bool
	}{
		{"city", city, asn, "192.0.2.10", Result{Location: audit.Location{Country: "FR", City: "Lyon", Latitude: 45.75, Longitude: 4.85, RadiusKm: 20}, ASN: 64500, ASOrg: "Example Transit"}, true},
		{"ipv4-mapped", city, asn, "::ffff:192.0.2.10", Result{Location: audit.Location{Country: "FR", City: "Lyon", Latitude: 45.75, Longitude: 4.85, RadiusKm: 20}, ASN: 64500, ASOrg: "Example Transit"}, true},
		{"country-level record", city, asn, "198.51.100.7", Result{Location: audit.Location{Country: "DE", Latitude: 51.3, Longitude: 9.5, RadiusKm: 1000, CountryOnly: true}, ASN: 64502}, true},
		{"registered country, no coordinates", city, "", "203.0.113.1", Result{Location: audit.Location{Country: "JP", Latitude: jp.Latitude, Longitude: jp.Longitude, CountryOnly: true}}, true},
		{"ipv6", city, "", "2001:db8::1", Result{Location: audit.Location{Country: "US", City: "Chicago", Latitude: 41.88, Longitude: -87.63, RadiusKm: 50}}, true},
		{"country schema", countryDB, "", "192.0.2.10", Result{Location: audit.Location{Country: "FR", Latitude: fr.Latitude, Longitude: fr.Longitude, CountryOnly: true}}, true},
		{"asn only", "", asn, "100.64.1.1", Result{ASN: 64501, ASOrg: "Carrier NAT"}, true},
		{"asn only, location db has none", city, asn, "100.64.1.1", Result{ASN: 64501, ASOrg: "Carrier NAT"}, true},
		{"unknown", city, asn, "10.0.0.1", Result{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(tc.loc, tc.asn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			got, found := db.Lookup(netip.MustParseAddr(tc.ip))
			if found != tc.wantFound {
				t.Errorf("found = %v, want %v", found, tc.wantFound)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			loc, n, org, ok := db.Locate(netip.MustParseAddr(tc.ip))
			if loc != got.Location || n != got.ASN || org != got.ASOrg || ok != found {
				t.Errorf("Locate disagrees with Lookup")
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("", ""); err != ErrNoDatabase {
		t.Errorf("Open with no paths: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.mmdb"), ""); err == nil {
		t.Error("Open of a missing file succeeded")
	}
	junk := filepath.Join(t.TempDir(), "junk.mmdb")
	if err := os.WriteFile(junk, []byte("not a maxmind database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("", junk); err == nil {
		t.Error("Open of a junk file succeeded")
	}
}
