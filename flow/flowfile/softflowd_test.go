package flowfile_test

import (
	"net/netip"
	"testing"

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
			datagrams, wantRecords := testenv.SoftflowdDatagrams(t, path)
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
			for i, d := range datagrams {
				if err := dec.Decode(d.From, netflow.TransportUDP, d.Data, h); err != nil {
					t.Errorf("datagram %d: %v", i+1, err)
				}
			}
			dec.Flush(h)
			if records != wantRecords {
				t.Errorf("decoded %d records, softflowd exported %d", records, wantRecords)
			}
			if len(exported) != c.conns {
				t.Errorf("softflowd exported %d client->server:22 SYN flows, the capture has %d connections",
					len(exported), c.conns)
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
