package netflow

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/vigil-ids/vigil/flow"
)

// Stats is a snapshot of what a Decoder has seen, per exporter and per
// observation domain.
type Stats struct {
	// Exporters are sorted by address.
	Exporters []ExporterStats
	// Errors counts by reason what could not be attributed to an exporter,
	// such as exporters refused by Config.MaxExporters.
	Errors map[string]uint64
	// PendingSets and PendingBytes are the data sets currently held until
	// their template arrives.
	PendingSets, PendingBytes int
}

// ExporterStats is the part of Stats about one exporter address.
type ExporterStats struct {
	Exporter netip.Addr
	// Messages counts every message received, decodable or not.
	Messages uint64
	// Errors counts by reason the messages rejected before their
	// observation domain was known (short header, bad version...).
	Errors map[string]uint64
	// Domains are sorted by version, then observation domain.
	Domains []DomainStats
}

// DomainStats counts the activity of one (exporter, version, observation
// domain or source id). For NetFlow v5 the domain is engine type << 8 |
// engine id.
type DomainStats struct {
	Version   uint16
	ObsDomain uint32
	// Messages decoded, data records (an RFC 5103 biflow counts once) and
	// the reverse records emitted from biflows, options records.
	Messages, DataRecords, ReverseRecords, OptionsRecords uint64
	// Template and options template records received, including
	// refreshes, and withdrawals honoured.
	Templates, OptionsTemplates, Withdrawals uint64
	// ActiveTemplates is the number of templates currently known.
	ActiveTemplates int
	// UnknownSampling counts records emitted with SamplingRate 0.
	UnknownSampling uint64
	// PendingSets are data sets held now for a template; UndecodableSets
	// were given up (their reasons are in Errors).
	PendingSets     int
	UndecodableSets uint64
	// Samplers maps announced sampler or selector ids to their rate; Rate
	// is a rate announced for the whole domain (0 if none).
	Samplers map[uint64]uint32
	Rate     uint32
	// Errors counts malformed or undecodable input by reason.
	Errors map[string]uint64
}

func errMap(e *[numReasons]uint64) map[string]uint64 {
	m := make(map[string]uint64)
	for r, n := range e {
		if n != 0 {
			m[reasonNames[r]] = n
		}
	}
	return m
}

// Stats returns a snapshot of the counters.
func (d *Decoder) Stats() Stats {
	st := Stats{Errors: errMap(&d.errs), PendingSets: len(d.pending), PendingBytes: d.pendingBytes}
	for _, exp := range d.exporters {
		es := ExporterStats{Exporter: exp.addr, Messages: exp.messages, Errors: errMap(&exp.errs)}
		for _, dom := range exp.domains {
			c := &dom.c
			es.Domains = append(es.Domains, DomainStats{
				Version:          dom.key.version,
				ObsDomain:        dom.key.id,
				Messages:         c.messages,
				DataRecords:      c.dataRecords,
				ReverseRecords:   c.reverseRecords,
				OptionsRecords:   c.optionsRecords,
				Templates:        c.templates,
				OptionsTemplates: c.optionsTemplates,
				Withdrawals:      c.withdrawals,
				ActiveTemplates:  len(dom.templates),
				UnknownSampling:  c.unknownSampling,
				PendingSets:      dom.pending,
				UndecodableSets:  c.undecodable,
				Samplers:         maps.Clone(dom.samplers),
				Rate:             dom.rate,
				Errors:           errMap(&c.errs),
			})
		}
		slices.SortFunc(es.Domains, func(a, b DomainStats) int {
			return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.ObsDomain, b.ObsDomain))
		})
		st.Exporters = append(st.Exporters, es)
	}
	slices.SortFunc(st.Exporters, func(a, b ExporterStats) int { return a.Exporter.Compare(b.Exporter) })
	return st
}

// Totals sums the counters of every exporter and domain; its Errors merge
// all reasons.
func (s Stats) Totals() DomainStats {
	t := DomainStats{Errors: maps.Clone(s.Errors)}
	if t.Errors == nil {
		t.Errors = make(map[string]uint64)
	}
	for _, e := range s.Exporters {
		for k, v := range e.Errors {
			t.Errors[k] += v
		}
		for _, d := range e.Domains {
			t.Messages += d.Messages
			t.DataRecords += d.DataRecords
			t.ReverseRecords += d.ReverseRecords
			t.OptionsRecords += d.OptionsRecords
			t.Templates += d.Templates
			t.OptionsTemplates += d.OptionsTemplates
			t.Withdrawals += d.Withdrawals
			t.ActiveTemplates += d.ActiveTemplates
			t.UnknownSampling += d.UnknownSampling
			t.PendingSets += d.PendingSets
			t.UndecodableSets += d.UndecodableSets
			for k, v := range d.Errors {
				t.Errors[k] += v
			}
		}
	}
	return t
}

func versionName(v uint16) string {
	switch v {
	case 5:
		return "netflow-v5"
	case 9:
		return "netflow-v9"
	}
	return "ipfix"
}

func writeErrors(b *strings.Builder, m map[string]uint64) {
	if len(m) == 0 {
		b.WriteString("none")
		return
	}
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%s=%d", k, m[k])
	}
}

// String renders a human summary: one line per exporter and domain, then
// the totals and every error reason with its count.
func (s Stats) String() string {
	var b strings.Builder
	for _, e := range s.Exporters {
		fmt.Fprintf(&b, "exporter %s: %d messages", e.Exporter, e.Messages)
		if len(e.Errors) > 0 {
			b.WriteString(", errors: ")
			writeErrors(&b, e.Errors)
		}
		b.WriteByte('\n')
		for _, d := range e.Domains {
			fmt.Fprintf(&b, "  %s domain %d: %d messages, %d data records (+%d reverse), %d options records, %d+%d templates (%d active)",
				versionName(d.Version), d.ObsDomain, d.Messages, d.DataRecords, d.ReverseRecords, d.OptionsRecords,
				d.Templates, d.OptionsTemplates, d.ActiveTemplates)
			if d.UnknownSampling > 0 {
				fmt.Fprintf(&b, ", %d records with unknown sampling rate", d.UnknownSampling)
			}
			if d.PendingSets > 0 || d.UndecodableSets > 0 {
				fmt.Fprintf(&b, ", %d sets pending, %d undecodable", d.PendingSets, d.UndecodableSets)
			}
			if len(d.Errors) > 0 {
				b.WriteString(", errors: ")
				writeErrors(&b, d.Errors)
			}
			b.WriteByte('\n')
		}
	}
	t := s.Totals()
	fmt.Fprintf(&b, "total: %d exporters, %d messages, %d data records (+%d reverse), %d options records, %d unknown sampling, %d sets pending, %d undecodable; errors: ",
		len(s.Exporters), t.Messages, t.DataRecords, t.ReverseRecords, t.OptionsRecords, t.UnknownSampling, s.PendingSets, t.UndecodableSets)
	writeErrors(&b, t.Errors)
	b.WriteByte('\n')
	return b.String()
}

// AddErrors adds every counted reason of s, from all exporters and domains,
// to e, so that a reader can merge the decoder's faults with its own.
func (s Stats) AddErrors(e *flow.Errors) {
	for k, v := range s.Totals().Errors {
		e.Add(k, v)
	}
}
