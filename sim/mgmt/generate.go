package mgmt

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/sim/world"
)

// sim is one run's state.
type sim struct {
	cfg      Config
	w        *world.World
	r        *rand.Rand
	est      *estate
	days     int
	people   []*person
	names    map[string]int
	homeCnt  map[string]int
	visited  map[string]bool
	sps      []*principal
	awsRoles []*principal
	gcpSAs   []*principal
	sched    map[int][]event
	truth    []eval.Incident
	// lookalikes are the benign look-alikes: the alert type each
	// resembles, the principal and when.
	lookalikes []eval.Incident
}

// Stats describes what a run wrote.
type Stats struct {
	Records int64 // records written (Azure stages count one each)
	Bytes   int64 // uncompressed bytes
	Files   int
	Events  int // simulated actions before expansion into records
}

// Result is what a run produced besides the files.
type Result struct {
	// Incidents are the labelled management incidents, sorted by start.
	Incidents []eval.Incident
	// LookAlikes are the benign activities staged to resemble an
	// incident: Type is the alert they must not raise, Key the principal.
	LookAlikes []eval.Incident
	Stats      Stats
}

// Generate simulates cfg and writes the logs under outDir (azure/, aws/,
// gcp/). It returns the labelled management incidents, sorted by start.
func Generate(cfg Config, outDir string) ([]eval.Incident, error) {
	res, err := GenerateResult(cfg, outDir)
	return res.Incidents, err
}

// GenerateStats is Generate that also reports the volume written.
func GenerateStats(cfg Config, outDir string) ([]eval.Incident, Stats, error) {
	res, err := GenerateResult(cfg, outDir)
	return res.Incidents, res.Stats, err
}

// GenerateResult is Generate that also returns the look-alikes and the
// volume written.
func GenerateResult(cfg Config, outDir string) (Result, error) {
	var res Result
	var err error
	res.Incidents, res.LookAlikes, res.Stats, err = generate(cfg, outDir, nil)
	return res, err
}

// generate runs the simulation; hook, when set, sees every event as it is
// written (tests feed them to the detector directly).
func generate(cfg Config, outDir string, hook func(*sim, *event)) ([]eval.Incident, []eval.Incident, Stats, error) {
	if err := cfg.normalise(); err != nil {
		return nil, nil, Stats{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, nil, Stats{}, fmt.Errorf("mgmt: %w", err)
	}
	s := newSim(cfg)
	s.buildPopulation()
	s.scripts()
	s.backgroundLookalikes()

	lab := newLabeller(s.w)
	out := newSinks(outDir, rand.New(rand.NewPCG(uint64(cfg.Seed), 0x73696e6b)))
	var st Stats
	var evs []event
	for di := range s.days {
		day := s.day(di)
		r := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(di)+1))
		evs = evs[:0]
		for _, p := range s.people {
			evs = s.personDay(p, day, r, evs)
		}
		evs = s.automationDay(day, r, evs)
		evs = append(evs, s.sched[di]...)
		slices.SortStableFunc(evs, func(a, b event) int { return a.t.Compare(b.t) })
		for i := range evs {
			e := &evs[i]
			if e.t.Before(cfg.Start) || !e.t.Before(cfg.End) {
				continue
			}
			lab.observe(e)
			if hook != nil {
				hook(s, e)
			}
			var err error
			switch e.src {
			case srcActivity:
				err = out.activity(e, s.est.tenant, r)
			case srcSignIn:
				err = out.signin(e, s.est.tenant, s.w, r)
			case srcCloudTrail:
				err = out.cloudTrail(e, r)
			case srcGCP:
				err = out.gcp(e, r)
			}
			if err != nil {
				return nil, nil, st, fmt.Errorf("mgmt: write: %w", err)
			}
			st.Events++
		}
		if err := out.flush(); err != nil {
			return nil, nil, st, fmt.Errorf("mgmt: write: %w", err)
		}
	}
	st.Records, st.Bytes, st.Files = out.records, out.bytes, out.files
	all := append(s.truth, lab.out...)
	slices.SortStableFunc(all, func(a, b eval.Incident) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Key, b.Key))
	})
	slices.SortStableFunc(s.lookalikes, func(a, b eval.Incident) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Key, b.Key))
	})
	return all, s.lookalikes, st, nil
}

func newSim(cfg Config) *sim {
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6d676d74)) // "mgmt"
	s := &sim{cfg: cfg, w: cfg.World, r: r, names: map[string]int{}, homeCnt: map[string]int{}, visited: map[string]bool{},
		sched: map[int][]event{}, days: int(cfg.End.Sub(cfg.Start) / (24 * time.Hour))}
	est := &estate{tenant: cfg.Tenant}
	if est.tenant == "" {
		est.tenant = guid(r)
	}
	subs := cfg.Subscriptions
	if len(subs) == 0 {
		subs = []string{guid(r), guid(r), guid(r)}
	}
	for i, id := range subs {
		sub := newSubscription(r, id)
		// The last subscription streams to Event Hub; the others are
		// archived to a storage account.
		sub.eventHub = len(subs) > 1 && i == len(subs)-1
		// The second archives its blobs as {"records":[...]} objects, the
		// form storage exports had before JSON lines.
		sub.wrapped = len(subs) > 2 && i == 1
		est.subs = append(est.subs, sub)
	}
	for range 2 {
		est.accounts = append(est.accounts, fmt.Sprintf("%012d", r.Int64N(1e12)))
	}
	_, domain := cfg.World.Org()
	est.projects = []string{"prod-" + domain[:3] + "-" + hexString(r, 6), "data-" + domain[:3] + "-" + hexString(r, 6)}
	s.est = est
	return s
}

// add schedules a scripted event.
func (s *sim) add(es ...event) {
	for _, e := range es {
		di := int(e.t.Sub(s.cfg.Start) / (24 * time.Hour))
		s.sched[di] = append(s.sched[di], e)
	}
}
