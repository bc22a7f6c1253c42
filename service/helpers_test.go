package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/internal/testenv"
	"github.com/vigil-ids/vigil/output"
	"github.com/vigil-ids/vigil/store"
)

const (
	subA      = "6f1a3c2e-1111-4a5b-9c8d-0123456789ab"
	subB      = "0d9e8c7b-2222-4f6e-8d5c-fedcba987654"
	hookKey   = "test-webhook-secret"
	childEnv  = "VIGIL_SERVICE_TEST_CHILD"
	readyName = "ready.json"
)

// TestMain lets the restart tests run the service as a child process of
// the test binary, so that it can be sent SIGTERM and SIGKILL.
func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

func runChild(cfgPath string) int {
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	svc, err := New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), ConfigPath: cfgPath})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		select {
		case <-svc.Started():
		case <-ctx.Done():
			return
		}
		b, _ := json.Marshal(readyInfo{HTTP: svc.HTTPAddr().String(), IPFIX: svc.CollectorAddrs()["ipfix"].String()})
		tmp := filepath.Join(cfg.DataDir, readyName+".tmp")
		os.WriteFile(tmp, b, 0o600)
		os.Rename(tmp, filepath.Join(cfg.DataDir, readyName))
	}()
	if err := svc.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type readyInfo struct {
	HTTP  string `json:"http"`
	IPFIX string `json:"ipfix"`
}

// tokens are the secrets of the test tokens.
type tokens struct {
	admin, analystA, analystB, ingest string
}

func makeTokens(t *testing.T, dataDir string) tokens {
	t.Helper()
	st, err := store.Open(filepath.Join(dataDir, store.MainFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	mk := func(name, role string, subs ...string) string {
		_, secret, err := st.CreateToken(ctx, name, role, subs)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	return tokens{
		admin:    mk("admin", store.RoleAdmin),
		analystA: mk("analyst-a", store.RoleAnalyst, subA),
		analystB: mk("analyst-b", store.RoleAnalyst, subB),
		ingest:   mk("ingest", store.RoleIngest),
	}
}

// testConfig is a loopback configuration with short intervals.
func testConfig(t *testing.T, dataDir, webhook string) Config {
	t.Helper()
	inv := filepath.Join(t.TempDir(), "inventory.jsonl")
	line := fmt.Sprintf(`{"resource":"/subscriptions/%s/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-ssh","ip":"240.125.0.2","from":"1970-01-01T00:00:00Z"}`+"\n", subA)
	if err := os.WriteFile(inv, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataDir = dataDir
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Collector.Listeners = cfg.Collector.Listeners[:1]
	cfg.Collector.Listeners[0].Name = "ipfix"
	cfg.Collector.Listeners[0].Listen = "127.0.0.1:0"
	cfg.Collector.Listeners[0].Workers = 1
	cfg.Collector.ReceiveBuffer = 4 << 20
	cfg.PollInterval = 100 * time.Millisecond
	cfg.Settle = 0
	cfg.CheckpointInterval = time.Second
	cfg.AllowedLateness = 2 * time.Minute
	cfg.IdleFlush = time.Second
	cfg.Inventory = inv
	cfg.HomeNets = []string{"240.125.0.2/32"}
	cfg.Detection.Network.MinAttempts = 50
	if webhook != "" {
		cfg.Outputs.Webhooks = []WebhookConfig{{Name: "test", URL: webhook, Secret: hookKey, Retries: 3, Backoff: 50 * time.Millisecond}}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// hookReceiver is a webhook endpoint that checks signatures.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]time.Time // alert id -> first valid delivery
	bad int
	n   int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{got: map[string]time.Time{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.n++
		if !output.Verify([]byte(hookKey), body, r.Header.Get(output.SignatureHeader)) {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var a alert.Alert
		if err := json.Unmarshal(body, &a); err != nil || a.ID == "" {
			h.bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, ok := h.got[a.ID]; !ok {
			h.got[a.ID] = time.Now()
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) deliveredAt(id string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.got[id]
	return at, ok
}

// replay has softflowd export the capture as IPFIX to addr.
func replay(t *testing.T, addr, pcap string) int {
	t.Helper()
	softflowd := testenv.Tool(t, "softflowd")
	cmd := exec.Command(softflowd, "-r", pcap, "-n", addr, "-v", "10", "-A", "milli", "-a", "-d", "-c", "none",
		"-p", filepath.Join(t.TempDir(), "softflowd.pid"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("softflowd: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Flows exported: \d+ \((\d+) records\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("softflowd did not report its exports:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// postAudit posts an audit file with real curl.
func postAudit(t *testing.T, base, token, file string) []byte {
	t.Helper()
	curl := testenv.Tool(t, "curl")
	out, err := exec.Command(curl, "-sS", "--fail-with-body", "--max-time", "20",
		"-H", "Authorization: Bearer "+token, "-H", "Content-Type: application/json",
		"--data-binary", "@"+file, base+"/api/v1/ingest/audit").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	return out
}

// apiGet decodes a GET of the API.
func apiGet(t *testing.T, base, token, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func listAlerts(t *testing.T, base, token string) []store.AlertRecord {
	t.Helper()
	var page store.AlertPage
	if code := apiGet(t, base, token, "/api/v1/alerts?limit=500", &page); code != http.StatusOK {
		t.Fatalf("list alerts: status %d", code)
	}
	return page.Alerts
}

// waitFor polls cond every 20 ms for at most a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func byType(recs []store.AlertRecord) map[string][]store.AlertRecord {
	out := map[string][]store.AlertRecord{}
	for _, r := range recs {
		out[r.Type] = append(out[r.Type], r)
	}
	return out
}

// testLogger shows the service's messages with -v.
func testLogger() *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
