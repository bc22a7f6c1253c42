package service

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(t *testing.T, c Config)
		err        string
	}{
		{name: "empty gives the defaults", yaml: "", check: func(t *testing.T, c Config) {
			want := DefaultConfig()
			if err := want.Validate(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.DataDir, c.DataDir); diff != "" || c.HTTP.Listen != ":8080" {
				t.Errorf("defaults differ: %s %q", diff, c.HTTP.Listen)
			}
			if len(c.Collector.Listeners) != 2 || c.Collector.Listeners[0].Listen != ":4739" || c.Collector.Listeners[1].Listen != ":2055" {
				t.Errorf("listeners %+v", c.Collector.Listeners)
			}
		}},
		{name: "lateness sets both reorder windows", yaml: "allowed-lateness: 10m\n", check: func(t *testing.T, c Config) {
			if c.Detection.Network.ReorderWindow != 10*time.Minute || c.Detection.Management.ReorderWindow != 10*time.Minute {
				t.Errorf("reorder windows %v %v", c.Detection.Network.ReorderWindow, c.Detection.Management.ReorderWindow)
			}
		}},
		{name: "detection block", yaml: "detection:\n  network:\n    min-attempts: 50\n", check: func(t *testing.T, c Config) {
			if c.Detection.Network.MinAttempts != 50 {
				t.Errorf("min-attempts %v", c.Detection.Network.MinAttempts)
			}
		}},
		{name: "unknown key", yaml: "data-dri: x\n", err: "data-dri"},
		{name: "unknown nested key", yaml: "http:\n  port: 80\n", err: "port"},
		{name: "tls needs both", yaml: "http:\n  tls-cert: a.pem\n", err: "tls-cert and tls-key"},
		{name: "bad home net", yaml: "home-nets: [10.0.0.0/33]\n", err: "home-nets"},
		{name: "zero checkpoint interval", yaml: "checkpoint-interval: 0s\n", err: "checkpoint-interval"},
		{name: "webhook without url", yaml: "outputs:\n  webhooks:\n    - name: x\n", err: "url"},
		{name: "outputs", yaml: "outputs:\n  webhooks:\n    - {url: \"https://h.example/x\", secret: k, format: ocsf}\n  syslog:\n    - {name: siem, network: tls, address: \"siem.example:6514\", format: cef, ca-file: ca.pem, facility: 4}\n    - {network: udp, address: \"127.0.0.1:514\"}\n  json-file: a.jsonl\n  json-file-format: ocsf\n", check: func(t *testing.T, c Config) {
			o := c.Outputs
			if len(o.Webhooks) != 1 || o.Webhooks[0].Format != "ocsf" || len(o.Syslog) != 2 || o.Syslog[0].Format != "cef" ||
				o.Syslog[0].CAFile != "ca.pem" || *o.Syslog[0].Facility != 4 || o.Syslog[1].Facility != nil || o.JSONFileFormat != "ocsf" || o.DrainTimeout != 10*time.Second {
				t.Errorf("outputs %+v", o)
			}
		}},
		{name: "webhook without secret", yaml: "outputs:\n  webhooks:\n    - url: http://h.example/\n", err: "outputs.webhooks[0]: secret or secret-file"},
		{name: "webhook bad url", yaml: "outputs:\n  webhooks:\n    - {url: \"ftp://h.example/\", secret: k}\n", err: "outputs.webhooks[0].url"},
		{name: "webhook cef", yaml: "outputs:\n  webhooks:\n    - {url: \"http://h.example/\", secret: k, format: cef}\n", err: "outputs.webhooks[0].format"},
		{name: "syslog bad network", yaml: "outputs:\n  syslog:\n    - {network: sctp, address: \"h:514\"}\n", err: "outputs.syslog[0].network"},
		{name: "syslog without network", yaml: "outputs:\n  syslog:\n    - {address: \"h:514\"}\n", err: "outputs.syslog[0].network"},
		{name: "syslog without port", yaml: "outputs:\n  syslog:\n    - {network: udp, address: h}\n", err: "outputs.syslog[0].address"},
		{name: "syslog bad format", yaml: "outputs:\n  syslog:\n    - {network: udp, address: \"h:514\", format: leef}\n", err: "outputs.syslog[0].format"},
		{name: "syslog ca-file without tls", yaml: "outputs:\n  syslog:\n    - {network: tcp, address: \"h:514\", ca-file: ca.pem}\n", err: "need network tls"},
		{name: "syslog bad facility", yaml: "outputs:\n  syslog:\n    - {network: udp, address: \"h:514\", facility: 24}\n", err: "outputs.syslog[0].facility"},
		{name: "syslog unknown key", yaml: "outputs:\n  syslog:\n    - {network: udp, address: \"h:514\", port: 514}\n", err: "port"},
		{name: "duplicate output names", yaml: "outputs:\n  webhooks:\n    - {name: soc, url: \"http://h.example/\", secret: k}\n  syslog:\n    - {name: soc, network: udp, address: \"h:514\"}\n", err: "already the name of webhooks[0]"},
		{name: "default name taken", yaml: "outputs:\n  syslog:\n    - {network: udp, address: \"h:514\"}\n    - {name: syslog-0, network: udp, address: \"h:514\"}\n", err: "outputs.syslog[1].name"},
		{name: "file format without file", yaml: "outputs:\n  json-file-format: ocsf\n", err: "needs json-file"},
		{name: "zero drain timeout", yaml: "outputs:\n  drain-timeout: 0s\n", err: "outputs.drain-timeout"},
		{name: "bad detection value", yaml: "detection:\n  network:\n    min-attempts: -1\n", err: "detection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want ErrConfig mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestDocumentedExample parses the example configuration of
// docs/service.md, so that the documentation stays true.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/service.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/service.md has no yaml example")
	}
	c, err := ParseConfig(m[1])
	if err != nil {
		t.Fatalf("the documented example does not parse: %v", err)
	}
	if len(c.Outputs.Webhooks) != 1 || len(c.Outputs.Syslog) != 1 || c.Geographies["6f1a3c2e-1111-4a5b-9c8d-0123456789ab"] != "eu" || c.AllowedLateness != 2*time.Hour {
		t.Errorf("example parsed as %+v", c)
	}
}
