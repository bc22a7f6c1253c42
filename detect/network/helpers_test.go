package network

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/flow"
)

var update = flag.Bool("update", false, "rewrite golden files")

// day0 is a Monday.
var day0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func at(day, hour, min int) time.Time {
	return day0.Add(time.Duration(day)*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(min)*time.Minute)
}

// gen builds flow records the way an unsampled or sampled router export
// shows TCP connections: one record per direction, cumulative flags.
type gen struct {
	exporter netip.Addr
	rate     uint32
	format   flow.Format
	rng      *rand.Rand
	sport    uint16
}

func newGen(exporter string, rate uint32) *gen {
	return &gen{exporter: netip.MustParseAddr(exporter), rate: rate, format: flow.FormatIPFIX, rng: rand.New(rand.NewPCG(1, 2)), sport: 30000}
}

func (g *gen) port() uint16 {
	g.sport++
	if g.sport < 30000 {
		g.sport = 30000
	}
	return g.sport
}

// conn returns the two directed records of one completed TCP connection.
func (g *gen) conn(start time.Time, client, server string, dport uint16) []flow.Record {
	sp := g.port()
	c, s := netip.MustParseAddr(client), netip.MustParseAddr(server)
	base := flow.Record{Start: start, End: start.Add(3 * time.Second), Exporter: g.exporter, SamplingRate: g.rate,
		Proto: flow.ProtoTCP, Format: g.format, Flags: flow.FlagHasTCPFlags}
	fwd, rev := base, base
	fwd.SrcAddr, fwd.DstAddr, fwd.SrcPort, fwd.DstPort = c, s, sp, dport
	fwd.TCPFlags = flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin
	fwd.Packets, fwd.Bytes = 14, 2600
	rev.SrcAddr, rev.DstAddr, rev.SrcPort, rev.DstPort = s, c, dport, sp
	rev.TCPFlags = flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin
	rev.Packets, rev.Bytes = 12, 3100
	return []flow.Record{fwd, rev}
}

// burst spreads n connections from client to server over the hour that
// starts at hour (n is the true number; a sampled export keeps about 1 in
// rate of them).
func (g *gen) burst(hour time.Time, n int, client, server string, dport uint16) []flow.Record {
	var out []flow.Record
	for i := 0; i < n; i++ {
		if g.rate > 1 && g.rng.IntN(int(g.rate)) != 0 {
			continue
		}
		t := hour.Add(time.Duration(i) * time.Hour / time.Duration(n))
		out = append(out, g.conn(t, client, server, dport)...)
	}
	return out
}

// ip returns the i-th address of a /16 for generated remotes.
func ip(prefix string, i int) string {
	p := netip.MustParsePrefix(prefix).Addr().As4()
	p[2], p[3] = byte(i>>8), byte(i)
	return netip.AddrFrom4(p).String()
}

func sortByStart(rs []flow.Record) {
	slices.SortStableFunc(rs, func(a, b flow.Record) int { return a.Start.Compare(b.Start) })
}

// collector keeps the last delivery of each alert id, in first-delivery
// order.
type collector struct {
	order []string
	byID  map[string]alert.Alert
	n     int
}

func newCollector() *collector { return &collector{byID: map[string]alert.Alert{}} }

func (c *collector) sink(a alert.Alert) {
	c.n++
	if _, ok := c.byID[a.ID]; !ok {
		c.order = append(c.order, a.ID)
	}
	c.byID[a.ID] = a
}

func (c *collector) alerts() []alert.Alert {
	out := make([]alert.Alert, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.byID[id])
	}
	slices.SortStableFunc(out, func(a, b alert.Alert) int {
		return strings.Compare(a.Start.Format(time.RFC3339)+a.Type+a.Resource, b.Start.Format(time.RFC3339)+b.Type+b.Resource)
	})
	return out
}

func (c *collector) types() []string {
	var out []string
	for _, a := range c.alerts() {
		out = append(out, a.Type+" "+a.Resource)
	}
	return out
}

func (c *collector) jsonl(t *testing.T) []byte {
	var b bytes.Buffer
	for _, a := range c.alerts() {
		line, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".jsonl")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from golden (-want +got):\n%s", path, diff)
	}
}

// testInventory holds the estate used by most tests.
const (
	webVM     = "/subscriptions/0a0a0a0a-1111-2222-3333-444444444444/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/web-1"
	dbVM      = "/subscriptions/0a0a0a0a-1111-2222-3333-444444444444/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/db-1"
	jumpVM    = "/subscriptions/0a0a0a0a-1111-2222-3333-444444444444/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/jump-1"
	bastionVM = "/subscriptions/0a0a0a0a-1111-2222-3333-444444444444/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/bastion-1"
	movingVM  = "/subscriptions/0a0a0a0a-1111-2222-3333-444444444444/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/moving-1"
	web       = "10.0.0.4"
	webPublic = "198.18.0.4"
	db        = "10.0.0.5"
	jump      = "10.0.0.6"
	bastion   = "10.0.0.7"
	moving    = "10.0.0.8"
)

func testInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	inv := inventory.New(nil)
	from := day0.Add(-30 * 24 * time.Hour)
	for res, addr := range map[string]string{webVM: web, dbVM: db, jumpVM: jump, bastionVM: bastion} {
		if err := inv.Add(res, netip.MustParseAddr(addr), from, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	// web-1 is also reached on its public address.
	if err := inv.Add(webVM, netip.MustParseAddr(webPublic), from, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// moving-1 gets a new address at 10:30 on day 0.
	if err := inv.Add(movingVM, netip.MustParseAddr(moving), from, at(0, 10, 30)); err != nil {
		t.Fatal(err)
	}
	if err := inv.Add(movingVM, netip.MustParseAddr("10.0.0.9"), at(0, 10, 30), time.Time{}); err != nil {
		t.Fatal(err)
	}
	return inv
}

func testIntel(t testing.TB) *intel.DB {
	t.Helper()
	db := intel.New()
	feed := "indicator,category,source,confidence\n203.0.113.66,c2,abuse-tracker,90\n198.51.100.0/24,botnet,scanner-list,60\n192.0.2.99,tor,tor-project,100\n"
	if err := db.Add([]byte(feed), "feed.csv", ""); err != nil {
		t.Fatal(err)
	}
	if err := db.Add([]byte("198.51.100.250\n"), "allow.txt", "allow"); err != nil {
		t.Fatal(err)
	}
	return db
}

// run feeds records to a new detector and closes it.
func run(t testing.TB, cfg Config, deps Deps, rs []flow.Record) (*collector, *Detector) {
	t.Helper()
	c := newCollector()
	d, err := New(cfg, deps, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		d.Add(&rs[i])
	}
	d.Close()
	return c, d
}
