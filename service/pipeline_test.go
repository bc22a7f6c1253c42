package service

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-ids/vigil/alert"
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
	s.out, err = newOutputs(cfg.Outputs, dir, s.logger, s.m)
	if err != nil {
		t.Fatal(err)
	}
	defer s.out.close()
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
		delivered int // lines in the JSON file afterwards
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
			if n := countLines(t, cfg.Outputs.JSONFile); n != tc.delivered {
				t.Errorf("%d deliveries, want %d", n, tc.delivered)
			}
		})
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

// TestWebhookDeadLetter checks retries with backoff, the signature, and
// the dead-letter file after the last try.
func TestWebhookDeadLetter(t *testing.T) {
	var tries atomic.Int32
	var badSig atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		body := make([]byte, r.ContentLength)
		r.Body.Read(body)
		if r.Header.Get(SignatureHeader) != Sign([]byte("k"), body) {
			badSig.Add(1)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	o, err := newOutputs(Outputs{Webhooks: []WebhookConfig{{Name: "soc", URL: srv.URL, Secret: "k", Retries: 2, Backoff: time.Millisecond}}}, dir, slog.New(slog.DiscardHandler), m)
	if err != nil {
		t.Fatal(err)
	}
	a := alert.New(alert.IncomingSSH, "k", time.Unix(0, 0), time.Unix(3600, 0))
	o.deliver(a)
	dead := filepath.Join(dir, "deadletter-soc.jsonl")
	waitFor(t, "the dead-letter file", func() bool { return countLines(t, dead) == 1 })
	o.close()
	if tries.Load() != 3 || badSig.Load() != 0 {
		t.Errorf("%d tries (want 3), %d bad signatures", tries.Load(), badSig.Load())
	}
	b, _ := os.ReadFile(dead)
	var entry struct {
		Reason string
		Alert  alert.Alert
	}
	if err := json.Unmarshal(b, &entry); err != nil || entry.Alert.ID != a.ID || entry.Reason != "status 503" {
		t.Errorf("dead letter %s (%v)", b, err)
	}
	if got := counterValue(m.deliveryFailures.WithLabelValues("soc")); got != 3 {
		t.Errorf("failures counter %v", got)
	}
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
