package intel

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr bool
	}{
		{"feed.txt", Spec{Path: "feed.txt"}, false},
		{"c2=feed.txt", Spec{Category: "c2", Path: "feed.txt"}, false},
		{"Allow=/x/a.txt", Spec{Category: "allow", Path: "/x/a.txt"}, false},
		{"/dir/a=b.txt", Spec{Path: "/dir/a=b.txt"}, false},
		{"c2=", Spec{}, true},
		{"", Spec{}, true},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSpec(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseSpec(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestDetect(t *testing.T) {
	for file, want := range map[string]Format{
		"plain.txt": FormatPlain, "feed.csv": FormatCSV, "bundle.json": FormatSTIX, "tor-exits.txt": FormatTor, "allow.txt": FormatPlain,
	} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(data); got != want {
			t.Errorf("Detect(%s) = %s, want %s", file, got, want)
		}
	}
}

// TestParseGolden parses each feed and compares its entries and summary
// with a golden file.
func TestParseGolden(t *testing.T) {
	for _, file := range []string{"plain.txt", "feed.csv", "bundle.json", "tor-exits.txt"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			es, fs, err := Parse(data, file)
			if err != nil {
				t.Fatal(err)
			}
			type row struct {
				Prefix string
				Match  Match
			}
			out := struct {
				Entries []row
				Summary FileSummary
			}{Summary: fs}
			for _, e := range es {
				out.Entries = append(out.Entries, row{e.Prefix.String(), e.Match})
			}
			got, _ := json.MarshalIndent(out, "", "  ")
			golden := filepath.Join("testdata", "golden", file+".json")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
				t.Errorf("golden mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	db, err := Load([]Spec{
		{Path: "testdata/plain.txt"},
		{Path: "testdata/feed.csv"},
		{Path: "testdata/bundle.json"},
		{Path: "testdata/tor-exits.txt"},
		{Category: "proxy", Path: "testdata/tor-exits.txt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip     string
		want   Match
		wantOK bool
		mal    bool
		anon   bool
	}{
		// plain (50) and csv c2 (90) and csv malware (40) on the same /32: highest confidence wins.
		{"192.0.2.10", Match{"192.0.2.10", "c2", "abuse-tracker", 90}, true, true, false},
		// /25 botnet from CSV is more specific than the plain /24.
		{"198.51.100.200", Match{"198.51.100.128/25", "botnet", "abuse-tracker", 85}, true, true, false},
		{"198.51.100.20", Match{"198.51.100.0/24", "malicious", "plain.txt", 50}, true, true, false},
		// STIX /28 anonymization is more specific than the /24.
		{"198.51.100.3", Match{"198.51.100.0/28", "anonymizer", "bundle.json", 50}, true, false, true},
		{"203.0.113.5", Match{"203.0.113.5", "c2", "Example CTI", 80}, true, true, false},
		{"192.0.2.2", Match{"192.0.2.2", "malicious", "bundle.json", 50}, true, true, false},
		// Tor (100) beats the forced proxy of the same file? Equal confidence keeps the first.
		{"198.51.100.77", Match{"198.51.100.77", "tor", "tor-exits.txt", 100}, true, false, true},
		{"2001:db8:bad:1::5", Match{"2001:db8:bad::/48", "malicious", "plain.txt", 50}, true, true, false},
		{"::ffff:192.0.2.10", Match{"192.0.2.10", "c2", "abuse-tracker", 90}, true, true, false},
		{"192.0.2.200", Match{}, false, false, false},
		{"2001:db8:ffff::1", Match{}, false, false, false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		got, ok := db.Lookup(ip)
		if ok != tt.wantOK {
			t.Errorf("Lookup(%s) ok = %v, want %v", tt.ip, ok, tt.wantOK)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%s) (-want +got):\n%s", tt.ip, diff)
		}
		if _, m := db.Malicious(ip); m != tt.mal {
			t.Errorf("Malicious(%s) = %v, want %v", tt.ip, m, tt.mal)
		}
		if _, a := db.Anonymous(ip); a != tt.anon {
			t.Errorf("Anonymous(%s) = %v, want %v", tt.ip, a, tt.anon)
		}
	}
}

func TestAllowListWins(t *testing.T) {
	db, err := Load([]Spec{{Path: "testdata/feed.csv"}, {Category: "allow", Path: "testdata/allow.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.10")
	if m, ok := db.Lookup(ip); ok {
		t.Errorf("allow-listed %s found as %+v", ip, m)
	}
	if !db.Allowed(ip) {
		t.Errorf("Allowed(%s) = false", ip)
	}
	if _, ok := db.Lookup(netip.MustParseAddr("198.51.100.200")); !ok {
		t.Error("allow-list hid an address it does not cover")
	}
}

func TestSummaryCountsMalformed(t *testing.T) {
	db, err := Load([]Spec{{Path: "testdata/plain.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	fs := db.Summary().Files[0]
	want := map[string]int{"bad address": 2}
	if diff := cmp.Diff(want, fs.Malformed); diff != "" {
		t.Errorf("malformed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]LineError{{5, "bad address"}, {6, "bad address"}}, fs.Lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if s := db.Summary().String(); s == "" {
		t.Error("empty summary rendering")
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load([]Spec{{Path: "testdata/does-not-exist"}}); err == nil {
		t.Error("missing file: no error")
	}
	if _, _, err := Parse([]byte(`{"type":"report"}`), "x"); err == nil {
		t.Error("non-bundle JSON: no error")
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	db, err := Load([]Spec{{Path: "testdata/feed.csv"}, {Path: "testdata/plain.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("198.51.100.200")
	if n := testing.AllocsPerRun(100, func() { db.Malicious(ip) }); n != 0 {
		t.Errorf("Malicious allocates %v times", n)
	}
}

func BenchmarkLookup(b *testing.B) {
	db := New()
	var buf []byte
	for i := 0; i < 100000; i++ {
		a := netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 1})
		buf = append(buf, a.String()...)
		buf = append(buf, '\n')
	}
	if err := db.Add(buf, "bench", ""); err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("0.1.2.1")
	b.ReportAllocs()
	for b.Loop() {
		db.Lookup(ip)
	}
}

func fuzzSeeds(f *testing.F) {
	for _, file := range []string{"plain.txt", "feed.csv", "bundle.json", "tor-exits.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		es, _, _ := Parse(data, "fuzz")
		db := New()
		db.Add(data, "fuzz", "")
		for _, e := range es {
			if !e.Prefix.IsValid() {
				t.Fatalf("invalid prefix from %q", e.Match.Indicator)
			}
			if _, ok := db.Lookup(e.Prefix.Addr()); !ok {
				t.Fatalf("entry %s not found", e.Prefix)
			}
		}
	})
}

func FuzzPlain(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { ParsePlain(data, "fuzz") })
}

func FuzzCSV(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { ParseCSV(data, "fuzz") })
}

func FuzzSTIX(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { ParseSTIX(data, "fuzz") })
}

func FuzzTor(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { ParseTor(data, "fuzz") })
}
