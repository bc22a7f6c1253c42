package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/internal/testenv"
	"github.com/vigil-ids/vigil/store"
)

type child struct {
	cmd   *exec.Cmd
	ready readyInfo
	base  string
	done  chan error
}

// startChild runs the test binary as the service with the config file.
func startChild(t *testing.T, dataDir, cfgPath string) *child {
	t.Helper()
	os.Remove(filepath.Join(dataDir, readyName))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+cfgPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-c.done
		}
	})
	waitFor(t, "the service to start", func() bool {
		b, err := os.ReadFile(filepath.Join(dataDir, readyName))
		return err == nil && json.Unmarshal(b, &c.ready) == nil
	})
	c.base = "http://" + c.ready.HTTP
	return c
}

func (c *child) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("service exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("service did not exit after %v", sig)
	}
}

type health struct {
	Gaps     []store.Gap       `json:"gaps"`
	Counters map[string]uint64 `json:"counters"`
}

func getHealth(t *testing.T, c *child, tok string) health {
	var h health
	if code := apiGet(t, c.base, tok, "/api/v1/ingest", &h); code != http.StatusOK {
		t.Fatalf("ingest health: status %d", code)
	}
	return h
}

// ids returns the alert ids and fails on a duplicate.
func ids(t *testing.T, recs []store.AlertRecord) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range recs {
		if _, dup := out[r.ID]; dup {
			t.Errorf("alert %s listed twice", r.ID)
		}
		out[r.ID] = r.Type
	}
	return out
}

// TestRestart stops the service with SIGTERM while its windows are still
// open, restarts it, kills it with SIGKILL after feeding it the same data
// again, and restarts it once more. Alerts and learned state survive,
// no alert is stored twice, and the crash is recorded as a UDP gap.
func TestRestart(t *testing.T) {
	pcap := testenv.SharedData(t, "pcap", "ssh-bruteforce", "hydra-4_tasks.pcap")
	testenv.Tool(t, "softflowd")
	testenv.Tool(t, "curl")
	dir := t.TempDir()
	tok := makeTokens(t, dir)
	inv := filepath.Join(t.TempDir(), "inventory.jsonl")
	line := fmt.Sprintf(`{"resource":"/subscriptions/%s/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-ssh","ip":"240.125.0.2","from":"1970-01-01T00:00:00Z"}`+"\n", subA)
	if err := os.WriteFile(inv, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "vigil.yaml")
	// A long idle flush keeps the windows open until the stop.
	cfgYAML := fmt.Sprintf(`data-dir: %s
http:
  listen: 127.0.0.1:0
collector:
  receive-buffer: 4194304
  listeners:
    - {name: ipfix, listen: "127.0.0.1:0", workers: 1}
poll-interval: 100ms
settle: 0s
checkpoint-interval: 500ms
allowed-lateness: 2m
idle-flush: 1h
inventory: %s
home-nets: [240.125.0.2/32]
detection:
  network:
    min-attempts: 50
`, dir, inv)
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	audit, _ := filepath.Abs("testdata/activitylog-custom-role.json")

	// Run 1: data arrives, SIGTERM while the hour is open.
	c := startChild(t, dir, cfgPath)
	n := replay(t, c.ready.IPFIX, pcap)
	postAudit(t, c.base, tok.ingest, audit)
	waitFor(t, "every record and event to be read and checkpointed", func() bool {
		h := getHealth(t, c, tok.admin)
		return h.Counters["flow_records"] >= uint64(n) && h.Counters["audit_events"] >= 2
	})
	if recs := listAlerts(t, c.base, tok.admin); len(recs) != 0 {
		t.Logf("%d alerts before the stop (windows closed early)", len(recs))
	}
	c.stop(t, syscall.SIGTERM)

	// Run 2: the alerts of the windows closed at the stop are there, and
	// a clean stop leaves no gap.
	c = startChild(t, dir, cfgPath)
	first := ids(t, listAlerts(t, c.base, tok.admin))
	types := map[string]bool{}
	for _, typ := range first {
		types[typ] = true
	}
	if !types[alert.IncomingSSH] || !types[alert.CustomRolePersistence] {
		t.Fatalf("after SIGTERM and restart the alerts are %v, want incoming-ssh and custom-role-persistence", first)
	}
	if h := getHealth(t, c, tok.admin); len(h.Gaps) != 0 {
		t.Errorf("gaps after a clean stop: %+v", h.Gaps)
	}
	// The same data again, then a crash after the next checkpoint.
	n = replay(t, c.ready.IPFIX, pcap)
	postAudit(t, c.base, tok.ingest, audit)
	var before health
	waitFor(t, "the data to be read and checkpointed", func() bool {
		before = getHealth(t, c, tok.admin)
		return before.Counters["flow_records"] >= uint64(n) && before.Counters["audit_events"] >= 2
	})
	c.stop(t, syscall.SIGKILL)

	// Run 3: no duplicate, a UDP gap, and the learned state is the
	// checkpoint's: records seen before count as replayed, not learned
	// again.
	c = startChild(t, dir, cfgPath)
	after := ids(t, listAlerts(t, c.base, tok.admin))
	for id := range first {
		if _, ok := after[id]; !ok {
			t.Errorf("alert %s lost after the crash", id)
		}
	}
	if len(after) != len(first) {
		t.Errorf("%d alerts after the crash, %d before: %v vs %v", len(after), len(first), after, first)
	}
	// The audit body posted before the crash was in an open window: the
	// checkpoint kept it, and the restart reads it again.
	waitFor(t, "the spooled body of the open window to be read again", func() bool {
		return getHealth(t, c, tok.admin).Counters["audit_events"] >= 2
	})
	h := getHealth(t, c, tok.admin)
	if len(h.Gaps) != 1 || h.Gaps[0].Source != "udp" {
		t.Errorf("gaps after kill -9: %+v, want one udp gap", h.Gaps)
	}
	n = replay(t, c.ready.IPFIX, pcap)
	waitFor(t, "the replayed records to be recognised", func() bool {
		h := getHealth(t, c, tok.admin)
		return h.Counters["flow_records"] >= uint64(n) && h.Counters["flow_replayed"]+h.Counters["flow_late"] >= uint64(n)/2
	})
	c.stop(t, syscall.SIGTERM)
	if got := ids(t, openAlerts(t, dir)); len(got) != len(first) {
		t.Errorf("%d alerts in the store at the end, want %d", len(got), len(first))
	}
}

func openAlerts(t *testing.T, dir string) []store.AlertRecord {
	t.Helper()
	set, err := store.OpenSet(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	page, err := set.ListAlerts(t.Context(), store.AlertQuery{Limit: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return page.Alerts
}
