package service

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/auditfile"
	"github.com/vigil-ids/vigil/detect/management"
	"github.com/vigil-ids/vigil/detect/network"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
	"github.com/vigil-ids/vigil/scan"
	"github.com/vigil-ids/vigil/store"
	"github.com/vigil-ids/vigil/watch"
)

// control is a request to a detector's goroutine, answered on reply.
type control struct {
	// final closes the detector before its state is saved.
	final    bool
	swapNet  *network.Detector
	swapMgmt *management.Detector
	reply    chan snapshot
}

type snapshot struct {
	// done is the event time before which every record the detector was
	// given is final: in a closed window (network) or processed
	// (management). Records from done on are still open, and are not in
	// the saved state.
	done  time.Time
	state []byte
	net   network.Summary
	mgmt  management.Summary
	err   error
}

// netMsg carries a record or a control request; records travel by value
// so that the sender's buffer can be reused at once.
type netMsg struct {
	rec flow.Record
	ctl *control
}

type mgmtMsg struct {
	ev  audit.Event
	ctl *control
}

type alertMsg struct {
	alert alert.Alert
	sync  chan struct{}
}

// idleTick is how often a detector's goroutine checks for idle input.
func (s *Service) idleTick() time.Duration {
	d := s.cfg.IdleFlush / 4
	return min(max(d, 50*time.Millisecond), time.Second)
}

// runNetwork owns the network detector.
func (s *Service) runNetwork(det *network.Detector) {
	tick := time.NewTicker(s.idleTick())
	defer tick.Stop()
	var last time.Time // wall time of the last record
	var newest time.Time
	flushed := true
	for {
		select {
		case m, ok := <-s.netCh:
			if !ok {
				return
			}
			if m.ctl == nil {
				if m.rec.Start.After(newest) {
					newest = m.rec.Start
				}
				det.Add(&m.rec)
				last, flushed = s.now(), false
				continue
			}
			c := m.ctl
			if c.swapNet != nil {
				det.Close()
				snap := saveNet(det)
				if snap.err == nil {
					snap.err = c.swapNet.LoadState(bytes.NewReader(snap.state))
				}
				det = c.swapNet
				c.reply <- snap
				continue
			}
			snap := saveNet(det)
			if c.final {
				det.Close()
				snap = saveNet(det)
				snap.done = farFuture
			} else if wm := det.Watermark(); !wm.IsZero() {
				snap.done = wm.Add(-s.cfg.Detection.Network.ReorderWindow).Truncate(time.Hour)
			}
			c.reply <- snap
		case <-tick.C:
			if flushed || s.cfg.IdleFlush == 0 || s.now().Sub(last) < s.cfg.IdleFlush {
				continue
			}
			// Idle: close the hour of the newest record as if the
			// watermark had passed its end plus the allowed lateness.
			end := newest.Truncate(time.Hour).Add(time.Hour)
			s.netFlushedAt.Store(s.now().UnixNano())
			det.Advance(end.Add(s.cfg.Detection.Network.ReorderWindow + time.Nanosecond))
			flushed = true
			s.m.idleFlushes.WithLabelValues("network").Inc()
			s.publishNet(det.Summary())
		}
	}
}

func saveNet(det *network.Detector) snapshot {
	var b bytes.Buffer
	err := det.SaveState(&b)
	return snapshot{state: b.Bytes(), net: det.Summary(), err: err}
}

func (s *Service) publishNet(sum network.Summary) {
	s.mu.Lock()
	s.netSum = sum
	s.mu.Unlock()
}

// runManagement owns the management detector.
func (s *Service) runManagement(det *management.Detector) {
	tick := time.NewTicker(s.idleTick())
	defer tick.Stop()
	var last, newest, wm time.Time
	flushed := true
	for {
		select {
		case m, ok := <-s.mgmtCh:
			if !ok {
				return
			}
			if m.ctl == nil {
				if m.ev.Time.After(newest) {
					newest = m.ev.Time
				}
				if newest.After(wm) {
					wm = newest
				}
				det.Add(&m.ev)
				last, flushed = s.now(), false
				continue
			}
			c := m.ctl
			if c.swapMgmt != nil {
				det.Close()
				snap := saveMgmt(det)
				if snap.err == nil {
					snap.err = c.swapMgmt.LoadState(bytes.NewReader(snap.state))
				}
				det = c.swapMgmt
				c.reply <- snap
				continue
			}
			snap := saveMgmt(det)
			if c.final {
				det.Close()
				snap = saveMgmt(det)
				snap.done = farFuture
			} else if !wm.IsZero() {
				snap.done = wm.Add(-s.cfg.Detection.Management.ReorderWindow)
			}
			c.reply <- snap
		case <-tick.C:
			if flushed || s.cfg.IdleFlush == 0 || s.now().Sub(last) < s.cfg.IdleFlush {
				continue
			}
			s.mgmtFlushedAt.Store(s.now().UnixNano())
			wm = newest.Add(s.cfg.Detection.Management.ReorderWindow + time.Nanosecond)
			det.Advance(wm)
			flushed = true
			s.m.idleFlushes.WithLabelValues("management").Inc()
			sum := det.Summary()
			s.mu.Lock()
			s.mgmtSum = sum
			s.mu.Unlock()
		}
	}
}

func saveMgmt(det *management.Detector) snapshot {
	var b bytes.Buffer
	err := det.SaveState(&b)
	return snapshot{state: b.Bytes(), mgmt: det.Summary(), err: err}
}

// runAlerts applies per-subscription settings and suppression rules to
// each alert, stores it and hands it to the outputs.
func (s *Service) runAlerts() {
	ctx := context.Background()
	for m := range s.alertCh {
		if m.sync != nil {
			close(m.sync)
			continue
		}
		if err := s.handleAlert(ctx, m.alert); err != nil {
			s.m.alertErrors.Inc()
			s.logger.Error("alert not stored", "id", m.alert.ID, "type", m.alert.Type, "err", err)
		}
	}
}

func (s *Service) handleAlert(ctx context.Context, a alert.Alert) error {
	main := s.stores.Main()
	st, err := main.Settings(ctx, a.Subscription)
	if err != nil {
		return err
	}
	if !st.Enabled(a.Type) {
		s.m.dropped.WithLabelValues(a.Type, "disabled").Inc()
		return nil
	}
	if _, hit := s.suppressions.Load().Match(&a); hit {
		s.m.dropped.WithLabelValues(a.Type, "suppressed").Inc()
		return nil
	}
	rules, err := main.Suppressions(ctx)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.Matches(&a) {
			s.m.dropped.WithLabelValues(a.Type, "suppressed").Inc()
			return nil
		}
	}
	// A growing incident is delivered again; an unchanged one (the same
	// records read again after a crash) is stored but not sent twice.
	changed := true
	if old, err := s.stores.GetAlert(ctx, a.ID); err == nil {
		ob, _ := json.Marshal(old.Alert)
		nb, _ := json.Marshal(a)
		changed = !bytes.Equal(ob, nb)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	created, err := s.stores.PutAlert(ctx, a)
	if err != nil {
		return err
	}
	if created {
		s.m.alerts.WithLabelValues(a.Type).Inc()
	}
	if changed {
		s.out.deliver(a)
	}
	return nil
}

// poll reads what is new in the watched folders and the spool.
func (s *Service) poll(w *watch.Watcher) {
	res, err := w.Poll(s.readFile)
	if err != nil {
		s.logger.Warn("watch", "err", err)
	}
	for path, err := range res.Errors {
		s.logger.Warn("file not read", "file", path, "err", err)
	}
}

// readFile sends the records of path after the first skip to the
// detector of their layer and returns how many records the file holds.
func (s *Service) readFile(path string, skip uint64) (uint64, error) {
	kind, err := sniff(path)
	if err != nil {
		s.noteFolder(path, 0, 1)
		// Unknown files are remembered with no records, so that they are
		// looked at again only when they change.
		return 0, err
	}
	var n uint64
	idx := s.files[path]
	if idx == nil {
		idx = &fileIndex{kind: kind, hours: map[int64]uint64{}}
		s.files[path] = idx
	}
	if kind == kindFlow {
		opts := flowfile.Options{}
		_, err = flowfile.ReadFile(path, opts, func(r *flow.Record) {
			n++
			if n > skip {
				idx.note(r.Start, n-1)
				s.netCh <- netMsg{rec: *r}
			}
		})
	} else {
		_, err = auditfile.ReadFile(path, func(ev *audit.Event) {
			n++
			if n > skip {
				idx.note(ev.Time, n-1)
				s.mgmtCh <- mgmtMsg{ev: *ev}
			}
		})
	}
	var errs uint64
	if err != nil {
		errs = 1
	}
	s.noteFolder(path, n-min(n, skip), errs)
	return n, err
}

func (s *Service) noteFolder(path string, records, errs uint64) {
	dir := s.folderOf(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.folders[dir]
	if h == nil {
		h = &folderHealth{}
		s.folders[dir] = h
	}
	h.records += records
	h.errors += errs
	if records > 0 {
		h.last = s.now()
	}
}

// folderOf names the watched folder (or the spool) that holds path.
func (s *Service) folderOf(path string) string {
	for _, d := range append([]string{s.spool.Dir()}, s.cfg.Watch...) {
		if rel, err := relUnder(d, path); err == nil && rel {
			return d
		}
	}
	return path
}

type fileKind int

const (
	kindFlow fileKind = iota + 1
	kindAudit
)

// sniff detects a file's format from its first bytes, after gunzip.
func sniff(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return sniffReader(f)
}

func sniffReader(r io.Reader) (fileKind, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		src = zr
	}
	head := make([]byte, auditfile.HeadSize)
	n, err := io.ReadFull(src, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, fmt.Errorf("read: %w", err)
	}
	head = head[:n]
	if n == 0 {
		return 0, errors.New("empty file")
	}
	if flowfile.Detect(head) != flowfile.KindUnknown {
		return kindFlow, nil
	}
	if auditfile.Detect(head) != auditfile.KindUnknown {
		return kindAudit, nil
	}
	return 0, errUnrecognised
}

// inputs are the reloadable collaborators of the detectors.
type inputs struct {
	inventory *inventory.Inventory
	homeNets  []netip.Prefix
	intel     *intel.DB
	mgmtDeps  management.Deps
	closer    func()
}

func (in *inputs) close() {
	if in != nil && in.closer != nil {
		in.closer()
	}
}

func loadInputs(cfg Config, logger *slog.Logger) (*inputs, error) {
	in := &inputs{}
	for _, h := range cfg.HomeNets {
		p, err := parsePrefix(h)
		if err != nil {
			return nil, fmt.Errorf("home-nets: %w", err)
		}
		in.homeNets = append(in.homeNets, p)
	}
	if cfg.Inventory != "" {
		inv, err := inventory.Load(cfg.Inventory, in.homeNets)
		if err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		in.inventory = inv
	}
	if len(cfg.Intel) > 0 {
		var specs []intel.Spec
		for _, sp := range cfg.Intel {
			spec, err := intel.ParseSpec(sp)
			if err != nil {
				return nil, fmt.Errorf("intel: %w", err)
			}
			specs = append(specs, spec)
		}
		db, err := intel.Load(specs)
		if err != nil {
			return nil, fmt.Errorf("intel: %w", err)
		}
		in.intel = db
	}
	deps, closer, err := scan.ManagementDeps(cfg.GeoIP, cfg.ASN, in.intel, logger)
	if err != nil {
		return nil, err
	}
	in.mgmtDeps, in.closer = deps, closer
	return in, nil
}

// errUnrecognised is returned for a file that is neither a flow nor an
// audit format.
var errUnrecognised = scan.ErrUnrecognised

// farFuture is the done time of a detector that was closed.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// fileIndex remembers, for the records of one file read since the start,
// the index of the first record of each clock hour, so that a checkpoint
// can record the file's progress only up to the records whose windows
// are closed: after a crash, the records of the windows still open are
// read again (the restored state's high-water marks make the detectors
// count them without learning them twice).
type fileIndex struct {
	kind  fileKind
	hours map[int64]uint64
}

func (f *fileIndex) note(t time.Time, i uint64) {
	h := t.Unix() / 3600
	if t.Unix() < 0 && t.Unix()%3600 != 0 {
		h--
	}
	if old, ok := f.hours[h]; !ok || i < old {
		f.hours[h] = i
	}
}

// heldAt returns the index of the first record at or after the hour of
// done, and whether there is one; it forgets the hours before.
func (f *fileIndex) heldAt(done time.Time) (uint64, bool) {
	cut := done.Unix() / 3600
	if done.Unix() < 0 && done.Unix()%3600 != 0 {
		cut--
	}
	var first uint64
	found := false
	for h, i := range f.hours {
		if h < cut {
			delete(f.hours, h)
			continue
		}
		if !found || i < first {
			first, found = i, true
		}
	}
	return first, found
}
