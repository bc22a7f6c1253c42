package network

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/flow"
)

// background adds commodity internet noise to web and db: each hour, a
// handful of scanners make a few SSH and RDP attempts each.
func background(g *gen, days int) []flow.Record {
	var rs []flow.Record
	for h := 0; h < days*24; h++ {
		hour := day0.Add(time.Duration(h) * time.Hour)
		for s := 0; s < 8; s++ {
			src := ip("100.65.0.0/16", (h*8+s)%3000)
			rs = append(rs, g.burst(hour.Add(time.Duration(s)*time.Minute), 3+s, src, web, 22)...)
			rs = append(rs, g.burst(hour.Add(time.Duration(s)*time.Minute), 2+s, src, db, 3389)...)
		}
	}
	return rs
}

func TestScenarios(t *testing.T) {
	lowFloor := DefaultConfig()
	lowFloor.MinAttempts = 50
	tests := []struct {
		name    string
		cfg     Config
		records func(g *gen) []flow.Record
		want    []string
	}{
		{
			name: "incoming-ssh",
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 10, 0), 3000, "203.0.113.7", web, 22)
			},
			want: []string{"incoming-ssh " + webVM},
		},
		{
			name: "incoming-ssh-multi",
			records: func(g *gen) []flow.Record {
				var rs []flow.Record
				for i := 0; i < 300; i++ {
					rs = append(rs, g.burst(at(0, 10, i%60), 6, ip("100.64.0.0/16", i), web, 22)...)
				}
				return rs
			},
			want: []string{"incoming-ssh-multi " + webVM},
		},
		{
			name: "incoming-rdp",
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 3, 0), 2500, "203.0.113.8", db, 3389)
			},
			want: []string{"incoming-rdp " + dbVM},
		},
		{
			name: "incoming-rdp-multi",
			records: func(g *gen) []flow.Record {
				var rs []flow.Record
				for i := 0; i < 150; i++ {
					rs = append(rs, g.burst(at(0, 3, i%60), 4, ip("100.64.0.0/16", i), db, 3389)...)
				}
				return rs
			},
			want: []string{"incoming-rdp-multi " + dbVM},
		},
		{
			name: "outgoing-ssh",
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 14, 0), 900, web, "203.0.113.20", 22)
			},
			want: []string{"outgoing-ssh " + webVM},
		},
		{
			name: "outgoing-ssh-multi",
			records: func(g *gen) []flow.Record {
				var rs []flow.Record
				for i := 0; i < 80; i++ {
					rs = append(rs, g.burst(at(0, 14, i%60), 3, web, ip("100.66.0.0/16", i), 22)...)
				}
				return rs
			},
			want: []string{"outgoing-ssh-multi " + webVM},
		},
		{
			name: "outgoing-rdp",
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 14, 0), 600, db, "203.0.113.21", 3389)
			},
			want: []string{"outgoing-rdp " + dbVM},
		},
		{
			name: "outgoing-rdp-multi",
			records: func(g *gen) []flow.Record {
				var rs []flow.Record
				for i := 0; i < 150; i++ {
					rs = append(rs, g.burst(at(0, 14, 0), 2, db, ip("100.66.0.0/16", i), 3389)...)
				}
				return rs
			},
			want: []string{"outgoing-rdp-multi " + dbVM},
		},
		{
			name: "jump host reaching our own servers is not outgoing brute force",
			records: func(g *gen) []flow.Record {
				var rs []flow.Record
				for _, dst := range []string{web, db, bastion} {
					rs = append(rs, g.burst(at(0, 9, 0), 200, jump, dst, 22)...)
				}
				return rs
			},
		},
		{
			name: "commodity brute force stays under the default floor",
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 10, 0), 243, "203.0.113.7", web, 22)
			},
		},
		{
			name: "commodity brute force with the single-source floor at 50",
			cfg:  lowFloor,
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 10, 0), 243, "203.0.113.7", web, 22)
			},
			want: []string{"incoming-ssh " + webVM},
		},
		{
			name: "background probes for a week",
			records: func(g *gen) []flow.Record {
				return background(g, 7)
			},
		},
		{
			name: "ip changed mid-hour",
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 10, 0), 3000, "203.0.113.7", moving, 22)
			},
		},
		{
			name: "ip held the whole hour before the change",
			records: func(g *gen) []flow.Record {
				return g.burst(at(0, 9, 0), 3000, "203.0.113.7", moving, 22)
			},
			want: []string{"incoming-ssh " + movingVM},
		},
		{
			name: "reached on its private and its public address in one hour",
			records: func(g *gen) []flow.Record {
				rs := g.burst(at(0, 10, 0), 3000, "203.0.113.7", webPublic, 22)
				return append(rs, g.burst(at(0, 10, 0), 20, jump, web, 22)...)
			},
			want: []string{"incoming-ssh " + webVM},
		},
		{
			name: "three hours are one incident, a gap starts another",
			records: func(g *gen) []flow.Record {
				var rs []flow.Record
				for _, h := range []int{10, 11, 12, 14} {
					rs = append(rs, g.burst(at(0, h, 0), 2000, "203.0.113.7", web, 22)...)
				}
				return rs
			},
			want: []string{"incoming-ssh " + webVM, "incoming-ssh " + webVM},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.SSHPorts == nil {
				cfg = DefaultConfig()
			}
			rs := tt.records(newGen("192.0.2.1", 1))
			sortByStart(rs)
			c, d := run(t, cfg, Deps{Inventory: testInventory(t), Intel: testIntel(t)}, rs)
			if diff := cmp.Diff(tt.want, c.types()); diff != "" {
				t.Errorf("alerts (-want +got):\n%s\n%s", diff, d.Summary())
			}
			golden(t, safeName(tt.name), c.jsonl(t))
		})
	}
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

func TestIncidentGrowsWithSameID(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	var rs []flow.Record
	for h := 10; h < 13; h++ {
		rs = append(rs, g.burst(at(0, h, 0), 2000, "203.0.113.7", web, 22)...)
	}
	c, _ := run(t, DefaultConfig(), Deps{Inventory: testInventory(t)}, rs)
	as := c.alerts()
	if len(as) != 1 || c.n != 3 {
		t.Fatalf("got %d alerts in %d deliveries, want 1 in 3", len(as), c.n)
	}
	a := as[0]
	if !a.Start.Equal(at(0, 10, 0)) || !a.End.Equal(at(0, 13, 0)) {
		t.Errorf("incident spans %s..%s", a.Start, a.End)
	}
	if a.ID != alert.ID(alert.IncomingSSH, webVM, at(0, 10, 0)) {
		t.Errorf("id %s is not derived from type, resource and first hour", a.ID)
	}
	if got := a.Evidence["attempts"]; got != 6000.0 {
		t.Errorf("attempts %v, want 6000", got)
	}
	if a.Subscription != "0a0a0a0a-1111-2222-3333-444444444444" || a.ResourceIP != web || a.Layer != "network" {
		t.Errorf("alert fields: %+v", a)
	}
	if diff := cmp.Diff([]string{"203.0.113.7"}, a.RemoteIPs); diff != "" {
		t.Errorf("remote ips: %s", diff)
	}
}

func TestMaliciousAddress(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	var rs []flow.Record
	// web starts a connection to a listed C2 on 443.
	rs = append(rs, g.conn(at(0, 5, 10), web, "203.0.113.66", 443)...)
	// A listed botnet address probes db: SYN in, RST out; no alert.
	probe := flow.Record{Start: at(0, 6, 0), End: at(0, 6, 0), SrcAddr: netip.MustParseAddr("198.51.100.9"), DstAddr: netip.MustParseAddr(db),
		SrcPort: 44444, DstPort: 23, Proto: flow.ProtoTCP, TCPFlags: flow.TCPSyn, Flags: flow.FlagHasTCPFlags, Packets: 1, Bytes: 60, SamplingRate: 1, Exporter: g.exporter, Format: flow.FormatIPFIX}
	rst := probe
	rst.SrcAddr, rst.DstAddr, rst.SrcPort, rst.DstPort = probe.DstAddr, probe.SrcAddr, 23, 44444
	rst.TCPFlags = flow.TCPRst | flow.TCPAck
	rs = append(rs, probe, rst)
	// A listed address connects to db's web port and data flows both ways.
	rs = append(rs, g.conn(at(0, 7, 0), "198.51.100.10", db, 8443)...)
	// An allow-listed address inside the listed /24: nothing.
	rs = append(rs, g.conn(at(0, 8, 0), web, "198.51.100.250", 443)...)
	// Tor is anonymous, not malicious: nothing.
	rs = append(rs, g.conn(at(0, 8, 0), web, "192.0.2.99", 443)...)
	c, d := run(t, DefaultConfig(), Deps{Inventory: testInventory(t), Intel: testIntel(t)}, rs)
	want := []string{"malicious-address " + webVM, "malicious-address " + dbVM}
	if diff := cmp.Diff(want, c.types()); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if s := d.Summary(); s.ListedProbes != 1 {
		t.Errorf("inbound probes from listed = %d, want 1", s.ListedProbes)
	}
	a := c.alerts()[0]
	if a.Evidence["indicator"] != "203.0.113.66" || a.Evidence["intel_source"] != "abuse-tracker" || a.Evidence["confidence"] != 90.0 {
		t.Errorf("intel evidence: %v", a.Evidence)
	}
	golden(t, "malicious-address", c.jsonl(t))
}

// TestShuffleInvariance feeds the same records in time order and shuffled
// within less than the reorder window, and expects the same alerts.
func TestShuffleInvariance(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	rs := background(g, 2)
	rs = append(rs, g.burst(at(1, 10, 0), 3000, "203.0.113.7", web, 22)...)
	for i := 0; i < 200; i++ {
		rs = append(rs, g.burst(at(1, 11, i%60), 3, ip("100.64.0.0/16", i), db, 3389)...)
	}
	rs = append(rs, g.conn(at(1, 12, 5), web, "203.0.113.66", 443)...)
	sortByStart(rs)
	c1, _ := run(t, DefaultConfig(), Deps{Inventory: testInventory(t), Intel: testIntel(t)}, rs)
	if len(c1.alerts()) != 3 {
		t.Fatalf("ordered input raised %v", c1.types())
	}
	rng := rand.New(rand.NewPCG(7, 7))
	// Shuffle inside consecutive blocks that each span at most 90 minutes.
	shuffled := append([]flow.Record(nil), rs...)
	for i := 0; i < len(shuffled); {
		j := i
		for j < len(shuffled) && shuffled[j].Start.Sub(shuffled[i].Start) < 90*time.Minute {
			j++
		}
		blk := shuffled[i:j]
		rng.Shuffle(len(blk), func(a, b int) { blk[a], blk[b] = blk[b], blk[a] })
		i = j
	}
	c2, d2 := run(t, DefaultConfig(), Deps{Inventory: testInventory(t), Intel: testIntel(t)}, shuffled)
	if !bytes.Equal(c1.jsonl(t), c2.jsonl(t)) {
		t.Errorf("shuffled input changed the alerts:\n%s\n---\n%s", c1.jsonl(t), c2.jsonl(t))
	}
	if d2.Summary().Late != 0 {
		t.Errorf("%d late records inside the window", d2.Summary().Late)
	}
}

func TestLateRecordsCounted(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	rs := g.burst(at(0, 10, 0), 10, "203.0.113.7", web, 22)
	rs = append(rs, g.conn(at(0, 14, 0), "203.0.113.7", web, 22)...)
	rs = append(rs, g.conn(at(0, 10, 30), "203.0.113.7", web, 22)...) // 3.5 h behind: late
	rs = append(rs, g.conn(at(0, 12, 30), "203.0.113.7", web, 22)...) // 1.5 h behind: in time
	_, d := run(t, DefaultConfig(), Deps{Inventory: testInventory(t)}, rs)
	if s := d.Summary(); s.Late != 2 {
		t.Errorf("late = %d, want 2\n%s", s.Late, s)
	}
}

func TestSampling(t *testing.T) {
	// 1-in-10 sampling: 3000 attempts appear as about 300 records with
	// rate 10 and are estimated back; commodity noise stays quiet.
	g := newGen("192.0.2.1", 10)
	rs := background(g, 2)
	rs = append(rs, g.burst(at(1, 10, 0), 3000, "203.0.113.7", web, 22)...)
	sortByStart(rs)
	c, _ := run(t, DefaultConfig(), Deps{Inventory: testInventory(t)}, rs)
	as := c.alerts()
	if len(as) != 1 || as[0].Type != alert.IncomingSSH {
		t.Fatalf("alerts %v", c.types())
	}
	att := as[0].Evidence["attempts"].(float64)
	if att < 2500 || att > 3500 || int(att)%10 != 0 {
		t.Errorf("estimated attempts %v, want about 3000 in steps of 10", att)
	}
	if as[0].Evidence["sampling_rate"] != 10.0 {
		t.Errorf("sampling rate %v", as[0].Evidence["sampling_rate"])
	}
	// Distinct remotes are never scaled: 150 sources sampled 1:10 that each
	// make 40 attempts still count as about 150.
	g = newGen("192.0.2.1", 10)
	rs = nil
	for i := 0; i < 150; i++ {
		rs = append(rs, g.burst(at(0, 10, 0), 40, ip("100.64.0.0/16", i), web, 22)...)
	}
	sortByStart(rs)
	c, _ = run(t, DefaultConfig(), Deps{Inventory: testInventory(t)}, rs)
	as = c.alerts()
	if len(as) != 1 || as[0].Type != alert.IncomingSSHMulti {
		t.Fatalf("alerts %v", c.types())
	}
	if d := as[0].Evidence["distinct_remotes"].(float64); d < 140 || d > 150 {
		t.Errorf("distinct remotes %v, want about 150", d)
	}
}

func TestUnknownRateFallback(t *testing.T) {
	g := newGen("192.0.2.1", 0)
	rs := g.burst(at(0, 10, 0), 120, "203.0.113.7", web, 22)
	cfg := DefaultConfig()
	cfg.ExporterRates = map[string]uint32{"192.0.2.1": 10}
	c, d := run(t, cfg, Deps{Inventory: testInventory(t)}, rs)
	if s := d.Summary(); s.UnknownRate != 120 {
		t.Errorf("unknown-rate fallbacks %d, want 120", s.UnknownRate)
	}
	if as := c.alerts(); len(as) != 1 || as[0].Evidence["attempts"] != 1200.0 {
		t.Errorf("exporter default rate not applied: %v", c.types())
	}
}

func TestMultiExporterNotSummed(t *testing.T) {
	// Two routers see the same 400 connections: 400, not 800, attempts.
	a, b := newGen("192.0.2.1", 1), newGen("192.0.2.2", 1)
	rs := a.burst(at(0, 10, 0), 400, "203.0.113.7", web, 22)
	rs = append(rs, b.burst(at(0, 10, 0), 400, "203.0.113.7", web, 22)...)
	// And a third exporter that saw only part of it.
	c3 := newGen("192.0.2.3", 1)
	rs = append(rs, c3.burst(at(0, 10, 0), 100, "203.0.113.7", web, 22)...)
	sortByStart(rs)
	c, _ := run(t, DefaultConfig(), Deps{Inventory: testInventory(t)}, rs)
	if len(c.alerts()) != 0 {
		t.Errorf("summed exporters raised %v", c.types())
	}
	cfg := DefaultConfig()
	cfg.MinAttempts = 300
	c, _ = run(t, cfg, Deps{Inventory: testInventory(t)}, rs)
	as := c.alerts()
	if len(as) != 1 || as[0].Evidence["attempts"] != 400.0 {
		t.Fatalf("alerts %v", c.types())
	}
}

func TestBiflowReverseNotCounted(t *testing.T) {
	// Reverse halves of biflows carry the server's SYN-ACK; with IE 239 or
	// without, they are never attempts.
	var rs []flow.Record
	for i := 0; i < 80; i++ {
		st := at(0, 10, 0).Add(time.Duration(i) * 30 * time.Second)
		fwd := flow.Record{Start: st, End: st, SrcAddr: netip.MustParseAddr("203.0.113.7"), DstAddr: netip.MustParseAddr(web),
			SrcPort: uint16(40000 + i), DstPort: 22, Proto: flow.ProtoTCP, TCPFlags: flow.TCPSyn | flow.TCPAck | flow.TCPFin,
			Flags: flow.FlagHasTCPFlags, Packets: 5, Bytes: 400, SamplingRate: 1, Format: flow.FormatIPFIX,
			Exporter: netip.MustParseAddr("192.0.2.1"), BiflowDirection: flow.BiflowInitiator}
		rev := fwd
		rev.SrcAddr, rev.DstAddr, rev.SrcPort, rev.DstPort = fwd.DstAddr, fwd.SrcAddr, 22, fwd.SrcPort
		rev.Flags |= flow.FlagReverse
		rev.BiflowDirection = flow.BiflowReverseInitiator
		if i%2 == 0 {
			rev.BiflowDirection = flow.BiflowAbsent
		}
		rs = append(rs, fwd, rev)
	}
	cfg := DefaultConfig()
	cfg.MinAttempts = 50
	c, _ := run(t, cfg, Deps{Inventory: testInventory(t)}, rs)
	as := c.alerts()
	if len(as) != 1 || as[0].Evidence["attempts"] != 80.0 {
		t.Fatalf("alerts %v", c.types())
	}
	// Only the reverse halves: nothing to count.
	var revs []flow.Record
	for i := 1; i < len(rs); i += 2 {
		revs = append(revs, rs[i])
	}
	c, d := run(t, cfg, Deps{Inventory: testInventory(t)}, revs)
	if len(c.alerts()) != 0 {
		t.Errorf("reverse halves raised %v\n%s", c.types(), d.Summary())
	}
}

func TestCloudFlowLogs(t *testing.T) {
	// Azure: only state B counts, without TCP flags; AWS: one per 5-tuple
	// however many aggregation windows report it; denied flows are evidence.
	var rs []flow.Record
	base := flow.Record{DstAddr: netip.MustParseAddr(web), DstPort: 22, Proto: flow.ProtoTCP, Packets: 3, Bytes: 180,
		SamplingRate: 1, Action: flow.ActionAllow, Account: "0a0a0a0a-1111-2222-3333-444444444444"}
	for i := 0; i < 60; i++ {
		r := base
		r.Format = flow.FormatAzureNSG
		r.Start = at(0, 10, i%60)
		r.SrcAddr = netip.MustParseAddr("203.0.113.7")
		r.SrcPort = uint16(50000 + i)
		for _, s := range []byte{'B', 'C', 'E'} {
			r.FlowState = s
			rs = append(rs, r)
		}
		r.Format = flow.FormatAWSVPC
		r.FlowState = 0
		r.SrcAddr = netip.MustParseAddr("203.0.113.8")
		rs = append(rs, r, r) // two capture windows, same 5-tuple
		r.Action = flow.ActionDeny
		r.SrcPort += 10000
		rs = append(rs, r)
	}
	cfg := DefaultConfig()
	cfg.MinAttempts = 50
	c, d := run(t, cfg, Deps{Inventory: testInventory(t)}, rs)
	as := c.alerts()
	if len(as) != 1 {
		t.Fatalf("alerts %v\n%s", c.types(), d.Summary())
	}
	// The busiest exporter view is one of the two logs; each counts 60.
	if as[0].Evidence["attempts"] != 60.0 || as[0].Evidence["top_remotes_attempts"] != 60.0 {
		t.Errorf("attempts %v / top %v, want 60", as[0].Evidence["attempts"], as[0].Evidence["top_remotes_attempts"])
	}
	if d.Summary().Denied != 60 {
		t.Errorf("denied = %d, want 60", d.Summary().Denied)
	}
}

func TestSuppressionAndDisabled(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	rs := g.burst(at(0, 10, 0), 3000, "203.0.113.7", web, 22)
	rs = append(rs, g.burst(at(0, 10, 0), 3000, "203.0.113.9", db, 3389)...)
	sortByStart(rs)
	cfg := DefaultConfig()
	cfg.Suppressions = alert.Suppressions{{Type: alert.IncomingSSH, Remote: "203.0.113.0/28", Reason: "pen test"}}
	cfg.Disabled = []string{alert.IncomingRDP}
	c, d := run(t, cfg, Deps{Inventory: testInventory(t)}, rs)
	if len(c.alerts()) != 0 {
		t.Errorf("alerts %v", c.types())
	}
	if s := d.Summary(); s.SuppressedRules != 1 || s.Disabled != 1 {
		t.Errorf("suppressed %d, disabled %d; want 1 and 1", s.SuppressedRules, s.Disabled)
	}
	cfg.Severities = map[string]string{alert.IncomingRDP: alert.SeverityHigh}
	cfg.Disabled = nil
	c, _ = run(t, cfg, Deps{Inventory: testInventory(t)}, rs)
	if as := c.alerts(); len(as) != 1 || as[0].Severity != alert.SeverityHigh {
		t.Errorf("severity override: %v", as)
	}
}

func TestHomeNetFallback(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	rs := g.burst(at(0, 10, 0), 3000, "203.0.113.7", "240.125.0.2", 22)
	c, _ := run(t, DefaultConfig(), Deps{HomeNets: []netip.Prefix{netip.MustParsePrefix("240.125.0.2/32")}}, rs)
	as := c.alerts()
	if len(as) != 1 || as[0].Resource != "240.125.0.2" || as[0].ResourceIP != "240.125.0.2" || as[0].Subscription != "" {
		t.Fatalf("alerts %+v", as)
	}
}

func TestAddDoesNotAllocate(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	d, err := New(DefaultConfig(), Deps{Inventory: testInventory(t), Intel: testIntel(t)}, func(alert.Alert) {})
	if err != nil {
		t.Fatal(err)
	}
	// Warm up: an hour's state and its maps exist.
	warm := g.burst(at(0, 10, 0), 600, "203.0.113.7", web, 22)
	for i := range warm {
		d.Add(&warm[i])
	}
	rs := g.burst(at(0, 10, 30), 50, "203.0.113.7", web, 22)
	i := 0
	n := testing.AllocsPerRun(len(rs)-1, func() {
		d.Add(&rs[i%len(rs)])
		i++
	})
	if n != 0 {
		t.Errorf("Add allocates %v times per record", n)
	}
}

func TestConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("min-attempts: 50\nreorder-window: 30m\nsuppressions:\n  - type: incoming-ssh\n    remote: 10.1.0.0/16\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.MinAttempts = 50
	want.ReorderWindow = 30 * time.Minute
	want.Suppressions = alert.Suppressions{{Type: "incoming-ssh", Remote: "10.1.0.0/16"}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	cfg, err = ParseConfig([]byte("network:\n  min-attempts: 70\n"))
	if err != nil || cfg.MinAttempts != 70 {
		t.Errorf("nested network key: %v %v", cfg.MinAttempts, err)
	}
	for _, bad := range []string{
		"min-attemps: 50\n", "min-attempts: 0\n", "ssh-ports: [22, 22]\n", "severities: {incoming-ssh: urgent}\n",
		"disabled: [impossible-travel]\n", "suppressions: [{reason: x}]\n", "model: {min-spread: 0}\n",
		"exporter-rates: {nope: 10}\n", "reorder-window: -1h\n",
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%q) accepted it", bad)
		}
	}
}
