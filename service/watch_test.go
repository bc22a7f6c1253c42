package service

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// TestWatchedFolder drops an Activity Log blob that grows in place, as
// Azure's hourly PT1H.json does: first with the role definition only, then
// rewritten with the assignment too. The records read first are not read
// again, the alert appears once, and the folder is reported silent once
// the (fake) clock passes silent-after.
func TestWatchedFolder(t *testing.T) {
	var fake atomic.Int64
	fake.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, fake.Load()) }
	dir := t.TempDir()
	tok := makeTokens(t, dir)
	folder := t.TempDir()
	cfg := testConfig(t, dir, "")
	cfg.Collector.Listeners = nil
	cfg.Watch = []string{folder}
	cfg.IdleFlush = 0 // only event time closes windows here
	cfg.AllowedLateness = 0
	svc, err := New(cfg, Deps{Now: now, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	base := runService(t, svc)

	var export struct {
		Records []json.RawMessage `json:"records"`
	}
	raw, err := os.ReadFile("testdata/activitylog-custom-role.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &export); err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(folder, "resourceId=SUBSCRIPTIONS", "y=2025", "m=06", "d=10", "h=14", "m=00", "PT1H.json")
	os.MkdirAll(filepath.Dir(blob), 0o750)
	writeLines := func(recs []json.RawMessage) {
		// Azure's storage export is JSON lines of records.
		var b strings.Builder
		for _, r := range recs {
			var v any
			json.Unmarshal(r, &v)
			line, _ := json.Marshal(v)
			b.Write(line)
			b.WriteByte('\n')
		}
		tmp := blob + ".tmp"
		os.WriteFile(tmp, []byte(b.String()), 0o600)
		os.Rename(tmp, blob)
	}
	health := func() map[string]any {
		var h struct {
			Sources  []map[string]any  `json:"sources"`
			Counters map[string]uint64 `json:"counters"`
		}
		apiGet(t, base, tok.admin, "/api/v1/ingest", &h)
		for _, s := range h.Sources {
			if s["kind"] == "folder" {
				s["audit_events"] = float64(h.Counters["audit_events"])
				return s
			}
		}
		return nil
	}
	writeLines(export.Records[:2])
	waitFor(t, "the first part of the blob", func() bool {
		h := health()
		return h != nil && h["records"].(float64) == 1 && h["audit_events"].(float64) == 1
	})
	writeLines(export.Records)
	waitFor(t, "the grown blob", func() bool {
		h := health()
		return h != nil && h["records"].(float64) == 2 && h["audit_events"].(float64) == 2
	})
	// A later event moves the watermark past the assignment.
	later := strings.Replace(string(export.Records[0]), "2025-06-10T14:05:11.2345678Z", "2025-06-10T16:00:00Z", 1)
	later = strings.Replace(later, "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d", "c0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d", 1)
	if err := os.WriteFile(filepath.Join(folder, "later.json"), []byte(`{"records":[`+later+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the alert", func() bool { return len(byType(listAlerts(t, base, tok.analystA))[alert.CustomRolePersistence]) == 1 })
	if n := len(listAlerts(t, base, tok.analystA)); n != 1 {
		t.Errorf("%d alerts, want 1", n)
	}

	if h := health(); h["silent"] != false {
		t.Errorf("folder silent right after data: %v", h)
	}
	fake.Add(int64(cfg.SilentAfter + time.Minute))
	if h := health(); h["silent"] != true {
		t.Errorf("folder not silent after silent-after: %v", h)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tok.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var metrics strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		metrics.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(metrics.String(), `vigil_source_silent{kind="folder",source="folder:`+folder+`"} 1`) {
		t.Errorf("no silent metric for the folder:\n%s", grepLines(metrics.String(), "vigil_source_silent"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
