package network

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
	"github.com/vigil-ids/vigil/flow/netflow"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// The four real SSH brute-force captures: 61 to 243 connections from one
// source to 240.125.0.2 in about 20 minutes. Commodity scale: nothing with
// the default floors; exactly one incoming-ssh with the single-source floor
// at 50. The raw capture (metered) and softflowd's IPFIX export of it must
// agree.
var sshCaptures = []struct {
	file   string
	client string
	conns  int
}{
	{"hydra-1_tasks.pcap", "240.0.1.2", 61},
	{"hydra-4_tasks.pcap", "240.0.1.3", 243},
	{"medusa-1_tasks.pcap", "240.0.2.2", 196},
	{"ncrack-polite.pcap", "240.0.3.4", 203},
}

var captureHome = []netip.Prefix{netip.MustParsePrefix("240.125.0.2/32")}

func judgeCapture(t *testing.T, rs []flow.Record, client string, conns int) {
	t.Helper()
	c, d := run(t, DefaultConfig(), Deps{HomeNets: captureHome}, rs)
	if len(c.alerts()) != 0 {
		t.Errorf("default floors raised %v\n%s", c.types(), d.Summary())
	}
	cfg, err := ParseConfig([]byte("min-attempts: 50\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, d = run(t, cfg, Deps{HomeNets: captureHome}, rs)
	as := c.alerts()
	if diff := cmp.Diff([]string{"incoming-ssh 240.125.0.2"}, c.types()); diff != "" {
		t.Fatalf("floor 50 (-want +got):\n%s\n%s", diff, d.Summary())
	}
	a := as[0]
	if a.ResourceIP != "240.125.0.2" || len(a.RemoteIPs) != 1 || a.RemoteIPs[0] != client {
		t.Errorf("alert names %s / %v", a.ResourceIP, a.RemoteIPs)
	}
	if got := a.Evidence["attempts"].(float64); int(got) != conns {
		t.Errorf("attempts %v, want the capture's %d connections", got, conns)
	}
	t.Logf("%s", d.Summary())
}

func TestCapturePacketPath(t *testing.T) {
	for _, c := range sshCaptures {
		t.Run(c.file, func(t *testing.T) {
			path := testenv.SharedData(t, "pcap", "ssh-bruteforce", c.file)
			var rs []flow.Record
			if _, err := flowfile.ReadFile(path, flowfile.Options{}, func(r *flow.Record) { rs = append(rs, *r) }); err != nil {
				t.Fatal(err)
			}
			judgeCapture(t, rs, c.client, c.conns)
		})
	}
}

func TestCaptureSoftflowdIPFIX(t *testing.T) {
	for _, c := range sshCaptures {
		t.Run(c.file, func(t *testing.T) {
			path := testenv.SharedData(t, "pcap", "ssh-bruteforce", c.file)
			datagrams, _ := testenv.SoftflowdDatagrams(t, path)
			dec := netflow.NewDecoder(netflow.DefaultConfig())
			var rs []flow.Record
			h := func(r *flow.Record) { rs = append(rs, *r) }
			for i, d := range datagrams {
				if err := dec.Decode(d.From, netflow.TransportUDP, d.Data, h); err != nil {
					t.Errorf("datagram %d: %v", i+1, err)
				}
			}
			dec.Flush(h)
			judgeCapture(t, rs, c.client, c.conns)
		})
	}
}
