package netflow

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// tsharkFields are the cflow fields compared with tshark, and how to read
// each from a record.
var tsharkFields = []struct {
	name string // column name in this test
	tf   []string
	get  func(r *flow.Record) string
}{
	{"src", []string{"cflow.srcaddr", "cflow.srcaddrv6"}, func(r *flow.Record) string { return r.SrcAddr.String() }},
	{"dst", []string{"cflow.dstaddr", "cflow.dstaddrv6"}, func(r *flow.Record) string { return r.DstAddr.String() }},
	{"sport", []string{"cflow.srcport"}, func(r *flow.Record) string { return strconv.Itoa(int(r.SrcPort)) }},
	{"dport", []string{"cflow.dstport"}, func(r *flow.Record) string { return strconv.Itoa(int(r.DstPort)) }},
	{"proto", []string{"cflow.protocol"}, func(r *flow.Record) string { return strconv.Itoa(int(r.Proto)) }},
	{"packets", []string{"cflow.packets"}, func(r *flow.Record) string { return strconv.FormatUint(r.Packets, 10) }},
	{"octets", []string{"cflow.octets"}, func(r *flow.Record) string { return strconv.FormatUint(r.Bytes, 10) }},
}

// tsharkValues runs tshark in two passes (so that data before its template
// is decoded, as this decoder's buffer does) and returns, per field, every
// value it shows, sorted.
func tsharkValues(t *testing.T, tshark, file string, ports []uint16) map[string][]string {
	t.Helper()
	args := []string{"-r", file, "-2", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"}
	for _, p := range ports {
		args = append(args, "-d", fmt.Sprintf("udp.port==%d,cflow", p))
	}
	var cols []string
	var names []string
	for _, f := range tsharkFields {
		for _, tf := range f.tf {
			args = append(args, "-e", tf)
			cols = append(cols, f.name)
			names = append(names, tf)
		}
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	vals := map[string][]string{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		for i, field := range strings.Split(line, "\t") {
			if field == "" || i >= len(cols) {
				continue
			}
			vals[cols[i]] = append(vals[cols[i]], strings.Split(field, ",")...)
		}
	}
	for _, v := range vals {
		slices.Sort(v)
	}
	return vals
}

// TestTshark compares, field by field, the values this decoder gives with
// those tshark shows for the same captures. Values are compared as sorted
// lists, since tshark's per-packet field lists do not say which record a
// value belongs to. Fields a case cannot compare are listed with the reason.
func TestTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every capture")
	}
	tshark := testenv.Tool(t, "tshark")
	base := testenv.SharedData(t, "flows", "ipfix-netflow")
	frames := "dataLinkFrameSection: the key comes from the sampled frame, which tshark does not parse"
	skip := map[string]map[string]string{
		// Reverse records are ours; tshark shows reverse counters under the same field names.
		"seq-ipfixprobe": {"src": "biflow", "dst": "biflow", "sport": "biflow", "dport": "biflow", "packets": "biflow", "octets": "biflow", "proto": "biflow"},
		// NAT events carry no counters; the record's zero is not a tshark value.
		"akvorado-nat": {"packets": "no counters", "octets": "no counters"},
		// SRv6 templates carry outer and inner headers; the record keeps the inner one.
		"pmacct-400": {"src": "tunnels", "dst": "tunnels", "sport": "tunnels", "dport": "tunnels", "proto": "tunnels"},
	}
	for _, name := range []string{"seq-datalink", "seq-ipfix-srv6", "seq-juniper-cpid", "seq-eompls"} {
		skip[name] = map[string]string{"src": frames, "dst": frames, "sport": frames, "dport": frames, "proto": frames, "packets": frames, "octets": frames}
	}
	for _, tc := range goldenCases {
		if tc.data == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // tshark takes a second or more per capture
			var paths []string
			for _, f := range tc.files {
				paths = append(paths, filepath.Join(base, f))
			}
			file := paths[0]
			if len(paths) > 1 {
				file = filepath.Join(t.TempDir(), "merged.pcap")
				args := append([]string{"-a", "-F", "pcap", "-w", file}, paths...)
				if out, err := exec.Command(testenv.Tool(t, "mergecap"), args...).CombinedOutput(); err != nil {
					t.Fatalf("mergecap: %v: %s", err, out)
				}
			}
			ports := map[uint16]bool{}
			for _, p := range paths {
				for _, dg := range readDatagrams(t, p) {
					ports[dg.dstPort] = true
				}
			}
			theirs := tsharkValues(t, tshark, file, slices.Sorted(func(yield func(uint16) bool) {
				for p := range ports {
					if !yield(p) {
						return
					}
				}
			}))
			recs, _ := replay(t, Config{}, paths...)
			for _, f := range tsharkFields {
				if why := skip[tc.name][f.name]; why != "" {
					continue
				}
				var ours []string
				for i := range recs {
					ours = append(ours, f.get(&recs[i]))
				}
				slices.Sort(ours)
				want := theirs[f.name]
				if f.name == "src" || f.name == "dst" {
					// Templates that carry both families fill the other with
					// zeros; the record keeps the address that is set.
					ours, want = nonZero(ours), nonZero(want)
				}
				if diff := cmp.Diff(want, ours); diff != "" {
					t.Errorf("%s (-tshark +vigil):\n%s", f.name, diff)
				}
			}
		})
	}
}

func nonZero(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if a != "::" && a != "0.0.0.0" {
			out = append(out, a)
		}
	}
	return out
}
