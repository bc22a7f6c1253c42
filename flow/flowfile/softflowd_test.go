package flowfile_test

import (
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
	"github.com/vigil-ids/vigil/flow/netflow"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// TestSoftflowdExport runs a real exporter: softflowd reads each SSH
// brute-force capture and exports IPFIX over UDP to a socket of this test.
// The flows decoded from its datagrams must be the connections in the
// capture, and the same connections our own meter finds.
func TestSoftflowdExport(t *testing.T) {
	softflowd := testenv.Tool(t, "softflowd")
	server := netip.MustParseAddr("240.125.0.2")
	for _, c := range []struct {
		file   string
		client string
		conns  int
	}{
		{"hydra-1_tasks.pcap", "240.0.1.2", 61},
		{"hydra-4_tasks.pcap", "240.0.1.3", 243},
		{"medusa-1_tasks.pcap", "240.0.2.2", 196},
		{"ncrack-polite.pcap", "240.0.3.4", 203},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := testenv.SharedData(t, "pcap", "ssh-bruteforce", c.file)
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.SetReadBuffer(8 << 20); err != nil {
				t.Logf("receive buffer: %v", err)
			}
			port := conn.LocalAddr().(*net.UDPAddr).Port

			// softflowd with -r needs -d (foreground), -c none (no control
			// socket, which can block) and a pid file of its own; -a takes
			// the clock from the capture; -A milli exports absolute times.
			cmd := exec.Command(softflowd, "-r", path, "-n", "127.0.0.1:"+strconv.Itoa(port),
				"-v", "10", "-A", "milli", "-a", "-d", "-c", "none", "-p", filepath.Join(t.TempDir(), "softflowd.pid"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("softflowd: %v\n%s", err, out)
			}

			// softflowd has exited, so every datagram it sent is already in
			// the socket buffer; it reports how many it sent.
			m := regexp.MustCompile(`Flows exported: \d+ \((\d+) records\) in (\d+) packets \(0 failures\)`).FindSubmatch(out)
			if m == nil {
				t.Fatalf("softflowd did not report its exports:\n%s", out)
			}
			wantRecords, _ := strconv.Atoi(string(m[1]))
			wantDatagrams, _ := strconv.Atoi(string(m[2]))
			dec := netflow.NewDecoder(netflow.DefaultConfig())
			exported := map[uint16]bool{} // client source ports of SYN flows
			var records int
			h := func(r *flow.Record) {
				records++
				if r.Format != flow.FormatIPFIX {
					t.Errorf("record format %v", r.Format)
				}
				if r.SrcAddr.String() == c.client && r.DstAddr == server && r.DstPort == 22 && r.TCPFlags&flow.TCPSyn != 0 {
					exported[r.SrcPort] = true
				}
			}
			buf := make([]byte, 65535)
			// The deadline only guards against a lost datagram hanging the
			// test; on loopback none is expected.
			if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
				t.Fatal(err)
			}
			for datagrams := 1; datagrams <= wantDatagrams; datagrams++ {
				n, from, err := conn.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("datagram %d of %d: %v", datagrams, wantDatagrams, err)
				}
				if err := dec.Decode(from, netflow.TransportUDP, buf[:n], h); err != nil {
					t.Errorf("datagram %d: %v", datagrams, err)
				}
			}
			dec.Flush(h)
			if records != wantRecords {
				t.Errorf("decoded %d records, softflowd exported %d", records, wantRecords)
			}
			if len(exported) != c.conns {
				t.Errorf("softflowd exported %d client->server:22 SYN flows, the capture has %d connections\n%s",
					len(exported), c.conns, out)
			}

			// Our meter on the same capture must find the same connections.
			metered := map[uint16]bool{}
			if _, err := flowfile.ReadFile(path, flowfile.Options{}, func(r *flow.Record) {
				if r.SrcAddr.String() == c.client && r.DstAddr == server && r.DstPort == 22 && r.TCPFlags&flow.TCPSyn != 0 {
					metered[r.SrcPort] = true
				}
			}); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(exported, metered); d != "" {
				t.Errorf("connections (-softflowd +meter):\n%s", d)
			}
		})
	}
}
