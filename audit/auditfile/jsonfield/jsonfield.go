// Package jsonfield holds the lenient JSON field types and value parsers
// that the audit readers share. Cloud exports are inconsistent: the same
// field arrives as a string in one pipeline and as a number, an object or a
// string holding JSON in another. These types accept every form a reader
// meets in practice and never fail on an unexpected one, so that one odd
// field does not cost the whole record.
package jsonfield

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Options are the decoding options every reader uses: member names match
// case-insensitively (exports differ in case: resourceId, ResourceId),
// duplicate names and invalid UTF-8 are tolerated rather than failing the
// record, and unknown members are skipped.
var Options = json.JoinOptions(
	json.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// Unmarshal decodes one record with Options.
func Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v, Options) }

// Text is a scalar read leniently: a string as is, a number or boolean as
// its JSON text, null as empty, and an object as its "value" member (the
// Azure REST form {"value": "...", "localizedValue": "..."}). Arrays are
// skipped and read as empty.
type Text string

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (t *Text) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"', '0', 't', 'f':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*t = Text(tok.String())
		return nil
	case 'n':
		_, err := dec.ReadToken()
		*t = ""
		return err
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return err
			}
			if strings.EqualFold(name.String(), "value") {
				if err := t.UnmarshalJSONFrom(dec); err != nil {
					return err
				}
				continue
			}
			if err := dec.SkipValue(); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	default:
		*t = ""
		return dec.SkipValue()
	}
}

// String returns the text with surrounding white space removed: some
// exports pad claim values ("tenantid": "… ").
func (t Text) String() string { return strings.TrimSpace(string(t)) }

// Lower returns the trimmed text in lower case, the canonical form of
// GUIDs and other identifiers that exports spell in either case.
func (t Text) Lower() string { return strings.ToLower(strings.TrimSpace(string(t))) }

// Number is a number read leniently: a JSON number, or a string holding
// one ("7000222"). Anything else reads as zero with Valid false.
type Number struct {
	Value float64
	Valid bool
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (n *Number) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*n = Number{}
	switch dec.PeekKind() {
	case '0', '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(tok.String()), 64); err == nil {
			*n = Number{Value: f, Valid: true}
		}
		return nil
	default:
		return dec.SkipValue()
	}
}

// Embedded is a JSON object that some exports write as a string holding
// the object's JSON (Log Analytics' Claims and Properties columns). Both
// forms decode into V; any other value, or a string that is not an
// object, leaves V zero.
type Embedded[T any] struct {
	V T
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (e *Embedded[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '{':
		return json.UnmarshalDecode(dec, &e.V, Options)
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		s := strings.TrimSpace(tok.String())
		if strings.HasPrefix(s, "{") {
			// A string that does not hold a valid object is left zero
			// rather than failing the record it belongs to.
			var v T
			if json.Unmarshal([]byte(s), &v, Options) == nil {
				e.V = v
			}
		}
		return nil
	default:
		return dec.SkipValue()
	}
}

// Body normalises a logged request or response body into raw JSON. A body
// logged as a string that holds JSON yields that JSON; both forms come out
// compacted, so the same body reads the same whichever way it was logged.
// A string that is not JSON is kept as a JSON string. Null, empty strings
// and absent bodies yield nil. The result never aliases raw.
func Body(raw jsontext.Value) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		in := jsontext.Value(bytes.TrimSpace([]byte(s)))
		if len(in) == 0 {
			return nil
		}
		if (in[0] == '{' || in[0] == '[') && in.IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) {
			if in.Compact(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) == nil {
				return in
			}
		}
		return bytes.Clone(raw)
	}
	out := jsontext.Value(bytes.Clone(raw))
	if out.Compact(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) != nil {
		return nil
	}
	return out
}

// Time parses an event time: RFC 3339 with any number of fractional
// digits and a Z or numeric offset, or the same without a zone (read as
// UTC, as Azure sometimes writes it). The result is in UTC.
func Time(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range [...]string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// IP parses a caller address leniently. Besides the textual forms
// netip.ParseAddr accepts, it reads an address with a port ("1.2.3.4:443",
// "[::1]:443"), an IPv6 address in brackets, and a dotted IPv4 address
// whose octets carry leading zeros ("075.050.255.67"). The leading zeros
// are read as decimal, as CloudTrail's anonymised samples mean them, not
// as the octal of the old inet_aton. IPv4-mapped IPv6 addresses are
// unmapped. Text that is not an address ("ec2.amazonaws.com",
// "gce-internal-ip") yields false.
func IP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return leadingZeroIPv4(s)
}

// leadingZeroIPv4 reads four dot-separated decimal octets of one to three
// digits each, allowing leading zeros.
func leadingZeroIPv4(s string) (netip.Addr, bool) {
	var b [4]byte
	part := 0
	for i := 0; i < 4; i++ {
		n, digits := 0, 0
		for part < len(s) && s[part] >= '0' && s[part] <= '9' {
			n = n*10 + int(s[part]-'0')
			digits++
			part++
			if digits > 3 {
				return netip.Addr{}, false
			}
		}
		if digits == 0 || n > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
		if i < 3 {
			if part >= len(s) || s[part] != '.' {
				return netip.Addr{}, false
			}
			part++
		}
	}
	if part != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}
