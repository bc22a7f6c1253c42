// Package intel loads threat-intelligence feeds (plain IP lists, CSV, STIX
// 2.1 bundles and Tor exit lists) into a prefix table and answers "is this
// address listed, and as what?" on the hot path.
//
// Every feed entry is an IP address or a CIDR prefix. Lookups return the
// most specific listed prefix that contains the address; when several
// indicators name the same prefix, the one with the highest confidence is
// kept. An allow-list (category "allow") wins over every threat list: an
// address it covers is never reported.
package intel

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gaissmai/bart"
)

// Categories with a meaning of their own.
const (
	CategoryAllow      = "allow"
	CategoryMalicious  = "malicious"
	CategoryC2         = "c2"
	CategoryMalware    = "malware"
	CategoryBotnet     = "botnet"
	CategoryTor        = "tor"
	CategoryAnonymizer = "anonymizer"
	CategoryProxy      = "proxy"
	CategoryVPN        = "vpn"
)

// DefaultConfidence is given to entries whose feed states no confidence
// (plain lists, CSV without a confidence column, STIX without the property).
// Tor exit lists are authoritative for what they claim and get 100.
const DefaultConfidence = 50

// Errors returned by this package.
var (
	ErrSpec   = errors.New("invalid intel spec")
	ErrFormat = errors.New("unrecognised feed format")
)

// IsMalicious reports whether a category counts for the malicious-address
// detection.
func IsMalicious(category string) bool {
	switch category {
	case CategoryC2, CategoryMalware, CategoryBotnet, CategoryMalicious:
		return true
	}
	return false
}

// IsAnonymous reports whether a category marks an anonymising service.
func IsAnonymous(category string) bool {
	switch category {
	case CategoryTor, CategoryAnonymizer, CategoryProxy, CategoryVPN:
		return true
	}
	return false
}

// Spec names one feed file and, optionally, a category that overrides the
// categories the file itself gives. Category "allow" makes it the
// allow-list.
type Spec struct {
	Category string
	Path     string
}

// ParseSpec parses the --intel flag value "[CATEGORY=]FILE". A prefix is
// taken as a category only when it is a plain lower-case word, so paths
// that contain '=' after a slash still work.
func ParseSpec(s string) (Spec, error) {
	if s == "" {
		return Spec{}, fmt.Errorf("%w: empty", ErrSpec)
	}
	if i := strings.IndexByte(s, '='); i > 0 && isCategoryWord(s[:i]) {
		if i == len(s)-1 {
			return Spec{}, fmt.Errorf("%w: %q names no file", ErrSpec, s)
		}
		return Spec{Category: strings.ToLower(s[:i]), Path: s[i+1:]}, nil
	}
	return Spec{Path: s}, nil
}

func isCategoryWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// String renders the spec back in flag form.
func (s Spec) String() string {
	if s.Category == "" {
		return s.Path
	}
	return s.Category + "=" + s.Path
}

// Match is what a lookup found: the listed indicator (the prefix as the
// feed gave it), its category, the feed or author that listed it, and the
// confidence 0..100.
type Match struct {
	Indicator  string `json:"indicator"`
	Category   string `json:"category"`
	Source     string `json:"source"`
	Confidence int    `json:"confidence"`
}

// DB is a loaded set of feeds. It is read-only after Load and safe for
// concurrent lookups.
type DB struct {
	threats *bart.Table[Match]
	allow   *bart.Table[Match]
	summary Summary
}

// Load reads every spec'd file, detecting each file's format by content,
// and builds the lookup tables. Malformed lines are counted in the summary,
// not fatal; an unreadable file or a file in no known format is an error.
func Load(specs []Spec) (*DB, error) {
	db := New()
	for _, sp := range specs {
		data, err := os.ReadFile(sp.Path)
		if err != nil {
			return nil, fmt.Errorf("read intel feed: %w", err)
		}
		if err := db.Add(data, sp.Path, sp.Category); err != nil {
			return nil, fmt.Errorf("intel feed %s: %w", sp.Path, err)
		}
	}
	return db, nil
}

// New returns an empty DB; Add fills it.
func New() *DB {
	return &DB{threats: new(bart.Table[Match]), allow: new(bart.Table[Match])}
}

// Add parses one feed's bytes and inserts its entries. name is the file
// name used as the default source and in the summary; category, when not
// empty, overrides the categories the feed gives.
func (db *DB) Add(data []byte, name, category string) error {
	entries, fs, err := Parse(data, filepath.Base(name))
	fs.Path = name
	fs.Category = category
	if err != nil {
		return err
	}
	for _, e := range entries {
		m := e.Match
		if category != "" {
			m.Category = category
		}
		t := db.threats
		if m.Category == CategoryAllow {
			t = db.allow
		}
		t.Modify(e.Prefix, func(old Match, ok bool) (Match, bool) {
			if ok && old.Confidence >= m.Confidence {
				fs.Duplicates++
				return old, false
			}
			if ok {
				fs.Duplicates++
			}
			return m, false
		})
	}
	db.summary.Files = append(db.summary.Files, fs)
	return nil
}

// Lookup returns the most specific threat-list entry containing ip, unless
// the allow-list covers ip. It does not allocate.
func (db *DB) Lookup(ip netip.Addr) (Match, bool) {
	if db == nil || !ip.IsValid() {
		return Match{}, false
	}
	ip = ip.Unmap()
	m, ok := db.threats.Lookup(ip)
	if !ok {
		return Match{}, false
	}
	if db.allow.Contains(ip) {
		return Match{}, false
	}
	return m, true
}

// Allowed reports whether the allow-list covers ip.
func (db *DB) Allowed(ip netip.Addr) bool {
	return db != nil && ip.IsValid() && db.allow.Contains(ip.Unmap())
}

// Malicious returns the entry for ip when its category counts as malicious.
func (db *DB) Malicious(ip netip.Addr) (Match, bool) {
	m, ok := db.Lookup(ip)
	if !ok || !IsMalicious(m.Category) {
		return Match{}, false
	}
	return m, true
}

// Anonymous returns the entry for ip when its category is anonymous.
func (db *DB) Anonymous(ip netip.Addr) (Match, bool) {
	m, ok := db.Lookup(ip)
	if !ok || !IsAnonymous(m.Category) {
		return Match{}, false
	}
	return m, true
}

// Len returns the number of threat prefixes and allow-list prefixes.
func (db *DB) Len() (threats, allowed int) {
	if db == nil {
		return 0, 0
	}
	return db.threats.Size(), db.allow.Size()
}

// Summary returns what Load read, file by file.
func (db *DB) Summary() Summary {
	if db == nil {
		return Summary{}
	}
	return db.summary
}
