// Package sim writes a simulated cloud estate, labelled for evaluation: an
// asset inventory, threat-intelligence feeds, network flows in the formats
// Vigil reads (IPFIX files and a pcap of IPFIX datagrams, AWS VPC Flow
// Logs, Azure NSG and VNet flow logs), and truth.jsonl, the incidents a
// correct detector must report, with lookalikes.jsonl, the benign
// situations that it must not. The GeoIP databases, the Tor exit list and
// the anonymity feed come from sim/world; the management logs (Azure
// Activity Log, Entra ID sign-ins, CloudTrail, GCP audit) from sim/mgmt,
// through a ManagementStep, for the same subscriptions and world.
//
// The output is a pure function of the configuration: the same seed gives
// the same bytes, and another seed changes addresses, names, times and
// which machine plays which role. docs/simulator.md describes the estate
// and the labelling rules.
package sim

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/sim/mgmt"
	"github.com/vigil-ids/vigil/sim/world"
)

// ErrConfig reports an unusable configuration.
var ErrConfig = errors.New("sim: invalid configuration")

// ManagementInput is what the management step shares with the network
// estate: the span, the subscriptions and the simulated internet.
type ManagementInput struct {
	Seed          int64
	Start, End    time.Time
	Subscriptions []string
	World         *world.World
	Scale         int
}

// ManagementStep writes the management-layer telemetry (audit and sign-in
// logs) into outDir and returns its labelled incidents and look-alikes. It
// runs after the network.
type ManagementStep func(ctx context.Context, in ManagementInput, outDir string) (incidents, lookalikes []eval.Incident, err error)

// GenerateManagement is the default ManagementStep: sim/mgmt's Azure
// Activity Log, Entra ID sign-ins, CloudTrail and GCP audit logs for the
// same subscriptions and the same world.
func GenerateManagement(_ context.Context, in ManagementInput, outDir string) ([]eval.Incident, []eval.Incident, error) {
	mc := mgmt.DefaultConfig(in.Seed, in.End)
	mc.Start, mc.End = in.Start, in.End
	mc.Subscriptions = in.Subscriptions
	mc.World = in.World
	mc.Scale = in.Scale
	inc, err := mgmt.Generate(mc, outDir)
	return inc, nil, err
}

// Config sets what the simulator writes.
type Config struct {
	// Seed selects the estate; the same seed gives the same output.
	Seed int64
	// Days is the whole simulated span (management history).
	Days int
	// FlowDays is how many of the last days carry network flows. The
	// first seven of them are the detectors' learning week.
	FlowDays int
	// Start is the first instant simulated. Zero derives it from the
	// seed, never from the clock, so the output stays deterministic.
	Start time.Time
	// Scale multiplies the estate (resources, incidents, address pools);
	// 1 is the default estate, tens give tens of millions of flow records.
	Scale int
	// Management writes the management layer after the network;
	// GenerateManagement when nil. It is skipped when NetworkOnly is set
	// or when Days is shorter than the management history needs
	// (mgmt.MinHistory, 70 days).
	Management  ManagementStep
	NetworkOnly bool
}

// DefaultConfig returns the default estate: 75 days, flows for the last 14.
func DefaultConfig() Config {
	return Config{Seed: 1, Days: 75, FlowDays: 14, Scale: 1}
}

func (c *Config) normalise() error {
	if c.Days <= 0 {
		c.Days = 75
	}
	if c.FlowDays <= 0 {
		c.FlowDays = min(14, c.Days)
	}
	if c.Scale <= 0 {
		c.Scale = 1
	}
	if c.FlowDays > c.Days {
		return fmt.Errorf("%w: --flow-days %d exceeds --days %d", ErrConfig, c.FlowDays, c.Days)
	}
	if c.FlowDays < 2 {
		return fmt.Errorf("%w: at least 2 flow days are needed", ErrConfig)
	}
	if c.Start.IsZero() {
		// A Monday in early 2026, moved by up to four weeks by the seed.
		c.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(uint64(c.Seed)%28))
	}
	c.Start = c.Start.UTC().Truncate(time.Hour)
	return nil
}

func (c *Config) flowStart() time.Time {
	return c.Start.AddDate(0, 0, c.Days-c.FlowDays)
}

// SourceStats counts what one flow source wrote.
type SourceStats struct {
	Name         string `json:"name"`
	Format       string `json:"format"`
	SamplingRate uint32 `json:"sampling_rate"`
	Records      uint64 `json:"records"`
}

// Result summarises a run.
type Result struct {
	Start, End, FlowStart time.Time
	Subscriptions         int
	Resources             int
	// FlowRecords counts the flow records written over all formats: IPFIX
	// data records, Azure flow tuples and VPC lines.
	FlowRecords uint64
	Sources     []SourceStats
	Incidents   []eval.Incident
	LookAlikes  []eval.Incident
	// ManagementSkipped says why no management logs were written, if so.
	ManagementSkipped string
	Elapsed           time.Duration
}

// simulator holds one run's state.
type simulator struct {
	cfg        Config
	r          rng
	estate     *estate
	start, end time.Time
	flowStart  time.Time
	acts       []*activity
	lookalikes []eval.Incident
	internal   internal
	dnsServer  netip.Addr
}

// Run writes the estate into outDir (created if needed) and reports
// progress through progress, which may be nil.
func Run(ctx context.Context, cfg Config, outDir string, progress func(step string)) (Result, error) {
	began := time.Now()
	if progress == nil {
		progress = func(string) {}
	}
	if err := cfg.normalise(); err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("sim: %w", err)
	}
	s := &simulator{cfg: cfg, r: newRNG(cfg.Seed, 1)}
	s.start = cfg.Start
	s.end = cfg.Start.AddDate(0, 0, cfg.Days)
	s.flowStart = cfg.flowStart()
	progress("estate")
	s.estate = buildEstate(s.r, cfg)
	// Azure's virtual resolver, which every machine asks.
	s.dnsServer = netip.MustParseAddr("168.63.129.16")
	for _, res := range s.estate.resources {
		if res.sources[0] == 0 && len(res.sources) == 1 {
			switch res.role {
			case roleLinux, roleDB, roleWeb:
				s.internal.linux = append(s.internal.linux, res)
			case roleWindows:
				s.internal.windows = append(s.internal.windows, res)
			}
		}
	}
	s.schedule()

	res := Result{Start: s.start, End: s.end, FlowStart: s.flowStart, Subscriptions: len(s.estate.subscriptions), Resources: len(s.estate.resources)}
	if err := s.estate.writeInventory(filepath.Join(outDir, "inventory.jsonl")); err != nil {
		return res, err
	}
	if err := s.estate.writeSummary(filepath.Join(outDir, "estate.json")); err != nil {
		return res, err
	}
	progress("threat intelligence")
	if err := s.writeIntel(filepath.Join(outDir, "intel")); err != nil {
		return res, err
	}
	progress("geoip and tor")
	if err := s.writeWorld(outDir); err != nil {
		return res, err
	}
	stats, err := s.flows(ctx, filepath.Join(outDir, "flows"), progress)
	if err != nil {
		return res, err
	}
	res.Sources = stats
	for _, st := range stats {
		res.FlowRecords += st.Records
	}
	res.Incidents = s.truth()
	res.LookAlikes = s.lookalikes
	switch {
	case cfg.NetworkOnly:
		res.ManagementSkipped = "network only"
	case s.end.Sub(s.start) < mgmt.MinHistory:
		res.ManagementSkipped = fmt.Sprintf("%d days are fewer than the %d the management history needs", cfg.Days, int(mgmt.MinHistory.Hours()/24))
	default:
		progress("management")
		step := cfg.Management
		if step == nil {
			step = GenerateManagement
		}
		in := ManagementInput{Seed: cfg.Seed, Start: s.start, End: s.end, Subscriptions: s.estate.subscriptions, World: s.estate.world, Scale: cfg.Scale}
		inc, look, err := step(ctx, in, outDir)
		if err != nil {
			return res, fmt.Errorf("sim: management: %w", err)
		}
		res.Incidents = append(res.Incidents, inc...)
		res.LookAlikes = append(res.LookAlikes, look...)
	}
	if res.ManagementSkipped != "" {
		progress("management skipped: " + res.ManagementSkipped)
	}
	sortIncidents(res.Incidents)
	sortIncidents(res.LookAlikes)
	progress("truth")
	if err := writeIncidents(filepath.Join(outDir, "truth.jsonl"), res.Incidents); err != nil {
		return res, err
	}
	if err := writeIncidents(filepath.Join(outDir, "lookalikes.jsonl"), res.LookAlikes); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

func sortIncidents(in []eval.Incident) {
	slices.SortStableFunc(in, func(a, b eval.Incident) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if a.Type != b.Type {
			if a.Type < b.Type {
				return -1
			}
			return 1
		}
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
}

func writeIncidents(path string, in []eval.Incident) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := eval.WriteTruth(bw, in); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("sim: %w", err)
	}
	return f.Close()
}

// flows generates the network hour by hour, in time order, into one sink
// per flow source.
func (s *simulator) flows(ctx context.Context, dir string, progress func(string)) ([]SourceStats, error) {
	e := s.estate
	sinks := make([]sink, len(e.sources))
	for i, src := range e.sources {
		sr := newRNG(s.cfg.Seed, uint64(100+i))
		switch src.kind {
		case kindIPFIX:
			sinks[i] = newIPFIXSink(dir, src, false, sr)
		case kindPcap:
			sinks[i] = newIPFIXSink(dir, src, true, sr)
		case kindNSG:
			sinks[i] = newAzureSink(dir, src, i, false, sr)
		case kindVNet:
			sinks[i] = newAzureSink(dir, src, i, true, sr)
		case kindVPC:
			sinks[i] = newVPCSink(dir, src, i, sr)
		}
	}
	// Generation and writing overlap: while the sinks write hour h, each
	// in its own goroutine and in hour order, the generator makes hour
	// h+1 into the other buffer. Every sink has its own random source, so
	// the output does not depend on scheduling.
	var bufs [2]hourBatch
	cur := &bufs[0]
	g := &gen{r: newRNG(s.cfg.Seed, 2)}
	g.emit = func(c *conn) { cur.conns = append(cur.conns, *c) }
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	days := s.cfg.FlowDays
	for h, n := s.flowStart, 0; h.Before(s.end); h, n = h.Add(time.Hour), n+1 {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return nil, err
		}
		if h.Hour() == 0 {
			progress(fmt.Sprintf("flows: day %d of %d", int(h.Sub(s.flowStart).Hours())/24+1, days))
		}
		next := h.Add(time.Hour)
		cur = &bufs[n%2]
		cur.conns, cur.end = cur.conns[:0], next
		for _, res := range e.resources {
			s.background(g, res, h, next)
		}
		for _, a := range s.acts {
			if a.from.Before(next) && a.to.After(h) {
				a.run(g, maxTime(a.from, h), minTime(a.to, next))
			}
		}
		// Sort an index, not the wide conns; ties keep generation order.
		cur.order = cur.order[:0]
		for i := range cur.conns {
			cur.order = append(cur.order, connKey{cur.conns[i].start.UnixNano(), int32(i)})
		}
		slices.SortFunc(cur.order, func(a, b connKey) int {
			if a.t != b.t {
				return cmp.Compare(a.t, b.t)
			}
			return cmp.Compare(a.i, b.i)
		})
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		batch := cur
		wg.Add(len(sinks))
		for i, sk := range sinks {
			go func() {
				defer wg.Done()
				errs[i] = batch.write(i, sk)
			}()
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	stats := make([]SourceStats, len(sinks))
	for i, sk := range sinks {
		if err := sk.close(); err != nil {
			return nil, err
		}
		src := e.sources[i]
		stats[i] = SourceStats{Name: src.name, Format: src.kind.String(), SamplingRate: src.rate, Records: sk.records()}
	}
	return stats, nil
}

// hourBatch is one hour of connections, in time order through order.
type hourBatch struct {
	conns []conn
	order []connKey
	end   time.Time
}

// write hands the source idx the connections it sees, then closes the
// hour.
func (b *hourBatch) write(idx int, sk sink) error {
	for _, o := range b.order {
		c := &b.conns[o.i]
		if c.cres != nil && slices.Contains(c.cres.sources, idx) || c.sres != nil && slices.Contains(c.sres.sources, idx) {
			sk.add(c)
		}
	}
	return sk.endHour(b.end)
}

// connKey orders the conns of an hour by start, then generation order.
type connKey struct {
	t int64
	i int32
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
