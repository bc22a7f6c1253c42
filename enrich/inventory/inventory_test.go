package inventory

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	web1 = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-1"
	web2 = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-2"
	web3 = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-3"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLookupAndHeldWholeHour(t *testing.T) {
	home := []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24")}
	for _, file := range []string{"testdata/inventory.jsonl", "testdata/inventory.csv"} {
		t.Run(file, func(t *testing.T) {
			inv, err := Load(file, home)
			if err != nil {
				t.Fatal(err)
			}
			lookups := []struct {
				ip, at string
				want   string
				ok     bool
			}{
				{"10.0.0.4", "2026-11-20T00:00:00Z", web1, true},
				{"10.0.0.4", "2026-10-31T23:59:59Z", "", false},
				{"10.0.0.5", "2026-11-10T12:29:59Z", web2, true},
				{"10.0.0.5", "2026-11-10T12:30:00Z", web3, true},
				{"::ffff:10.0.0.5", "2026-11-10T12:30:00Z", web3, true},
				{"10.0.1.9", "2026-11-06T00:00:00Z", "i-0abc", true},
				{"192.168.0.77", "2026-11-06T00:00:00Z", "192.168.0.77", true},
				{"192.168.1.77", "2026-11-06T00:00:00Z", "", false},
			}
			for _, l := range lookups {
				got, ok := inv.Lookup(netip.MustParseAddr(l.ip), ts(l.at))
				if got != l.want || ok != l.ok {
					t.Errorf("Lookup(%s, %s) = %q, %v; want %q, %v", l.ip, l.at, got, ok, l.want, l.ok)
				}
			}
			held := []struct {
				res, ip, hour string
				want          bool
			}{
				{web1, "10.0.0.4", "2026-11-10T12:00:00Z", true},
				{web2, "10.0.0.5", "2026-11-10T11:00:00Z", true},
				{web2, "10.0.0.5", "2026-11-10T12:00:00Z", false}, // IP changed mid-hour
				{web3, "10.0.0.5", "2026-11-10T12:00:00Z", false},
				{web3, "10.0.0.5", "2026-11-10T13:00:00Z", true},
				{"i-0abc", "10.0.1.9", "2026-11-05T00:00:00Z", true}, // touching rows merge
				{"i-0abc", "10.0.1.9", "2026-11-04T23:00:00Z", true},
				{web1, "10.0.0.5", "2026-11-10T11:00:00Z", false},
				{"192.168.0.77", "192.168.0.77", "2026-11-10T11:00:00Z", true},
				{"other", "192.168.0.77", "2026-11-10T11:00:00Z", false},
			}
			for _, h := range held {
				if got := inv.HeldWholeHour(h.res, netip.MustParseAddr(h.ip), ts(h.hour)); got != h.want {
					t.Errorf("HeldWholeHour(%s, %s, %s) = %v, want %v", h.res, h.ip, h.hour, got, h.want)
				}
			}
			s := inv.Summary()
			if s.Assignments != 5 || s.Resources != 4 || s.Addresses != 3 {
				t.Errorf("summary %+v", s)
			}
		})
	}
}

func TestMalformedCounted(t *testing.T) {
	inv, err := Load("testdata/inventory.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []LineError{{6, "bad ip"}, {7, "no resource"}, {8, "bad from"}, {9, "bad json"}}
	if diff := cmp.Diff(want, inv.Summary().Lines); diff != "" {
		t.Errorf("jsonl malformed (-want +got):\n%s", diff)
	}
	inv, err = Load("testdata/inventory.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []LineError{{7, "bad ip"}, {8, "no resource"}, {9, "bad from"}, {10, "empty interval"}}
	if diff := cmp.Diff(want, inv.Summary().Lines); diff != "" {
		t.Errorf("csv malformed (-want +got):\n%s", diff)
	}
	if _, err := Parse(bytes.NewReader([]byte("a,b,c\n1,2,3\n")), nil); err == nil {
		t.Error("csv without the needed columns: no error")
	}
}

func TestSubscription(t *testing.T) {
	for in, want := range map[string]string{
		web1:                 "11111111-2222-3333-4444-555555555555",
		"/SUBSCRIPTIONS/abc": "abc",
		"i-0abc":             "",
		"/subscriptions/":    "",
	} {
		if got := Subscription(in); got != want {
			t.Errorf("Subscription(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveDoesNotAllocate(t *testing.T) {
	inv, err := Load("testdata/inventory.jsonl", []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	a, b := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("192.168.0.9")
	at := ts("2026-11-12T00:00:00Z")
	n := testing.AllocsPerRun(100, func() {
		r, _ := inv.Resolve(a, at)
		inv.HeldWholeHourRef(r, a, at)
		r, _ = inv.Resolve(b, at)
		inv.HeldWholeHourRef(r, b, at)
	})
	if n != 0 {
		t.Errorf("Resolve allocates %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/inventory.jsonl", "testdata/inventory.csv"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse(bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		for a, ivs := range inv.byAddr {
			for _, iv := range ivs {
				if iv.from >= iv.to {
					t.Fatalf("empty interval kept for %s", a)
				}
				if _, ok := inv.Resolve(a, time.Unix(iv.from, 0)); !ok {
					t.Fatalf("assignment of %s not found at its start", a)
				}
			}
		}
	})
}
