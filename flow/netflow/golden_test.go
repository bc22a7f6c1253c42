package netflow

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenRecord is the JSON form of a decoded record in the golden files.
type goldenRecord struct {
	Start     string `json:"start"`
	End       string `json:"end"`
	Src       string `json:"src"`
	Dst       string `json:"dst"`
	SrcPort   uint16 `json:"sport"`
	DstPort   uint16 `json:"dport"`
	Proto     uint8  `json:"proto"`
	TCPFlags  *uint8 `json:"tcp_flags,omitempty"`
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
	Rate      uint32 `json:"rate"`
	Exporter  string `json:"exporter"`
	Domain    uint32 `json:"domain"`
	Format    string `json:"format"`
	Direction string `json:"direction,omitempty"`
	Biflow    uint8  `json:"biflow,omitempty"`
	Reverse   bool   `json:"reverse,omitempty"`
	Delta     bool   `json:"delta,omitempty"`
}

func toGolden(r *flow.Record) goldenRecord {
	g := goldenRecord{
		Start: r.Start.Format(time.RFC3339Nano), End: r.End.Format(time.RFC3339Nano),
		Src: r.SrcAddr.String(), Dst: r.DstAddr.String(), SrcPort: r.SrcPort, DstPort: r.DstPort,
		Proto: r.Proto, Packets: r.Packets, Bytes: r.Bytes, Rate: r.SamplingRate,
		Exporter: r.Exporter.String(), Domain: r.ObsDomain, Format: r.Format.String(),
		Direction: r.Direction.String(), Biflow: uint8(r.BiflowDirection),
		Reverse: r.Reverse(), Delta: r.Flags&flow.FlagDeltaCounters != 0,
	}
	if r.HasTCPFlags() {
		f := r.TCPFlags
		g.TCPFlags = &f
	}
	return g
}

// replay decodes the UDP datagrams of the captures in order through one
// decoder whose clock is the capture's, then flushes it.
func replay(t testing.TB, cfg Config, paths ...string) ([]flow.Record, Stats) {
	t.Helper()
	var now time.Time
	cfg.Now = func() time.Time { return now }
	d := NewDecoder(cfg)
	var recs []flow.Record
	h := func(r *flow.Record) { recs = append(recs, *r) }
	for _, p := range paths {
		for _, dg := range readDatagrams(t, p) {
			now = dg.ts
			_ = d.Decode(dg.src, TransportUDP, dg.payload, h)
		}
	}
	d.Flush(h)
	return recs, d.Stats()
}

type goldenCase struct {
	name  string
	files []string // under flows/ipfix-netflow
	// Expected counts: data records (a biflow counts once), records emitted
	// (with reverse records), options records, sets never decoded.
	data, emitted, options, undecodable int
	// rates counts emitted records per sampling rate, when checked.
	rates map[uint32]int
}

func akv(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "akvorado/" + n + ".pcap"
	}
	return out
}

var goldenCases = []goldenCase{
	{name: "pmacct-100", files: []string{"pmacct-100-ipfix-cisco.pcap"}, data: 12, emitted: 12, rates: map[uint32]int{0: 12}},
	{name: "pmacct-101", files: []string{"pmacct-101-nfv9-cisco-cust-primitives.pcap"}, data: 51, emitted: 51, rates: map[uint32]int{0: 51}},
	{name: "pmacct-102", files: []string{"pmacct-102-nfv9-cisco-f2rd-pretag-sampling.pcap"}, data: 35, emitted: 35},
	{name: "pmacct-104", files: []string{"pmacct-104-ipfix-ipv6-cisco-sampling-option.pcap"}, data: 3, emitted: 3, options: 1, rates: map[uint32]int{256: 3}},
	{name: "pmacct-110", files: []string{
		"pmacct-110-ipfix-nfv9-multiple-sources-00.pcap",
		"pmacct-110-ipfix-nfv9-multiple-sources-01.pcap",
		"pmacct-110-ipfix-nfv9-multiple-sources-02.pcap",
	}, data: 98, emitted: 98},
	{name: "pmacct-111-00", files: []string{"pmacct-111-ipfix-nfv9-ipv6-ipv4-mix-00.pcap"}, data: 11, emitted: 11},
	{name: "pmacct-111-01", files: []string{"pmacct-111-ipfix-nfv9-ipv6-ipv4-mix-01.pcap"}, data: 13, emitted: 13, rates: map[uint32]int{0: 13}},
	{name: "pmacct-400", files: []string{"pmacct-400-ipfix-bmp-cisco-srv6-00.pcap"}, data: 657, emitted: 657, options: 338},

	// akvorado captures, one at a time: a data capture alone has no template.
	{name: "akvorado-data+templates", files: akv("data+templates"), data: 21, emitted: 21, options: 1, rates: map[uint32]int{100: 21}},
	{name: "akvorado-data", files: akv("data"), undecodable: 1},
	{name: "akvorado-template", files: akv("template")},
	{name: "akvorado-options-template", files: akv("options-template")},
	{name: "akvorado-options-data", files: akv("options-data"), undecodable: 1},
	{name: "akvorado-icmp-template", files: akv("icmp-template"), data: 2, emitted: 2},
	{name: "akvorado-icmp-data", files: akv("icmp-data"), undecodable: 1},
	{name: "akvorado-mpls", files: akv("mpls"), data: 2, emitted: 2, options: 1, rates: map[uint32]int{10: 2}},
	{name: "akvorado-physicalinterfaces", files: akv("physicalinterfaces"), data: 8, emitted: 8, options: 1, rates: map[uint32]int{1000: 8}},
	{name: "akvorado-nat", files: akv("nat"), data: 9, emitted: 9},
	{name: "akvorado-nfv5", files: akv("nfv5"), data: 29, emitted: 29, rates: map[uint32]int{1: 29}},
	{name: "akvorado-ipfixprobe-templates", files: akv("ipfixprobe-templates")},
	{name: "akvorado-ipfixprobe-data", files: akv("ipfixprobe-data"), undecodable: 1},
	{name: "akvorado-datalink-template", files: akv("datalink-template")},
	{name: "akvorado-datalink-data", files: akv("datalink-data"), undecodable: 1},
	{name: "akvorado-ipfix-srv6-template", files: akv("ipfix-srv6-template")},
	{name: "akvorado-ipfix-srv6-data", files: akv("ipfix-srv6-data"), undecodable: 1},
	{name: "akvorado-juniper-cpid-template", files: akv("juniper-cpid-template")},
	{name: "akvorado-juniper-cpid-data", files: akv("juniper-cpid-data"), undecodable: 1},
	{name: "akvorado-eompls-template", files: akv("ethernet-over-mpls-with-control-word-template")},
	{name: "akvorado-eompls-data", files: akv("ethernet-over-mpls-with-control-word-data"), undecodable: 1},
	{name: "akvorado-multiplesamplingrates-options-template", files: akv("multiplesamplingrates-options-template")},
	{name: "akvorado-multiplesamplingrates-options-data", files: akv("multiplesamplingrates-options-data"), undecodable: 1},
	{name: "akvorado-multiplesamplingrates-template", files: akv("multiplesamplingrates-template")},
	{name: "akvorado-multiplesamplingrates-data", files: akv("multiplesamplingrates-data"), undecodable: 1},
	{name: "akvorado-samplingrate-template", files: akv("samplingrate-template")},
	{name: "akvorado-samplingrate-data", files: akv("samplingrate-data"), undecodable: 1},

	// akvorado sequences, in the order of its tests.
	{name: "seq-v9-sampler", files: akv("options-template", "options-data", "template", "data"),
		data: 4, emitted: 4, options: 4, rates: map[uint32]int{30000: 4}},
	{name: "seq-icmp", files: akv("icmp-template", "icmp-data"), data: 4, emitted: 4},
	{name: "seq-multiplesamplingrates", files: akv("multiplesamplingrates-options-template", "multiplesamplingrates-options-data",
		"multiplesamplingrates-template", "multiplesamplingrates-data"),
		data: 12, emitted: 12, options: 2, rates: map[uint32]int{2000: 11, 4000: 1}},
	{name: "seq-samplingrate", files: akv("samplingrate-template", "samplingrate-data"), data: 6, emitted: 6, rates: map[uint32]int{2048: 6}},
	{name: "seq-ipfixprobe", files: akv("ipfixprobe-templates", "ipfixprobe-data"), data: 4, emitted: 6},
	{name: "seq-datalink", files: akv("datalink-template", "datalink-data"), data: 1, emitted: 1},
	{name: "seq-ipfix-srv6", files: akv("ipfix-srv6-template", "ipfix-srv6-data"), data: 1, emitted: 1},
	{name: "seq-juniper-cpid", files: akv("juniper-cpid-template", "juniper-cpid-data"), data: 1, emitted: 1},
	{name: "seq-eompls", files: akv("ethernet-over-mpls-with-control-word-template", "ethernet-over-mpls-with-control-word-data"),
		data: 10, emitted: 10},
}

// TestGolden decodes every capture under flows/ and the akvorado sequences,
// checks the record counts that tshark and the upstream tests give, and
// compares the records with testdata/golden/<case>.jsonl.
func TestGolden(t *testing.T) {
	base := testenv.SharedData(t, "flows", "ipfix-netflow")
	covered := map[string]bool{}
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for _, f := range tc.files {
				paths = append(paths, filepath.Join(base, f))
				covered[f] = true
			}
			recs, st := replay(t, Config{}, paths...)
			tot := st.Totals()
			got := []int{int(tot.DataRecords), len(recs), int(tot.OptionsRecords), int(tot.UndecodableSets)}
			want := []int{tc.data, tc.emitted, tc.options, tc.undecodable}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("data, emitted, options, undecodable (-want +got):\n%s\n%s", diff, st)
			}
			for k, v := range tot.Errors {
				if k != rNoTemplate.String() && k != rNoSysInit.String() {
					t.Errorf("error %q = %d\n%s", k, v, st)
				}
			}
			if tc.rates != nil {
				rates := map[uint32]int{}
				for _, r := range recs {
					rates[r.SamplingRate]++
				}
				if diff := cmp.Diff(tc.rates, rates); diff != "" {
					t.Errorf("records per sampling rate (-want +got):\n%s", diff)
				}
			}
			checkGolden(t, tc.name, recs, st)
		})
	}
	// Every capture in the folder must be covered by a case.
	all, _ := filepath.Glob(filepath.Join(base, "*.pcap"))
	more, _ := filepath.Glob(filepath.Join(base, "akvorado", "*.pcap"))
	for _, p := range append(all, more...) {
		rel, _ := filepath.Rel(base, p)
		if !covered[rel] {
			t.Errorf("capture %s has no golden case", rel)
		}
	}
}

func checkGolden(t *testing.T, name string, recs []flow.Record, st Stats) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range recs {
		if err := enc.Encode(toGolden(&recs[i])); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join("testdata", "golden", name+".jsonl")
	statsPath := filepath.Join("testdata", "golden", name+".stats.txt")
	if strings.HasPrefix(name, "akvorado") {
		// AGPL captures: only a digest of what we decode from them is kept.
		testenv.DigestGolden(t, path+".sha256", append(buf.Bytes(), st.String()...), *update)
		return
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(statsPath, []byte(st.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(lines(want), lines(buf.Bytes())); diff != "" {
		t.Errorf("records differ from %s (-want +got):\n%s", path, diff)
	}
	wantStats, err := os.ReadFile(statsPath)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(wantStats), st.String()); diff != "" {
		t.Errorf("stats differ from %s (-want +got):\n%s", statsPath, diff)
	}
}

func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestNFv5FirstRecord checks the first NetFlow v5 record field by field
// against the values tshark shows.
func TestNFv5FirstRecord(t *testing.T) {
	recs, _ := replay(t, Config{}, testenv.SharedData(t, "flows", "ipfix-netflow", "akvorado", "nfv5.pcap"))
	if len(recs) != 29 {
		t.Fatalf("got %d records, want 29", len(recs))
	}
	r := recs[0]
	got := fmt.Sprintf("%s:%d > %s:%d proto %d pkts %d bytes %d flags %#x rate %d format %s exporter %s",
		r.SrcAddr, r.SrcPort, r.DstAddr, r.DstPort, r.Proto, r.Packets, r.Bytes, r.TCPFlags, r.SamplingRate, r.Format, r.Exporter)
	want := "161.202.212.212:30104 > 202.152.70.24:11963 proto 6 pkts 1 bytes 133 flags 0x18 rate 1 format netflow-v5 exporter 10.19.144.41"
	if got != want {
		t.Errorf("first record\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(r.Start.String(), "UTC") || r.End.Before(r.Start) {
		t.Errorf("times %v .. %v", r.Start, r.End)
	}
}
