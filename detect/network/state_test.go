package network

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/flow"
)

// bastionTraffic is heavy, regular admin SSH to the bastion: 40 sources,
// 15 connections each, every hour.
func bastionTraffic(g *gen, fromDay, days int) []flow.Record {
	var rs []flow.Record
	for h := fromDay * 24; h < (fromDay+days)*24; h++ {
		hour := day0.Add(time.Duration(h) * time.Hour)
		for s := 0; s < 40; s++ {
			rs = append(rs, g.burst(hour, 15, ip("100.70.0.0/16", s), bastion, 22)...)
		}
	}
	sortByStart(rs)
	return rs
}

func runState(t testing.TB, cfg Config, state []byte, rs []flow.Record) (*collector, *Detector, []byte) {
	t.Helper()
	c := newCollector()
	d, err := New(cfg, Deps{Inventory: testInventory(t), Intel: testIntel(t)}, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	if state != nil {
		if err := d.LoadState(bytes.NewReader(state)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range rs {
		d.Add(&rs[i])
	}
	d.Close()
	var out bytes.Buffer
	if err := d.SaveState(&out); err != nil {
		t.Fatal(err)
	}
	return c, d, out.Bytes()
}

// TestBastion learns eight days of heavy SSH to a bastion, then judges a
// ninth day with floors lowered far below its level: its own baseline says
// the traffic is normal. Ten times the usual level still alerts.
func TestBastion(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	c, _, state := runState(t, DefaultConfig(), nil, bastionTraffic(g, 0, 8))
	if len(c.alerts()) != 0 {
		t.Fatalf("bastion alerted while learning with default floors: %v", c.types())
	}
	low := DefaultConfig()
	low.MinAttempts = 10
	low.MinDistinctSources = 10
	c, _, _ = runState(t, low, state, bastionTraffic(g, 8, 1))
	if len(c.alerts()) != 0 {
		t.Errorf("learned bastion alerted: %v", c.types())
	}
	attack := g.burst(at(8, 13, 0), 6000, "203.0.113.7", bastion, 22)
	sortByStart(attack)
	c, _, _ = runState(t, DefaultConfig(), state, attack)
	as := c.alerts()
	if len(as) != 1 || as[0].Type != alert.IncomingSSH || as[0].Evidence["basis"] != "own" {
		t.Fatalf("attack on the bastion: %v", as)
	}
	if exp := as[0].Evidence["expected"].(float64); exp < 40 || exp > 50 {
		t.Errorf("expected %v, want the learned 45 of the three busiest sources", exp)
	}
}

// TestReplayNotLearnedTwice scans the same records twice with state: the
// second run finds them under the sources' high-water marks and learns
// nothing, so the saved state is unchanged.
func TestReplayNotLearnedTwice(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	rs := bastionTraffic(g, 0, 2)
	_, _, s1 := runState(t, DefaultConfig(), nil, rs)
	_, d, s2 := runState(t, DefaultConfig(), s1, rs)
	if !bytes.Equal(s1, s2) {
		t.Errorf("state changed after a replay (%d vs %d bytes)", len(s1), len(s2))
	}
	if d.Summary().Replayed != uint64(len(rs)) {
		t.Errorf("replayed %d of %d", d.Summary().Replayed, len(rs))
	}
	// New data after the mark is learned.
	_, _, s3 := runState(t, DefaultConfig(), s1, bastionTraffic(g, 2, 1))
	if bytes.Equal(s1, s3) {
		t.Error("new data was not learned")
	}
}

func TestStateRoundTrip(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	_, d, s1 := runState(t, DefaultConfig(), nil, background(g, 2))
	d2, err := New(DefaultConfig(), Deps{Inventory: testInventory(t)}, func(alert.Alert) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.LoadState(bytes.NewReader(s1)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := d2.SaveState(&out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1, out.Bytes()) {
		t.Error("load then save changed the state")
	}
	if len(d.resources) == 0 {
		t.Error("no resources learned")
	}
	// A resource the inventory no longer knows survives a round trip.
	d3, _ := New(DefaultConfig(), Deps{}, func(alert.Alert) {})
	if err := d3.LoadState(bytes.NewReader(s1)); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := d3.SaveState(&out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1, out.Bytes()) {
		t.Error("dormant resources were not kept")
	}
	for _, bad := range [][]byte{nil, []byte("VIGILNET"), []byte("VIGILNET\x02"), s1[:len(s1)-3]} {
		if err := d3.LoadState(bytes.NewReader(bad)); err == nil {
			t.Errorf("LoadState accepted %d bytes of garbage", len(bad))
		}
	}
}

func FuzzLoadState(f *testing.F) {
	g := newGen("192.0.2.1", 1)
	_, _, s := runState(f, DefaultConfig(), nil, bastionTraffic(g, 0, 1))
	f.Add(s)
	f.Add([]byte("VIGILNET\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := New(DefaultConfig(), Deps{Inventory: testInventory(t)}, func(alert.Alert) {})
		if err != nil {
			t.Fatal(err)
		}
		if d.LoadState(bytes.NewReader(data)) != nil {
			return
		}
		rs := g.burst(at(0, 10, 0), 20, "203.0.113.7", web, 22)
		for i := range rs {
			d.Add(&rs[i])
		}
		d.Close()
		var out bytes.Buffer
		if err := d.SaveState(&out); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMarksPerObservationDomain reads two exporters' IPFIX files (no
// exporter address, two observation domains), the first further than the
// second, then both in full: the second exporter's newer records are new,
// not replayed.
func TestMarksPerObservationDomain(t *testing.T) {
	g := newGen("192.0.2.1", 1)
	split := func(rs []flow.Record, domain uint32) []flow.Record {
		out := append([]flow.Record(nil), rs...)
		for i := range out {
			out[i].Exporter = netip.Addr{}
			out[i].ObsDomain = domain
		}
		return out
	}
	a := split(bastionTraffic(g, 0, 3), 1) // days 0-2
	b := split(bastionTraffic(g, 0, 2), 2) // days 0-1
	first := append(append([]flow.Record(nil), a...), b...)
	sortByStart(first)
	_, _, state := runState(t, DefaultConfig(), nil, first)

	bDay2 := split(bastionTraffic(g, 2, 1), 2)
	all := append(append(append([]flow.Record(nil), a...), b...), bDay2...)
	sortByStart(all)
	_, d, _ := runState(t, DefaultConfig(), state, all)
	if got, want := d.Summary().Replayed, uint64(len(a)+len(b)); got != want {
		t.Errorf("replayed %d records, want %d (domain 2's third day is new)", got, want)
	}
}
