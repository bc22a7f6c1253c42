package collector_test

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-ids/vigil/collector"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/export"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// sink collects records from every worker. Each worker has its own slice,
// so the handlers need no lock; the test reads them after Stop.
type sink struct {
	mu      sync.Mutex
	workers map[string][]flow.Record
}

func (s *sink) newHandler(listener string, worker int) flow.Handler {
	key := listener + "/" + strconv.Itoa(worker)
	s.mu.Lock()
	s.workers[key] = nil
	s.mu.Unlock()
	var recs []flow.Record
	return func(r *flow.Record) {
		recs = append(recs, *r)
		// Publishing under the lock after every record keeps the test
		// simple; a real handler would batch.
		s.mu.Lock()
		s.workers[key] = recs
		s.mu.Unlock()
	}
}

func (s *sink) all() []flow.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flow.Record
	for _, r := range s.workers {
		out = append(out, r...)
	}
	return out
}

func start(t *testing.T, cfg collector.Config, reg prometheus.Registerer) (*collector.Collector, *sink) {
	t.Helper()
	s := &sink{workers: map[string][]flow.Record{}}
	c, err := collector.New(cfg, collector.Deps{NewHandler: s.newHandler, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c, s
}

func loopbackConfig(workers int) collector.Config {
	cfg := collector.DefaultConfig()
	cfg.Listeners = []collector.ListenerConfig{{Name: "ipfix", Listen: "127.0.0.1:0", Workers: workers}}
	cfg.ReceiveBuffer = 8 << 20
	cfg.StatsInterval = 20 * time.Millisecond
	return cfg
}

// waitFor polls cond until it holds; the deadline only keeps a broken
// build from hanging, it is not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// datagrams encodes n IPv4 TCP records as IPFIX datagrams with the
// project's own writer.
func datagrams(t testing.TB, n int) [][]byte {
	t.Helper()
	var out [][]byte
	w := export.NewIPFIXWriterOptions(writerFunc(func(b []byte) (int, error) {
		out = append(out, append([]byte(nil), b...))
		return len(b), nil
	}), 1, 1, export.DatagramOptions())
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := range n {
		r := flow.Record{
			Start: base.Add(time.Duration(i) * time.Millisecond), End: base.Add(time.Duration(i)*time.Millisecond + time.Second),
			SrcAddr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), DstAddr: netip.MustParseAddr("192.0.2.1"),
			SrcPort: uint16(1024 + i%60000), DstPort: 22, Proto: flow.ProtoTCP, TCPFlags: flow.TCPSyn,
			Packets: 3, Bytes: 180,
		}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func dial(t *testing.T, to netip.AddrPort) *net.UDPConn {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestCollectorDeliversRecordsAndCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, s := start(t, loopbackConfig(3), reg)
	addr := c.Addrs()["ipfix"]
	if !addr.IsValid() || addr.Port() == 0 {
		t.Fatalf("Addrs() = %v", c.Addrs())
	}
	const n = 1000
	dgs := datagrams(t, n)
	conn := dial(t, addr)
	for _, d := range dgs {
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	// Two garbage datagrams: a bad version and a truncated header.
	conn.Write([]byte{0, 42, 0, 0, 0, 0})
	conn.Write([]byte{0})

	waitFor(t, "records and errors", func() bool {
		st := c.Stats()
		return len(st.Listeners[0].Exporters) == 1 && st.Listeners[0].Exporters[0].Records == n &&
			st.Listeners[0].Exporters[0].ErrorTotal() == 2
	})
	st := c.Stats().Listeners[0]
	if st.Workers != 3 || st.Datagrams != uint64(len(dgs)+2) || st.ReceiveBuffer <= 0 {
		t.Errorf("listener stats %+v", st)
	}
	e := st.Exporters[0]
	want := collector.ExporterStats{
		Listener: "ipfix", Exporter: netip.MustParseAddr("127.0.0.1"),
		Datagrams: uint64(len(dgs) + 2), Records: n,
		Errors:   map[string]uint64{"bad version": 1, "short header": 1},
		LastSeen: e.LastSeen,
	}
	if d := cmp.Diff(want, e, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("exporter stats (-want +got):\n%s", d)
	}
	if e.LastSeen.IsZero() || e.Silent {
		t.Errorf("last seen %v silent %v", e.LastSeen, e.Silent)
	}

	c.Stop()
	recs := s.all()
	if len(recs) != n {
		t.Fatalf("handlers got %d records, want %d", len(recs), n)
	}
	ports := map[uint16]bool{}
	for _, r := range recs {
		if r.DstPort != 22 || r.Format != flow.FormatIPFIX || r.Exporter != netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("record %+v", r)
		}
		ports[r.SrcPort] = true
	}
	if len(ports) != n {
		t.Errorf("%d distinct records, want %d", len(ports), n)
	}

	// The metrics carry the same figures with listener and exporter labels.
	if got := gathered(t, reg, "vigil_collector_exporter_records_total"); !cmp.Equal(got, map[string]float64{`exporter="127.0.0.1",listener="ipfix"`: n}) {
		t.Errorf("records metric %v", got)
	}
	wantErr := map[string]float64{
		`exporter="127.0.0.1",listener="ipfix",reason="bad version"`:  1,
		`exporter="127.0.0.1",listener="ipfix",reason="short header"`: 1,
	}
	if d := cmp.Diff(wantErr, gathered(t, reg, "vigil_collector_exporter_errors_total")); d != "" {
		t.Errorf("errors metric (-want +got):\n%s", d)
	}
}

// Several exporters (distinct source ports stand in for distinct
// routers) spread over the SO_REUSEPORT workers, and each keeps its
// templates in the worker the kernel hashes it to.
func TestCollectorSpreadsOverWorkers(t *testing.T) {
	c, s := start(t, loopbackConfig(4), nil)
	addr := c.Addrs()["ipfix"]
	dgs := datagrams(t, 200)
	const senders = 16
	for range senders {
		conn := dial(t, addr)
		for _, d := range dgs {
			if _, err := conn.Write(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "records", func() bool { return len(s.all()) == senders*200 })
	c.Stop()
	s.mu.Lock()
	busy := 0
	for _, recs := range s.workers {
		if len(recs) > 0 {
			busy++
		}
	}
	s.mu.Unlock()
	if busy < 2 {
		t.Errorf("only %d of 4 workers received datagrams from %d senders", busy, senders)
	}
	if st := c.Stats().Listeners[0]; st.Records != senders*200 {
		t.Errorf("stats records %d", st.Records)
	}
}

func TestCollectorSilentExporter(t *testing.T) {
	cfg := loopbackConfig(1)
	cfg.SilentAfter = time.Hour
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, err := collector.New(cfg, collector.Deps{Handler: func(*flow.Record) {}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn := dial(t, c.Addrs()["ipfix"])
	conn.Write(datagrams(t, 1)[0])
	waitFor(t, "exporter", func() bool { return len(c.Stats().Listeners[0].Exporters) == 1 })
	if e := c.Stats().Listeners[0].Exporters[0]; e.Silent || !e.LastSeen.Equal(now.UTC()) {
		t.Errorf("fresh exporter: %+v", e)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if e := c.Stats().Listeners[0].Exporters[0]; !e.Silent {
		t.Errorf("exporter quiet for 2h not silent: %+v", e)
	}
}

func TestCollectorStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	c, err := collector.New(loopbackConfig(2), collector.Deps{Handler: func(*flow.Record) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := c.Addrs()["ipfix"]
	cancel()
	// After the context ends the port is released: binding it without
	// SO_REUSEPORT succeeds once the workers are gone.
	waitFor(t, "port released", func() bool {
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		if err != nil {
			return false
		}
		conn.Close()
		return true
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  collector.Config
		ok   bool
	}{
		{"default", collector.DefaultConfig(), true},
		{"none", collector.Config{}, false},
		{"no name", collector.Config{Listeners: []collector.ListenerConfig{{Listen: ":1"}}}, false},
		{"dup", collector.Config{Listeners: []collector.ListenerConfig{{Name: "a", Listen: ":1"}, {Name: "a", Listen: ":2"}}}, false},
		{"bad addr", collector.Config{Listeners: []collector.ListenerConfig{{Name: "a", Listen: "nowhere"}}}, false},
		{"workers", collector.Config{Listeners: []collector.ListenerConfig{{Name: "a", Listen: ":1", Workers: -1}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if _, err := collector.New(collector.DefaultConfig(), collector.Deps{}); err == nil {
		t.Error("New without handler succeeded")
	}
}

func TestKernelUDPCounters(t *testing.T) {
	k, err := collector.ReadKernelUDPCounters()
	if err != nil {
		t.Skip(err)
	}
	// This test's own traffic makes InDatagrams positive.
	c, _ := start(t, loopbackConfig(1), nil)
	conn := dial(t, c.Addrs()["ipfix"])
	conn.Write(datagrams(t, 1)[0])
	waitFor(t, "datagram", func() bool { return c.Stats().Listeners[0].Datagrams == 1 })
	k2, _ := collector.ReadKernelUDPCounters()
	if k2.InDatagrams <= k.InDatagrams {
		t.Errorf("InDatagrams did not grow: %d -> %d", k.InDatagrams, k2.InDatagrams)
	}
}

// TestSoftflowdExport runs a real exporter: softflowd reads each SSH
// brute-force capture and exports IPFIX over UDP to the collector on
// loopback. The flows the handlers receive must be the connections in the
// capture.
func TestSoftflowdExport(t *testing.T) {
	server := netip.MustParseAddr("240.125.0.2")
	for _, tc := range []struct {
		file, client string
		conns        int
	}{
		{"hydra-1_tasks.pcap", "240.0.1.2", 61},
		{"hydra-4_tasks.pcap", "240.0.1.3", 243},
		{"medusa-1_tasks.pcap", "240.0.2.2", 196},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := testenv.SharedData(t, "pcap", "ssh-bruteforce", tc.file)
			reg := prometheus.NewRegistry()
			c, s := start(t, loopbackConfig(2), reg)
			port := c.Addrs()["ipfix"].Port()
			wantDatagrams, wantRecords := testenv.Softflowd(t, path, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
			waitFor(t, "softflowd's datagrams", func() bool {
				return c.Stats().Listeners[0].Datagrams >= uint64(wantDatagrams)
			})
			c.Stop()

			st := c.Stats().Listeners[0]
			if st.Datagrams != uint64(wantDatagrams) || st.Records != uint64(wantRecords) || st.KernelDrops != 0 {
				t.Errorf("collector saw %d datagrams, %d records, %d drops; softflowd sent %d datagrams, %d records",
					st.Datagrams, st.Records, st.KernelDrops, wantDatagrams, wantRecords)
			}
			if len(st.Exporters) != 1 || st.Exporters[0].ErrorTotal() != 0 {
				t.Errorf("exporters %+v", st.Exporters)
			}
			recs := s.all()
			if len(recs) != wantRecords {
				t.Errorf("handlers got %d records, softflowd exported %d", len(recs), wantRecords)
			}
			conns := map[uint16]bool{}
			for _, r := range recs {
				if r.Format != flow.FormatIPFIX {
					t.Errorf("format %v", r.Format)
				}
				if r.SrcAddr.String() == tc.client && r.DstAddr == server && r.DstPort == 22 && r.TCPFlags&flow.TCPSyn != 0 {
					conns[r.SrcPort] = true
				}
			}
			if len(conns) != tc.conns {
				t.Errorf("%d client->%v:22 connections received, the capture has %d", len(conns), server, tc.conns)
			}
			if got := gathered(t, reg, "vigil_collector_exporter_records_total"); !cmp.Equal(got, map[string]float64{`exporter="127.0.0.1",listener="ipfix"`: float64(wantRecords)}) {
				t.Errorf("records metric %v, want %d", got, wantRecords)
			}
		})
	}
}

// gathered returns the values of one metric family keyed by its labels.
func gathered(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			v := m.GetCounter().GetValue()
			if m.GetGauge() != nil {
				v = m.GetGauge().GetValue()
			}
			out[strings.Join(ls, ",")] = v
		}
	}
	return out
}

func dialUDP(to netip.AddrPort) (*net.UDPConn, error) {
	return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
}
