package flowfile_test

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// expect is what the data set's README says a reader must get from one
// file read alone: data records per exporter, in one format.
type expect struct {
	exporter string
	format   string
	records  uint64
}

// sharedFlows lists every file under ../shared/data/flows with the counts
// its README gives (tshark's, and for data+templates.pcap tshark's two-pass
// figure, which the decoder's buffering of early data sets reproduces).
var sharedFlows = map[string]expect{
	"pmacct-100-ipfix-cisco.pcap":                                 {"138.187.0.13", "ipfix", 12},
	"pmacct-101-nfv9-cisco-cust-primitives.pcap":                  {"138.187.57.55", "netflow-v9", 51},
	"pmacct-102-nfv9-cisco-f2rd-pretag-sampling.pcap":             {"10.10.0.33", "netflow-v9", 35},
	"pmacct-104-ipfix-ipv6-cisco-sampling-option.pcap":            {"2a02:a90:4007:700::54", "ipfix", 3},
	"pmacct-110-ipfix-nfv9-multiple-sources-00.pcap":              {"138.187.0.13", "ipfix", 12},
	"pmacct-110-ipfix-nfv9-multiple-sources-01.pcap":              {"138.187.57.55", "netflow-v9", 51},
	"pmacct-110-ipfix-nfv9-multiple-sources-02.pcap":              {"10.10.0.33", "netflow-v9", 35},
	"pmacct-111-ipfix-nfv9-ipv6-ipv4-mix-00.pcap":                 {"138.187.57.55", "netflow-v9", 11},
	"pmacct-111-ipfix-nfv9-ipv6-ipv4-mix-01.pcap":                 {"2001:4d98:a100:303:0:931:f:1", "ipfix", 13},
	"pmacct-400-ipfix-bmp-cisco-srv6-00.pcap":                     {"203.0.113.90", "ipfix", 657},
	"akvorado/options-template.pcap":                              {"192.0.2.100", "netflow-v9", 0},
	"akvorado/options-data.pcap":                                  {"192.0.2.100", "netflow-v9", 0},
	"akvorado/template.pcap":                                      {"192.0.2.100", "netflow-v9", 0},
	"akvorado/data.pcap":                                          {"192.0.2.100", "netflow-v9", 0},
	"akvorado/data+templates.pcap":                                {"102.102.144.1", "netflow-v9", 21},
	"akvorado/icmp-template.pcap":                                 {"192.168.117.35", "netflow-v9", 2},
	"akvorado/icmp-data.pcap":                                     {"192.168.117.35", "netflow-v9", 0},
	"akvorado/multiplesamplingrates-options-template.pcap":        {"238.0.0.1", "netflow-v9", 0},
	"akvorado/multiplesamplingrates-options-data.pcap":            {"238.0.0.1", "netflow-v9", 0},
	"akvorado/multiplesamplingrates-template.pcap":                {"238.0.0.1", "netflow-v9", 0},
	"akvorado/multiplesamplingrates-data.pcap":                    {"238.0.0.1", "netflow-v9", 0},
	"akvorado/samplingrate-template.pcap":                         {"192.168.0.1", "netflow-v9", 0},
	"akvorado/samplingrate-data.pcap":                             {"192.168.0.1", "netflow-v9", 0},
	"akvorado/mpls.pcap":                                          {"10.127.100.7", "ipfix", 2},
	"akvorado/physicalinterfaces.pcap":                            {"10.4.2.60", "ipfix", 8},
	"akvorado/nat.pcap":                                           {"10.143.52.1", "netflow-v9", 9},
	"akvorado/nfv5.pcap":                                          {"10.19.144.41", "netflow-v5", 29},
	"akvorado/ipfixprobe-templates.pcap":                          {"127.0.0.1", "ipfix", 0},
	"akvorado/ipfixprobe-data.pcap":                               {"127.0.0.1", "ipfix", 0},
	"akvorado/datalink-template.pcap":                             {"49.49.49.49", "ipfix", 0},
	"akvorado/datalink-data.pcap":                                 {"49.49.49.49", "ipfix", 0},
	"akvorado/ipfix-srv6-template.pcap":                           {"10.0.0.15", "ipfix", 0},
	"akvorado/ipfix-srv6-data.pcap":                               {"10.0.0.15", "ipfix", 0},
	"akvorado/juniper-cpid-template.pcap":                         {"10.0.0.15", "ipfix", 0},
	"akvorado/juniper-cpid-data.pcap":                             {"10.0.0.15", "ipfix", 0},
	"akvorado/ethernet-over-mpls-with-control-word-template.pcap": {"192.168.10.11", "ipfix", 0},
	"akvorado/ethernet-over-mpls-with-control-word-data.pcap":     {"192.168.10.11", "ipfix", 0},
}

// sharedOptions lists the options data records of the files that have
// any, from the same README.
var sharedOptions = map[string]uint64{
	"pmacct-104-ipfix-ipv6-cisco-sampling-option.pcap": 1,
	"pmacct-400-ipfix-bmp-cisco-srv6-00.pcap":          338,
	"akvorado/data+templates.pcap":                     1,
	"akvorado/mpls.pcap":                               1,
	"akvorado/physicalinterfaces.pcap":                 1,
}

func TestSharedFlowFiles(t *testing.T) {
	dir := testenv.SharedData(t, "flows", "ipfix-netflow")
	seen := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want, ok := sharedFlows[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("%s: no expectation listed", rel)
			return nil
		}
		seen++
		t.Run(rel, func(t *testing.T) {
			var byExporter = map[string]uint64{}
			sum, err := flowfile.ReadFile(path, flowfile.Options{}, func(r *flow.Record) {
				if r.Format.String() == want.format {
					byExporter[r.Exporter.String()]++
				}
			})
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if got := byExporter[want.exporter]; got != want.records || len(byExporter) > 1 {
				t.Errorf("%s records by exporter %v, want %d from %s\n%s", want.format, byExporter, want.records, want.exporter, sum.String())
			}
			c := sum.Exporters[want.exporter]
			if c == nil || c.Records != want.records || c.Messages == 0 {
				t.Fatalf("summary for %s:\n%s", want.exporter, sum.String())
			}
			if wantOpts := sharedOptions[filepath.ToSlash(rel)]; c.OptionsRecords != wantOpts {
				t.Errorf("%d options records, want %d\n%s", c.OptionsRecords, wantOpts, sum.String())
			}
			if f := sum.Formats[want.format]; f == nil || f.Records != want.records || f.OptionsRecords != sharedOptions[filepath.ToSlash(rel)] {
				t.Errorf("format counts:\n%s", sum.String())
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(sharedFlows) {
		t.Errorf("walked %d files, %d listed", seen, len(sharedFlows))
	}
}

// TestAkvoradoSequences feeds template and data captures to one Reader in
// akvorado's test order; templates carry over from file to file.
func TestAkvoradoSequences(t *testing.T) {
	dir := testenv.SharedData(t, "flows", "ipfix-netflow", "akvorado")
	for _, s := range []struct {
		files            []string
		records, options uint64
		rates            map[uint32]uint64 // sampling rate -> records
	}{
		{[]string{"options-template", "options-data", "template", "data"}, 4, 4, map[uint32]uint64{30000: 4}},
		{[]string{"icmp-template", "icmp-data"}, 4, 0, nil},
		{[]string{"multiplesamplingrates-options-template", "multiplesamplingrates-options-data", "multiplesamplingrates-template", "multiplesamplingrates-data"}, 12, 2, map[uint32]uint64{2000: 11, 4000: 1}},
		{[]string{"samplingrate-template", "samplingrate-data"}, 6, 0, map[uint32]uint64{2048: 6}},
		{[]string{"ipfixprobe-templates", "ipfixprobe-data"}, 6, 0, nil},
		{[]string{"datalink-template", "datalink-data"}, 1, 0, nil},
		{[]string{"ipfix-srv6-template", "ipfix-srv6-data"}, 1, 0, nil},
		{[]string{"juniper-cpid-template", "juniper-cpid-data"}, 1, 0, nil},
		{[]string{"ethernet-over-mpls-with-control-word-template", "ethernet-over-mpls-with-control-word-data"}, 10, 0, nil},
	} {
		t.Run(strings.Join(s.files, ","), func(t *testing.T) {
			rd := flowfile.NewReader(flowfile.Options{})
			var n uint64
			rates := map[uint32]uint64{}
			h := func(r *flow.Record) {
				n++
				if s.rates != nil {
					rates[r.SamplingRate]++
				}
			}
			for _, f := range s.files {
				if err := rd.ReadFile(filepath.Join(dir, f+".pcap"), h); err != nil {
					t.Fatal(err)
				}
			}
			rd.Flush(h)
			sum := rd.Summary()
			var opts uint64
			for _, c := range sum.Exporters {
				opts += c.OptionsRecords
			}
			if n != s.records || opts != s.options {
				t.Errorf("%d records and %d options records, want %d and %d\n%s", n, opts, s.records, s.options, sum.String())
			}
			if s.rates != nil {
				if d := cmp.Diff(s.rates, rates); d != "" {
					t.Errorf("sampling rates (-want +got):\n%s", d)
				}
			}
		})
	}
}

// TestIPFIXFile builds RFC 5655 files from the messages real exporters
// sent, and reads them by content.
func TestIPFIXFile(t *testing.T) {
	for _, c := range []struct {
		file    string
		records uint64
	}{
		{"pmacct-100-ipfix-cisco.pcap", 12},
		{"pmacct-104-ipfix-ipv6-cisco-sampling-option.pcap", 3},
		{"pmacct-111-ipfix-nfv9-ipv6-ipv4-mix-01.pcap", 13},
	} {
		t.Run(c.file, func(t *testing.T) {
			msgs := udpPayloads(t, testenv.SharedData(t, "flows", "ipfix-netflow", c.file))
			file := bytes.Join(msgs, nil)
			if k := flowfile.Detect(file); k != flowfile.KindIPFIXFile {
				t.Fatalf("Detect = %v", k)
			}
			var n uint64
			sum, err := flowfile.Read(bytes.NewReader(file), c.file+".ipfix", flowfile.Options{}, func(r *flow.Record) {
				if r.Format == flow.FormatIPFIX {
					n++
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != c.records || sum.Inputs["ipfix-file"].Messages != uint64(len(msgs)) {
				t.Errorf("%d records, want %d\n%s", n, c.records, sum.String())
			}
		})
	}
}

// TestBMPIsNotFlow checks that pmacct-400's BMP session (TCP) is metered as
// traffic and neither disturbs the IPFIX counts nor counts as malformed.
func TestBMPIsNotFlow(t *testing.T) {
	path := testenv.SharedData(t, "flows", "ipfix-netflow", "pmacct-400-ipfix-bmp-cisco-srv6-00.pcap")
	sum, err := flowfile.ReadFile(path, flowfile.Options{}, func(*flow.Record) {})
	if err != nil {
		t.Fatal(err)
	}
	in := sum.Inputs["pcap"]
	if in == nil || in.Messages != 606 || in.MalformedTotal() != 0 {
		t.Errorf("capture counts:\n%s", sum.String())
	}
	if ex := sum.Exporters["203.0.113.90"]; ex == nil || ex.Messages != 583 || ex.Records != 657 || ex.OptionsRecords != 338 {
		t.Errorf("exporter counts:\n%s", sum.String())
	}
	if c := sum.Exporters["capture"]; c == nil || c.Messages != 23 {
		t.Errorf("metered BMP segments:\n%s", sum.String())
	}
}
