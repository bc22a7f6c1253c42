package network

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-ids/vigil/flow"
)

type summary struct {
	records            uint64
	byFormat           [16]uint64
	noTime             uint64
	notOurs            uint64
	late               uint64
	unknownRate        uint64
	undetermined       uint64
	denied             uint64
	replayed           uint64
	listedProbes       uint64
	suppressedIPChange uint64
	suppressedRules    uint64
	disabled           uint64
	alerts             map[string]uint64
}

func (s *summary) init() { s.alerts = map[string]uint64{} }

// Summary is what the detector saw and did. Alerts counts incidents
// (distinct alert ids) by type.
type Summary struct {
	Records            uint64            `json:"records"`
	RecordsByFormat    map[string]uint64 `json:"records_by_format"`
	NoStartTime        uint64            `json:"no_start_time"`
	NotOurs            uint64            `json:"not_ours"`
	Late               uint64            `json:"late"`
	UnknownRate        uint64            `json:"unknown_rate_fallbacks"`
	Undetermined       uint64            `json:"undetermined_initiator"`
	Denied             uint64            `json:"denied"`
	Replayed           uint64            `json:"replayed"`
	ListedProbes       uint64            `json:"inbound_probes_from_listed"`
	SuppressedIPChange uint64            `json:"suppressed_ip_change"`
	SuppressedRules    uint64            `json:"suppressed_by_rules"`
	Disabled           uint64            `json:"disabled"`
	Alerts             map[string]uint64 `json:"alerts"`
	Resources          int               `json:"resources"`
}

// Summary returns the counters so far.
func (d *Detector) Summary() Summary {
	s := Summary{
		Records: d.sum.records, RecordsByFormat: map[string]uint64{}, NoStartTime: d.sum.noTime, NotOurs: d.sum.notOurs,
		Late: d.sum.late, UnknownRate: d.sum.unknownRate, Undetermined: d.sum.undetermined, Denied: d.sum.denied,
		Replayed: d.sum.replayed, ListedProbes: d.sum.listedProbes, SuppressedIPChange: d.sum.suppressedIPChange,
		SuppressedRules: d.sum.suppressedRules, Disabled: d.sum.disabled, Alerts: map[string]uint64{},
		Resources: len(d.resources),
	}
	for f, n := range d.sum.byFormat {
		if n > 0 {
			s.RecordsByFormat[flow.Format(f).String()] += n
		}
	}
	for t, n := range d.sum.alerts {
		s.Alerts[t] = n
	}
	return s
}

// String renders the summary for people, as the scan prints it on stderr.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "network: %d records", s.Records)
	if len(s.RecordsByFormat) > 0 {
		b.WriteString(" (")
		b.WriteString(joinCounts(s.RecordsByFormat))
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; %d not ours, %d late, %d without start time, %d unknown sampling rate (fallback used), %d undetermined initiator, %d denied, %d replayed (not learned again)\n",
		s.NotOurs, s.Late, s.NoStartTime, s.UnknownRate, s.Undetermined, s.Denied, s.Replayed)
	var total uint64
	for _, n := range s.Alerts {
		total += n
	}
	fmt.Fprintf(&b, "network: %d alerts", total)
	if len(s.Alerts) > 0 {
		b.WriteString(" (")
		b.WriteString(joinCounts(s.Alerts))
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; suppressed: %d for an IP change within the hour, %d by rules, %d disabled types; %d inbound-only probes from listed addresses; %d resources tracked\n",
		s.SuppressedIPChange, s.SuppressedRules, s.Disabled, s.ListedProbes, s.Resources)
	return b.String()
}

func joinCounts(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
