package flowlog

import (
	"net/netip"
	"strconv"
	"testing"
)

// FuzzParseNumbers checks the allocation-free parsers against the
// standard library's.
func FuzzParseNumbers(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.", "::1", "fe80::1%eth0", "2001:db8::1", "::", "::ffff:10.0.0.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7:8", "1::2::3", "12345::", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "fe80::", ":1", "1:", "", "0", "18446744073709551615", "18446744073709551616", "-1", "+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := netip.ParseAddr(s)
		wantOK := err == nil && want.Zone() == ""
		got, ok := parseAddr([]byte(s))
		if ok != wantOK || (ok && got != want) {
			t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
		for _, limit := range []uint64{0xff, 0xffff, 1 << 40, 1 << 63} {
			n, ok := parseUint([]byte(s), limit)
			w, err := strconv.ParseUint(s, 10, 64)
			wantOK := err == nil && w <= limit && s[0] != '+'
			if ok != wantOK || (ok && n != w) {
				t.Errorf("parseUint(%q, %d) = %d, %v; strconv says %d, %v", s, limit, n, ok, w, err)
			}
		}
	})
}
