package eval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// DefaultSlack is how far apart an alert and an incident may be and still
// match. Detectors work in clock hours, so an incident that starts at 10:40
// is legitimately reported from 10:00, and one that ends at 11:05 may
// extend the alert to 12:00; an hour each side absorbs that rounding and
// the reorder window, and no more.
const DefaultSlack = time.Hour

// ErrNoType reports an alert line without a type.
var ErrNoType = errors.New("alert has no type")

// Options tunes Score.
type Options struct {
	// Slack widens each alert's [start, end] by this much on both sides
	// before testing overlap with an incident. Zero means DefaultSlack; a
	// negative value means no slack.
	Slack time.Duration
	// LookAlikes are benign situations that must not alert (the
	// simulator's lookalikes.jsonl). A false alarm that overlaps one, by
	// key and time, is attributed to it in the report.
	LookAlikes []Incident
}

// TypeScore is the score of one alert type. Precision is the share of
// alerts that match an incident (1 when there are no alerts); recall is the
// share of incidents matched by an alert (1 when none were expected).
type TypeScore struct {
	Type        string  `json:"type"`
	Expected    int     `json:"expected"`
	Detected    int     `json:"detected"`
	Missed      int     `json:"missed"`
	Alerts      int     `json:"alerts"`
	FalseAlarms int     `json:"false_alarms"`
	Precision   float64 `json:"precision"`
	Recall      float64 `json:"recall"`
}

// FalseAlarm is an alert that matches no incident.
type FalseAlarm struct {
	ID    string    `json:"id"`
	Type  string    `json:"type"`
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// LookAlike is the note of the look-alike it fell for, if any.
	LookAlike string `json:"lookalike,omitempty"`
}

// Report is the result of Score: one row per type (the catalog's types
// first, in catalog order, then any other type seen), the overall figures
// summed over all rows, and the incidents missed and the false alarms.
type Report struct {
	Slack       string       `json:"slack"`
	Types       []TypeScore  `json:"types"`
	Overall     TypeScore    `json:"overall"`
	Missed      []Incident   `json:"missed"`
	FalseAlarms []FalseAlarm `json:"false_alarms"`
}

// Score matches alerts against labelled incidents. An alert matches an
// incident when their types and keys (alert.Key(): the resource for network
// alerts, the principal for management alerts) are equal and the alert's
// interval, widened by the slack on each side, overlaps the incident's.
// One alert may match several incidents of its key (a long alert spanning
// two labelled bursts) and several alerts may match one incident; neither
// is a false alarm.
func Score(truth []Incident, alerts []alert.Alert, opts Options) Report {
	slack := opts.Slack
	switch {
	case slack == 0:
		slack = DefaultSlack
	case slack < 0:
		slack = 0
	}
	type tk struct{ typ, key string }
	byKey := make(map[tk][]int)
	for i, in := range truth {
		k := tk{in.Type, in.Key}
		byKey[k] = append(byKey[k], i)
	}
	lookByKey := make(map[string][]int)
	for i, l := range opts.LookAlikes {
		lookByKey[l.Key] = append(lookByKey[l.Key], i)
	}
	overlaps := func(a *alert.Alert, start, end time.Time) bool {
		// Closed intervals, so that instantaneous incidents still match.
		return !a.Start.Add(-slack).After(end) && !a.End.Add(slack).Before(start)
	}
	detected := make([]bool, len(truth))
	rows := make(map[string]*TypeScore)
	row := func(typ string) *TypeScore {
		r := rows[typ]
		if r == nil {
			r = &TypeScore{Type: typ}
			rows[typ] = r
		}
		return r
	}
	for _, in := range truth {
		row(in.Type).Expected++
	}
	rep := Report{Slack: slack.String(), Missed: []Incident{}, FalseAlarms: []FalseAlarm{}}
	for i := range alerts {
		a := &alerts[i]
		r := row(a.Type)
		r.Alerts++
		matched := false
		for _, j := range byKey[tk{a.Type, a.Key()}] {
			if overlaps(a, truth[j].Start, truth[j].End) {
				detected[j] = true
				matched = true
			}
		}
		if matched {
			continue
		}
		r.FalseAlarms++
		fa := FalseAlarm{ID: a.ID, Type: a.Type, Key: a.Key(), Start: a.Start, End: a.End}
		for _, j := range lookByKey[a.Key()] {
			l := opts.LookAlikes[j]
			if (l.Type == "" || l.Type == a.Type) && overlaps(a, l.Start, l.End) {
				fa.LookAlike = l.Note
				break
			}
		}
		rep.FalseAlarms = append(rep.FalseAlarms, fa)
	}
	for j, in := range truth {
		if detected[j] {
			row(in.Type).Detected++
		} else {
			row(in.Type).Missed++
			rep.Missed = append(rep.Missed, in)
		}
	}
	order := make([]string, 0, len(rows))
	for _, d := range alert.Catalog() {
		if rows[d.Type] != nil {
			order = append(order, d.Type)
		}
	}
	var extra []string
	for typ := range rows {
		if !slices.Contains(order, typ) {
			extra = append(extra, typ)
		}
	}
	sort.Strings(extra)
	order = append(order, extra...)
	rep.Overall.Type = "overall"
	for _, typ := range order {
		r := rows[typ]
		r.finish()
		rep.Types = append(rep.Types, *r)
		rep.Overall.Expected += r.Expected
		rep.Overall.Detected += r.Detected
		rep.Overall.Missed += r.Missed
		rep.Overall.Alerts += r.Alerts
		rep.Overall.FalseAlarms += r.FalseAlarms
	}
	rep.Overall.finish()
	sort.SliceStable(rep.Missed, func(i, j int) bool { return rep.Missed[i].Start.Before(rep.Missed[j].Start) })
	sort.SliceStable(rep.FalseAlarms, func(i, j int) bool { return rep.FalseAlarms[i].Start.Before(rep.FalseAlarms[j].Start) })
	return rep
}

func (r *TypeScore) finish() {
	r.Precision, r.Recall = 1, 1
	if r.Alerts > 0 {
		r.Precision = float64(r.Alerts-r.FalseAlarms) / float64(r.Alerts)
	}
	if r.Expected > 0 {
		r.Recall = float64(r.Detected) / float64(r.Expected)
	}
}

// WriteTable prints the per-type table, then the overall row, then the
// missed incidents and false alarms, one per line.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\texpected\tdetected\tmissed\talerts\tfalse alarms\tprecision\trecall\t")
	line := func(r TypeScore) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t\n", r.Type, r.Expected, r.Detected, r.Missed, r.Alerts, r.FalseAlarms, r.Precision, r.Recall)
	}
	for _, r := range rep.Types {
		line(r)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
	line(rep.Overall)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\nmatching: same type and key, times overlapping with %s slack each side\n", rep.Slack)
	for _, m := range rep.Missed {
		fmt.Fprintf(bw, "missed       %s %s %s..%s %s\n", m.Type, m.Key, m.Start.Format(time.RFC3339), m.End.Format(time.RFC3339), m.Note)
	}
	for _, f := range rep.FalseAlarms {
		note := ""
		if f.LookAlike != "" {
			note = "(look-alike: " + f.LookAlike + ")"
		}
		fmt.Fprintf(bw, "false alarm  %s %s %s..%s %s\n", f.Type, f.Key, f.Start.Format(time.RFC3339), f.End.Format(time.RFC3339), note)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// WriteJSON writes the report as one indented JSON document.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ReadAlerts reads alerts as JSON lines, as `vigil scan` writes them.
// Deliveries that share an id (a growing incident delivered again) are
// merged: the last one wins, as an alert.Sink would keep it.
func ReadAlerts(r io.Reader) ([]alert.Alert, error) {
	var out []alert.Alert
	index := make(map[string]int)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := trimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var a alert.Alert
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("alerts line %d: %w", line, err)
		}
		if a.Type == "" {
			return nil, fmt.Errorf("alerts line %d: %w", line, ErrNoType)
		}
		if i, ok := index[a.ID]; ok && a.ID != "" {
			out[i] = a
			continue
		}
		index[a.ID] = len(out)
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	return out, nil
}
