package netflow

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// fuzzSeeds returns real datagrams (read in place from the shared
// captures, never copied into the repository) and encoded ones.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	base := filepath.Join(filepath.Dir(testenv.RepoRoot(f)), "shared", "data", "flows", "ipfix-netflow")
	paths, _ := filepath.Glob(filepath.Join(base, "*.pcap"))
	more, _ := filepath.Glob(filepath.Join(base, "akvorado", "*.pcap"))
	for _, p := range append(paths, more...) {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		for i, dg := range readDatagrams(f, p) {
			if i < 8 {
				seeds = append(seeds, dg.payload)
			}
		}
	}
	tmpl, data := benchDatagrams(false, 1)
	seeds = append(seeds, tmpl, data[0])
	tmpl6, data6 := benchDatagrams(true, 1)
	seeds = append(seeds, tmpl6, data6[0])
	return seeds
}

// frame joins messages with 2-byte length prefixes; the fuzz input is cut
// the same way so that one input drives a decoder through several messages.
func frame(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// FuzzDecode feeds sequences of messages to one decoder, over a transport
// chosen by the input, and checks that it never panics, that records are
// sane and that its state stays within the configured bounds.
func FuzzDecode(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(uint8(0), frame(s))
	}
	// templates then data, and data then templates
	for i := 0; i+1 < len(seeds); i += 2 {
		f.Add(uint8(1), frame(seeds[i], seeds[i+1]))
		f.Add(uint8(2), frame(seeds[i+1], seeds[i]))
	}
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		const pendingMax, pendingBytes, maxTemplates = 4, 4096, 8
		now := time.Unix(1_700_000_000, 0)
		d := NewDecoder(Config{
			PendingMax: pendingMax, PendingMaxBytes: pendingBytes, MaxTemplates: maxTemplates, MaxDomains: 4,
			TemplateTimeout: time.Second, Now: func() time.Time { return now },
		})
		tr := Transport(mode % 4)
		exp := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, mode >> 6}), 2055)
		h := func(r *flow.Record) {
			if r.Exporter != exp.Addr() {
				t.Fatalf("record exporter %s, want %s", r.Exporter, exp.Addr())
			}
			if r.Format != flow.FormatNetFlowV5 && r.Format != flow.FormatNetFlowV9 && r.Format != flow.FormatIPFIX {
				t.Fatalf("format %v", r.Format)
			}
			if r.Start.Location() != time.UTC || r.End.Location() != time.UTC {
				t.Fatalf("times not in UTC")
			}
		}
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				n = len(in)
			}
			_ = d.Decode(exp, tr, in[:n], h)
			in = in[n:]
			now = now.Add(time.Duration(mode&3) * time.Second)

			st := d.Stats()
			if st.PendingSets > pendingMax || st.PendingBytes > pendingBytes {
				t.Fatalf("pending %d sets, %d bytes", st.PendingSets, st.PendingBytes)
			}
			for _, e := range st.Exporters {
				if len(e.Domains) > 4 {
					t.Fatalf("%d domains", len(e.Domains))
				}
				for _, dom := range e.Domains {
					if dom.ActiveTemplates > maxTemplates {
						t.Fatalf("%d templates", dom.ActiveTemplates)
					}
				}
			}
		}
		d.Flush(h)
		if st := d.Stats(); st.PendingSets != 0 || st.PendingBytes != 0 {
			t.Fatalf("pending after flush: %d sets, %d bytes", st.PendingSets, st.PendingBytes)
		}
		_ = d.Stats().String()
	})
}

// FuzzParseFrame checks the sampled-frame parser alone.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add(be(make([]byte, 12), uint16(0x8847), uint32(0x00010140), uint32(0), make([]byte, 12), uint16(0x0800),
		uint8(0x45), make([]byte, 8), uint8(6), make([]byte, 10), uint16(80), uint16(443)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r flow.Record
		parseFrame(b, &r)
	})
}
