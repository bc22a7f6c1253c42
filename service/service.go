// Package service is `vigil run`: the always-on process that receives
// NetFlow and IPFIX over UDP, audit logs over HTTP and flow and audit files
// in watched folders, runs the detections of `vigil scan` on event time,
// stores alerts and learned state in the embedded store, serves the API and
// the UI, and delivers alerts to outputs.
//
// Components start in order and stop in reverse: store, spool, inputs
// (inventory, intel, GeoIP), detectors, alert handling and outputs, the
// watcher, the UDP collector, the HTTP server. Each detector is owned by
// one goroutine and fed through a channel, because detectors are not safe
// for concurrent use; UDP workers and the watcher both send to it.
//
// Every CheckpointInterval the watcher's goroutine asks each detector for
// its state through the same channel (so the state covers every record
// sent before), waits until the alerts raised so far are stored, and writes
// the detector states, the watched files' progress and a shutdown marker
// in one store transaction; only then are processed spool files removed.
// After a crash the restart loads that checkpoint and reads the files on
// from the recorded progress, so at most one interval is processed again,
// and alert ids are deterministic, so no alert is stored twice. UDP data
// cannot be replayed: the marker tells a crash from a clean stop, and a
// crash is recorded as a gap in ingest health.
package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/collector"
	"github.com/vigil-ids/vigil/detect/management"
	"github.com/vigil-ids/vigil/detect/network"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/output"
	"github.com/vigil-ids/vigil/server"
	"github.com/vigil-ids/vigil/spool"
	"github.com/vigil-ids/vigil/store"
	"github.com/vigil-ids/vigil/watch"
)

// Names of the blobs a checkpoint writes.
const (
	stateNetwork    = "network"
	stateManagement = "management"
	stateWatch      = "watch"
	stateService    = "service"
)

// Deps are the service's collaborators.
type Deps struct {
	// Logger receives the service's messages; nil discards them.
	Logger *slog.Logger
	// Registry receives every metric; nil makes a private one.
	Registry *prometheus.Registry
	// ConfigPath, when set, is re-read on Reload and when its modification
	// time changes.
	ConfigPath string
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// Version is Vigil's version, carried in OCSF and CEF payloads and
	// the webhook User-Agent.
	Version string
}

// Service is one running `vigil run`.
type Service struct {
	cfg    Config
	deps   Deps
	logger *slog.Logger
	now    func() time.Time
	reg    *prometheus.Registry
	m      *metrics

	stores *store.Set
	spool  *spool.Spool
	coll   *collector.Collector
	srv    *server.Server
	out    *outputs

	netCh    chan netMsg
	mgmtCh   chan mgmtMsg
	alertCh  chan alertMsg
	reloadCh chan struct{}
	nudgeCh  chan struct{}

	// mu guards what the API reads while the engine runs.
	mu       sync.Mutex
	inputs   *inputs
	lastCkpt time.Time
	netSum   network.Summary
	mgmtSum  management.Summary
	folders  map[string]*folderHealth
	// files is owned by the watcher's goroutine.
	files     map[string]*fileIndex
	started   chan struct{}
	httpAddr  net.Addr
	collAddrs map[string]netip.AddrPort

	ingestBodies, ingestBytes, ingestErrors atomic.Uint64
	ingestLast                              atomic.Int64
	udpRecords                              atomic.Uint64
	// flushedAt is the wall time (Unix ns) of each detector's last idle
	// flush, for the time-to-alert measurement.
	netFlushedAt, mgmtFlushedAt atomic.Int64
	// suppressions are the config file's rules, replaced on reload.
	suppressions atomic.Pointer[alert.Suppressions]
}

type folderHealth struct {
	records, errors uint64
	last            time.Time
}

// New checks the configuration and prepares a service; Run starts it.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Service{
		cfg: cfg, deps: deps, logger: deps.Logger.With("component", "service"), now: deps.Now, reg: deps.Registry,
		netCh: make(chan netMsg, 1<<14), mgmtCh: make(chan mgmtMsg, 1<<12), alertCh: make(chan alertMsg, 1024),
		reloadCh: make(chan struct{}, 1), nudgeCh: make(chan struct{}, 1),
		folders: map[string]*folderHealth{}, files: map[string]*fileIndex{}, started: make(chan struct{}),
	}
	m, err := newMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.m = m
	if err := s.reg.Register(newHealthCollector(s)); err != nil {
		return nil, fmt.Errorf("service: register metrics: %w", err)
	}
	sup := cfg.Detection.Suppressions
	s.suppressions.Store(&sup)
	return s, nil
}

// Started is closed once every component listens.
func (s *Service) Started() <-chan struct{} { return s.started }

// HTTPAddr returns the API's address once started.
func (s *Service) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpAddr
}

// CollectorAddrs returns the bound UDP address of each listener once
// started.
func (s *Service) CollectorAddrs() map[string]netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.collAddrs
}

// Reload asks the running service to reload its inputs (inventory, intel,
// GeoIP, home networks) and its config file's detection settings; SIGHUP
// calls it.
func (s *Service) Reload() {
	select {
	case s.reloadCh <- struct{}{}:
	default:
	}
}

// Stores returns the store set, once Run has opened it (for tests and
// the token command run in-process).
func (s *Service) Stores() *store.Set { return s.stores }

// marker is the service blob of a checkpoint.
type marker struct {
	// Clean is true only in the checkpoint written by a clean stop.
	Clean      bool      `json:"clean"`
	At         time.Time `json:"at"`
	UDPRecords uint64    `json:"udp_records"`
	Collectors bool      `json:"collectors"`
}

// Run starts every component, serves until ctx is done, then drains,
// checkpoints and stops in reverse order.
func (s *Service) Run(ctx context.Context) (err error) {
	cfg := s.cfg
	st, err := store.OpenSet(cfg.DataDir, cfg.Geographies)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	s.stores = st
	defer func() { err = errors.Join(err, st.Close()) }()
	main := st.Main()

	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"))
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	s.spool = sp

	in, err := loadInputs(cfg, s.logger)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	s.inputs = in
	defer func() { s.inputs.close() }()

	// The previous run's marker tells a crash from a clean stop.
	if b, at, err := main.State(ctx, stateService); err == nil {
		var mk marker
		if json.Unmarshal(b, &mk) == nil && !mk.Clean && mk.Collectors {
			g := store.Gap{Source: "udp", From: at, To: s.now().UTC(),
				Reason: "unclean shutdown: UDP flows received after the last checkpoint cannot be replayed"}
			if err := main.AddGap(ctx, g); err != nil {
				return fmt.Errorf("service: %w", err)
			}
			s.logger.Warn("previous run did not stop cleanly; UDP gap recorded", "from", g.From, "to", g.To)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("service: %w", err)
	}

	// Detectors, from the last checkpoint.
	netDet, mgmtDet, err := s.newDetectors(ctx, cfg, in, true)
	if err != nil {
		return err
	}
	var progress []watch.Progress
	if b, _, err := main.State(ctx, stateWatch); err == nil {
		if err := json.Unmarshal(b, &progress); err != nil {
			return fmt.Errorf("service: watch progress: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("service: %w", err)
	}
	// The checkpoint just loaded is now the one a crash falls back to:
	// mark it unclean so that a crash before the next one records a gap.
	if err := s.writeMarker(ctx, false); err != nil {
		return err
	}

	out, err := newOutputs(cfg.Outputs, cfg.DataDir, s.deps.Version,
		output.Deps{Registry: s.reg, Logger: s.deps.Logger.With("component", "outputs"), Now: s.now})
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	s.out = out

	// engine ends when the alert goroutine has stored the last alert of
	// the detectors, which end when their channels are closed.
	var engine, detectors sync.WaitGroup
	detectors.Add(2)
	engine.Add(1)
	go func() { defer engine.Done(); s.runAlerts() }()
	go func() { defer detectors.Done(); s.runNetwork(netDet) }()
	go func() { defer detectors.Done(); s.runManagement(mgmtDet) }()
	go func() { detectors.Wait(); close(s.alertCh) }()

	dirs := append([]string{sp.Dir()}, cfg.Watch...)
	w := watch.New(dirs, progress, cfg.Settle)

	if len(cfg.Collector.Listeners) > 0 {
		ccfg := cfg.Collector
		ccfg.SilentAfter = cfg.SilentAfter
		coll, err := collector.New(ccfg, collector.Deps{
			NewHandler: func(string, int) flow.Handler {
				return func(r *flow.Record) {
					s.udpRecords.Add(1)
					s.netCh <- netMsg{rec: *r}
				}
			},
			Registry: s.reg, Logger: s.deps.Logger,
		})
		if err != nil {
			return s.abort(&engine, fmt.Errorf("service: %w", err))
		}
		if err := coll.Start(ctx); err != nil {
			return s.abort(&engine, fmt.Errorf("service: %w", err))
		}
		s.coll = coll
	}

	srv, err := server.New(cfg.HTTP, server.Deps{Backend: &Backend{s: s}, Logger: s.deps.Logger, Registry: s.reg})
	if err != nil {
		s.stopCollector()
		return s.abort(&engine, fmt.Errorf("service: %w", err))
	}
	if err := srv.Start(); err != nil {
		s.stopCollector()
		return s.abort(&engine, fmt.Errorf("service: %w", err))
	}
	s.srv = srv
	s.mu.Lock()
	s.httpAddr = srv.Addr()
	if s.coll != nil {
		s.collAddrs = s.coll.Addrs()
	}
	s.mu.Unlock()
	s.logger.Info("started", "http", srv.Addr().String(), "data-dir", cfg.DataDir)
	close(s.started)

	s.coordinate(ctx, w)

	// Stop in reverse: no new input, then drain and checkpoint.
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := []error{srv.Stop(shutdown)}
	s.stopCollector()
	s.poll(w)
	errs = append(errs, s.checkpoint(shutdown, w, true))
	close(s.netCh)
	close(s.mgmtCh)
	engine.Wait()
	errs = append(errs, s.out.close())
	s.logger.Info("stopped")
	return errors.Join(errs...)
}

func (s *Service) stopCollector() {
	if s.coll != nil {
		s.coll.Stop()
	}
}

// abort stops the engine goroutines after a failed start.
func (s *Service) abort(engine *sync.WaitGroup, err error) error {
	close(s.netCh)
	close(s.mgmtCh)
	engine.Wait()
	s.out.close() // err says why the start failed; drain errors add nothing
	return err
}

func (s *Service) newDetectors(ctx context.Context, cfg Config, in *inputs, load bool) (*network.Detector, *management.Detector, error) {
	sink := func(a alert.Alert) { s.alertCh <- alertMsg{alert: a} }
	nd, err := network.New(cfg.Detection.Network, network.Deps{Inventory: in.inventory, HomeNets: in.homeNets, Intel: in.intel, Logger: s.deps.Logger}, sink)
	if err != nil {
		return nil, nil, fmt.Errorf("service: network detections: %w", err)
	}
	md, err := management.New(cfg.Detection.Management, in.mgmtDeps, sink)
	if err != nil {
		return nil, nil, fmt.Errorf("service: management detections: %w", err)
	}
	if load {
		main := s.stores.Main()
		for name, l := range map[string]func(io.Reader) error{stateNetwork: nd.LoadState, stateManagement: md.LoadState} {
			b, _, err := main.State(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("service: %w", err)
			}
			if err := l(bytes.NewReader(b)); err != nil {
				return nil, nil, fmt.Errorf("service: load %s state: %w", name, err)
			}
		}
	}
	return nd, md, nil
}

func (s *Service) writeMarker(ctx context.Context, clean bool) error {
	mk := marker{Clean: clean, At: s.now().UTC(), UDPRecords: s.udpRecords.Load(), Collectors: len(s.cfg.Collector.Listeners) > 0}
	b, _ := json.Marshal(mk)
	if err := s.stores.Main().Checkpoint(ctx, s.now(), map[string][]byte{stateService: b}); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return nil
}

// coordinate owns the watcher: it polls folders, writes checkpoints and
// handles reloads until ctx is done.
func (s *Service) coordinate(ctx context.Context, w *watch.Watcher) {
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	ckpt := time.NewTicker(s.cfg.CheckpointInterval)
	defer ckpt.Stop()
	var cfgMod time.Time
	if s.deps.ConfigPath != "" {
		if fi, err := os.Stat(s.deps.ConfigPath); err == nil {
			cfgMod = fi.ModTime()
		}
	}
	s.poll(w)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.nudgeCh:
			s.poll(w)
		case <-poll.C:
			s.poll(w)
			if s.deps.ConfigPath != "" {
				if fi, err := os.Stat(s.deps.ConfigPath); err == nil && !fi.ModTime().Equal(cfgMod) {
					cfgMod = fi.ModTime()
					s.reload(ctx)
				}
			}
		case <-ckpt.C:
			if err := s.checkpoint(ctx, w, false); err != nil {
				s.logger.Error("checkpoint failed", "err", err)
			}
		case <-s.reloadCh:
			s.reload(ctx)
		}
	}
}

// nudge asks for a poll now, after an ingest body was spooled.
func (s *Service) nudge() {
	select {
	case s.nudgeCh <- struct{}{}:
	default:
	}
}

// checkpoint writes the detectors' state, the files' progress and ingest
// health; final closes the detectors first (a clean stop).
func (s *Service) checkpoint(ctx context.Context, w *watch.Watcher, final bool) error {
	start := s.now()
	nrep := make(chan snapshot, 1)
	mrep := make(chan snapshot, 1)
	s.netCh <- netMsg{ctl: &control{final: final, reply: nrep}}
	s.mgmtCh <- mgmtMsg{ctl: &control{final: final, reply: mrep}}
	ns, ms := <-nrep, <-mrep
	// Every alert raised before the snapshots is stored before the
	// checkpoint that covers its records is written.
	synced := make(chan struct{})
	s.alertCh <- alertMsg{sync: synced}
	<-synced
	if ns.err != nil || ms.err != nil {
		return fmt.Errorf("service: checkpoint: %w", errors.Join(ns.err, ms.err))
	}
	progress := w.Progress()
	// A file's records in windows still open are in no saved state: the
	// checkpoint records the file's progress only up to them, and marks
	// the file changed so that a restart reads them again.
	held := map[string]bool{}
	for i := range progress {
		p := &progress[i]
		idx := s.files[p.Path]
		if idx == nil {
			continue
		}
		done := ns.done
		if idx.kind == kindAudit {
			done = ms.done
		}
		if first, ok := idx.heldAt(done); ok && first < p.Records {
			p.Records, p.Size = first, -1
			held[p.Path] = true
		}
	}
	pb, err := json.Marshal(progress)
	if err != nil {
		return fmt.Errorf("service: checkpoint: %w", err)
	}
	mk := marker{Clean: final, At: start.UTC(), UDPRecords: s.udpRecords.Load(), Collectors: len(s.cfg.Collector.Listeners) > 0}
	mb, _ := json.Marshal(mk)
	main := s.stores.Main()
	// One transaction: the detector states and the file progress they
	// correspond to are written together or not at all.
	if err := main.Checkpoint(ctx, start, map[string][]byte{
		stateNetwork: ns.state, stateManagement: ms.state, stateWatch: pb, stateService: mb,
	}); err != nil {
		return fmt.Errorf("service: %w", err)
	}
	s.mu.Lock()
	s.lastCkpt = start
	s.netSum, s.mgmtSum = ns.net, ms.mgmt
	s.mu.Unlock()
	// The progress table is a readable mirror for operators; the blob
	// above is what a restart loads.
	for _, p := range progress {
		id, _ := json.Marshal(struct {
			Size    int64     `json:"size"`
			ModTime time.Time `json:"mod_time"`
			Head    uint64    `json:"head"`
			HeadLen int       `json:"head_len"`
		}{p.Size, p.ModTime, p.Head, p.HeadLen})
		if err := main.PutProgress(ctx, store.FileProgress{Path: p.Path, Identity: string(id), Record: int64(p.Records)}); err != nil {
			return err
		}
	}
	if err := main.PutSourceHealth(ctx, s.sourceHealth()...); err != nil {
		return err
	}
	// Spooled bodies are read whole at once; once a checkpoint covers
	// them they are not needed again.
	for _, p := range progress {
		if filepath.Dir(p.Path) != filepath.Clean(s.spool.Dir()) || held[p.Path] {
			continue
		}
		delete(s.files, p.Path)
		if err := s.spool.Remove(p.Path); err != nil {
			return err
		}
		w.Forget(p.Path)
		if err := main.DeleteProgress(ctx, p.Path); err != nil {
			return err
		}
	}
	s.m.checkpoints.Inc()
	s.m.checkpointSeconds.Observe(s.now().Sub(start).Seconds())
	return nil
}

// reload re-reads the config file's inputs and rebuilds the detectors'
// collaborators. The detectors close their open windows, save their state
// and start again from it with the new inputs.
func (s *Service) reload(ctx context.Context) {
	// s.cfg is read by every goroutine and never written after New: the
	// reloaded parts live in the detectors and s.suppressions.
	cfg := s.cfg
	if s.deps.ConfigPath != "" {
		c, err := LoadConfig(s.deps.ConfigPath)
		if err != nil {
			s.logger.Error("reload: config not loaded; keeping the running one", "err", err)
			return
		}
		// Only the inputs and detection settings take effect at once;
		// listeners, stores, outputs and the allowed lateness need a
		// restart.
		cfg.Inventory, cfg.Intel, cfg.GeoIP, cfg.ASN, cfg.HomeNets = c.Inventory, c.Intel, c.GeoIP, c.ASN, c.HomeNets
		cfg.Detection = c.Detection
		cfg.Detection.Network.ReorderWindow = s.cfg.Detection.Network.ReorderWindow
		cfg.Detection.Management.ReorderWindow = s.cfg.Detection.Management.ReorderWindow
	}
	in, err := loadInputs(cfg, s.logger)
	if err != nil {
		s.logger.Error("reload: inputs not loaded; keeping the running ones", "err", err)
		return
	}
	nd, md, err := s.newDetectors(ctx, cfg, in, false)
	if err != nil {
		in.close()
		s.logger.Error("reload failed", "err", err)
		return
	}
	nrep := make(chan snapshot, 1)
	mrep := make(chan snapshot, 1)
	s.netCh <- netMsg{ctl: &control{swapNet: nd, reply: nrep}}
	s.mgmtCh <- mgmtMsg{ctl: &control{swapMgmt: md, reply: mrep}}
	ns, ms := <-nrep, <-mrep
	if err := errors.Join(ns.err, ms.err); err != nil {
		s.logger.Error("reload: state not carried over", "err", err)
	}
	s.mu.Lock()
	old := s.inputs
	s.inputs = in
	s.mu.Unlock()
	old.close()
	sup := cfg.Detection.Suppressions
	s.suppressions.Store(&sup)
	s.m.reloads.Inc()
	s.logger.Info("reloaded inputs")
}
