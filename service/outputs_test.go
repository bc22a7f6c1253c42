package service

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/output"
)

// syslogReceiver is a syslog collector on loopback TCP that reads RFC 6587
// octet-counted frames, as a SIEM's listener does.
type syslogReceiver struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	errs []error
}

func newSyslogReceiver(t *testing.T) *syslogReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &syslogReceiver{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); r.read(c) }()
		}
	}()
	return r
}

// read takes frames "<length> <message>" until the connection ends.
func (r *syslogReceiver) read(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		n, err := br.ReadString(' ')
		if err != nil {
			if err != io.EOF {
				r.fail(err)
			}
			return
		}
		size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
		if err != nil || size <= 0 || size > 1<<20 {
			r.fail(io.ErrUnexpectedEOF)
			return
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(br, msg); err != nil {
			r.fail(err)
			return
		}
		r.mu.Lock()
		r.msgs = append(r.msgs, string(msg))
		r.mu.Unlock()
	}
}

func (r *syslogReceiver) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *syslogReceiver) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// rfc5424 splits an RFC 5424 message with one structured-data element:
// priority, hostname, app-name, msgid, and the message after it.
var rfc5424 = regexp.MustCompile(`^<(\d+)>1 \S+ (\S+) (\S+) \d+ (\S+) \[[^\]]*\] (.*)$`)

// TestSyslogCEF runs the service with a TCP syslog output in CEF: an
// Activity Log export posted with curl raises an alert, and the collector
// receives it as an RFC 5424 message whose payload is a CEF line naming the
// alert the API serves.
func TestSyslogCEF(t *testing.T) {
	rcv := newSyslogReceiver(t)
	dir := t.TempDir()
	tok := makeTokens(t, dir)
	cfg := testConfig(t, dir, "")
	cfg.Outputs.Syslog = []SyslogConfig{{Name: "siem", Network: "tcp", Address: rcv.ln.Addr().String(),
		Format: output.FormatCEF, Hostname: "vigil-test", Backoff: 10 * time.Millisecond, Retries: 3}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, base := startService(t, cfg)
	postAudit(t, base, tok.ingest, "testdata/activitylog-custom-role.json")

	var role alert.Alert
	waitFor(t, "the custom-role alert in the API", func() bool {
		got := byType(listAlerts(t, base, tok.analystA))[alert.CustomRolePersistence]
		if len(got) == 0 {
			return false
		}
		role = got[0].Alert
		return true
	})
	var msg string
	waitFor(t, "the alert at the syslog collector", func() bool {
		for _, m := range rcv.messages() {
			if strings.Contains(m, "externalId="+role.ID) {
				msg = m
				return true
			}
		}
		return false
	})
	f := rfc5424.FindStringSubmatch(msg)
	if f == nil {
		t.Fatalf("not an RFC 5424 message: %q", msg)
	}
	if pri, _ := strconv.Atoi(f[1]); pri/8 != 10 {
		t.Errorf("facility %d, want 10 (security/authorization)", pri/8)
	}
	if f[2] != "vigil-test" || f[3] != "vigil" || f[4] != role.Type {
		t.Errorf("header host %q app %q msgid %q", f[2], f[3], f[4])
	}
	if want := output.CEF(&role, ""); f[5] != want {
		t.Errorf("CEF payload\n got %s\nwant %s", f[5], want)
	}
	if !strings.HasPrefix(f[5], "CEF:0|Vigil|Vigil||"+role.Type+"|") {
		t.Errorf("CEF header %q", f[5])
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.errs) > 0 {
		t.Errorf("bad frames: %v", rcv.errs)
	}
}
