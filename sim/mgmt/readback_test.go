package mgmt

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/auditfile"
)

// TestReadBack reads every file the simulator wrote with Vigil's own audit
// readers, checks the counts against the files' own records, and runs the
// management detector on what the readers produced: the end-to-end
// evaluation of the management layer.
func TestReadBack(t *testing.T) {
	r := generated(t, "seed1", 1)
	recs := r.records(t)
	want := map[string]uint64{}
	for _, x := range recs {
		switch x.src {
		case "storage", "storage-records", "eventhub":
			want["activity"]++
		default:
			want[x.src]++
		}
	}
	var got auditfile.Summary
	var events []audit.Event
	err := filepath.WalkDir(r.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sum, err := auditfile.ReadFile(path, func(ev *audit.Event) {
			c := *ev
			c.RequestBody = bytes.Clone(ev.RequestBody)
			c.ResponseBody = bytes.Clone(ev.ResponseBody)
			events = append(events, c)
		})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(sum.Malformed) > 0 {
			t.Errorf("%s: malformed %v", path, sum.Malformed)
		}
		got.AzureActivity += sum.AzureActivity
		got.EntraSignIn += sum.EntraSignIn
		got.CloudTrail += sum.CloudTrail
		got.GCPAudit += sum.GCPAudit
		got.Events += sum.Events
		got.Paired += sum.Paired
		got.Unfinished += sum.Unfinished
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("readers: %+v", got)
	if got.AzureActivity != want["activity"] || got.EntraSignIn != want["signin"] || got.CloudTrail != want["cloudtrail"] || got.GCPAudit != want["gcp"] {
		t.Fatalf("records read %+v, written %v", got, want)
	}
	if got.Events != uint64(len(events)) || got.Paired == 0 {
		t.Fatalf("events %d delivered %d, paired %d", got.Events, len(events), got.Paired)
	}
	// Every simulated principal comes back with the right kind of tool.
	tools := map[audit.Tool]int{}
	for _, ev := range events {
		if ev.Kind == audit.KindActivity {
			tools[ev.Tool]++
		}
		if ev.PrincipalID == "" {
			t.Fatalf("event without principal: %+v", ev)
		}
	}
	for _, tool := range []audit.Tool{audit.ToolPortal, audit.ToolCLI, audit.ToolPowerShell, audit.ToolOther} {
		if tools[tool] == 0 {
			t.Errorf("no %s events read back", tool)
		}
	}

	// The detector on the readers' events, in time order.
	slices.SortStableFunc(events, func(a, b audit.Event) int { return a.Time.Compare(b.Time) })
	alerts := map[string]alert.Alert{}
	cfg := testConfig(1)
	det := newTestDetector(t, 1, &cfg, alerts)
	for i := range events {
		det.Add(&events[i])
	}
	det.Close()
	score(t, 1, r.truth, alerts)
}
