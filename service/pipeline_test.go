package service

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/output"
	"github.com/vigil-ids/vigil/store"
)

// countLines counts the lines of a file (0 when it does not exist).
func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

// TestAlertPolicy sends alerts through the alert stage: settings and
// suppressions drop them, the store keeps one copy per id, and an output
// gets an alert again only when it changed.
func TestAlertPolicy(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.Outputs.JSONFile = filepath.Join(dir, "alerts.jsonl")
	cfg.Detection.Suppressions = alert.Suppressions{{Type: alert.OutgoingRDP}}
	s, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	s.stores, err = store.OpenSet(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stores.Close()
	s.out, err = newOutputs(cfg.Outputs, dir, "", output.Deps{Registry: s.reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.out.close()
	file := s.out.list[0]
	ctx := context.Background()
	main := s.stores.Main()
	if err := main.PutSettings(ctx, store.Settings{Subscription: subB, Detections: map[string]bool{alert.IncomingSSH: false}, IdentityAnalytics: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := main.PutSuppression(ctx, store.Suppression{Subscription: subA, Type: alert.IncomingRDP, Comment: "bastion"}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 6, 10, 14, 0, 0, 0, time.UTC)
	mk := func(typ, sub string, end time.Duration) alert.Alert {
		a := alert.New(typ, "key-"+sub, start, start.Add(end))
		a.Subscription = sub
		return a
	}
	for _, tc := range []struct {
		name      string
		a         alert.Alert
		stored    bool
		delivered int // alerts handed to the JSON-lines file so far
	}{
		{"new alert", mk(alert.IncomingSSH, subA, time.Hour), true, 1},
		{"same alert again", mk(alert.IncomingSSH, subA, time.Hour), true, 1},
		{"grown incident", mk(alert.IncomingSSH, subA, 2*time.Hour), true, 2},
		{"disabled detection", mk(alert.IncomingSSH, subB, time.Hour), false, 2},
		{"identity analytics off", mk(alert.ImpossibleTravel, subB, time.Hour), false, 2},
		{"identity analytics on", mk(alert.ImpossibleTravel, subA, time.Hour), true, 3},
		{"stored suppression", mk(alert.IncomingRDP, subA, time.Hour), false, 3},
		{"config suppression", mk(alert.OutgoingRDP, subA, time.Hour), false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.handleAlert(ctx, tc.a); err != nil {
				t.Fatal(err)
			}
			_, err := s.stores.GetAlert(ctx, tc.a.ID)
			if stored := err == nil; stored != tc.stored {
				t.Errorf("stored %v, want %v (%v)", stored, tc.stored, err)
			}
			if n := file.Stats().Enqueued; n != uint64(tc.delivered) {
				t.Errorf("%d deliveries, want %d", n, tc.delivered)
			}
		})
	}
	if err := s.out.close(); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, cfg.Outputs.JSONFile); n != 3 {
		t.Errorf("%d lines in the JSON-lines file, want 3", n)
	}
	page, err := s.stores.ListAlerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Alerts) != 2 {
		t.Errorf("%d alerts stored, want 2", len(page.Alerts))
	}
	if got := counterValue(s.m.dropped.WithLabelValues(alert.IncomingRDP, "suppressed")); got != 1 {
		t.Errorf("suppressed counter %v", got)
	}
}

// TestWebhookDeadLetter checks retries with backoff, the signature, the
// dead-letter file after the last try, and the metrics on the service's
// registry.
func TestWebhookDeadLetter(t *testing.T) {
	var tries atomic.Int32
	var badSig atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		body, _ := io.ReadAll(r.Body)
		if !output.Verify([]byte("k"), body, r.Header.Get(output.SignatureHeader)) {
			badSig.Add(1)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	cfg := Outputs{Webhooks: []WebhookConfig{{Name: "soc", URL: srv.URL, Secret: "k", Retries: 2, Backoff: time.Millisecond}}, DrainTimeout: time.Second}
	o, err := newOutputs(cfg, dir, "", output.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	a := alert.New(alert.IncomingSSH, "k", time.Unix(0, 0), time.Unix(3600, 0))
	o.deliver(a)
	dead := filepath.Join(dir, "deadletter-soc.jsonl")
	waitFor(t, "the dead-letter file", func() bool { return countLines(t, dead) == 1 })
	if err := o.close(); err != nil {
		t.Fatal(err)
	}
	if tries.Load() != 3 || badSig.Load() != 0 {
		t.Errorf("%d tries (want 3), %d bad signatures", tries.Load(), badSig.Load())
	}
	b, _ := os.ReadFile(dead)
	var entry struct {
		Output   string
		Attempts int
		Error    string
		Alert    alert.Alert
	}
	if err := json.Unmarshal(b, &entry); err != nil || entry.Alert.ID != a.ID || entry.Output != "soc" || entry.Attempts != 3 || !strings.Contains(entry.Error, "status 503") {
		t.Errorf("dead letter %s (%v)", b, err)
	}
	if got := gathered(t, reg, "vigil_output_failed_attempts_total", "soc"); got != 3 {
		t.Errorf("failed attempts metric %v, want 3", got)
	}
}

// gathered returns the value of the counter of a metric family with
// output=name, as the registry exports it.
func gathered(t *testing.T, reg *prometheus.Registry, family, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "output" && l.GetValue() == name {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{output=%q}", family, name)
	return 0
}

// TestReload rewrites the config file; the running service reloads its
// inputs and the config's suppressions.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "vigil.yaml")
	write := func(extra string) {
		y := "data-dir: " + dir + "\nhttp: {listen: \"127.0.0.1:0\"}\ncollector: {listeners: []}\npoll-interval: 50ms\nhome-nets: [10.0.0.0/8]\n" + extra
		if err := os.WriteFile(cfgPath, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, Deps{ConfigPath: cfgPath, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	<-svc.Started()
	svc.Reload()
	waitFor(t, "the SIGHUP reload", func() bool { return counterValue(svc.m.reloads) == 1 })
	// A change of the file is noticed by its modification time.
	time.Sleep(10 * time.Millisecond)
	write("detection:\n  suppressions:\n    - {type: incoming-ssh}\n")
	future := time.Now().Add(time.Second)
	os.Chtimes(cfgPath, future, future)
	waitFor(t, "the reload on change", func() bool { return counterValue(svc.m.reloads) == 2 })
	a := alert.New(alert.IncomingSSH, "x", time.Unix(0, 0), time.Unix(1, 0))
	if _, hit := svc.suppressions.Load().Match(&a); !hit {
		t.Error("the reloaded suppression does not apply")
	}
}

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// TestFileOCSF checks that json-file-format: ocsf writes OCSF Detection
// Findings, and that close drains the queue into the file.
func TestFileOCSF(t *testing.T) {
	dir := t.TempDir()
	cfg, err := ParseConfig([]byte("outputs:\n  json-file: " + filepath.Join(dir, "findings.jsonl") + "\n  json-file-format: ocsf\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := newOutputs(cfg.Outputs, dir, "1.2.3", output.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	a := alert.New(alert.IncomingSSH, "k", time.Unix(0, 0), time.Unix(3600, 0))
	o.deliver(a)
	if err := o.close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.Outputs.JSONFile)
	if err != nil {
		t.Fatal(err)
	}
	var f output.OCSFFinding
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if f.ClassUID != 2004 || f.FindingInfo.UID != a.ID {
		t.Errorf("class %d, finding uid %q", f.ClassUID, f.FindingInfo.UID)
	}
	if diff := cmp.Diff(output.OCSF(&a, "1.2.3"), f, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("finding (-want +got):\n%s", diff)
	}
}
