package service

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/internal/testenv"
	"github.com/vigil-ids/vigil/store"
)

// startService runs the service in-process until the test ends.
func startService(t *testing.T, cfg Config) (*Service, string) {
	t.Helper()
	svc, err := New(cfg, Deps{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return svc, runService(t, svc)
}

// runService runs svc until the test ends and returns the API's base URL.
func runService(t *testing.T, svc *Service) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Started():
	case err := <-done:
		cancel()
		t.Fatalf("service did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("service did not start in 30 s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("service stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("service did not stop in 30 s")
		}
	})
	return "http://" + svc.HTTPAddr().String()
}

// TestEndToEnd runs the service with real peers: softflowd exports an SSH
// brute-force capture over UDP, curl posts an Activity Log export, the API
// answers each analyst with their subscription's alerts only, and a
// webhook receiver gets signed deliveries. It logs the time to alert.
func TestEndToEnd(t *testing.T) {
	pcap := testenv.SharedData(t, "pcap", "ssh-bruteforce", "hydra-4_tasks.pcap")
	testenv.Tool(t, "softflowd")
	testenv.Tool(t, "curl")
	hook := newHookReceiver(t)
	dir := t.TempDir()
	tok := makeTokens(t, dir)
	cfg := testConfig(t, dir, hook.srv.URL)
	cfg.Geographies = map[string]string{subA: "eu"}
	svc, base := startService(t, cfg)

	records := replay(t, svc.CollectorAddrs()["ipfix"].String(), pcap)
	if records == 0 {
		t.Fatal("softflowd exported nothing")
	}
	postAudit(t, base, tok.ingest, "testdata/activitylog-custom-role.json")

	var recs []store.AlertRecord
	defer func() {
		if t.Failed() {
			var h map[string]any
			apiGet(t, base, tok.admin, "/api/v1/ingest", &h)
			t.Logf("ingest health: %v", h)
		}
	}()
	firstSeen := map[string]time.Time{}
	waitFor(t, "both alerts in the API", func() bool {
		recs = listAlerts(t, base, tok.analystA)
		got := byType(recs)
		for typ := range got {
			if _, ok := firstSeen[typ]; !ok {
				firstSeen[typ] = time.Now()
			}
		}
		return len(got[alert.IncomingSSH]) > 0 && len(got[alert.CustomRolePersistence]) > 0
	})
	for _, r := range recs {
		if r.Subscription != subA {
			t.Errorf("analyst of %s sees alert %s of subscription %q", subA, r.ID, r.Subscription)
		}
		if r.Status != alert.StatusActive {
			t.Errorf("alert %s status %q, want active", r.ID, r.Status)
		}
	}
	got := byType(recs)
	ssh, role := got[alert.IncomingSSH][0], got[alert.CustomRolePersistence][0]
	if ssh.Evidence == nil || role.Evidence["role_name"] != "VM Operator (ops)" {
		t.Errorf("evidence missing: ssh %v, role %v", ssh.Evidence, role.Evidence)
	}
	if other := listAlerts(t, base, tok.analystB); len(other) != 0 {
		t.Errorf("analyst of another subscription sees %d alerts", len(other))
	}
	for _, r := range recs {
		var one store.AlertRecord
		if code := apiGet(t, base, tok.analystB, "/api/v1/alerts/"+r.ID, &one); code != http.StatusNotFound {
			t.Errorf("analyst of another subscription gets alert %s with status %d, want 404", r.ID, code)
		}
	}

	// Data residency: the subscription's alerts are in its geography's
	// store only.
	eu := svc.Stores().StoreFor(subA)
	if eu == svc.Stores().Main() || filepath.Base(eu.Path()) != "alerts-eu.db" {
		t.Fatalf("subscription %s is not routed to the eu store: %s", subA, eu.Path())
	}
	for _, r := range recs {
		inEU, err := eu.HasAlert(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		inMain, err := svc.Stores().Main().HasAlert(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !inEU || inMain {
			t.Errorf("alert %s: in the eu store %v, in the main store %v", r.ID, inEU, inMain)
		}
	}

	waitFor(t, "signed webhook deliveries", func() bool {
		_, a := hook.deliveredAt(ssh.ID)
		_, b := hook.deliveredAt(role.ID)
		return a && b
	})
	hook.mu.Lock()
	if hook.bad != 0 {
		t.Errorf("%d webhook deliveries had a bad signature or body", hook.bad)
	}
	hook.mu.Unlock()

	// Time to alert, from the idle flush that closed the windows (the
	// watermark passing the hour's end plus the allowed lateness) to the
	// alert in the API and at the webhook. Reported, never asserted.
	netFlush := time.Unix(0, svc.netFlushedAt.Load())
	mgmtFlush := time.Unix(0, svc.mgmtFlushedAt.Load())
	sshHook, _ := hook.deliveredAt(ssh.ID)
	roleHook, _ := hook.deliveredAt(role.ID)
	t.Logf("time to alert (allowed lateness %v, idle flush %v, API polled every 20 ms): incoming-ssh API <= %v, webhook %v; custom-role-persistence API <= %v, webhook %v",
		cfg.AllowedLateness, cfg.IdleFlush, firstSeen[alert.IncomingSSH].Sub(netFlush), sshHook.Sub(netFlush),
		firstSeen[alert.CustomRolePersistence].Sub(mgmtFlush), roleHook.Sub(mgmtFlush))

	// Ingest health names the exporter and the HTTP ingest.
	var health struct {
		Sources []struct {
			Name, Kind string
			Records    uint64
		} `json:"sources"`
		Counters map[string]uint64 `json:"counters"`
	}
	waitFor(t, "ingest health", func() bool {
		apiGet(t, base, tok.admin, "/api/v1/ingest", &health)
		kinds := map[string]bool{}
		for _, s := range health.Sources {
			if s.Records > 0 {
				kinds[s.Kind] = true
			}
		}
		return kinds["exporter"] && kinds["http"] && health.Counters["flow_records"] > 0
	})
}
