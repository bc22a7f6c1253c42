// Package eval scores alerts against labelled incidents: the simulator's
// truth.jsonl, or any labelled data in the same format.
package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Incident is one labelled incident: an alert of Type about Key (the
// resource for network alerts, the principal for management alerts) that
// should be raised for activity between Start and End.
type Incident struct {
	Type  string    `json:"type"`
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Note says what the simulator did, for people reading the file.
	Note string `json:"note,omitempty"`
}

// ReadTruth reads truth.jsonl: one incident per line; blank lines are
// skipped.
func ReadTruth(r io.Reader) ([]Incident, error) {
	var out []Incident
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		var in Incident
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, fmt.Errorf("truth line %d: %w", line, err)
		}
		if in.Type == "" || in.Key == "" {
			return nil, fmt.Errorf("truth line %d: type and key are required", line)
		}
		out = append(out, in)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	return out, nil
}

// WriteTruth writes incidents as JSON lines.
func WriteTruth(w io.Writer, incidents []Incident) error {
	enc := json.NewEncoder(w)
	for _, in := range incidents {
		if err := enc.Encode(in); err != nil {
			return fmt.Errorf("write truth: %w", err)
		}
	}
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
