package azure

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/audit"
)

var p0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// rec builds a record of one stage: op and res name the operation, corr
// its correlation id, at is seconds after p0.
func rec(corr, op, res string, stage Stage, at float64) Record {
	r := Record{Stage: stage, Event: audit.Event{
		Time: p0.Add(time.Duration(at * float64(time.Second))), Cloud: audit.CloudAzure, Kind: audit.KindActivity,
		CorrelationID: corr, Operation: op, Resource: res, Status: stage.String(),
	}}
	switch stage {
	case StageSuccess:
		r.Event.Result = audit.ResultSuccess
		r.Event.ResponseBody = []byte(`{"ok":true}`)
	case StageFailure:
		r.Event.Result = audit.ResultFailure
	case StageStart, StageAccept:
		r.Event.Result = audit.ResultStarted
		r.Event.RequestBody = []byte(`{"req":1}`)
	}
	return r
}

// out is the part of an emitted event the tests look at.
type out struct {
	Op     string
	At     float64
	Result audit.Result
	Status string
	Req    string
	Resp   string
}

func run(cfg PairConfig, recs []Record) ([]out, PairStats) {
	var got []out
	p := NewPairer(cfg, func(e *audit.Event) {
		got = append(got, out{e.Operation, e.Time.Sub(p0).Seconds(), e.Result, e.Status, string(e.RequestBody), string(e.ResponseBody)})
	})
	for i := range recs {
		p.Add(&recs[i])
	}
	p.Flush()
	return got, p.Stats()
}

func TestPairer(t *testing.T) {
	const sa = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"
	const SA = "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/A"
	const listKeys = "Microsoft.Storage/storageAccounts/listKeys/action"
	tests := []struct {
		name  string
		cfg   PairConfig
		in    []Record
		want  []out
		stats PairStats
	}{{
		name:  "start, accept and success are one event with the final result",
		in:    []Record{rec("c1", listKeys, sa, StageStart, 0), rec("c1", listKeys, sa, StageAccept, 1), rec("c1", listKeys, sa, StageSuccess, 2)},
		want:  []out{{listKeys, 0, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`}},
		stats: PairStats{Paired: 2},
	}, {
		name:  "stages match whatever their case",
		in:    []Record{rec("c1", listKeys, sa, StageStart, 0), rec("C1", "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION", SA, StageFailure, 1)},
		want:  []out{{listKeys, 0, audit.ResultFailure, "failure", `{"req":1}`, ""}},
		stats: PairStats{Paired: 1},
	}, {
		name: "one correlation id across a deployment keeps its operations apart",
		in: []Record{
			rec("dep", "Microsoft.Resources/deployments/write", "/d", StageStart, 0),
			rec("dep", listKeys, sa, StageStart, 1),
			rec("dep", listKeys, sa+"2", StageStart, 1),
			rec("dep", listKeys, sa+"2", StageSuccess, 2),
			rec("dep", listKeys, sa, StageSuccess, 3),
			rec("dep", "Microsoft.Resources/deployments/write", "/d", StageSuccess, 4),
		},
		want: []out{
			{"Microsoft.Resources/deployments/write", 0, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`},
			{listKeys, 1, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`},
			{listKeys, 1, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`},
		},
		stats: PairStats{Paired: 3},
	}, {
		name: "events leave in the order of their first record",
		in: []Record{
			rec("c1", listKeys, sa, StageStart, 0),
			rec("", "Microsoft.Resourcehealth/healthevent/Updated/action", "/r", StageNone, 1),
			rec("c1", listKeys, sa, StageSuccess, 2),
		},
		want: []out{
			{listKeys, 0, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`},
			{"Microsoft.Resourcehealth/healthevent/Updated/action", 1, "", "none", "", ""},
		},
		stats: PairStats{Paired: 1},
	}, {
		name: "an operation open past the window leaves as started, and its late outcome alone",
		cfg:  PairConfig{Window: time.Minute},
		in: []Record{
			rec("c1", listKeys, sa, StageStart, 0),
			rec("c2", listKeys, sa, StageStart, 30),
			rec("c2", listKeys, sa, StageSuccess, 31),
			rec("c3", listKeys, sa, StageSuccess, 61), // 61 s after c1's start: c1 expires
			rec("c1", listKeys, sa, StageSuccess, 62),
		},
		want: []out{
			{listKeys, 0, audit.ResultStarted, "start", `{"req":1}`, ""},
			{listKeys, 30, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`},
			{listKeys, 61, audit.ResultSuccess, "success", "", `{"ok":true}`},
			{listKeys, 62, audit.ResultSuccess, "success", "", `{"ok":true}`},
		},
		stats: PairStats{Paired: 1, Unfinished: 1},
	}, {
		name:  "a start after its outcome is absorbed",
		in:    []Record{rec("c1", listKeys, sa, StageSuccess, 1), rec("c1", listKeys, sa, StageStart, 0)},
		want:  []out{{listKeys, 1, audit.ResultSuccess, "success", "", `{"ok":true}`}},
		stats: PairStats{Paired: 1},
	}, {
		name:  "no outcome by the end of the input",
		in:    []Record{rec("c1", listKeys, sa, StageStart, 0), rec("c1", listKeys, sa, StageAccept, 1)},
		want:  []out{{listKeys, 0, audit.ResultStarted, "accept", `{"req":1}`, ""}},
		stats: PairStats{Paired: 1, Unfinished: 1},
	}, {
		name:  "without a correlation id nothing pairs",
		in:    []Record{rec("", listKeys, sa, StageStart, 0), rec("", listKeys, sa, StageSuccess, 1)},
		want:  []out{{listKeys, 0, audit.ResultStarted, "start", `{"req":1}`, ""}, {listKeys, 1, audit.ResultSuccess, "success", "", `{"ok":true}`}},
		stats: PairStats{},
	}, {
		name: "the pending limit releases the oldest early",
		cfg:  PairConfig{MaxPending: 2},
		in: []Record{
			rec("c1", listKeys, sa, StageStart, 0), rec("c2", listKeys, sa, StageStart, 1),
			rec("c3", listKeys, sa, StageStart, 2), rec("c3", listKeys, sa, StageSuccess, 3),
		},
		want: []out{
			{listKeys, 0, audit.ResultStarted, "start", `{"req":1}`, ""},
			{listKeys, 1, audit.ResultStarted, "start", `{"req":1}`, ""},
			{listKeys, 2, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`},
		},
		stats: PairStats{Paired: 1, Unfinished: 2, Early: 1},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, stats := run(tc.cfg, tc.in)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.stats, stats); d != "" {
				t.Errorf("stats (-want +got):\n%s", d)
			}
		})
	}
}

// TestPairerLong runs many interleaved operations through a small window
// and checks that every record is accounted for and the queue compacts.
func TestPairerLong(t *testing.T) {
	var recs []Record
	const n = 20000
	for i := 0; i < n; i++ {
		id := fmt.Sprint(i)
		recs = append(recs, rec(id, "op", "/r", StageStart, float64(i)))
		if i%10 != 0 { // every tenth operation never finishes
			recs = append(recs, rec(id, "op", "/r", StageSuccess, float64(i)+0.5))
		}
	}
	// Interleave: each outcome arrives after the next operation's start.
	for i := 1; i+1 < len(recs); i++ {
		if recs[i].Stage == StageSuccess && recs[i+1].Stage == StageStart {
			recs[i], recs[i+1] = recs[i+1], recs[i]
			i++
		}
	}
	got, st := run(PairConfig{Window: 10 * time.Second}, recs)
	if len(got) != n {
		t.Fatalf("%d events, want %d", len(got), n)
	}
	if st.Unfinished != n/10 || st.Paired != uint64(len(recs)-n) {
		t.Errorf("stats %+v", st)
	}
	for i := 1; i < len(got); i++ {
		if got[i].At < got[i-1].At {
			t.Fatalf("event %d out of order", i)
		}
	}
}

// TestPairerAcrossFiles joins an operation whose stages two files
// delivered as separate events.
func TestPairerAcrossFiles(t *testing.T) {
	const op, res = "Microsoft.Compute/virtualMachines/runCommand/action", "/subscriptions/s/vm"
	first := rec("c1", op, res, StageStart, 3599)
	second := rec("c1", op, res, StageSuccess, 3601)
	other := audit.Event{Time: p0.Add(3600 * time.Second), Cloud: audit.CloudAWS, Kind: audit.KindCloudTrail, Operation: "CreateUser", Result: audit.ResultSuccess}
	var got []out
	p := NewPairer(PairConfig{}, func(e *audit.Event) {
		got = append(got, out{e.Operation, e.Time.Sub(p0).Seconds(), e.Result, e.Status, string(e.RequestBody), string(e.ResponseBody)})
	})
	for _, e := range []audit.Event{first.Event, other, second.Event} {
		p.AddEvent(&e)
	}
	p.Flush()
	want := []out{
		{op, 3599, audit.ResultSuccess, "success", `{"req":1}`, `{"ok":true}`},
		{"CreateUser", 3600, audit.ResultSuccess, "", "", ""},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
