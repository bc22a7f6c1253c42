package output_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/output"
)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// sample is an alert whose strings hold every character the formats must
// escape.
func sample() alert.Alert {
	a := alert.New(alert.IncomingSSH, "/subscriptions/s1/vm|1", t0, t0.Add(2*time.Hour))
	a.Subscription = "6f1c6c2e-0000-4000-8000-000000000001"
	a.Resource = "/subscriptions/s1/vm|1"
	a.ResourceIP = "10.0.0.4"
	a.RemoteIPs = []string{"203.0.113.9", "198.51.100.7"}
	a.Title = `Brute force | "quoted" ]bracket`
	a.Description = "a=b \\ back\nslash"
	a.Evidence["connections"] = float64(243)
	return a
}

func fastRetry(attempts int) output.Retry {
	return output.Retry{QueueSize: 16, MaxAttempts: attempts, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
}

func closeOut(t *testing.T, o *output.Output) {
	t.Helper()
	if err := o.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestWebhookSignsAndRetries(t *testing.T) {
	secret := "s3cret"
	var attempts atomic.Int32
	var mu sync.Mutex
	var got []alert.Alert
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !output.Verify([]byte(secret), body, r.Header.Get(output.SignatureHeader)) {
			t.Errorf("bad signature %q", r.Header.Get(output.SignatureHeader))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if ts, err := strconv.ParseInt(r.Header.Get(output.TimestampHeader), 10, 64); err != nil || ts <= 0 {
			t.Errorf("timestamp header %q", r.Header.Get(output.TimestampHeader))
		}
		// The first two attempts fail as an overloaded receiver would.
		if attempts.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var a alert.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Error(err)
		}
		if r.Header.Get(output.AlertHeader) != a.ID {
			t.Errorf("alert header %q, body id %q", r.Header.Get(output.AlertHeader), a.ID)
		}
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	o, err := output.NewWebhook(output.WebhookConfig{URL: srv.URL, Secret: secret, Retry: fastRetry(5)}, output.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	a := sample()
	if !o.Enqueue(a) {
		t.Fatal("not queued")
	}
	closeOut(t, o)
	if len(got) != 1 {
		t.Fatalf("receiver got %d alerts", len(got))
	}
	if d := cmp.Diff(a, got[0]); d != "" {
		t.Errorf("delivered alert (-want +got):\n%s", d)
	}
	want := output.Stats{Enqueued: 1, Delivered: 1, FailedAttempts: 2}
	if d := cmp.Diff(want, o.Stats()); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	if attempts.Load() != 3 {
		t.Errorf("%d attempts, want 3", attempts.Load())
	}
	if v := counter(t, reg, "vigil_output_failed_attempts_total"); v != 2 {
		t.Errorf("failed attempts metric %v", v)
	}
	// The signature is of the body, as a receiver recomputes it.
	body, _ := json.Marshal(a)
	if !strings.HasPrefix(output.Sign([]byte(secret), body), "sha256=") || output.Verify([]byte("other"), body, output.Sign([]byte(secret), body)) {
		t.Error("Sign/Verify")
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}

func TestWebhookDeadLetter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		attempts int
	}{
		{"retried until the last attempt", http.StatusInternalServerError, 3},
		{"permanent failure not retried", http.StatusBadRequest, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			dl := filepath.Join(t.TempDir(), "dead", "webhook.jsonl")
			r := fastRetry(3)
			r.DeadLetter = dl
			o, err := output.NewWebhook(output.WebhookConfig{URL: srv.URL, Secret: "k", Retry: r}, output.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			a := sample()
			o.Enqueue(a)
			closeOut(t, o)
			if int(n.Load()) != tc.attempts {
				t.Errorf("%d attempts, want %d", n.Load(), tc.attempts)
			}
			b, err := os.ReadFile(dl)
			if err != nil {
				t.Fatal(err)
			}
			var e struct {
				Output   string      `json:"output"`
				Attempts int         `json:"attempts"`
				Error    string      `json:"error"`
				Alert    alert.Alert `json:"alert"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("dead letter %q: %v", b, err)
			}
			if e.Attempts != tc.attempts || e.Alert.ID != a.ID || e.Output != "webhook" || !strings.Contains(e.Error, strconv.Itoa(tc.status)) {
				t.Errorf("dead letter %+v", e)
			}
			if st := o.Stats(); st.DeadLettered != 1 || st.Delivered != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestQueueBoundedDropsAreCounted(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	r := fastRetry(1)
	r.QueueSize = 2
	o, err := output.NewWebhook(output.WebhookConfig{URL: srv.URL, Secret: "k", Retry: r}, output.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	// One alert is being delivered (blocked), two wait; the rest are
	// dropped. The first may not have been taken yet, so at most 3 fit.
	queued := 0
	for range 10 {
		if o.Enqueue(sample()) {
			queued++
		}
	}
	st := o.Stats()
	if queued < 2 || queued > 3 || st.Dropped != uint64(10-queued) {
		t.Errorf("queued %d, stats %+v", queued, st)
	}
	release <- struct{}{}
}

// syslogFrame matches an RFC 5424 message with Vigil's structured data.
var syslogFrame = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[vigil@32473((?: \w+="(?:[^"\\\]]|\\.)*")*)\] (.*)$`)
var sdParam = regexp.MustCompile(`(\w+)="((?:[^"\\\]]|\\.)*)"`)

type syslogMsg struct {
	pri                            int
	time, host, app, procid, msgid string
	sd                             map[string]string
	msg                            string
}

func parse5424(t *testing.T, b []byte) syslogMsg {
	t.Helper()
	m := syslogFrame.FindSubmatch(b)
	if m == nil {
		t.Fatalf("not an RFC 5424 message: %q", b)
	}
	pri, _ := strconv.Atoi(string(m[1]))
	if _, err := time.Parse(time.RFC3339Nano, string(m[2])); err != nil {
		t.Errorf("timestamp %q: %v", m[2], err)
	}
	out := syslogMsg{pri: pri, time: string(m[2]), host: string(m[3]), app: string(m[4]), procid: string(m[5]), msgid: string(m[6]),
		sd: map[string]string{}, msg: string(m[8])}
	unesc := strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\]`, `]`)
	for _, p := range sdParam.FindAllSubmatch(m[7], -1) {
		out.sd[string(p[1])] = unesc.Replace(string(p[2]))
	}
	return out
}

// parseCEF splits a CEF line into its header fields and extension, undoing
// the escapes.
func parseCEF(t *testing.T, s string) ([]string, map[string]string) {
	t.Helper()
	var hdr []string
	var cur strings.Builder
	i := 0
	for ; i < len(s) && len(hdr) < 7; i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '|':
			hdr = append(hdr, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if len(hdr) != 7 {
		t.Fatalf("CEF header has %d fields: %q", len(hdr), s)
	}
	ext := map[string]string{}
	rest := s[i:]
	keyRe := regexp.MustCompile(`(?:^| )(\w+)=`)
	locs := keyRe.FindAllStringSubmatchIndex(rest, -1)
	// A key starts only where '=' is not escaped.
	for j, l := range locs {
		end := len(rest)
		if j+1 < len(locs) {
			end = locs[j+1][0]
		}
		v := rest[l[1]:end]
		v = strings.NewReplacer(`\\`, `\`, `\=`, `=`, `\n`, "\n", `\r`, "\r").Replace(v)
		ext[rest[l[2]:l[3]]] = v
	}
	return hdr, ext
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syslog.test"},
		DNSNames: []string{"syslog.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// listen starts a syslog receiver on loopback and returns its address and
// the channel of raw messages (framing removed).
func listen(t *testing.T, network string) (string, *tls.Config, <-chan []byte) {
	t.Helper()
	ch := make(chan []byte, 16)
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				ch <- append([]byte(nil), buf[:n]...)
			}
		}()
		return pc.LocalAddr().String(), nil, ch
	}
	var ln net.Listener
	var err error
	var clientTLS *tls.Config
	if network == "tls" {
		cert, pool := selfSigned(t)
		ln, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
		clientTLS = &tls.Config{RootCAs: pool, ServerName: "syslog.test"}
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					// Octet counting: "LEN SP MSG".
					l, err := r.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSuffix(l, " "))
					if err != nil || n <= 0 {
						t.Errorf("bad frame length %q", l)
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(r, msg); err != nil {
						t.Errorf("short frame: %v", err)
						return
					}
					ch <- msg
				}
			}()
		}
	}()
	return ln.Addr().String(), clientTLS, ch
}

func TestSyslogTransportsAndCEF(t *testing.T) {
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			addr, tc, ch := listen(t, network)
			o, err := output.NewSyslog(output.SyslogConfig{Network: network, Address: addr, Format: output.FormatCEF,
				Hostname: "vigil host", Version: "1.2|3", TLSConfig: tc, Retry: fastRetry(3)},
				output.Deps{Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			a := sample()
			o.Enqueue(a)
			b := a
			b.Type, b.Severity = alert.ImpossibleTravel, alert.SeverityHigh
			b.Principal, b.Resource = "alice@example.com", ""
			o.Enqueue(b)
			closeOut(t, o)
			if st := o.Stats(); st.Delivered != 2 {
				t.Fatalf("stats %+v", st)
			}
			for i, want := range []alert.Alert{a, b} {
				var raw []byte
				select {
				case raw = <-ch:
				case <-time.After(30 * time.Second):
					t.Fatal("no message")
				}
				m := parse5424(t, raw)
				wantPri := 10*8 + map[string]int{alert.SeverityMedium: 4, alert.SeverityHigh: 2}[want.Severity]
				if m.pri != wantPri || m.host != "vigilhost" || m.app != "vigil" || m.msgid != want.Type || m.time != "2026-11-02T08:00:00.000000Z" {
					t.Errorf("message %d header %+v", i, m)
				}
				wantSD := map[string]string{"id": want.ID, "type": want.Type, "severity": want.Severity, "subscription": want.Subscription}
				if want.Resource != "" {
					wantSD["resource"] = want.Resource
				}
				if want.Principal != "" {
					wantSD["principal"] = want.Principal
				}
				if d := cmp.Diff(wantSD, m.sd); d != "" {
					t.Errorf("structured data (-want +got):\n%s", d)
				}
				hdr, ext := parseCEF(t, m.msg)
				sev := map[string]string{alert.SeverityMedium: "6", alert.SeverityHigh: "8"}[want.Severity]
				if d := cmp.Diff([]string{"CEF:0", "Vigil", "Vigil", "1.2|3", want.Type, want.Title, sev}, hdr); d != "" {
					t.Errorf("CEF header (-want +got):\n%s", d)
				}
				if ext["msg"] != want.Description || ext["externalId"] != want.ID || ext["src"] != "203.0.113.9" ||
					ext["dst"] != "10.0.0.4" || ext["cs1"] != want.Subscription || ext["cs1Label"] != "subscription" ||
					ext["suser"] != want.Principal || ext["end"] != strconv.FormatInt(want.End.UnixMilli(), 10) {
					t.Errorf("CEF extension %q", ext)
				}
			}
		})
	}
}

func TestSyslogUnreachableIsRetriedThenDeadLettered(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r := fastRetry(3)
	r.DeadLetter = filepath.Join(t.TempDir(), "dl.jsonl")
	o, err := output.NewSyslog(output.SyslogConfig{Network: "tcp", Address: addr, Retry: r}, output.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	o.Enqueue(sample())
	closeOut(t, o)
	if st := o.Stats(); st.FailedAttempts != 3 || st.DeadLettered != 1 {
		t.Errorf("stats %+v", st)
	}
	if b, err := os.ReadFile(r.DeadLetter); err != nil || !strings.Contains(string(b), sample().ID) {
		t.Errorf("dead letter %q %v", b, err)
	}
}

func TestFileJSONAndOCSF(t *testing.T) {
	dir := t.TempDir()
	a := sample()
	for _, format := range []string{output.FormatJSON, output.FormatOCSF} {
		path := filepath.Join(dir, format+".jsonl")
		o, err := output.NewFile(output.FileConfig{Path: path, Format: format, Version: "1.0.0"}, output.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		o.Enqueue(a)
		o.Enqueue(a)
		closeOut(t, o)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines", format, len(lines))
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
			t.Fatal(err)
		}
		if format == output.FormatJSON {
			if m["id"] != a.ID {
				t.Errorf("json line %v", m)
			}
			continue
		}
		// The fields OCSF 1.1 requires of a Detection Finding.
		for k, v := range map[string]any{"class_uid": 2004.0, "category_uid": 2.0, "activity_id": 1.0, "type_uid": 200401.0,
			"severity_id": 3.0, "status_id": 1.0, "time": float64(a.End.UnixMilli())} {
			if m[k] != v {
				t.Errorf("ocsf %s = %v, want %v", k, m[k], v)
			}
		}
		fi := m["finding_info"].(map[string]any)
		md := m["metadata"].(map[string]any)
		if fi["uid"] != a.ID || fi["title"] != a.Title || md["version"] != "1.1.0" ||
			md["product"].(map[string]any)["name"] != "Vigil" {
			t.Errorf("ocsf finding %v metadata %v", fi, md)
		}
		if m["cloud"].(map[string]any)["provider"] != "Azure" {
			t.Errorf("ocsf cloud %v", m["cloud"])
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for name, f := range map[string]func() (*output.Output, error){
		"webhook no secret": func() (*output.Output, error) {
			return output.NewWebhook(output.WebhookConfig{URL: "http://x"}, output.Deps{})
		},
		"webhook bad url": func() (*output.Output, error) {
			return output.NewWebhook(output.WebhookConfig{URL: "ftp://x", Secret: "k"}, output.Deps{})
		},
		"webhook cef": func() (*output.Output, error) {
			return output.NewWebhook(output.WebhookConfig{URL: "http://x", Secret: "k", Format: "cef"}, output.Deps{})
		},
		"syslog network": func() (*output.Output, error) {
			return output.NewSyslog(output.SyslogConfig{Network: "sctp", Address: "x:1"}, output.Deps{})
		},
		"syslog address": func() (*output.Output, error) {
			return output.NewSyslog(output.SyslogConfig{Network: "udp", Address: "x"}, output.Deps{})
		},
		"file no path": func() (*output.Output, error) { return output.NewFile(output.FileConfig{}, output.Deps{}) },
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	for _, n := range []string{"a", "b"} {
		o, err := output.NewFile(output.FileConfig{Name: n, Path: filepath.Join(dir, n)}, output.Deps{Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		o.Enqueue(sample())
		closeOut(t, o)
	}
	if v := counter(t, reg, "vigil_output_delivered_total"); v != 2 {
		t.Errorf("delivered metric %v, want 2", v)
	}
}
