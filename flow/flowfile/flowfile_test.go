package flowfile_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
	"github.com/vigil-ids/vigil/flow/pcap"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// ipfixMessage builds a minimal IPFIX message with one template set.
func ipfixMessage() []byte {
	m := make([]byte, 16, 32)
	binary.BigEndian.PutUint16(m[0:], 10)
	binary.BigEndian.PutUint32(m[4:], 1772600000)
	binary.BigEndian.PutUint32(m[12:], 7)
	// Template set: template 256 with one field (IE 8, 4 bytes).
	m = binary.BigEndian.AppendUint16(m, 2)
	m = binary.BigEndian.AppendUint16(m, 12)
	m = binary.BigEndian.AppendUint16(m, 256)
	m = binary.BigEndian.AppendUint16(m, 1)
	m = binary.BigEndian.AppendUint16(m, 8)
	m = binary.BigEndian.AppendUint16(m, 4)
	binary.BigEndian.PutUint16(m[2:], uint16(len(m)))
	return m
}

func TestDetect(t *testing.T) {
	msg := ipfixMessage()
	badSet := bytes.Clone(msg)
	binary.BigEndian.PutUint16(badSet[16:], 7) // reserved set id
	vnet, _ := os.ReadFile("../flowlog/testdata/azure-vnet-v4.json")
	nsg, _ := os.ReadFile("../flowlog/testdata/azure-nsg-v2.json")
	vpc, _ := os.ReadFile("../flowlog/testdata/vpc-custom-v5.log")
	tests := []struct {
		name string
		head []byte
		want flowfile.Kind
	}{
		{"pcap little-endian", []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}, flowfile.KindPcap},
		{"pcap nanosecond big-endian", []byte{0xa1, 0xb2, 0x3c, 0x4d, 0, 2}, flowfile.KindPcap},
		{"pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0}, flowfile.KindPcap},
		{"ipfix file, one message", msg, flowfile.KindIPFIXFile},
		{"ipfix file, three messages", bytes.Repeat(msg, 3), flowfile.KindIPFIXFile},
		{"ipfix file, cut in the second message", append(bytes.Clone(msg), msg[:9]...), flowfile.KindIPFIXFile},
		{"ipfix with a reserved set id", badSet, flowfile.KindUnknown},
		{"ipfix followed by junk", append(bytes.Clone(msg), "hello world, not ipfix"...), flowfile.KindUnknown},
		{"azure nsg", nsg, flowfile.KindAzureFlowLog},
		{"azure vnet", vnet, flowfile.KindAzureFlowLog},
		{"azure activity log", []byte(`{"records":[{"time":"2019-10-24T00:13:46.3554259Z","operationName":"MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/LISTKEYS/ACTION","category":"Administrative"}]}`), flowfile.KindUnknown},
		{"aws vpc custom", vpc, flowfile.KindAWSVPC},
		{"cloudtrail", []byte(`{"Records":[{"eventVersion":"1.08","eventSource":"iam.amazonaws.com"}]}`), flowfile.KindUnknown},
		{"text", []byte("hello\n"), flowfile.KindUnknown},
		{"empty", nil, flowfile.KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flowfile.Detect(tt.head); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzDetect(f *testing.F) {
	f.Add(ipfixMessage())
	f.Add([]byte(`{"records":[{"category":"NetworkSecurityGroupFlowEvent"}]}`))
	f.Add([]byte("version srcaddr dstaddr\n"))
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	f.Fuzz(func(t *testing.T, head []byte) {
		k := flowfile.Detect(head)
		if k == flowfile.KindUnknown {
			return
		}
		// Whatever is detected must be read without panicking.
		_, _ = flowfile.Read(bytes.NewReader(head), "fuzz", flowfile.Options{}, func(*flow.Record) {})
	})
}

func readAll(t *testing.T, r io.Reader, name string) ([]byte, flowfile.Summary) {
	t.Helper()
	var out []byte
	sum, err := flowfile.Read(r, name, flowfile.Options{}, func(r *flow.Record) {
		out = flowfile.AppendJSON(out, r)
		out = append(out, '\n')
	})
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return out, sum
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCloudLogs reads the flow log test files through flowfile, plain and
// gzipped, and checks they agree and that the JSON is well formed.
func TestCloudLogs(t *testing.T) {
	paths, _ := filepath.Glob("../flowlog/testdata/*")
	n := 0
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.IsDir() || filepath.Ext(p) == ".jsonl" {
			continue
		}
		n++
		t.Run(filepath.Base(p), func(t *testing.T) {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			plain, s1 := readAll(t, bytes.NewReader(raw), p)
			zipped, s2 := readAll(t, bytes.NewReader(gz(t, raw)), p+".gz")
			if !bytes.Equal(plain, zipped) || len(plain) == 0 {
				t.Errorf("gzip changes the output, or no records:\n%s\n%s", plain, zipped)
			}
			if d := cmp.Diff(s1, s2); d != "" {
				t.Errorf("summaries differ:\n%s", d)
			}
			for _, line := range bytes.Split(bytes.TrimSpace(plain), []byte("\n")) {
				var m map[string]any
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("invalid JSON %s: %v", line, err)
				}
				if len(m) != 20 {
					t.Errorf("%d fields in %s", len(m), line)
				}
			}
			if s1.Malformed() == 0 && !strings.Contains(p, "noheader") {
				t.Errorf("the test files hold malformed entries; summary shows none:\n%s", s1.String())
			}
		})
	}
	if n != 6 {
		t.Errorf("found %d flow log test files", n)
	}
}

func TestUnknownAndCorrupt(t *testing.T) {
	_, err := flowfile.Read(bytes.NewReader([]byte(`{"records":[{"category":"Administrative"}]}`)), "activity.json", flowfile.Options{}, func(*flow.Record) {})
	if !errors.Is(err, flowfile.ErrUnknownFormat) {
		t.Errorf("activity log: err = %v, want ErrUnknownFormat", err)
	}
	msg := ipfixMessage()
	bad := append(bytes.Clone(msg), msg...)
	binary.BigEndian.PutUint16(bad[len(msg)+2:], 3) // second message claims 3 bytes
	_, err = flowfile.Read(bytes.NewReader(bad[:len(msg)+16]), "bad.ipfix", flowfile.Options{}, func(*flow.Record) {})
	if !errors.Is(err, flowfile.ErrCorrupt) {
		t.Errorf("lying IPFIX length: err = %v, want ErrCorrupt", err)
	}
	zipped := gz(t, []byte("version srcaddr dstaddr\n"))
	zipped[len(zipped)-5] ^= 0xff // break the CRC
	if _, err = flowfile.Read(bytes.NewReader(zipped), "bad.gz", flowfile.Options{}, func(*flow.Record) {}); err == nil {
		t.Errorf("corrupt gzip read without error")
	}
	if _, err := flowfile.ReadFile("testdata/does-not-exist", flowfile.Options{}, func(*flow.Record) {}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestCaptureMeter reads the SSH brute-force captures: no NetFlow in
// them, so every packet is metered into flows.
func TestCaptureMeter(t *testing.T) {
	server := netip.MustParseAddr("240.125.0.2")
	for _, c := range []struct {
		file  string
		conns int
	}{
		{"hydra-1_tasks.pcap", 61},
		{"hydra-4_tasks.pcap", 243},
		{"medusa-1_tasks.pcap", 196},
		{"ncrack-polite.pcap", 203},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := testenv.SharedData(t, "pcap", "ssh-bruteforce", c.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			conns := 0
			// Gzipped in memory: detection is by content, not by name.
			sum, err := flowfile.Read(bytes.NewReader(gz(t, raw)), c.file, flowfile.Options{}, func(r *flow.Record) {
				if r.DstAddr == server && r.DstPort == 22 && r.TCPFlags&flow.TCPSyn != 0 && !r.Reverse() {
					conns++
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if conns != c.conns {
				t.Errorf("%d connections, want %d", conns, c.conns)
			}
			if f := sum.Formats["packet"]; f == nil || f.Records != uint64(2*c.conns) {
				t.Errorf("summary:\n%s", sum.String())
			}
			if sum.Malformed() != 0 {
				t.Errorf("malformed input in a clean capture:\n%s", sum.String())
			}
		})
	}
}

// udpPayloads extracts the UDP payloads of a capture, to build an IPFIX
// file (RFC 5655) from the messages a real exporter sent.
func udpPayloads(t *testing.T, path string) [][]byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f, pcap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var p pcap.Packet
	for r.Next(&p) == nil {
		if p.Proto == flow.ProtoUDP {
			out = append(out, bytes.Clone(p.Payload))
		}
	}
	return out
}

// TestCorruptCaptureKeepsMeteredFlows appends an Enhanced Packet Block
// naming an interface the capture never described to a real pcapng
// capture: the framing error is reported, and the connections metered
// before it still reach the handler instead of being lost with the meter.
func TestCorruptCaptureKeepsMeteredFlows(t *testing.T) {
	raw, err := os.ReadFile(testenv.SharedData(t, "pcap", "ssh-bruteforce", "hydra-1_tasks.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(raw) != 0x0a0d0d0a || binary.LittleEndian.Uint32(raw[8:]) != 0x1a2b3c4d {
		t.Fatal("the test expects a little-endian pcapng capture")
	}
	epb := make([]byte, 32)
	binary.LittleEndian.PutUint32(epb[0:], 6)   // Enhanced Packet Block
	binary.LittleEndian.PutUint32(epb[4:], 32)  // total length
	binary.LittleEndian.PutUint32(epb[8:], 99)  // interface id
	binary.LittleEndian.PutUint32(epb[28:], 32) // total length again
	raw = append(raw, epb...)
	server := netip.MustParseAddr("240.125.0.2")
	conns := 0
	_, err = flowfile.Read(bytes.NewReader(raw), "corrupt.pcap", flowfile.Options{}, func(r *flow.Record) {
		if r.DstAddr == server && r.DstPort == 22 && r.TCPFlags&flow.TCPSyn != 0 && !r.Reverse() {
			conns++
		}
	})
	if !errors.Is(err, pcap.ErrCorrupt) {
		t.Errorf("err = %v, want pcap.ErrCorrupt", err)
	}
	if conns != 61 {
		t.Errorf("%d connections before the broken record, want 61", conns)
	}
}

// FuzzAppendJSON checks that a record with any account name (VPC and
// Azure logs carry it from the file) prints as one valid JSON object whose
// account reads back as the name, made valid UTF-8.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "123456789012", `a"b\c`, "\x00\x1f\x7f", "\xff\xfe", "é\u2028"} {
		f.Add(s, uint8('E'))
	}
	f.Fuzz(func(t *testing.T, account string, state uint8) {
		r := flow.Record{Account: account, FlowState: state, SrcAddr: netip.MustParseAddr("2001:db8::1")}
		line := flowfile.AppendJSON(nil, &r)
		var got struct {
			Account string `json:"account"`
			Src     string `json:"src"`
		}
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if want := strings.ToValidUTF8(account, "\uFFFD"); got.Account != want || got.Src != "2001:db8::1" {
			t.Errorf("read back %+v from %q, want account %q", got, line, want)
		}
	})
}
