package store

import (
	"errors"
	"testing"
)

// FuzzParseCursor feeds the cursor parser what a client may put in the
// cursor query parameter: it must refuse garbage with ErrInvalid, never
// panic, and round-trip what it accepts.
func FuzzParseCursor(f *testing.F) {
	f.Add(cursor{start: 1700000000000000000, id: "abc123"}.String())
	f.Add("")
	f.Add("!!")
	f.Add("MTIz")   // "123": no separator
	f.Add("LTEvYQ") // "-1/a"
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		c2, err := parseCursor(c.String())
		if err != nil || c2 != c {
			t.Fatalf("round trip of %+v: %+v %v", c, c2, err)
		}
	})
}
