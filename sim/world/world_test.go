package world

import (
	"bufio"
	"encoding/csv"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oschwald/maxminddb-golang/v2"
)

var netipOpts = cmp.Options{
	cmp.Comparer(func(x, y netip.Addr) bool { return x == y }),
	cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
}

func TestDeterministic(t *testing.T) {
	a, b, c := New(7), New(7), New(8)
	if diff := cmp.Diff(a.Networks(), b.Networks(), netipOpts); diff != "" {
		t.Fatalf("same seed, different networks (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.TorExits(), b.TorExits(), netipOpts); diff != "" {
		t.Fatalf("same seed, different Tor exits:\n%s", diff)
	}
	if a.Networks()[0].Prefix == c.Networks()[0].Prefix && a.TorExits()[0] == c.TorExits()[0] {
		t.Fatal("different seeds gave the same world")
	}
	ra, rb := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	for range 100 {
		if x, y := a.RandomIP(ra, "FR"), b.RandomIP(rb, "FR"); x != y {
			t.Fatalf("RandomIP differs: %v vs %v", x, y)
		}
	}
}

func TestNetworksArePublicAndDisjoint(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 99} {
		w := New(seed)
		nets := w.Networks()
		for i, p := range nets {
			a := p.Prefix.Addr()
			if !a.Is4() || a.IsPrivate() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || !a.IsGlobalUnicast() {
				t.Errorf("seed %d: %s is not public unicast", seed, p.Prefix)
			}
			for _, res := range []string{"100.64.0.0/10", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24"} {
				if netip.MustParsePrefix(res).Overlaps(p.Prefix) {
					t.Errorf("seed %d: %s overlaps reserved %s", seed, p.Prefix, res)
				}
			}
			if i > 0 && nets[i-1].Prefix.Overlaps(p.Prefix) {
				t.Errorf("seed %d: %s overlaps %s", seed, nets[i-1].Prefix, p.Prefix)
			}
			if p.ASN == 0 || p.Org == "" || p.Country == "" || p.CountryName == "" {
				t.Errorf("seed %d: incomplete %+v", seed, p)
			}
		}
	}
}

func TestLookupAndRandom(t *testing.T) {
	w := New(3)
	r := rand.New(rand.NewPCG(3, 3))
	for _, cc := range []string{"FR", "DE", "BE", "US", "CA", "AU", "JP"} {
		for range 50 {
			ip := w.RandomIP(r, cc)
			p, ok := w.Lookup(ip)
			if !ok || p.Country != cc || (p.Kind != KindResidential && p.Kind != KindMobile) {
				t.Fatalf("RandomIP(%s) = %v, lookup %+v %v", cc, ip, p, ok)
			}
		}
	}
	for _, ip := range w.TorExits() {
		p, ok := w.Lookup(ip)
		if !ok || p.Kind != KindHosting || !w.IsTorExit(ip) {
			t.Fatalf("tor exit %v: %+v %v", ip, p, ok)
		}
	}
	if w.IsTorExit(w.RandomIP(r, "FR")) {
		t.Fatal("a residential address is a Tor exit")
	}
	if p, ok := w.Lookup(w.MistaggedEgress()); !ok || p.Kind != KindCorporateVPN || !w.CorporateVPN().Contains(w.MistaggedEgress()) {
		t.Fatalf("mis-tagged egress %v: %+v", w.MistaggedEgress(), p)
	}
	if _, ok := w.Lookup(netip.MustParseAddr("10.1.2.3")); ok {
		t.Fatal("private address found in the world")
	}
	if ip, ok := w.CloudIP(r, "azure", "westeurope"); !ok {
		t.Fatal("no azure westeurope")
	} else if p, _ := w.Lookup(ip); p.ASN != 8075 || p.Country != "NL" {
		t.Fatalf("azure westeurope %v: %+v", ip, p)
	}
	if !w.Neighbours("FR", "BE") || !w.Neighbours("US", "CA") || w.Neighbours("US", "AU") {
		t.Fatal("neighbour table wrong")
	}
	if d := DistanceKm(48.86, 2.35, 51.51, -0.13); d < 330 || d > 360 {
		t.Fatalf("Paris-London = %.0f km", d)
	}
}

type cityRecord struct {
	Country struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude       float64 `maxminddb:"latitude"`
		Longitude      float64 `maxminddb:"longitude"`
		AccuracyRadius uint16  `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

func TestWriteMMDBReadsBack(t *testing.T) {
	w := New(11)
	dir := t.TempDir()
	cityPath, asnPath := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	if err := w.WriteMMDB(cityPath, asnPath); err != nil {
		t.Fatal(err)
	}
	cdb, err := maxminddb.Open(cityPath)
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	adb, err := maxminddb.Open(asnPath)
	if err != nil {
		t.Fatal(err)
	}
	defer adb.Close()
	if cdb.Metadata.DatabaseType != "GeoIP2-City" || adb.Metadata.DatabaseType != "GeoLite2-ASN" {
		t.Fatalf("types %q %q", cdb.Metadata.DatabaseType, adb.Metadata.DatabaseType)
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, p := range w.Networks() {
		ip := randomIn(r, p.Prefix)
		var got cityRecord
		res := cdb.Lookup(ip)
		if err := res.Decode(&got); err != nil || !res.Found() {
			t.Fatalf("%v: found=%v err=%v", ip, res.Found(), err)
		}
		if res.Prefix() != p.Prefix {
			t.Errorf("%v: prefix %v, want %v", ip, res.Prefix(), p.Prefix)
		}
		var want cityRecord
		want.Country.ISOCode = p.Country
		want.Country.Names = map[string]string{"en": p.CountryName}
		if p.City != "" {
			want.City.Names = map[string]string{"en": p.City}
		}
		want.Location.Latitude, want.Location.Longitude, want.Location.AccuracyRadius = p.Lat, p.Lon, p.RadiusKm
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%v (-want +got):\n%s", ip, diff)
		}
		var a asnRecord
		if err := adb.Lookup(ip).Decode(&a); err != nil {
			t.Fatal(err)
		}
		if a.Number != p.ASN || a.Org != p.Org {
			t.Fatalf("%v: asn %+v, want %d %q", ip, a, p.ASN, p.Org)
		}
	}
	if res := cdb.Lookup(netip.MustParseAddr("10.0.0.1")); res.Found() {
		t.Fatal("private address has a record")
	}
	// Same seed, same bytes.
	dir2 := t.TempDir()
	if err := New(11).WriteMMDB(filepath.Join(dir2, "city.mmdb"), filepath.Join(dir2, "asn.mmdb")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"city.mmdb", "asn.mmdb"} {
		x, _ := os.ReadFile(filepath.Join(dir, n))
		y, _ := os.ReadFile(filepath.Join(dir2, n))
		if string(x) != string(y) {
			t.Fatalf("%s differs between two writes of the same seed", n)
		}
	}
}

func TestTorExitListFormat(t *testing.T) {
	w := New(4)
	path := filepath.Join(t.TempDir(), "exits.txt")
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := w.WriteTorExitList(path, at); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`^ExitNode [0-9A-F]{40}$`),
		regexp.MustCompile(`^Published \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`),
		regexp.MustCompile(`^LastStatus \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`),
		regexp.MustCompile(`^ExitAddress (\S+) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$`),
	}
	sc := bufio.NewScanner(f)
	var addrs []netip.Addr
	n := 0
	for sc.Scan() {
		line := sc.Text()
		re := patterns[n%4]
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d %q does not match %s", n+1, line, re)
		}
		if n%4 == 3 {
			addrs = append(addrs, netip.MustParseAddr(m[1]))
			if ts, _ := time.Parse(torTime, m[2]); ts.After(at) {
				t.Fatalf("exit seen after publication: %q", line)
			}
		}
		n++
	}
	if diff := cmp.Diff(w.TorExits(), addrs, netipOpts); diff != "" {
		t.Fatalf("exit addresses (-want +got):\n%s", diff)
	}
}

func TestAnonymizerList(t *testing.T) {
	w := New(5)
	path := filepath.Join(t.TempDir(), "anon.csv")
	if err := w.WriteAnonymizerList(path, false); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "indicator,category,source,confidence" {
		t.Fatalf("header %v", rows[0])
	}
	var mistagged, vpn int
	for _, row := range rows[1:] {
		if row[1] != "vpn" {
			t.Fatalf("category %q", row[1])
		}
		if row[0] == w.MistaggedEgress().String() {
			mistagged++
			continue
		}
		p := netip.MustParsePrefix(row[0])
		if pl, ok := w.Lookup(p.Addr()); !ok || pl.Kind != KindVPNService {
			t.Fatalf("%s is not a VPN service: %+v", row[0], pl)
		}
		vpn++
	}
	if mistagged != 1 || vpn < 10 {
		t.Fatalf("mistagged=%d vpn=%d", mistagged, vpn)
	}
}
