package export

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/netflow"
)

// TestRoundTrip decodes the writer's messages with Vigil's own IPFIX
// decoder, in the file and the datagram modes and with both sampling
// announcements: every record comes back with its fields and the rate.
func TestRoundTrip(t *testing.T) {
	recs := testRecords(4000)
	for _, tc := range []struct {
		name string
		rate uint32
		opts Options
		tr   netflow.Transport
	}{
		{"file-unsampled", 1, Options{}, netflow.TransportFile},
		{"file-systematic-1in10", 10, Options{}, netflow.TransportFile},
		{"datagram-random-1in100", 100, Options{MaxMessageSize: DefaultDatagramSize, RefreshMessages: 32, RandomSampling: true}, netflow.TransportUDP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs [][]byte
			w := NewIPFIXWriterOptions(writerFunc(func(p []byte) (int, error) {
				msgs = append(msgs, append([]byte(nil), p...))
				return len(p), nil
			}), 77, tc.rate, tc.opts)
			for i := range recs {
				if err := w.Write(&recs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			dec := netflow.NewDecoder(netflow.DefaultConfig())
			exporter := netip.MustParseAddrPort("192.0.2.1:4739")
			var got []flow.Record
			h := func(r *flow.Record) { got = append(got, *r) }
			for i, m := range msgs {
				if err := dec.Decode(exporter, tc.tr, m, h); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			dec.Flush(h)
			if len(got) != len(recs) {
				t.Fatalf("decoded %d records, wrote %d", len(got), len(recs))
			}
			type key struct {
				Start, End       time.Time
				Src, Dst         netip.Addr
				SrcPort, DstPort uint16
				Proto, Flags     uint8
				Packets, Bytes   uint64
				Rate, Domain     uint32
			}
			norm := func(r *flow.Record, rate, dom uint32) key {
				return key{r.Start.UTC(), r.End.UTC(), r.SrcAddr.Unmap(), r.DstAddr.Unmap(), r.SrcPort, r.DstPort, r.Proto, r.TCPFlags, r.Packets, r.Bytes, rate, dom}
			}
			for i := range recs {
				want := norm(&recs[i], tc.rate, 77)
				g := norm(&got[i], got[i].SamplingRate, got[i].ObsDomain)
				if want != g {
					t.Fatalf("record %d:\nwrote   %+v\ndecoded %+v", i, want, g)
				}
			}
			for _, e := range dec.Stats().Exporters {
				for _, d := range e.Domains {
					if len(d.Errors) > 0 || d.UnknownSampling > 0 {
						t.Errorf("decoder stats: errors %v, unknown sampling %d", d.Errors, d.UnknownSampling)
					}
				}
			}
		})
	}
}

// TestTemplatesFreshWithLongFlows feeds flows in start order, some lasting
// 90 minutes, as a simulator or a replay does: no message may be exported
// ten minutes or more after the last templates, and a decoder that
// expires UDP templates by the messages' own export time loses nothing.
func TestTemplatesFreshWithLongFlows(t *testing.T) {
	var recs []flow.Record
	for i := range 2000 {
		r := testRecords(1)[0]
		r.SrcPort = uint16(i)
		r.Start = t0.Add(time.Duration(i) * 10 * time.Second)
		r.End = r.Start.Add(time.Second)
		if i%50 == 7 {
			r.End = r.Start.Add(90 * time.Minute)
		}
		recs = append(recs, r)
	}
	var msgs [][]byte
	w := NewIPFIXWriterOptions(writerFunc(func(p []byte) (int, error) {
		msgs = append(msgs, append([]byte(nil), p...))
		return len(p), nil
	}), 5, 10, DatagramOptions())
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var lastTpl uint32
	var clock time.Time
	cfg := netflow.DefaultConfig()
	cfg.Now = func() time.Time { return clock }
	dec := netflow.NewDecoder(cfg)
	n := 0
	for i, m := range msgs {
		ms := walk(t, m)[0]
		if slices.Contains(ms.sets, setTemplate) {
			lastTpl = ms.exportTime
		}
		if ms.exportTime-lastTpl >= 600 {
			t.Fatalf("message %d exported %d s after the last templates", i, ms.exportTime-lastTpl)
		}
		clock = time.Unix(int64(ms.exportTime), 0)
		if err := dec.Decode(netip.MustParseAddrPort("192.0.2.1:4739"), netflow.TransportUDP, m, func(*flow.Record) { n++ }); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if n != len(recs) {
		t.Errorf("decoded %d of %d records", n, len(recs))
	}
}
