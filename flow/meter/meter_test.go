package meter_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/meter"
	"github.com/vigil-ids/vigil/flow/pcap"
	"github.com/vigil-ids/vigil/internal/testenv"
)

var server = netip.MustParseAddr("240.125.0.2")

// The SSH brute-force captures: attacker and connection count, from the
// data set's README.
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

func meterFile(t *testing.T, path string, cfg meter.Config) ([]flow.Record, pcap.ReaderStats, meter.Stats) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f, pcap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m := meter.New(cfg)
	var recs []flow.Record
	h := func(r *flow.Record) { recs = append(recs, *r) }
	var p pcap.Packet
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		m.Add(&p, h)
	}
	m.Flush(h)
	return recs, r.Stats(), m.Stats()
}

type tuple struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
}

func TestSSHBruteForceConnections(t *testing.T) {
	for _, c := range sshCaptures {
		t.Run(c.file, func(t *testing.T) {
			path := testenv.SharedData(t, "pcap", "ssh-bruteforce", c.file)
			recs, rs, ms := meterFile(t, path, meter.DefaultConfig())
			client := netip.MustParseAddr(c.client)
			var conns, replies int
			var pkts uint64
			for _, r := range recs {
				pkts += r.Packets
				if r.Format != flow.FormatPacket || r.SamplingRate != 1 {
					t.Fatalf("record %+v: want packet format, rate 1", r)
				}
				if r.Start.After(r.End) {
					t.Errorf("record %+v ends before it starts", r)
				}
				switch {
				case r.SrcAddr == client && r.DstAddr == server && r.DstPort == 22 && r.TCPFlags&flow.TCPSyn != 0:
					if r.Reverse() || r.BiflowDirection != flow.BiflowInitiator {
						t.Errorf("initiator record marked as reply: %+v", r)
					}
					conns++
				case r.SrcAddr == server && r.SrcPort == 22 && r.DstAddr == client:
					if !r.Reverse() || r.BiflowDirection != flow.BiflowReverseInitiator {
						t.Errorf("reply record not marked: %+v", r)
					}
					replies++
				default:
					t.Errorf("unexpected record %+v", r)
				}
			}
			if conns != c.conns || replies != c.conns {
				t.Errorf("got %d connections and %d replies, want %d of each", conns, replies, c.conns)
			}
			// Every decoded packet lands in exactly one record.
			if pkts != rs.Decoded || ms.Packets != rs.Decoded {
				t.Errorf("records hold %d packets, meter saw %d, capture has %d", pkts, ms.Packets, rs.Decoded)
			}
			// The captures start at the epoch: time comes from packets.
			if first := recs[0].Start; first.Year() != 1970 {
				t.Errorf("first record starts %v, want 1970 (capture time)", first)
			}
		})
	}
}

// TestAgainstTshark compares packets per direction of every TCP 5-tuple
// with tshark's conversation table.
func TestAgainstTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	conv := regexp.MustCompile(`^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+\S+\s+\S+\s+(\d+)\s`)
	for _, c := range sshCaptures {
		t.Run(c.file, func(t *testing.T) {
			path := testenv.SharedData(t, "pcap", "ssh-bruteforce", c.file)
			out, err := exec.Command(tshark, "-n", "-r", path, "-q", "-z", "conv,tcp").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want := map[tuple]uint64{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				m := conv.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				a, b := netip.MustParseAddr(m[1]), netip.MustParseAddr(m[3])
				ap, _ := strconv.Atoi(m[2])
				bp, _ := strconv.Atoi(m[4])
				toA, _ := strconv.ParseUint(m[5], 10, 64) // the "<-" column
				toB, _ := strconv.ParseUint(m[6], 10, 64) // the "->" column
				want[tuple{a, b, uint16(ap), uint16(bp)}] += toB
				want[tuple{b, a, uint16(bp), uint16(ap)}] += toA
			}
			if len(want) == 0 {
				t.Fatalf("no conversations parsed from tshark output:\n%s", out)
			}
			recs, _, _ := meterFile(t, path, meter.DefaultConfig())
			got := map[tuple]uint64{}
			for _, r := range recs {
				got[tuple{r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort}] += r.Packets
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("packets per direction differ from tshark (-tshark +meter):\n%s", d)
			}
			// tshark's count of connection openings (SYN without ACK).
			syn, err := exec.Command(tshark, "-n", "-r", path, "-Y",
				"tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==22", "-T", "fields", "-e", "tcp.stream").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			streams := map[string]bool{}
			for _, l := range bytes.Fields(syn) {
				streams[string(l)] = true
			}
			if len(streams) != c.conns {
				t.Errorf("tshark sees %d connections, the data set's README %d", len(streams), c.conns)
			}
		})
	}
}

// packet builds a metered packet for the table tests.
func packet(sec float64, src, dst string, sp, dp uint16, proto, flags uint8, size int) pcap.Packet {
	return pcap.Packet{
		Time:     time.Unix(0, int64(sec*1e9)).UTC(),
		Src:      netip.MustParseAddr(src),
		Dst:      netip.MustParseAddr(dst),
		SrcPort:  sp,
		DstPort:  dp,
		Proto:    proto,
		TCPFlags: flags,
		IPLength: size,
	}
}

// view is the part of a record the table tests compare.
type view struct {
	Start, End float64
	Src, Dst   string
	Packets    uint64
	Bytes      uint64
	Flags      uint8
	Reverse    bool
	Dir        flow.BiflowDirection
}

func TestMeterRules(t *testing.T) {
	const (
		syn    = flow.TCPSyn
		synack = flow.TCPSyn | flow.TCPAck
		ack    = flow.TCPAck
		fin    = flow.TCPFin | flow.TCPAck
		rst    = flow.TCPRst
		tcp    = flow.ProtoTCP
		udp    = flow.ProtoUDP
	)
	a, b := "10.0.0.1", "10.0.0.2"
	tests := []struct {
		name string
		pkts []pcap.Packet
		want []view
	}{
		{
			name: "handshake, data, close",
			pkts: []pcap.Packet{
				packet(1, a, b, 4000, 22, tcp, syn, 60),
				packet(1.1, b, a, 22, 4000, tcp, synack, 60),
				packet(1.2, a, b, 4000, 22, tcp, ack, 52),
				packet(2, a, b, 4000, 22, tcp, fin, 52),
				packet(2.1, b, a, 22, 4000, tcp, fin, 52),
				packet(2.2, a, b, 4000, 22, tcp, ack, 52),
			},
			want: []view{
				{1, 2.2, a + ":4000", b + ":22", 4, 216, syn | fin, false, flow.BiflowInitiator},
				{1.1, 2.1, b + ":22", a + ":4000", 2, 112, synack | fin, true, flow.BiflowReverseInitiator},
			},
		},
		{
			name: "capture starts at the SYN-ACK: initiator is its receiver",
			pkts: []pcap.Packet{
				packet(1, b, a, 22, 4000, tcp, synack, 60),
				packet(1.1, a, b, 4000, 22, tcp, ack, 52),
			},
			want: []view{
				{1.1, 1.1, a + ":4000", b + ":22", 1, 52, ack, false, flow.BiflowInitiator},
				{1, 1, b + ":22", a + ":4000", 1, 60, synack, true, flow.BiflowReverseInitiator},
			},
		},
		{
			name: "mid-stream: first sender is the source, direction arbitrary",
			pkts: []pcap.Packet{
				packet(5, b, a, 22, 4000, tcp, ack, 100),
				packet(6, a, b, 4000, 22, tcp, ack, 52),
			},
			want: []view{
				{5, 5, b + ":22", a + ":4000", 1, 100, ack, false, flow.BiflowArbitrary},
				{6, 6, a + ":4000", b + ":22", 1, 52, ack, true, flow.BiflowArbitrary},
			},
		},
		{
			name: "icmp echo and reply share a flow, each keeps its type",
			pkts: []pcap.Packet{
				packet(1, a, b, 0, 0x0800, flow.ProtoICMP, 0, 84),
				packet(1.01, b, a, 0, 0x0000, flow.ProtoICMP, 0, 84),
				packet(2, a, b, 0, 0x0800, flow.ProtoICMP, 0, 84),
			},
			want: []view{
				{1, 2, a + ":0", b + ":2048", 2, 168, 0, false, flow.BiflowArbitrary},
				{1.01, 1.01, b + ":0", a + ":0", 1, 84, 0, true, flow.BiflowArbitrary},
			},
		},
		{
			name: "port reuse after RST starts a new flow",
			pkts: []pcap.Packet{
				packet(1, a, b, 4000, 22, tcp, syn, 60),
				packet(1.1, b, a, 22, 4000, tcp, rst|ack, 40),
				packet(1.5, a, b, 4000, 22, tcp, syn, 60),
			},
			want: []view{
				{1, 1, a + ":4000", b + ":22", 1, 60, syn, false, flow.BiflowInitiator},
				{1.1, 1.1, b + ":22", a + ":4000", 1, 40, rst | ack, true, flow.BiflowReverseInitiator},
				{1.5, 1.5, a + ":4000", b + ":22", 1, 60, syn, false, flow.BiflowInitiator},
			},
		},
		{
			name: "idle timeout splits a UDP exchange; time going backwards is tolerated",
			pkts: []pcap.Packet{
				packet(10, a, b, 5353, 53, udp, 0, 80),
				packet(9, a, b, 5353, 53, udp, 0, 80), // earlier than the previous packet
				packet(400, a, b, 5353, 53, udp, 0, 80),
			},
			want: []view{
				{9, 10, a + ":5353", b + ":53", 2, 160, 0, false, flow.BiflowArbitrary},
				{400, 400, a + ":5353", b + ":53", 1, 80, 0, false, flow.BiflowArbitrary},
			},
		},
		{
			name: "active timeout reports a long flow and keeps its initiator",
			pkts: []pcap.Packet{
				packet(0, a, b, 4000, 443, tcp, syn, 60),
				packet(0.1, b, a, 443, 4000, tcp, synack, 60),
				packet(250, a, b, 4000, 443, tcp, ack, 52),
				packet(500, a, b, 4000, 443, tcp, ack, 52),
				packet(750, a, b, 4000, 443, tcp, ack, 52),
				packet(1000, a, b, 4000, 443, tcp, ack, 52),
				packet(1250, a, b, 4000, 443, tcp, ack, 52),
				packet(1500, a, b, 4000, 443, tcp, ack, 52),
				packet(1750, a, b, 4000, 443, tcp, ack, 52),
				packet(1800, a, b, 4000, 443, tcp, ack, 52),
				packet(1801, b, a, 443, 4000, tcp, ack, 500),
			},
			want: []view{
				{0, 1750, a + ":4000", b + ":443", 8, 60 + 7*52, syn | ack, false, flow.BiflowInitiator},
				{0.1, 0.1, b + ":443", a + ":4000", 1, 60, synack, true, flow.BiflowReverseInitiator},
				{1800, 1800, a + ":4000", b + ":443", 1, 52, ack, false, flow.BiflowInitiator},
				{1801, 1801, b + ":443", a + ":4000", 1, 500, ack, true, flow.BiflowReverseInitiator},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := meter.New(meter.DefaultConfig())
			var got []view
			h := func(r *flow.Record) {
				got = append(got, view{
					Start:   float64(r.Start.UnixNano()) / 1e9,
					End:     float64(r.End.UnixNano()) / 1e9,
					Src:     netip.AddrPortFrom(r.SrcAddr, r.SrcPort).String(),
					Dst:     netip.AddrPortFrom(r.DstAddr, r.DstPort).String(),
					Packets: r.Packets, Bytes: r.Bytes, Flags: r.TCPFlags,
					Reverse: r.Reverse(), Dir: r.BiflowDirection,
				})
			}
			for i := range tt.pkts {
				m.Add(&tt.pkts[i], h)
			}
			m.Flush(h)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
		})
	}
}

// TestMaxFlowsForcesExpiry overfills a table of 32 flows: the least
// recently active flows are ended first, so the records come out in the
// order the flows were opened, and the table never exceeds its bound.
func TestMaxFlowsForcesExpiry(t *testing.T) {
	m := meter.New(meter.Config{MaxFlows: 32})
	var got []netip.Addr
	h := func(r *flow.Record) { got = append(got, r.DstAddr) }
	var want []netip.Addr
	for i := range 100 {
		dst := fmt.Sprintf("10.0.1.%d", i)
		want = append(want, netip.MustParseAddr(dst))
		p := packet(float64(i), "10.0.0.1", dst, 1000, 53, flow.ProtoUDP, 0, 60)
		m.Add(&p, h)
		if m.Len() > 32 {
			t.Fatalf("table holds %d flows, bound is 32", m.Len())
		}
	}
	m.Flush(h)
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(meter.Stats{Packets: 100, Records: 100, Forced: 68, Flushed: 32}, m.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func BenchmarkMeter(b *testing.B) {
	path := testenv.SharedData(b, "pcap", "ssh-bruteforce", "hydra-4_tasks.pcap")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var pkts []pcap.Packet
	r, err := pcap.NewReader(bytes.NewReader(data), pcap.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for {
		var p pcap.Packet
		if r.Next(&p) != nil {
			break
		}
		p.Payload = nil
		pkts = append(pkts, p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m := meter.New(meter.DefaultConfig())
		h := func(*flow.Record) {}
		for i := range pkts {
			m.Add(&pkts[i], h)
		}
		m.Flush(h)
	}
	b.ReportMetric(float64(len(pkts)*b.N)/b.Elapsed().Seconds(), "packets/s")
}
