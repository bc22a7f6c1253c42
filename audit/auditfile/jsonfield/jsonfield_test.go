package jsonfield

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

func TestIP(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when not an address
	}{
		{"81.2.69.143", "81.2.69.143"},
		{"075.050.255.67", "75.50.255.67"},
		{"211.9.016.253", "211.9.16.253"},
		{"225.01.00.16", "225.1.0.16"},
		{"000.000.000.000", "0.0.0.0"},
		{" 10.0.0.1 ", "10.0.0.1"},
		{"1.2.3.4:443", "1.2.3.4"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2603:c022:c000:301:41db:be0e:16ba:b4d7", "2603:c022:c000:301:41db:be0e:16ba:b4d7"},
		{"ec2.amazonaws.com", ""},
		{"gce-internal-ip", ""},
		{"256.1.1.1", ""},
		{"0256.1.1.1", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"1..2.3", ""},
		{"", ""},
	} {
		a, ok := IP(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("IP(%q) = %v, want no address", tc.in, a)
			}
			continue
		}
		if !ok || a != netip.MustParseAddr(tc.want) {
			t.Errorf("IP(%q) = %v, %v, want %s", tc.in, a, ok, tc.want)
		}
	}
}

func TestTime(t *testing.T) {
	want := time.Date(2019, 10, 18, 9, 45, 48, 72989300, time.UTC)
	for _, in := range []string{"2019-10-18T09:45:48.0729893Z", "2019-10-18T04:45:48.0729893-05:00", "2019-10-18T09:45:48.0729893", "2019-10-18 09:45:48.0729893"} {
		if got, ok := Time(in); !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Time(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "20131102T010628Z", "Oct 2, 2019 11:12:29 PM"} {
		if _, ok := Time(in); ok {
			t.Errorf("Time(%q) accepted", in)
		}
	}
}

func TestBody(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a": 1, "b": [1, 2]}`, `{"a":1,"b":[1,2]}`},
		{`"{\"a\": 1, \"b\": [1, 2]}"`, `{"a":1,"b":[1,2]}`},
		{`"not json"`, `"not json"`},
		{`"{broken"`, `"{broken"`},
		{`null`, ``},
		{`""`, ``},
		{``, ``},
	} {
		if got := string(Body(jsontext.Value(tc.in))); got != tc.want {
			t.Errorf("Body(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzIP checks that IP agrees with netip.ParseAddr on every text the
// standard parser accepts, and never panics.
func FuzzIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "075.050.255.67", "::1", "[::1]:80", "1.2.3.4:80", "gce-internal-ip", "999.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := IP(s)
		if std, err := netip.ParseAddr(s); err == nil {
			if !ok || a != std.Unmap() {
				t.Errorf("IP(%q) = %v, %v; netip says %v", s, a, ok, std)
			}
		}
		if ok && !a.IsValid() {
			t.Errorf("IP(%q) reported an invalid address", s)
		}
	})
}

// FuzzMembers checks Members against the reference decoder: on a valid
// JSON object it visits exactly the object's members with their text, and
// it never panics on anything else.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x\"y","c":{"d":[1,{"e":null}]}}`, `{"a\u0062":"\ud83d\ude00"}`, `{"a":1,}`, `{"a" 1}`, `{"a":tru}`, ` { "a" : [ ] } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var keys []string
		var texts []Text
		err := Members(b, func(k, v []byte) {
			keys = append(keys, string(k))
			texts = append(texts, TextOf(v))
		})
		if !utf8.Valid(b) || !jsontext.Value(b).IsValid(jsontext.AllowDuplicateNames(true)) || jsontext.Value(b).Kind() != '{' {
			return
		}
		if err != nil {
			t.Fatalf("Members rejected the valid object %q: %v", b, err)
		}
		dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true))
		if _, err := dec.ReadToken(); err != nil {
			t.Fatal(err)
		}
		for i := 0; dec.PeekKind() != '}'; i++ {
			tok, _ := dec.ReadToken()
			name := tok.String() // the token is valid only until the next read
			var want Text
			if err := json.UnmarshalDecode(dec, &want); err != nil {
				t.Fatal(err)
			}
			if i >= len(keys) || keys[i] != name || texts[i] != want {
				t.Fatalf("member %d of %q: walk saw %q=%q", i, b, keys, texts)
			}
		}
	})
}
