package network

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/detect/baseline"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/flow"
)

// benchRecords builds an hour of IPFIX-like traffic for 1,000 resources in
// 10.1.0.0/16: mostly web traffic, some SSH and RDP in both directions,
// some traffic that is not ours.
func benchRecords(n int) []flow.Record {
	rng := rand.New(rand.NewPCG(3, 4))
	exp := netip.MustParseAddr("192.0.2.1")
	rs := make([]flow.Record, n)
	for i := range rs {
		r := &rs[i]
		res := netip.AddrFrom4([4]byte{10, 1, byte(rng.IntN(4)), byte(rng.IntN(250))})
		remote := netip.AddrFrom4([4]byte{100, 64 + byte(rng.IntN(8)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		r.Start = day0.Add(time.Duration(i) * time.Hour / time.Duration(n))
		r.End = r.Start.Add(2 * time.Second)
		r.Exporter, r.SamplingRate, r.Format, r.Proto = exp, 1, flow.FormatIPFIX, flow.ProtoTCP
		r.Flags = flow.FlagHasTCPFlags
		r.Packets, r.Bytes = 10, 1500
		r.TCPFlags = flow.TCPSyn | flow.TCPAck | flow.TCPFin | flow.TCPPsh
		sp := uint16(32768 + rng.IntN(28000))
		switch k := rng.IntN(100); {
		case k < 60: // inbound web
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = remote, res, sp, 443
		case k < 70: // outbound web
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = res, remote, sp, 443
		case k < 82: // inbound SSH
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = remote, res, sp, 22
		case k < 88: // SSH replies
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = res, remote, 22, sp
		case k < 93: // inbound RDP
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = remote, res, sp, 3389
		case k < 95: // outbound SSH
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = res, remote, sp, 22
		default: // transit, not ours
			r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = remote, remote.Next(), sp, 22
		}
	}
	return rs
}

// BenchmarkAdd measures the detector's hot path on a realistic mix; the
// clock moves forward one hour per pass so hours close and states recycle.
func BenchmarkAdd(b *testing.B) {
	const n = 1 << 19
	rs := benchRecords(n)
	d, err := New(DefaultConfig(), Deps{HomeNets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, Intel: testIntel(b)}, func(alert.Alert) {})
	if err != nil {
		b.Fatal(err)
	}
	// Warm up for more than the reorder window, so that hours close, and
	// pools and maps reach their steady size.
	var r flow.Record
	const warm = 5
	for pass := 0; pass < warm; pass++ {
		for i := range rs {
			r = rs[i]
			off := time.Duration(pass) * time.Hour
			r.Start, r.End = r.Start.Add(off), r.End.Add(off)
			d.Add(&r)
		}
	}
	pass := warm
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % n
		if j == 0 && i > 0 {
			pass++
		}
		r = rs[j]
		off := time.Duration(pass) * time.Hour
		r.Start, r.End = r.Start.Add(off), r.End.Add(off)
		d.Add(&r)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkStateSize builds 100,000 tracked resources, each with learned
// incoming SSH and RDP profiles and outgoing SSH (21 days of hourly
// history; a profile's size does not depend on its length, so one learned
// profile is copied), and reports the heap they take and the size of the
// saved state.
func BenchmarkStateSize(b *testing.B) {
	const resources = 100_000
	var learned baseline.Profile
	for h := 0; h < 21*24; h++ {
		v := float64(20 + h%13)
		learned.Learn(day0.Add(time.Duration(h)*time.Hour), [baseline.NumFeatures]float64{v, v / 2, v / 5})
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d, err := New(DefaultConfig(), Deps{HomeNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, func(alert.Alert) {})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < resources; i++ {
			ref := inventory.Ref{ID: -1, Addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
			r := &resource{}
			for _, g := range []uint8{group(svcSSH, dirIn), group(svcRDP, dirIn), group(svcSSH, dirOut)} {
				p := learned
				r.prof[g] = &p
				for h := 0; h < maxSeries; h++ {
					r.push(g, point{hour: int64(h), attempts: 1, top: 1, dist: 1})
				}
			}
			d.resources[ref] = r
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc - before.HeapAlloc)
		var buf bytes.Buffer
		if err := d.SaveState(&buf); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(heap/resources, "heap-B/resource")
		b.ReportMetric(heap/(1<<20), "heap-MiB/100k")
		b.ReportMetric(float64(buf.Len())/resources, "saved-B/resource")
		runtime.KeepAlive(d)
	}
}
