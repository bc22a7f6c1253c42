package intel

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Format names a feed format.
type Format string

// The feed formats, detected by content.
const (
	FormatPlain Format = "plain"
	FormatCSV   Format = "csv"
	FormatSTIX  Format = "stix"
	FormatTor   Format = "tor-exit-list"
)

// Entry is one parsed indicator.
type Entry struct {
	Prefix netip.Prefix
	Match  Match
}

// LineError is one malformed line (or STIX object, numbered by its position
// in the bundle's objects).
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// maxLineErrors bounds the line numbers kept per file; the counts per
// reason are always complete.
const maxLineErrors = 20

// FileSummary describes one loaded feed.
type FileSummary struct {
	Path       string         `json:"path"`
	Category   string         `json:"category,omitempty"`
	Format     Format         `json:"format"`
	Entries    int            `json:"entries"`
	Duplicates int            `json:"duplicates"`
	Malformed  map[string]int `json:"malformed,omitempty"`
	Lines      []LineError    `json:"malformed_lines,omitempty"`
}

// MalformedTotal returns the number of malformed lines or objects.
func (f *FileSummary) MalformedTotal() int {
	n := 0
	for _, c := range f.Malformed {
		n += c
	}
	return n
}

func (f *FileSummary) bad(line int, reason string) {
	if f.Malformed == nil {
		f.Malformed = map[string]int{}
	}
	f.Malformed[reason]++
	if len(f.Lines) < maxLineErrors {
		f.Lines = append(f.Lines, LineError{Line: line, Reason: reason})
	}
}

// Summary describes every loaded feed.
type Summary struct {
	Files []FileSummary `json:"files"`
}

// String renders the summary for people, one line per file.
func (s Summary) String() string {
	var b strings.Builder
	for _, f := range s.Files {
		fmt.Fprintf(&b, "intel %s: format %s, %d entries, %d duplicate, %d malformed", f.Path, f.Format, f.Entries, f.Duplicates, f.MalformedTotal())
		if len(f.Malformed) > 0 {
			reasons := make([]string, 0, len(f.Malformed))
			for r := range f.Malformed {
				reasons = append(reasons, r)
			}
			sort.Strings(reasons)
			b.WriteString(" (")
			for i, r := range reasons {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s: %d", r, f.Malformed[r])
			}
			b.WriteString(")")
			if len(f.Lines) > 0 {
				b.WriteString(" at line")
				for i, l := range f.Lines {
					if i > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, " %d", l.Line)
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Detect guesses a feed's format from its content: a JSON object is a STIX
// bundle; "ExitNode"/"ExitAddress" lines make a Tor exit list; a first
// non-comment line with commas that names an "indicator" column is CSV;
// anything else is a plain list.
func Detect(data []byte) Format {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return FormatSTIX
	}
	for line := range bytes.Lines(trimmed) {
		l := bytes.TrimSpace(line)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if bytes.HasPrefix(l, []byte("ExitNode ")) || bytes.HasPrefix(l, []byte("ExitAddress ")) {
			return FormatTor
		}
		if bytes.IndexByte(l, ',') >= 0 && bytes.Contains(bytes.ToLower(l), []byte("indicator")) {
			return FormatCSV
		}
		return FormatPlain
	}
	return FormatPlain
}

// Parse detects the feed's format and parses it. source is the default
// source name for entries whose feed names none.
func Parse(data []byte, source string) ([]Entry, FileSummary, error) {
	f := Detect(data)
	var (
		es  []Entry
		fs  FileSummary
		err error
	)
	switch f {
	case FormatSTIX:
		es, fs, err = ParseSTIX(data, source)
	case FormatTor:
		es, fs = ParseTor(data, source)
	case FormatCSV:
		es, fs, err = ParseCSV(data, source)
	default:
		es, fs = ParsePlain(data, source)
	}
	fs.Format = f
	fs.Entries = len(es)
	return es, fs, err
}

// parsePrefix accepts an address or a CIDR prefix and returns it masked.
func parsePrefix(s string) (netip.Prefix, string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, "empty", false
	}
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, "bad prefix", false
		}
		if p.Addr().Is4In6() {
			a := p.Addr().Unmap()
			bits := p.Bits() - 96
			if bits < 0 {
				return netip.Prefix{}, "bad prefix", false
			}
			p = netip.PrefixFrom(a, bits)
		}
		return p.Masked(), "", true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, "bad address", false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), "", true
}

// ParsePlain parses a list of addresses or prefixes, one per line. '#'
// starts a comment; so does ';' (the DROP-list convention); anything after
// the first field is ignored. Entries get category malicious.
func ParsePlain(data []byte, source string) ([]Entry, FileSummary) {
	var fs FileSummary
	var es []Entry
	n := 0
	for line := range bytes.Lines(data) {
		n++
		s := string(line)
		if i := strings.IndexAny(s, "#;"); i >= 0 {
			s = s[:i]
		}
		fields := strings.Fields(s)
		if len(fields) == 0 {
			continue
		}
		p, why, ok := parsePrefix(fields[0])
		if !ok {
			fs.bad(n, why)
			continue
		}
		es = append(es, Entry{Prefix: p, Match: Match{Indicator: fields[0], Category: CategoryMalicious, Source: source, Confidence: DefaultConfidence}})
	}
	return es, fs
}

// ParseCSV parses a CSV feed whose header names at least "indicator" and
// "category", and optionally "source" and "confidence", in any order.
// Lines starting with '#' before the header are comments. Confidence is a
// number 0..100 or one of low/medium/high (15/50/85).
func ParseCSV(data []byte, source string) ([]Entry, FileSummary, error) {
	var fs FileSummary
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fs, fmt.Errorf("%w: csv header: %w", ErrFormat, err)
	}
	col := map[string]int{"indicator": -1, "category": -1, "source": -1, "confidence": -1}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, ok := col[h]; ok && col[h] < 0 {
			col[h] = i
		}
	}
	if col["indicator"] < 0 || col["category"] < 0 {
		return nil, fs, fmt.Errorf("%w: csv header names no indicator and category columns", ErrFormat)
	}
	var es []Entry
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				fs.bad(pe.Line, "bad csv")
				continue
			}
			// A reader error other than a parse error cannot recur usefully.
			fs.bad(0, "bad csv")
			break
		}
		line, _ := r.FieldPos(0)
		get := func(k string) string {
			if i := col[k]; i >= 0 && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		ind := get("indicator")
		p, why, ok := parsePrefix(ind)
		if !ok {
			fs.bad(line, why)
			continue
		}
		cat := strings.ToLower(get("category"))
		if cat == "" {
			fs.bad(line, "no category")
			continue
		}
		conf := DefaultConfidence
		if c := get("confidence"); c != "" {
			v, ok := parseConfidence(c)
			if !ok {
				fs.bad(line, "bad confidence")
				continue
			}
			conf = v
		}
		src := get("source")
		if src == "" {
			src = source
		}
		es = append(es, Entry{Prefix: p, Match: Match{Indicator: ind, Category: cat, Source: src, Confidence: conf}})
	}
	return es, fs, nil
}

func parseConfidence(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "low":
		return 15, true
	case "medium":
		return 50, true
	case "high":
		return 85, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 100 || f != f {
		return 0, false
	}
	return int(f + 0.5), true
}

// ParseTor parses the Tor Project's exit list: ExitNode, Published,
// LastStatus and "ExitAddress IP DATE TIME" lines. Each ExitAddress becomes
// a tor entry; the other keywords are checked for shape only.
func ParseTor(data []byte, source string) ([]Entry, FileSummary) {
	var fs FileSummary
	var es []Entry
	n := 0
	for line := range bytes.Lines(data) {
		n++
		fields := strings.Fields(string(line))
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch fields[0] {
		case "ExitNode":
			if len(fields) != 2 {
				fs.bad(n, "bad ExitNode")
			}
		case "Published", "LastStatus":
			if len(fields) != 3 {
				fs.bad(n, "bad "+fields[0])
			}
		case "ExitAddress":
			if len(fields) < 2 {
				fs.bad(n, "bad ExitAddress")
				continue
			}
			p, why, ok := parsePrefix(fields[1])
			if !ok || strings.IndexByte(fields[1], '/') >= 0 {
				if ok {
					why = "bad address"
				}
				fs.bad(n, why)
				continue
			}
			es = append(es, Entry{Prefix: p, Match: Match{Indicator: fields[1], Category: CategoryTor, Source: source, Confidence: 100}})
		default:
			fs.bad(n, "unknown keyword")
		}
	}
	return es, fs
}

// stixBundle is the part of a STIX 2.1 bundle this package reads.
type stixBundle struct {
	Type    string            `json:"type"`
	Objects []json.RawMessage `json:"objects"`
}

type stixObject struct {
	Type           string   `json:"type"`
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	IndicatorTypes []string `json:"indicator_types"`
	Labels         []string `json:"labels"`
	Confidence     *float64 `json:"confidence"`
	CreatedByRef   string   `json:"created_by_ref"`
	Revoked        bool     `json:"revoked"`
}

var (
	stixCmp = regexp.MustCompile(`^\s*(ipv4-addr|ipv6-addr):value\s*=\s*'([^']*)'\s*$`)
	stixOr  = regexp.MustCompile(`\s+OR\s+`)
)

// ParseSTIX parses a STIX 2.1 bundle. Indicator objects whose pattern is an
// ipv4-addr or ipv6-addr value comparison, or several joined with OR (inside
// one or several brackets), become entries; other indicators are counted as
// unsupported. The category comes from labels or indicator_types naming a
// known category, else "anonymization" maps to anonymizer and everything
// else to malicious. The source is the name of the identity object the
// indicator's created_by_ref names, else the file.
func ParseSTIX(data []byte, source string) ([]Entry, FileSummary, error) {
	var fs FileSummary
	var b stixBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fs, fmt.Errorf("%w: stix bundle: %w", ErrFormat, err)
	}
	if b.Type != "bundle" {
		return nil, fs, fmt.Errorf("%w: json is not a stix bundle", ErrFormat)
	}
	objs := make([]stixObject, len(b.Objects))
	identities := map[string]string{}
	for i, raw := range b.Objects {
		if err := json.Unmarshal(raw, &objs[i]); err != nil {
			objs[i] = stixObject{}
			fs.bad(i+1, "bad object")
			continue
		}
		if objs[i].Type == "identity" && objs[i].Name != "" {
			identities[objs[i].ID] = objs[i].Name
		}
	}
	var es []Entry
	for i, o := range objs {
		if o.Type != "indicator" || o.Revoked {
			continue
		}
		if o.PatternType != "" && o.PatternType != "stix" {
			fs.bad(i+1, "unsupported pattern type")
			continue
		}
		values, ok := stixValues(o.Pattern)
		if !ok {
			fs.bad(i+1, "unsupported pattern")
			continue
		}
		cat := stixCategory(o)
		conf := DefaultConfidence
		if o.Confidence != nil && *o.Confidence >= 0 && *o.Confidence <= 100 {
			conf = int(*o.Confidence + 0.5)
		}
		src := source
		if n, ok := identities[o.CreatedByRef]; ok {
			src = n
		}
		for _, v := range values {
			p, why, ok := parsePrefix(v)
			if !ok {
				fs.bad(i+1, why)
				continue
			}
			es = append(es, Entry{Prefix: p, Match: Match{Indicator: v, Category: cat, Source: src, Confidence: conf}})
		}
	}
	return es, fs, nil
}

// stixValues extracts the address values of a pattern made only of
// ipv4-addr:value / ipv6-addr:value equality comparisons joined by OR.
func stixValues(pattern string) ([]string, bool) {
	p := strings.NewReplacer("[", " ", "]", " ", "(", " ", ")", " ").Replace(pattern)
	if strings.TrimSpace(p) == "" {
		return nil, false
	}
	var out []string
	for _, part := range stixOr.Split(strings.TrimSpace(p), -1) {
		m := stixCmp.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		out = append(out, m[2])
	}
	return out, true
}

func stixCategory(o stixObject) string {
	for _, l := range append(append([]string(nil), o.Labels...), o.IndicatorTypes...) {
		l = strings.ToLower(l)
		switch l {
		case CategoryC2, "command-and-control", "c&c":
			return CategoryC2
		case CategoryMalware, CategoryBotnet, CategoryTor, CategoryProxy, CategoryVPN, CategoryAnonymizer:
			return l
		case "anonymization":
			return CategoryAnonymizer
		}
	}
	return CategoryMalicious
}
