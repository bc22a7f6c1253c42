package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/server"
	"github.com/vigil-ids/vigil/service"
	"github.com/vigil-ids/vigil/store"
)

const (
	subA = "aaaaaaaa-0000-4000-8000-00000000000a"
	subB = "bbbbbbbb-0000-4000-8000-00000000000b"
)

// fixture is a running service over a seeded store.
type fixture struct {
	base                                      string
	admin, analystA, analystB, readerA, ingst string
	alertA, alertB                            string
	suppA                                     string
	router                                    routers.Router
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.MainFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := &fixture{}
	mk := func(role string, subs ...string) string {
		_, secret, err := st.CreateToken(ctx, role, role, subs)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	f.admin, f.analystA, f.analystB = mk(store.RoleAdmin), mk(store.RoleAnalyst, subA), mk(store.RoleAnalyst, subB)
	f.readerA, f.ingst = mk(store.RoleReader, subA), mk(store.RoleIngest)
	start := time.Date(2025, 6, 10, 14, 0, 0, 0, time.UTC)
	for _, sub := range []string{subA, subB} {
		a := alert.New(alert.IncomingSSH, "vm-"+sub, start, start.Add(time.Hour))
		a.Subscription = sub
		a.Resource = "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
		a.RemoteIPs = []string{"198.51.100.7"}
		a.Evidence = map[string]any{"attempts": 420}
		if _, err := st.PutAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
		if sub == subA {
			f.alertA = a.ID
		} else {
			f.alertB = a.ID
		}
	}
	sp, err := st.PutSuppression(ctx, store.Suppression{Subscription: subA, Type: alert.IncomingRDP, Comment: "jump host"})
	if err != nil {
		t.Fatal(err)
	}
	f.suppA = sp.ID
	st.Close()

	cfg := service.DefaultConfig()
	cfg.DataDir = dir
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HTTP.MaxBody = 4 << 10
	cfg.HTTP.MaxIngestBody = 64 << 10
	cfg.Collector.Listeners = nil
	svc, err := service.New(cfg, service.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	select {
	case <-svc.Started():
	case err := <-done:
		t.Fatalf("service did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("service did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Error("service did not stop")
		}
	})
	f.base = "http://" + svc.HTTPAddr().String()

	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	// The document's server is relative ("/"); match any host.
	doc.Servers = nil
	f.router, err = legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// call makes a request and validates the request (when valid is set) and
// the response against the OpenAPI document.
func (f *fixture) call(t *testing.T, method, path, token string, body []byte, validRequest bool) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	route, params, err := f.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
	if validRequest {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: request does not match openapi.yaml: %v", method, path, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	rin.SetBodyBytes(out)
	if path == "/api/v1/openapi.yaml" {
		// A YAML body decodes to an object, not the string the schema
		// names; it is compared byte for byte instead.
		rin.Options.ExcludeResponseBody = true
		if resp.StatusCode == http.StatusOK && !bytes.Equal(out, server.OpenAPI) {
			t.Error("the served OpenAPI document differs from the embedded one")
		}
	}
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("%s %s: response %d does not match openapi.yaml: %v\n%s", method, path, resp.StatusCode, err, out)
	}
	return resp.StatusCode, out
}

// TestAuthorization tries every endpoint with no token, a wrong token, a
// token of another subscription and the right token, validating every
// request and response against openapi.yaml.
func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	audit, err := os.ReadFile("../service/testdata/activitylog-custom-role.json")
	if err != nil {
		t.Fatal(err)
	}
	settingsA := []byte(`{"subscription":"` + subA + `","detections":{"incoming-ssh":false},"identity_analytics":true}`)
	suppBody := []byte(`{"subscription":"` + subA + `","type":"incoming-ssh","remote_cidr":"198.51.100.0/24","comment":"scanner"}`)
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		right              string // the token that may
		wantRight          int
		// other is a token of another subscription, or of a role that
		// may not; wantOther is what it gets.
		other     string
		wantOther int
		// secret is text that must not appear in the other's answer.
		secret string
	}{
		{"metrics", "GET", "/metrics", nil, "admin", 200, "ingest", 403, ""},
		{"me", "GET", "/api/v1/me", nil, "analystA", 200, "", 0, ""},
		{"list alerts", "GET", "/api/v1/alerts", nil, "analystA", 200, "analystB", 200, "ALERT_A"},
		{"list alerts of another subscription", "GET", "/api/v1/alerts?subscription=" + subA, nil, "readerA", 200, "analystB", 200, "ALERT_A"},
		{"get alert", "GET", "/api/v1/alerts/ALERT_A", nil, "readerA", 200, "analystB", 404, "ALERT_A"},
		{"patch alert", "PATCH", "/api/v1/alerts/ALERT_A", []byte(`{"status":"dismissed","comment":"known scanner"}`), "analystA", 200, "analystB", 404, "ALERT_A"},
		{"patch alert as reader", "PATCH", "/api/v1/alerts/ALERT_A", []byte(`{"status":"resolved"}`), "analystA", 200, "readerA", 403, "ALERT_A"},
		{"detections", "GET", "/api/v1/detections", nil, "readerA", 200, "ingest", 403, ""},
		{"subscriptions", "GET", "/api/v1/subscriptions", nil, "readerA", 200, "analystB", 200, subA},
		{"get settings", "GET", "/api/v1/subscriptions/" + subA + "/settings", nil, "analystA", 200, "analystB", 404, ""},
		{"put settings", "PUT", "/api/v1/subscriptions/" + subA + "/settings", settingsA, "admin", 200, "analystA", 403, ""},
		{"list suppressions", "GET", "/api/v1/suppressions", nil, "readerA", 200, "analystB", 200, "SUPP_A"},
		{"get suppression", "GET", "/api/v1/suppressions/SUPP_A", nil, "readerA", 200, "analystB", 404, "SUPP_A"},
		{"create suppression", "POST", "/api/v1/suppressions", suppBody, "admin", 201, "analystA", 403, ""},
		{"update suppression", "PUT", "/api/v1/suppressions/SUPP_A", suppBody, "admin", 200, "analystA", 403, ""},
		{"ingest health", "GET", "/api/v1/ingest", nil, "readerA", 200, "ingest", 403, ""},
		{"ingest audit", "POST", "/api/v1/ingest/audit", audit, "ingest", 202, "analystA", 403, ""},
		{"delete suppression", "DELETE", "/api/v1/suppressions/SUPP_A", nil, "admin", 204, "analystA", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens := map[string]string{"admin": f.admin, "analystA": f.analystA, "analystB": f.analystB, "readerA": f.readerA, "ingest": f.ingst}
			path := strings.NewReplacer("ALERT_A", f.alertA, "SUPP_A", f.suppA).Replace(tc.path)
			secret := strings.NewReplacer("ALERT_A", f.alertA, "SUPP_A", f.suppA).Replace(tc.secret)
			for _, bad := range []string{"", "vigil_0000000000000000000000000000000000000000000"} {
				code, out := f.call(t, tc.method, path, bad, tc.body, false)
				if code != http.StatusUnauthorized {
					t.Errorf("token %q: status %d, want 401: %s", bad, code, out)
				}
				if secret != "" && bytes.Contains(out, []byte(secret)) {
					t.Errorf("token %q: the answer holds %s", bad, secret)
				}
			}
			if tc.other != "" {
				code, out := f.call(t, tc.method, path, tokens[tc.other], tc.body, true)
				if code != tc.wantOther {
					t.Errorf("%s: status %d, want %d: %s", tc.other, code, tc.wantOther, out)
				}
				if secret != "" && bytes.Contains(out, []byte(secret)) {
					t.Errorf("%s: the answer holds %s: %s", tc.other, secret, out)
				}
			}
			code, out := f.call(t, tc.method, path, tokens[tc.right], tc.body, true)
			if code != tc.wantRight {
				t.Errorf("%s: status %d, want %d: %s", tc.right, code, tc.wantRight, out)
			}
			if secret != "" && code == http.StatusOK && !bytes.Contains(out, []byte(secret)) {
				t.Errorf("%s: the answer lacks %s: %s", tc.right, secret, out)
			}
		})
	}

	// The status change was recorded with its audit trail.
	_, out := f.call(t, "GET", "/api/v1/alerts/"+f.alertA, f.admin, nil, true)
	var rec store.AlertRecord
	if err := json.Unmarshal(out, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Status != alert.StatusResolved || len(rec.History) != 2 || rec.History[0].Comment != "known scanner" {
		t.Errorf("status %q, history %+v", rec.Status, rec.History)
	}
	// The settings put by the admin are what the analyst reads.
	_, out = f.call(t, "GET", "/api/v1/subscriptions/"+subA+"/settings", f.analystA, nil, true)
	var st store.Settings
	if err := json.Unmarshal(out, &st); err != nil || st.Enabled(alert.IncomingSSH) {
		t.Errorf("settings after put: %s (%v)", out, err)
	}
	// Health and the OpenAPI document need no token.
	for _, p := range []string{"/healthz", "/api/v1/openapi.yaml"} {
		if code, _ := f.call(t, "GET", p, "", nil, true); code != http.StatusOK {
			t.Errorf("%s: status %d", p, code)
		}
	}
}

// TestMalformed checks that bad requests get 400 with a reason and
// oversize bodies 413.
func TestMalformed(t *testing.T) {
	f := newFixture(t)
	big := bytes.Repeat([]byte(" "), 8<<10)
	bigIngest := append([]byte(`{"records":[`), bytes.Repeat([]byte(" "), 70<<10)...)
	for _, tc := range []struct {
		name, method, path, token string
		body                      []byte
		want                      int
		reason                    string
	}{
		{"patch not JSON", "PATCH", "/api/v1/alerts/ALERT_A", "admin", []byte(`{`), 400, "malformed JSON"},
		{"patch unknown status", "PATCH", "/api/v1/alerts/ALERT_A", "admin", []byte(`{"status":"closed"}`), 400, "status must be"},
		{"patch unknown field", "PATCH", "/api/v1/alerts/ALERT_A", "admin", []byte(`{"status":"active","owner":"x"}`), 400, "unknown field"},
		{"patch too large", "PATCH", "/api/v1/alerts/ALERT_A", "admin", append([]byte(`{"comment":"`), big...), 413, "exceeds"},
		{"settings unknown detection", "PUT", "/api/v1/subscriptions/" + subA + "/settings", "admin", []byte(`{"detections":{"port-scan":true},"identity_analytics":true}`), 400, "unknown detection"},
		{"settings other subscription in body", "PUT", "/api/v1/subscriptions/" + subA + "/settings", "admin", []byte(`{"subscription":"` + subB + `","detections":{},"identity_analytics":true}`), 400, "differs"},
		{"suppression bad CIDR", "POST", "/api/v1/suppressions", "admin", []byte(`{"type":"incoming-ssh","remote_cidr":"300.1.1.0/24"}`), 400, "remote_cidr"},
		{"suppression without condition", "POST", "/api/v1/suppressions", "admin", []byte(`{"comment":"all"}`), 400, "condition"},
		{"suppression unknown type", "POST", "/api/v1/suppressions", "admin", []byte(`{"type":"port-scan"}`), 400, "unknown alert type"},
		{"list bad limit", "GET", "/api/v1/alerts?limit=0", "admin", nil, 400, "limit"},
		{"list bad time", "GET", "/api/v1/alerts?from=yesterday", "admin", nil, 400, "RFC 3339"},
		{"list bad layer", "GET", "/api/v1/alerts?layer=data", "admin", nil, 400, "layer"},
		{"ingest empty", "POST", "/api/v1/ingest/audit", "ingest", []byte{}, 400, "empty"},
		{"ingest not an audit log", "POST", "/api/v1/ingest/audit", "ingest", []byte(`{"hello":"world"}`), 400, "audit-log format"},
		{"ingest unknown encoding", "POST", "/api/v1/ingest/audit", "ingest", []byte(`{"records":[]}`), 400, "content encoding"},
		{"ingest too large", "POST", "/api/v1/ingest/audit", "ingest", bigIngest, 413, "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens := map[string]string{"admin": f.admin, "ingest": f.ingst}
			path := strings.ReplaceAll(tc.path, "ALERT_A", f.alertA)
			var code int
			var out []byte
			if tc.name == "ingest unknown encoding" {
				code, out = f.callEncoded(t, path, tokens[tc.token], tc.body, "br")
			} else {
				code, out = f.call(t, tc.method, path, tokens[tc.token], tc.body, false)
			}
			if code != tc.want {
				t.Errorf("status %d, want %d: %s", code, tc.want, out)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(out, &e); err != nil || !strings.Contains(e.Error, tc.reason) {
				t.Errorf("error %q does not say %q", out, tc.reason)
			}
		})
	}
}

// callEncoded posts an ingest body with a Content-Encoding.
func (f *fixture) callEncoded(t *testing.T, path, token string, body []byte, encoding string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", encoding)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestIngestGzip posts a gzipped Activity Log export.
func TestIngestGzip(t *testing.T) {
	f := newFixture(t)
	raw, err := os.ReadFile("../service/testdata/activitylog-custom-role.json")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	code, out := f.callEncoded(t, "/api/v1/ingest/audit", f.ingst, buf.Bytes(), "gzip")
	var rec server.IngestReceipt
	if code != http.StatusAccepted || json.Unmarshal(out, &rec) != nil || rec.Bytes != buf.Len() || rec.ID == "" {
		t.Errorf("status %d: %s", code, out)
	}
	if code, _ := f.callEncoded(t, "/api/v1/ingest/audit", f.ingst, []byte("\x1f\x8bnot gzip"), "gzip"); code != http.StatusBadRequest {
		t.Errorf("broken gzip: status %d, want 400", code)
	}
}

// TestRoutesDocumented checks that every registered route is in
// openapi.yaml and every documented operation is registered.
func TestRoutesDocumented(t *testing.T) {
	srv, err := server.New(server.DefaultConfig(), server.Deps{Backend: &service.Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	registered := srv.Routes()
	slices.Sort(documented)
	slices.Sort(registered)
	re := regexp.MustCompile(`^[A-Z]+ /`)
	for _, r := range registered {
		if !re.MatchString(r) {
			t.Errorf("route %q has no method", r)
		}
	}
	if !slices.Equal(documented, registered) {
		t.Errorf("routes differ from openapi.yaml:\nregistered %q\ndocumented %q", registered, documented)
	}
}
