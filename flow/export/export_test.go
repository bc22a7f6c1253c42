package export

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/internal/testenv"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// testRecords returns n varied records: mostly IPv4, every fifth IPv6,
// every seventh with an IPv4-mapped address (written as IPv4).
func testRecords(n int) []flow.Record {
	out := make([]flow.Record, n)
	for i := range out {
		r := flow.Record{
			Start:    t0.Add(time.Duration(i) * 250 * time.Millisecond),
			SrcAddr:  netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}),
			DstAddr:  netip.AddrFrom4([4]byte{198, 51, 100, byte(i >> 8)}),
			SrcPort:  uint16(30000 + i),
			DstPort:  22,
			Proto:    flow.ProtoTCP,
			TCPFlags: flow.TCPSyn | flow.TCPAck | flow.TCPFin | flow.TCPPsh,
			Packets:  uint64(1 + i%17),
			Bytes:    uint64(60 + 13*i),
		}
		r.End = r.Start.Add(time.Duration(i%50) * time.Millisecond)
		switch {
		case i%5 == 0:
			r.SrcAddr = netip.MustParseAddr("2001:db8::" + strconv.FormatInt(int64(i), 16))
			r.DstAddr = netip.MustParseAddr("2001:db8:1::1")
		case i%7 == 0:
			r.SrcAddr = netip.AddrFrom16(r.SrcAddr.As16())
		}
		if i%3 == 0 {
			r.Proto, r.TCPFlags, r.DstPort = flow.ProtoUDP, 0, 53
		}
		out[i] = r
	}
	return out
}

// writeBoth writes recs as an IPFIX file and as a pcap of IPFIX datagrams.
func writeBoth(t *testing.T, dir string, recs []flow.Record, rate uint32, opts Options) (ipfixPath, pcapPath string) {
	t.Helper()
	ipfixPath = filepath.Join(dir, "flows.ipfix")
	pcapPath = filepath.Join(dir, "flows.pcap")
	var fbuf, pbuf bytes.Buffer
	fw := NewIPFIXWriterOptions(&fbuf, 42, rate, Options{RandomSampling: opts.RandomSampling})
	pw, err := NewPcapWriter(&pbuf, netip.MustParseAddrPort("192.0.2.10:50123"), netip.MustParseAddrPort("192.0.2.20:4739"))
	if err != nil {
		t.Fatal(err)
	}
	dw := NewIPFIXWriterOptions(pw, 42, rate, opts)
	for i := range recs {
		if err := fw.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
		if err := dw.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := dw.Flush(); err != nil {
		t.Fatal(err)
	}
	if fw.Records() != uint64(len(recs)) || dw.Records() != uint64(len(recs)) {
		t.Fatalf("records written: file %d, datagrams %d, want %d", fw.Records(), dw.Records(), len(recs))
	}
	if pw.Frames() != dw.Messages() {
		t.Fatalf("pcap frames %d, messages %d", pw.Frames(), dw.Messages())
	}
	if err := os.WriteFile(ipfixPath, fbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pcapPath, pbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ipfixPath, pcapPath
}

// tsharkFields runs tshark and returns, per requested field, every value
// over all frames (tshark joins repeated values of a frame with commas).
func tsharkFields(t *testing.T, file string, extra []string, fields ...string) [][]string {
	t.Helper()
	bin := testenv.Tool(t, "tshark")
	args := append([]string{"-r", file}, extra...)
	args = append(args, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,")
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	cols := make([][]string, len(fields))
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		for i, v := range strings.Split(line, "\t") {
			if i < len(cols) && v != "" {
				cols[i] = append(cols[i], strings.Split(v, ",")...)
			}
		}
	}
	return cols
}

func assertNotMalformed(t *testing.T, file string, extra ...string) {
	t.Helper()
	bin := testenv.Tool(t, "tshark")
	args := append([]string{"-r", file}, extra...)
	args = append(args, "-Y", "_ws.malformed || _ws.expert.severity >= warning")
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tshark reports malformed or warned frames in %s:\n%s", filepath.Base(file), s)
	}
}

// TestTsharkDecodes checks the file and the pcap with a real peer: tshark
// decodes both without malformed frames, finds every record with its
// ports, addresses and counters, and reads the announced sampling.
func TestTsharkDecodes(t *testing.T) {
	testenv.Tool(t, "tshark")
	recs := testRecords(3000)
	for _, tc := range []struct {
		name   string
		rate   uint32
		random bool
	}{{"unsampled", 1, false}, {"systematic-1in10", 10, false}, {"random-1in10", 10, true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DatagramOptions()
			opts.RandomSampling = tc.random
			dir := t.TempDir()
			ipfixFile, pcapFile := writeBoth(t, dir, recs, tc.rate, opts)
			decodeAs := []string{"-d", "udp.port==4739,cflow", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"}
			assertNotMalformed(t, ipfixFile)
			assertNotMalformed(t, pcapFile, decodeAs...)

			var want4, want6 int
			var wantPorts []string
			var wantOctets uint64
			for _, r := range recs {
				if r.SrcAddr.Unmap().Is4() {
					want4++
				} else {
					want6++
				}
				wantPorts = append(wantPorts, strconv.Itoa(int(r.SrcPort)))
				wantOctets += r.Bytes
			}
			slices.Sort(wantPorts)
			for _, in := range []struct {
				file  string
				extra []string
			}{{ipfixFile, nil}, {pcapFile, decodeAs}} {
				cols := tsharkFields(t, in.file, in.extra, "cflow.srcaddr", "cflow.srcaddrv6", "cflow.srcport", "cflow.octets",
					"cflow.selector_algorithm", "cflow.sampling_packet_interval", "cflow.sampling_packet_space",
					"cflow.sampling_size", "cflow.sampling_population")
				if len(cols[0]) != want4 || len(cols[1]) != want6 {
					t.Errorf("%s: tshark decoded %d IPv4 and %d IPv6 records, want %d and %d", filepath.Base(in.file), len(cols[0]), len(cols[1]), want4, want6)
				}
				ports := slices.Clone(cols[2])
				slices.Sort(ports)
				if diff := cmp.Diff(wantPorts, ports); diff != "" {
					t.Errorf("%s: source ports differ (-want +got):\n%s", filepath.Base(in.file), diff)
				}
				var octets uint64
				for _, v := range cols[3] {
					n, _ := strconv.ParseUint(v, 10, 64)
					octets += n
				}
				if octets != wantOctets {
					t.Errorf("%s: octets %d, want %d", filepath.Base(in.file), octets, wantOctets)
				}
				if len(cols[4]) == 0 {
					t.Fatalf("%s: no sampling options record", filepath.Base(in.file))
				}
				if tc.random {
					if cols[4][0] != "3" || cols[7][0] != "1" || cols[8][0] != strconv.Itoa(int(tc.rate)) {
						t.Errorf("%s: sampling announced as algorithm %v size %v population %v", filepath.Base(in.file), cols[4], cols[7], cols[8])
					}
				} else if cols[4][0] != "1" || cols[5][0] != "1" || cols[6][0] != strconv.Itoa(int(tc.rate)-1) {
					t.Errorf("%s: sampling announced as algorithm %v interval %v space %v", filepath.Base(in.file), cols[4], cols[5], cols[6])
				}
			}
			// The pcap's IP and UDP checksums are right.
			cols := tsharkFields(t, pcapFile, decodeAs, "ip.checksum.status", "udp.checksum.status")
			for i, c := range cols {
				for _, v := range c {
					if v != "2" && v != "1" { // 1 good (4.0: "Good" is 1), 2 unverified
						t.Fatalf("checksum column %d: status %q", i, v)
					}
				}
			}
		})
	}
}

// message is one IPFIX message walked structurally.
type message struct {
	length, exportTime, seq, domain uint32
	sets                            []uint16
	records                         int
}

// walk splits a stream into messages and checks that every set length adds
// up to the message length. It understands only this writer's templates.
func walk(t *testing.T, b []byte) []message {
	t.Helper()
	var out []message
	for len(b) > 0 {
		if len(b) < headerLen {
			t.Fatalf("trailing %d bytes", len(b))
		}
		m := message{
			length:     uint32(binary.BigEndian.Uint16(b[2:])),
			exportTime: binary.BigEndian.Uint32(b[4:]),
			seq:        binary.BigEndian.Uint32(b[8:]),
			domain:     binary.BigEndian.Uint32(b[12:]),
		}
		if v := binary.BigEndian.Uint16(b); v != 10 {
			t.Fatalf("version %d", v)
		}
		body := b[headerLen:m.length]
		for len(body) > 0 {
			id, l := binary.BigEndian.Uint16(body), int(binary.BigEndian.Uint16(body[2:]))
			if l < setHdrLen || l > len(body) {
				t.Fatalf("set %d length %d with %d bytes left", id, l, len(body))
			}
			m.sets = append(m.sets, id)
			switch id {
			case TemplateIPv4:
				m.records += (l - setHdrLen) / recLenV4
			case TemplateIPv6:
				m.records += (l - setHdrLen) / recLenV6
			case TemplateOptions:
				m.records += (l - setHdrLen) / optRecLen
			}
			body = body[l:]
		}
		out = append(out, m)
		b = b[m.length:]
	}
	return out
}

func TestMessageStructure(t *testing.T) {
	recs := testRecords(5000)
	var buf bytes.Buffer
	var sizes []int
	w := NewIPFIXWriterOptions(writerFunc(func(p []byte) (int, error) {
		sizes = append(sizes, len(p))
		return buf.Write(p)
	}), 9, 10, DatagramOptions())
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	msgs := walk(t, buf.Bytes())
	if len(msgs) != len(sizes) {
		t.Fatalf("%d messages walked, %d writes", len(msgs), len(sizes))
	}
	var seq uint32
	var data, withTemplates int
	var prevExport uint32
	for i, m := range msgs {
		if int(m.length) != sizes[i] || sizes[i] > DefaultDatagramSize {
			t.Fatalf("message %d: length %d, write %d bytes, limit %d", i, m.length, sizes[i], DefaultDatagramSize)
		}
		if m.seq != seq {
			t.Fatalf("message %d: sequence %d, want %d", i, m.seq, seq)
		}
		if m.domain != 9 {
			t.Fatalf("message %d: observation domain %d", i, m.domain)
		}
		if m.exportTime < prevExport {
			t.Fatalf("message %d: export time went back", i)
		}
		prevExport = m.exportTime
		seq += uint32(m.records)
		if slices.Contains(m.sets, setTemplate) {
			withTemplates++
			if i%32 != 0 && m.sets[0] == setTemplate && i != 0 {
				// A refresh by time is allowed anywhere; by count every 32.
				t.Logf("message %d refreshed templates by time", i)
			}
			if !slices.Contains(m.sets, setOptions) || !slices.Contains(m.sets, TemplateOptions) {
				t.Fatalf("message %d: templates without the sampling options", i)
			}
		}
		for _, s := range m.sets {
			if s == TemplateIPv4 || s == TemplateIPv6 {
				data++
			}
		}
	}
	if got := int(seq) - withTemplates; got != len(recs) {
		t.Errorf("data records %d, want %d", got, len(recs))
	}
	if msgs[0].sets[0] != setTemplate {
		t.Errorf("first message does not start with the templates")
	}
	if withTemplates < len(msgs)/32 {
		t.Errorf("templates sent in %d of %d messages, want a refresh every 32", withTemplates, len(msgs))
	}
	last := recs[len(recs)-1].End
	if got := time.Unix(int64(msgs[len(msgs)-1].exportTime), 0); got.Before(last) {
		t.Errorf("last export time %v before the last flow end %v", got, last)
	}
}

func TestMessageSizeTooSmall(t *testing.T) {
	w := NewIPFIXWriterOptions(&bytes.Buffer{}, 1, 1, Options{MaxMessageSize: 100})
	r := testRecords(1)[0]
	if err := w.Write(&r); err == nil {
		t.Fatal("want an error for a 100-byte message limit")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func BenchmarkIPFIXWriter(b *testing.B) {
	recs := testRecords(4096)
	w := NewIPFIXWriter(writerFunc(func(p []byte) (int, error) { return len(p), nil }), 1, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Write(&recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
	_ = w.Flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
