// Package flowlog reads the flow logs that clouds write to storage: Azure
// NSG flow logs (versions 1 and 2), Azure VNet flow logs (flowLogVersion 4)
// and AWS VPC Flow Logs (the default version 2 format and custom formats
// described by their header line).
//
// Cloud flow logs are unsampled, so every record has SamplingRate 1. Each
// Azure flow tuple describes both directions of a connection: it becomes a
// record from the initiator and, when the tuple counts reply traffic, a
// reverse record marked with flow.FlagReverse, as an RFC 5103 biflow does.
// Malformed lines and tuples are counted by reason and skipped; a file
// that cannot be parsed at all is an error.
package flowlog

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrSyntax is returned when a file's structure (JSON, header) is broken
// beyond a single record.
var ErrSyntax = errors.New("flow log syntax error")

// Stats counts what a reader saw.
type Stats struct {
	Entries   uint64            // flow tuples or lines read
	Records   uint64            // flow records emitted
	Skipped   map[string]uint64 // entries deliberately not emitted, by reason (NODATA, SKIPDATA)
	Malformed map[string]uint64 // entries that could not be parsed, by reason
}

func (s *Stats) bad(reason string) {
	if s.Malformed == nil {
		s.Malformed = make(map[string]uint64)
	}
	s.Malformed[reason]++
}

func (s *Stats) skip(reason string) {
	if s.Skipped == nil {
		s.Skipped = make(map[string]uint64)
	}
	s.Skipped[reason]++
}

// Merge adds o's counts to s.
func (s *Stats) Merge(o Stats) {
	s.Entries += o.Entries
	s.Records += o.Records
	for k, v := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = make(map[string]uint64)
		}
		s.Skipped[k] += v
	}
	for k, v := range o.Malformed {
		if s.Malformed == nil {
			s.Malformed = make(map[string]uint64)
		}
		s.Malformed[k] += v
	}
}

// String renders the counts on one line.
func (s Stats) String() string {
	return fmt.Sprintf("entries=%d records=%d skipped={%s} malformed={%s}", s.Entries, s.Records, counts(s.Skipped), counts(s.Malformed))
}

func counts(m map[string]uint64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// Reasons for malformed entries.
const (
	ReasonFieldCount = "bad-field-count"
	ReasonAddress    = "bad-address"
	ReasonPort       = "bad-port"
	ReasonProtocol   = "bad-protocol"
	ReasonTime       = "bad-time"
	ReasonDirection  = "bad-direction"
	ReasonAction     = "bad-action"
	ReasonState      = "bad-flow-state"
	ReasonCounter    = "bad-counter"
	ReasonTCPFlags   = "bad-tcp-flags"
	ReasonLogStatus  = "bad-log-status"
	ReasonVersion    = "unsupported-version"
	ReasonRecord     = "bad-record"    // a JSON record of the wrong shape
	ReasonLineLength = "line-too-long" // a text line longer than any record
)

// nextField returns the text before the next sep in s and the rest.
func nextField(s string, sep byte) (string, string) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}
