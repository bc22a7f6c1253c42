package netflow

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	gfnetflow "github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// benchRecords is the number of records per data datagram: what a router
// fits in a 1,500-byte MTU with the fields below.
const benchRecords = 28

// benchFields is a typical router data template: addresses, ports,
// protocol, TCP flags, packets (reduced-size), bytes, start and end in
// milliseconds, the sampler's selector id, and interfaces.
func benchFields(v6 bool) []tf {
	src, dst := tf{id: ieSourceIPv4Address, length: 4}, tf{id: ieDestinationIPv4Address, length: 4}
	if v6 {
		src, dst = tf{id: ieSourceIPv6Address, length: 16}, tf{id: ieDestinationIPv6Address, length: 16}
	}
	return []tf{
		src, dst,
		{id: ieSourceTransportPort, length: 2},
		{id: ieDestinationTransportPort, length: 2},
		{id: ieProtocolIdentifier, length: 1},
		{id: ieTCPControlBits, length: 1},
		{id: iePacketDeltaCount, length: 4},
		{id: ieOctetDeltaCount, length: 8},
		{id: ieFlowStartMilliseconds, length: 8},
		{id: ieFlowEndMilliseconds, length: 8},
		{id: ieSelectorID, length: 2},
		{id: 10, length: 4}, // ingressInterface
	}
}

// benchDatagrams returns a template message (data template 256, sampler
// options template 257 and its record) and n data datagrams of
// benchRecords records each.
func benchDatagrams(v6 bool, n int) (tmpl []byte, data [][]byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	const domain, export = 7, 1_700_000_000
	opt := set(3, optTplRec(257, 1,
		tf{id: ieSelectorID, length: 2},
		tf{id: ieSelectorAlgorithm, length: 1},
		tf{id: ieSamplingSize, length: 4},
		tf{id: ieSamplingPopulation, length: 4}))
	tmpl = ipfixMsg(export, 0, domain,
		set(2, tplRec(true, 256, benchFields(v6)...)), opt,
		set(257, be(uint16(1), uint8(algRandomNOutOfN), uint32(1), uint32(1000))))
	addr := func() netip.Addr {
		if v6 {
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for i := 8; i < 16; i++ {
				a[i] = byte(rng.Uint32())
			}
			return netip.AddrFrom16(a)
		}
		return netip.AddrFrom4([4]byte{10, byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
	}
	for i := range n {
		var recs [][]byte
		for range benchRecords {
			startMs := uint64(export)*1000 - uint64(rng.IntN(60_000))
			recs = append(recs, be(addr(), addr(),
				uint16(rng.IntN(65536)), uint16([]int{80, 443, 53, 22}[rng.IntN(4)]),
				uint8([]int{6, 17}[rng.IntN(2)]), uint8(rng.IntN(64)),
				uint32(1+rng.IntN(1000)), uint64(64+rng.IntN(1_000_000)),
				startMs, startMs+uint64(rng.IntN(30_000)),
				uint16(1), uint32(rng.IntN(64))))
		}
		data = append(data, ipfixMsg(export, uint32(i*benchRecords), domain, set(256, recs...)))
	}
	return tmpl, data
}

var benchSink uint64

// BenchmarkDecodeIPFIX decodes realistic IPFIX datagrams with this decoder
// and, on the same datagrams in the same run, with goflow2's
// DecodeMessageVersion.
func BenchmarkDecodeIPFIX(b *testing.B) {
	exporter := netip.MustParseAddrPort("192.0.2.1:4739")
	for _, fam := range []struct {
		name string
		v6   bool
	}{{"ipv4", false}, {"ipv6", true}} {
		tmpl, data := benchDatagrams(fam.v6, 64)
		b.Run("vigil/"+fam.name, func(b *testing.B) {
			d := NewDecoder(Config{})
			var n, sum uint64
			h := func(r *flow.Record) { n++; sum += r.Bytes + uint64(r.SamplingRate) }
			if err := d.Decode(exporter, TransportUDP, tmpl, h); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data[0])))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := d.Decode(exporter, TransportUDP, data[i%len(data)], h); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if n != uint64(b.N)*benchRecords {
				b.Fatalf("decoded %d records, want %d", n, b.N*benchRecords)
			}
			benchSink += sum
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
		b.Run("goflow2/"+fam.name, func(b *testing.B) {
			ts := gfnetflow.CreateTemplateSystem()
			var p9 gfnetflow.NFv9Packet
			var pf gfnetflow.IPFIXPacket
			if err := gfnetflow.DecodeMessageVersion(bytes.NewBuffer(tmpl), ts, &p9, &pf); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data[0])))
			b.ReportAllocs()
			b.ResetTimer()
			var n uint64
			for i := 0; i < b.N; i++ {
				pf = gfnetflow.IPFIXPacket{}
				if err := gfnetflow.DecodeMessageVersion(bytes.NewBuffer(data[i%len(data)]), ts, &p9, &pf); err != nil {
					b.Fatal(err)
				}
				for _, fs := range pf.FlowSets {
					if ds, ok := fs.(gfnetflow.DataFlowSet); ok {
						n += uint64(len(ds.Records))
					}
				}
			}
			b.StopTimer()
			if n != uint64(b.N)*benchRecords {
				b.Fatalf("goflow2 decoded %d records, want %d", n, b.N*benchRecords)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}

// BenchmarkIPFIXSpeedup decodes the same datagrams with both decoders in
// alternating blocks of 64 datagrams and times each block, so that both see
// the same machine load: on a shared machine, separate benchmarks run
// minutes apart and their ratio is noise. It reports each decoder's
// records/s and the speedup.
func BenchmarkIPFIXSpeedup(b *testing.B) {
	exporter := netip.MustParseAddrPort("192.0.2.1:4739")
	for _, fam := range []struct {
		name string
		v6   bool
	}{{"ipv4", false}, {"ipv6", true}} {
		b.Run(fam.name, func(b *testing.B) {
			tmpl, data := benchDatagrams(fam.v6, 64)
			d := NewDecoder(Config{})
			var n uint64
			h := func(r *flow.Record) { n++ }
			if err := d.Decode(exporter, TransportUDP, tmpl, h); err != nil {
				b.Fatal(err)
			}
			ts := gfnetflow.CreateTemplateSystem()
			var p9 gfnetflow.NFv9Packet
			var pf gfnetflow.IPFIXPacket
			if err := gfnetflow.DecodeMessageVersion(bytes.NewBuffer(tmpl), ts, &p9, &pf); err != nil {
				b.Fatal(err)
			}
			var ours, theirs time.Duration
			b.ResetTimer()
			for done := 0; done < b.N; done += len(data) {
				start := time.Now()
				for _, m := range data {
					_ = d.Decode(exporter, TransportUDP, m, h)
				}
				mid := time.Now()
				for _, m := range data {
					pf = gfnetflow.IPFIXPacket{}
					_ = gfnetflow.DecodeMessageVersion(bytes.NewBuffer(m), ts, &p9, &pf)
				}
				ours += mid.Sub(start)
				theirs += time.Since(mid)
			}
			b.StopTimer()
			recs := float64(n)
			b.ReportMetric(recs/ours.Seconds(), "vigil-records/s")
			b.ReportMetric(recs/theirs.Seconds(), "goflow2-records/s")
			b.ReportMetric(theirs.Seconds()/ours.Seconds(), "speedup-x")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkDecodeCapture replays a real capture (Cisco IOS XR IPFIX with
// template refreshes, options data and variable-length fields) through one
// decoder, over and over.
func BenchmarkDecodeCapture(b *testing.B) {
	dgs := readDatagrams(b, testenv.SharedData(b, "flows", "ipfix-netflow", "pmacct-400-ipfix-bmp-cisco-srv6-00.pcap"))
	d := NewDecoder(Config{})
	var n uint64
	h := func(*flow.Record) { n++ }
	for _, dg := range dgs {
		_ = d.Decode(dg.src, TransportUDP, dg.payload, h)
	}
	n = 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dg := dgs[i%len(dgs)]
		_ = d.Decode(dg.src, TransportUDP, dg.payload, h)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
