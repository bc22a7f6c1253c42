package flowfile

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Counts is what was read from one input kind, one format or one
// exporter.
type Counts struct {
	// Messages counts the units the source is made of: NetFlow/IPFIX
	// messages, capture frames, flow log entries (tuples or lines).
	Messages uint64 `json:"messages"`
	// Records counts flow records emitted.
	Records uint64 `json:"records"`
	// OptionsRecords counts NetFlow v9 / IPFIX options data records.
	OptionsRecords uint64 `json:"options_records,omitempty"`
	// UnknownSampling counts records whose sampling rate is unknown
	// (flow.Record.SamplingRate 0).
	UnknownSampling uint64 `json:"unknown_sampling,omitempty"`
	// Malformed counts input that could not be decoded, by reason.
	Malformed map[string]uint64 `json:"malformed,omitempty"`
	// Skipped counts input deliberately not turned into records, by
	// reason (non-IP frames, NODATA lines, sets awaiting a template).
	Skipped map[string]uint64 `json:"skipped,omitempty"`
}

func addMap(dst *map[string]uint64, src map[string]uint64) {
	for k, v := range src {
		if v == 0 {
			continue
		}
		if *dst == nil {
			*dst = make(map[string]uint64)
		}
		(*dst)[k] += v
	}
}

// addOne counts one k in *dst without building a map per event, which
// the per-packet paths of a capture would otherwise do.
func addOne(dst *map[string]uint64, k string) {
	if *dst == nil {
		*dst = make(map[string]uint64)
	}
	(*dst)[k]++
}

// Merge adds o's counts to c.
func (c *Counts) Merge(o *Counts) {
	c.Messages += o.Messages
	c.Records += o.Records
	c.OptionsRecords += o.OptionsRecords
	c.UnknownSampling += o.UnknownSampling
	addMap(&c.Malformed, o.Malformed)
	addMap(&c.Skipped, o.Skipped)
}

// MalformedTotal returns the sum of the malformed counts.
func (c *Counts) MalformedTotal() uint64 {
	var t uint64
	for _, v := range c.Malformed {
		t += v
	}
	return t
}

// Summary describes everything read: per input kind (file-level counts:
// frames, lines, JSON records), per record format, and per exporter (the
// exporter's address for NetFlow/IPFIX; "capture" for metered packets;
// "aws-vpc:<account>" or "azure-…:<subscription>" for cloud logs).
type Summary struct {
	Files     int                `json:"files"`
	Inputs    map[string]*Counts `json:"inputs,omitempty"`
	Formats   map[string]*Counts `json:"formats,omitempty"`
	Exporters map[string]*Counts `json:"exporters,omitempty"`
}

func counts(m *map[string]*Counts, key string) *Counts {
	if *m == nil {
		*m = make(map[string]*Counts)
	}
	c := (*m)[key]
	if c == nil {
		c = new(Counts)
		(*m)[key] = c
	}
	return c
}

// Input returns the counts of an input kind, creating them.
func (s *Summary) Input(k Kind) *Counts { return counts(&s.Inputs, k.String()) }

// Format returns the counts of a record format, by name, creating them.
func (s *Summary) Format(name string) *Counts { return counts(&s.Formats, name) }

// Exporter returns the counts of an exporter, creating them.
func (s *Summary) Exporter(name string) *Counts { return counts(&s.Exporters, name) }

// Merge adds o to s.
func (s *Summary) Merge(o Summary) {
	s.Files += o.Files
	for k, c := range o.Inputs {
		counts(&s.Inputs, k).Merge(c)
	}
	for k, c := range o.Formats {
		counts(&s.Formats, k).Merge(c)
	}
	for k, c := range o.Exporters {
		counts(&s.Exporters, k).Merge(c)
	}
}

// Records returns the number of records emitted in total.
func (s *Summary) Records() uint64 {
	var t uint64
	for _, c := range s.Formats {
		t += c.Records
	}
	return t
}

// Malformed returns the total of malformed input across inputs and
// exporters (each malformation is counted in exactly one of them).
func (s *Summary) Malformed() uint64 {
	var t uint64
	for _, c := range s.Inputs {
		t += c.MalformedTotal()
	}
	for _, c := range s.Exporters {
		t += c.MalformedTotal()
	}
	return t
}

// Write prints the summary as an aligned table: totals per input, per
// format and per exporter, then every malformed and skipped reason.
func (s *Summary) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "files: %d\n", s.Files)
	section := func(title string, m map[string]*Counts) {
		if len(m) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c := m[k]
			fmt.Fprintf(&b, "  %-40s records=%d", k, c.Records)
			if c.Messages > 0 {
				fmt.Fprintf(&b, " messages=%d", c.Messages)
			}
			if c.OptionsRecords > 0 {
				fmt.Fprintf(&b, " options=%d", c.OptionsRecords)
			}
			if c.UnknownSampling > 0 {
				fmt.Fprintf(&b, " unknown-sampling=%d", c.UnknownSampling)
			}
			b.WriteByte('\n')
			for _, r := range slices.Sorted(maps.Keys(c.Malformed)) {
				fmt.Fprintf(&b, "    malformed %s: %d\n", r, c.Malformed[r])
			}
			for _, r := range slices.Sorted(maps.Keys(c.Skipped)) {
				fmt.Fprintf(&b, "    skipped %s: %d\n", r, c.Skipped[r])
			}
		}
	}
	section("inputs", s.Inputs)
	section("formats", s.Formats)
	section("exporters", s.Exporters)
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the Write form.
func (s Summary) String() string {
	var b strings.Builder
	_ = s.Write(&b)
	return b.String()
}

// ErrorSummary returns one line per malformed reason, "where: reason: n",
// or nil when nothing was malformed. It is what a command prints to
// stderr.
func (s *Summary) ErrorSummary() []string {
	var out []string
	add := func(prefix string, m map[string]*Counts) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c := m[k]
			for _, r := range slices.Sorted(maps.Keys(c.Malformed)) {
				out = append(out, fmt.Sprintf("%s %s: %s: %d", prefix, k, r, c.Malformed[r]))
			}
		}
	}
	add("input", s.Inputs)
	add("exporter", s.Exporters)
	return out
}
