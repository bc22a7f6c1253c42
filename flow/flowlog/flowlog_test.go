package flowlog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowlog"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden is the JSON form of a record in the golden files.
type golden struct {
	Start, End      string
	Src, Dst        string
	SPort, DPort    uint16
	Proto, TCPFlags uint8
	HasTCPFlags     bool `json:",omitempty"`
	Packets, Bytes  uint64
	SamplingRate    uint32
	Direction       string `json:",omitempty"`
	Biflow          flow.BiflowDirection
	Format          string
	Action          string `json:",omitempty"`
	FlowState       string `json:",omitempty"`
	Account         string `json:",omitempty"`
	Reverse         bool   `json:",omitempty"`
}

func toGolden(r *flow.Record) golden {
	g := golden{
		Start: r.Start.Format(time.RFC3339Nano), End: r.End.Format(time.RFC3339Nano),
		Src: r.SrcAddr.String(), Dst: r.DstAddr.String(), SPort: r.SrcPort, DPort: r.DstPort,
		Proto: r.Proto, TCPFlags: r.TCPFlags, HasTCPFlags: r.HasTCPFlags(),
		Packets: r.Packets, Bytes: r.Bytes, SamplingRate: r.SamplingRate,
		Direction: r.Direction.String(), Biflow: r.BiflowDirection, Format: r.Format.String(),
		Action: r.Action.String(), Account: r.Account, Reverse: r.Reverse(),
	}
	if r.FlowState != 0 {
		g.FlowState = string(r.FlowState)
	}
	return g
}

func render(t *testing.T, read func(io.Reader, flow.Handler) (flowlog.Stats, error), path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	st, err := read(f, func(r *flow.Record) {
		if err := enc.Encode(toGolden(r)); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := enc.Encode(st); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		read func(io.Reader, flow.Handler) (flowlog.Stats, error)
		want flowlog.Stats
	}{
		{"azure-nsg-v2.json", flowlog.ReadAzure, flowlog.Stats{
			Entries: 15, Records: 13,
			Malformed: map[string]uint64{
				flowlog.ReasonAddress: 1, flowlog.ReasonState: 1, flowlog.ReasonFieldCount: 1,
				flowlog.ReasonCounter: 1, flowlog.ReasonPort: 1, flowlog.ReasonProtocol: 1,
				flowlog.ReasonRecord: 2,
			},
		}},
		{"azure-nsg-v1.json", flowlog.ReadAzure, flowlog.Stats{
			Entries: 5, Records: 3,
			Malformed: map[string]uint64{flowlog.ReasonFieldCount: 1, flowlog.ReasonDirection: 1},
		}},
		{"azure-vnet-v4.json", flowlog.ReadAzure, flowlog.Stats{
			Entries: 10, Records: 11,
			Malformed: map[string]uint64{flowlog.ReasonState: 1, flowlog.ReasonProtocol: 1, flowlog.ReasonFieldCount: 1},
		}},
		{"vpc-default-v2.log", flowlog.ReadVPC, flowlog.Stats{
			Entries: 13, Records: 6,
			Skipped: map[string]uint64{"NODATA": 1, "SKIPDATA": 1},
			Malformed: map[string]uint64{
				flowlog.ReasonFieldCount: 1, flowlog.ReasonAddress: 1, flowlog.ReasonAction: 1,
				flowlog.ReasonTime: 1, flowlog.ReasonLogStatus: 1,
			},
		}},
		{"vpc-noheader.log", flowlog.ReadVPC, flowlog.Stats{
			Entries: 3, Records: 2, Skipped: map[string]uint64{"NODATA": 1},
		}},
		{"vpc-custom-v5.log", flowlog.ReadVPC, flowlog.Stats{
			Entries: 7, Records: 4, Skipped: map[string]uint64{"NODATA": 1},
			Malformed: map[string]uint64{flowlog.ReasonTCPFlags: 1, flowlog.ReasonDirection: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			got := render(t, tt.read, path)
			gold := path + ".golden.jsonl"
			if *update {
				if err := os.WriteFile(gold, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gold)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", gold, d)
			}
			// The counts are asserted here too, so that -update cannot
			// quietly bless a regression.
			f, _ := os.Open(path)
			defer f.Close()
			st, err := tt.read(f, func(*flow.Record) {})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, st); d != "" {
				t.Errorf("stats (-want +got):\n%s", d)
			}
		})
	}
}

func TestRecordFields(t *testing.T) {
	// Spot checks of the mapping, independent of the golden files.
	var recs []flow.Record
	collect := func(r *flow.Record) { recs = append(recs, *r) }

	f, _ := os.Open("testdata/azure-nsg-v2.json")
	defer f.Close()
	if _, err := flowlog.ReadAzure(f, collect); err != nil {
		t.Fatal(err)
	}
	// "1772442035,192.0.2.10,10.1.0.4,61000,443,T,I,A,C,12,1980,10,14820"
	var fwd, rev *flow.Record
	for i := range recs {
		if recs[i].FlowState == 'C' {
			if recs[i].Reverse() {
				rev = &recs[i]
			} else {
				fwd = &recs[i]
			}
		}
	}
	if fwd == nil || rev == nil {
		t.Fatalf("continuation tuple not found in %d records", len(recs))
	}
	if fwd.SrcAddr.String() != "192.0.2.10" || fwd.DstPort != 443 || fwd.Packets != 12 || fwd.Bytes != 1980 ||
		fwd.Direction != flow.DirectionIngress || fwd.Action != flow.ActionAllow || fwd.SamplingRate != 1 ||
		fwd.Account != "3f2a9c1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7" || fwd.Start.Unix() != 1772442035 {
		t.Errorf("forward record %+v", *fwd)
	}
	if rev.SrcAddr.String() != "10.1.0.4" || rev.SrcPort != 443 || rev.DstPort != 61000 || rev.Packets != 10 ||
		rev.Bytes != 14820 || rev.BiflowDirection != flow.BiflowReverseInitiator {
		t.Errorf("reverse record %+v", *rev)
	}

	recs = nil
	vpc := "version account-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction pkt-srcaddr\n" +
		"5 999988887777 10.0.0.1 10.0.0.2 1 2 6 3 120 100 160 REJECT OK 2 ingress 192.0.2.99\n"
	if _, err := flowlog.ReadVPC(strings.NewReader(vpc), collect); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	r := recs[0]
	if r.SrcAddr.String() != "192.0.2.99" || r.Action != flow.ActionDeny || r.Direction != flow.DirectionIngress ||
		r.TCPFlags != flow.TCPSyn || !r.HasTCPFlags() || r.Account != "999988887777" || r.End.Sub(r.Start) != time.Minute {
		t.Errorf("vpc record %+v", r)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, in := range []string{`{"records":[{"time":"x"`, `[1,2]`, `{"records":{}}`, `not json`} {
		_, err := flowlog.ReadAzure(strings.NewReader(in), func(*flow.Record) {})
		if !errors.Is(err, flowlog.ErrSyntax) {
			t.Errorf("ReadAzure(%q) = %v, want ErrSyntax", in, err)
		}
	}
	if _, err := flowlog.ReadVPC(strings.NewReader("hello world\n"), func(*flow.Record) {}); !errors.Is(err, flowlog.ErrSyntax) {
		t.Errorf("ReadVPC(garbage) = %v, want ErrSyntax", err)
	}
}

func TestDetection(t *testing.T) {
	for _, tt := range []struct {
		head      string
		azure, vp bool
	}{
		{`{"records":[{"category":"NetworkSecurityGroupFlowEvent"`, true, false},
		{"\xef\xbb\xbf {\n \"records\": [ {\"flowLogVersion\": 4", true, false},
		{`{"records":[{"operationName":"MICROSOFT.KEYVAULT/VAULTS/WRITE","category":"Administrative"}]}`, false, false},
		{`{"flowTuples":["x"]}`, false, false},
		{"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n", false, true},
		{"2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n", false, true},
		{"version vpc-id subnet-id\n", false, false},
		{"2 unrelated text\n", false, false},
	} {
		if got := flowlog.IsAzureFlowLog([]byte(tt.head)); got != tt.azure {
			t.Errorf("IsAzureFlowLog(%q) = %v", tt.head, got)
		}
		if got := flowlog.IsVPC([]byte(tt.head)); got != tt.vp {
			t.Errorf("IsVPC(%q) = %v", tt.head, got)
		}
	}
}

func fuzzSeeds(f *testing.F, glob string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", glob))
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.jsonl") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzAzureFlowLog(f *testing.F) {
	fuzzSeeds(f, "azure-*")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _ := flowlog.ReadAzure(bytes.NewReader(data), func(r *flow.Record) {
			if r.SamplingRate != 1 || !r.SrcAddr.IsValid() || !r.DstAddr.IsValid() {
				t.Fatalf("bad record %+v", *r)
			}
		})
		if st.Records > 2*st.Entries {
			t.Fatalf("%d records from %d tuples", st.Records, st.Entries)
		}
	})
}

func FuzzVPC(f *testing.F) {
	fuzzSeeds(f, "vpc-*")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _ := flowlog.ReadVPC(bytes.NewReader(data), func(r *flow.Record) {
			if r.SamplingRate != 1 || !r.SrcAddr.IsValid() || r.End.Before(r.Start) {
				t.Fatalf("bad record %+v", *r)
			}
		})
		if st.Records > st.Entries {
			t.Fatalf("%d records from %d lines", st.Records, st.Entries)
		}
	})
}

// benchAzure builds a realistic NSG v2 blob: one record per minute, each
// with a few rules and 40 tuples.
func benchAzure(records int) ([]byte, int) {
	var b bytes.Buffer
	b.WriteString(`{"records":[`)
	tuples := 0
	for i := range records {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"time":"2026-03-02T09:%02d:41.2817396Z","systemId":"5b2f0c1e-7d3a-4c8e-9f10-2a6b7c8d9e01","macAddress":"000D3A1B2C3D","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/3F2A9C1E-5B7D-4E8F-A0B1-C2D3E4F5A6B7/RESOURCEGROUPS/PROD-WEB-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-VM01-NSG","operationName":"NetworkSecurityGroupFlowEvents","properties":{"Version":2,"flows":[`, i%60)
		for rule := range 4 {
			if rule > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"rule":"UserRule_%d","flows":[{"mac":"000D3A1B2C3D","flowTuples":[`, rule)
			for j := range 10 {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"%d,198.51.100.%d,10.1.0.4,%d,443,T,I,A,C,%d,%d,%d,%d"`, 1772442000+i*60+j, j+1, 40000+j, j+3, 1500*j+60, j+2, 9000*j+60)
				tuples++
			}
			b.WriteString(`]}]}`)
		}
		b.WriteString(`]}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes(), tuples
}

func BenchmarkAzureNSG(b *testing.B) {
	data, tuples := benchAzure(100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	recs := 0
	for b.Loop() {
		st, err := flowlog.ReadAzure(bytes.NewReader(data), func(*flow.Record) {})
		if err != nil || st.Entries != uint64(tuples) {
			b.Fatalf("%v %+v", err, st)
		}
		recs += int(st.Records)
	}
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkVPC(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	const lines = 10000
	for i := range lines {
		fmt.Fprintf(&buf, "2 123456789012 eni-0a1b2c3d4e5f60718 10.0.%d.%d 203.0.113.%d %d 443 6 %d %d 1772600000 1772600060 ACCEPT OK\n",
			i/250%250, i%250+1, i%200+1, 32768+i%20000, i%50+1, 1500*(i%50+1))
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	recs := 0
	for b.Loop() {
		st, err := flowlog.ReadVPC(bytes.NewReader(data), func(*flow.Record) {})
		if err != nil || st.Records != lines {
			b.Fatalf("%v %+v", err, st)
		}
		recs += int(st.Records)
	}
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
}

// TestVPCAllocationsDoNotGrowWithRecords reads IPv4 and IPv6 logs of two
// sizes: the allocations (scanner buffer, counters) are the same, so the
// per-record path makes none.
func TestVPCAllocationsDoNotGrowWithRecords(t *testing.T) {
	for _, c := range []struct{ name, src, dst string }{
		{"ipv4", "10.0.%d.%d", "203.0.113.7"},
		{"ipv6", "2001:db8:%x::%x", "2001:db8:ffff::7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			allocs := func(lines int) float64 {
				var buf bytes.Buffer
				buf.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
				for i := range lines {
					fmt.Fprintf(&buf, "2 123456789012 eni-0a1b2c3d4e5f60718 "+c.src+" "+c.dst+" %d 443 6 3 180 1772600000 1772600060 ACCEPT OK\n", i/250, i%250+1, 32768+i)
				}
				data := buf.Bytes()
				return testing.AllocsPerRun(5, func() {
					st, err := flowlog.ReadVPC(bytes.NewReader(data), func(*flow.Record) {})
					if err != nil || st.Records != uint64(lines) {
						t.Fatalf("%v %+v", err, st)
					}
				})
			}
			if few, many := allocs(100), allocs(5000); many > few {
				t.Errorf("%v allocations for 5000 records, %v for 100", many, few)
			}
		})
	}
}

// TestVPCLineTooLong puts a line longer than any record between two
// records: it is counted, and the reader resynchronises at the next line.
func TestVPCLineTooLong(t *testing.T) {
	rec := "2 123456789012 eni-0a1b2c3d4e5f60718 10.0.0.1 203.0.113.7 40000 443 6 3 180 1772600000 1772600060 ACCEPT OK\n"
	in := rec + "2 " + strings.Repeat("x", 200<<10) + "\n" + rec
	n := 0
	st, err := flowlog.ReadVPC(strings.NewReader(in), func(*flow.Record) { n++ })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]uint64{flowlog.ReasonLineLength: 1}, st.Malformed); diff != "" {
		t.Errorf("malformed (-want +got):\n%s", diff)
	}
	if n != 2 || st.Records != 2 || st.Entries != 3 {
		t.Errorf("%d records handled, stats %+v; want 2 of 3 entries", n, st)
	}
}

// TestVPCHeaderResetsAccount concatenates a file with account-id and one
// without: the records of the second carry no account.
func TestVPCHeaderResetsAccount(t *testing.T) {
	in := "version account-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 123456789012 10.0.0.1 203.0.113.7 40000 443 6 3 180 1772600000 1772600060 ACCEPT OK\n" +
		"version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 10.0.0.2 203.0.113.7 40001 443 6 3 180 1772600000 1772600060 ACCEPT OK\n"
	var got []string
	if _, err := flowlog.ReadVPC(strings.NewReader(in), func(r *flow.Record) { got = append(got, r.Account) }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"123456789012", ""}, got); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
}
