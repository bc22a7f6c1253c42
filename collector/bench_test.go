package collector_test

import (
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/collector"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/netflow"
)

// BenchmarkSocketToDecode measures the socket -> decode -> handler path of
// one worker on loopback: each iteration is one IPFIX datagram of about 27
// records. The sender keeps at most a few hundred datagrams in flight so
// that the figure is the path's throughput, not the kernel's drops.
func BenchmarkSocketToDecode(b *testing.B) {
	dgs := datagrams(b, 64*1024)
	// Records per datagram, from a decoder of our own, so that the sender
	// can tell how far the collector is behind from the handler's count.
	per := make([]uint64, len(dgs))
	dec := netflow.NewDecoder(netflow.DefaultConfig())
	from := netip.MustParseAddrPort("127.0.0.1:9")
	for i, d := range dgs {
		dec.Decode(from, netflow.TransportUDP, d, func(*flow.Record) { per[i]++ })
	}
	cfg := collector.DefaultConfig()
	cfg.Listeners = []collector.ListenerConfig{{Name: "ipfix", Listen: "127.0.0.1:0", Workers: 1}}
	var records atomic.Uint64
	c, err := collector.New(cfg, collector.Deps{Handler: func(*flow.Record) { records.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	conn, err := dialUDP(c.Addrs()["ipfix"])
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// The first datagram carries the templates.
	conn.Write(dgs[0])
	for records.Load() < per[0] {
		runtime.Gosched()
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	sent := per[0]
	for i := 0; i < b.N; i++ {
		for sent-records.Load() > 256*27 {
			runtime.Gosched()
		}
		j := 1 + i%(len(dgs)-1)
		if _, err := conn.Write(dgs[j]); err != nil {
			b.Fatal(err)
		}
		sent += per[j]
	}
	for records.Load() < sent {
		runtime.Gosched()
	}
	el := time.Since(t0).Seconds()
	b.StopTimer()
	n := sent - per[0]
	b.ReportMetric(float64(n)/el, "records/s")
	b.ReportMetric(float64(n)/float64(b.N), "records/datagram")
}
