// Package scan is Vigil's offline analysis: it reads any mix of flow and
// audit-log files, merges them into event-time order, runs the network and
// management detections, and returns the alerts with a summary. `vigil
// scan` and `vigil demo` are thin wrappers around Run.
//
// Files are merged by time rather than read one after another, so that
// the alerts do not depend on the order in which files are named: each
// file is a stream, and a k-way merge hands the detectors the earliest
// record of any open file. Within a file, disorder up to the detectors'
// reorder window is absorbed by the detectors themselves.
package scan

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/auditfile"
	"github.com/vigil-ids/vigil/audit/azure"
	"github.com/vigil-ids/vigil/config"
	"github.com/vigil-ids/vigil/detect/management"
	"github.com/vigil-ids/vigil/detect/network"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
)

// Options configure a scan.
type Options struct {
	Detection config.Detection
	Inventory *inventory.Inventory
	HomeNets  []netip.Prefix
	Intel     *intel.DB
	// Management enrichment (GeoIP, country table, anonymity); nil fields
	// are allowed.
	ManagementDeps management.Deps
	Flow           flowfile.Options
	// StateDir, when set, holds learned state: read at the start when
	// present, written atomically at the end.
	StateDir string
	Logger   *slog.Logger
	// Progress, when set, receives a line for each step of a long scan.
	Progress func(string)
}

// Result is what a scan found.
type Result struct {
	Alerts  []alert.Alert
	Summary Summary
}

// Summary counts what the scan read and raised.
type Summary struct {
	Files       int               `json:"files"`
	FlowFiles   int               `json:"flow_files"`
	AuditFiles  int               `json:"audit_files"`
	Skipped     []Skipped         `json:"skipped,omitempty"`
	FileErrors  map[string]string `json:"file_errors,omitempty"`
	FlowRecords uint64            `json:"flow_records"`
	AuditEvents uint64            `json:"audit_events"`
	// CrossFilePaired counts Activity Log operations whose stages were in
	// different files and were joined into one event.
	CrossFilePaired uint64             `json:"cross_file_paired"`
	Flow            flowfile.Summary   `json:"-"`
	Audit           auditfile.Summary  `json:"-"`
	Network         network.Summary    `json:"-"`
	Management      management.Summary `json:"-"`
	AlertsByType    map[string]int     `json:"alerts_by_type"`
	Suppressed      map[string]int     `json:"suppressed_by_type"`
}

const (
	networkStateFile    = "network.state"
	managementStateFile = "management.state"
)

// Run scans paths.
func Run(paths []string, opts Options) (Result, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	inputs, skipped, err := discover(paths, opts.Flow)
	if err != nil {
		return Result{}, err
	}
	sum := Summary{Skipped: skipped, FileErrors: map[string]string{}, AlertsByType: map[string]int{}, Suppressed: map[string]int{}}

	alerts := map[string]alert.Alert{}
	sink := func(a alert.Alert) { alerts[a.ID] = a }

	netDet, err := network.New(opts.Detection.Network, network.Deps{
		Inventory: opts.Inventory, HomeNets: opts.HomeNets, Intel: opts.Intel, Logger: logger,
	}, sink)
	if err != nil {
		return Result{}, fmt.Errorf("network detections: %w", err)
	}
	mgmtDeps := opts.ManagementDeps
	if mgmtDeps.Logger == nil {
		mgmtDeps.Logger = logger
	}
	mgmtDet, err := management.New(opts.Detection.Management, mgmtDeps, sink)
	if err != nil {
		return Result{}, fmt.Errorf("management detections: %w", err)
	}
	if opts.StateDir != "" {
		if err := loadState(filepath.Join(opts.StateDir, networkStateFile), netDet.LoadState); err != nil {
			return Result{}, err
		}
		if err := loadState(filepath.Join(opts.StateDir, managementStateFile), mgmtDet.LoadState); err != nil {
			return Result{}, err
		}
	}

	var flowStreams []*stream[flow.Record]
	var auditStreams []*stream[audit.Event]
	var mu sync.Mutex // guards the per-file summaries merged from reader goroutines
	for _, in := range inputs {
		sum.Files++
		in := in
		if in.flow != flowfile.KindUnknown {
			sum.FlowFiles++
			flowStreams = append(flowStreams, &stream[flow.Record]{
				name:  in.path,
				first: in.first,
				run: func(emit func(*flow.Record)) error {
					s, err := flowfile.ReadFile(in.path, opts.Flow, flow.Handler(emit))
					mu.Lock()
					sum.Flow.Merge(s)
					mu.Unlock()
					return err
				},
			})
			continue
		}
		sum.AuditFiles++
		auditStreams = append(auditStreams, &stream[audit.Event]{
			name:  in.path,
			first: in.first,
			run: func(emit func(*audit.Event)) error {
				s, err := auditfile.ReadFileOptions(in.path, auditfile.Options{Unpaired: true}, emit)
				mu.Lock()
				sum.Audit.Merge(s)
				mu.Unlock()
				return err
			},
		})
	}
	onErr := func(name string, err error) {
		sum.FileErrors[name] = err.Error()
		logger.Warn("input file failed", "file", name, "err", err)
	}

	if len(flowStreams) > 0 {
		progress(fmt.Sprintf("reading %d flow file(s)", len(flowStreams)))
		lookahead := opts.Detection.Network.ReorderWindow
		merge(flowStreams, lookahead, func(r *flow.Record) time.Time { return r.Start }, func(r *flow.Record) {
			sum.FlowRecords++
			netDet.Add(r)
		}, onErr)
	}
	netDet.Close()
	// The Start, Accept, Success and Failure records of an Activity Log
	// operation are paired once, over the merged stream of all files:
	// the hourly blobs of an export split some operations across two
	// files, which pairing within each file would miss.
	var paired uint64
	pairer := azure.NewPairer(azure.DefaultPairConfig(), func(ev *audit.Event) {
		paired++
		mgmtDet.Add(ev)
	})
	if len(auditStreams) > 0 {
		progress(fmt.Sprintf("reading %d audit-log file(s)", len(auditStreams)))
		lookahead := opts.Detection.Management.ReorderWindow
		merge(auditStreams, lookahead, func(e *audit.Event) time.Time { return e.Time }, func(e *audit.Event) {
			sum.AuditEvents++
			pairer.AddEvent(e)
		}, onErr)
	}
	pairer.Flush()
	// The readers delivered records unpaired; the events and the pairing
	// figures are the merged pairer's.
	ps := pairer.Stats()
	sum.Audit.Events, sum.Audit.Paired, sum.Audit.Unfinished = paired, ps.Paired, ps.Unfinished
	mgmtDet.Close()
	sum.Network = netDet.Summary()
	sum.Management = mgmtDet.Summary()

	if opts.StateDir != "" {
		if err := os.MkdirAll(opts.StateDir, 0o750); err != nil {
			return Result{}, fmt.Errorf("state: %w", err)
		}
		if err := saveState(filepath.Join(opts.StateDir, networkStateFile), netDet.SaveState); err != nil {
			return Result{}, err
		}
		if err := saveState(filepath.Join(opts.StateDir, managementStateFile), mgmtDet.SaveState); err != nil {
			return Result{}, err
		}
	}

	out := make([]alert.Alert, 0, len(alerts))
	for _, a := range alerts {
		if _, hit := opts.Detection.Suppressions.Match(&a); hit {
			sum.Suppressed[a.Type]++
			continue
		}
		sum.AlertsByType[a.Type]++
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Key() < out[j].Key()
	})
	return Result{Alerts: out, Summary: sum}, nil
}

func loadState(path string, load func(io.Reader) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	if err := load(f); err != nil {
		return fmt.Errorf("state %s: %w", path, err)
	}
	return nil
}

// saveState writes through a temporary file, fsyncs and renames, so that a
// crash leaves either the old state or the new one.
func saveState(path string, save func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := save(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
