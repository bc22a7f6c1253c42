package network

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
)

// TestSimulatedEstate scores the detector on an estate written by
// `vigil sim` (set VIGIL_SIM_DIR to its --out directory). It reads every
// flow file, feeds the records in time order, and requires precision and
// recall of at least 0.9 for each network type.
func TestSimulatedEstate(t *testing.T) {
	dir := os.Getenv("VIGIL_SIM_DIR")
	if dir == "" {
		t.Skip("VIGIL_SIM_DIR not set")
	}
	inv, err := inventory.Load(filepath.Join(dir, "inventory.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := intel.Load([]intel.Spec{{Path: filepath.Join(dir, "intel", "c2.csv")}, {Path: filepath.Join(dir, "intel", "tor-exits.txt")}})
	if err != nil {
		t.Fatal(err)
	}
	var rs []flow.Record
	err = filepath.WalkDir(filepath.Join(dir, "flows"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		_, err = flowfile.ReadFile(p, flowfile.Options{}, func(r *flow.Record) { rs = append(rs, *r) })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(rs, func(a, b flow.Record) int { return a.Start.Compare(b.Start) })
	var alerts []alert.Alert
	d, err := New(DefaultConfig(), Deps{Inventory: inv, Intel: db}, func(a alert.Alert) { alerts = append(alerts, a) })
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		d.Add(&rs[i])
	}
	d.Close()
	t.Logf("%s", d.Summary())
	read := func(name string) []eval.Incident {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		in, err := eval.ReadTruth(f)
		if err != nil {
			t.Fatal(err)
		}
		var out []eval.Incident
		for _, i := range in {
			if isNetworkType(i.Type) || name == "lookalikes.jsonl" {
				out = append(out, i)
			}
		}
		return out
	}
	// Later deliveries of an incident replace earlier ones.
	last := map[string]int{}
	var merged []alert.Alert
	for _, a := range alerts {
		if i, ok := last[a.ID]; ok {
			merged[i] = a
			continue
		}
		last[a.ID] = len(merged)
		merged = append(merged, a)
	}
	rep := eval.Score(read("truth.jsonl"), merged, eval.Options{LookAlikes: read("lookalikes.jsonl")})
	for _, ts := range rep.Types {
		if !isNetworkType(ts.Type) {
			continue
		}
		t.Logf("%-20s expected %2d detected %2d alerts %2d false %2d precision %.2f recall %.2f", ts.Type, ts.Expected, ts.Detected, ts.Alerts, ts.FalseAlarms, ts.Precision, ts.Recall)
		if ts.Precision < 0.9 || ts.Recall < 0.9 {
			t.Errorf("%s: precision %.2f recall %.2f", ts.Type, ts.Precision, ts.Recall)
		}
	}
	for _, m := range rep.Missed {
		if isNetworkType(m.Type) {
			t.Logf("missed %s %s %s..%s %s", m.Type, m.Key, m.Start, m.End, m.Note)
		}
	}
	byID := map[string]alert.Alert{}
	for _, a := range merged {
		byID[a.ID] = a
	}
	for _, f := range rep.FalseAlarms {
		t.Logf("false alarm %s %s %s..%s (%s) remotes %v", f.Type, f.Key, f.Start, f.End, f.LookAlike, byID[f.ID].RemoteIPs)
		if os.Getenv("VIGIL_SIM_VERBOSE") != "" {
			t.Logf("evidence %v", byID[f.ID].Evidence)
		}
	}
}
