package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/vigil-ids/vigil/server"
	"github.com/vigil-ids/vigil/store"
)

// Backend is the API's view of the running service: the store set for
// alerts, settings, suppressions and tokens, the spool for pushed audit
// logs, and the live counters for ingest health.
type Backend struct{ s *Service }

var _ server.Backend = (*Backend)(nil)

// Authenticate maps a token secret to its holder.
func (b *Backend) Authenticate(ctx context.Context, token string) (server.Caller, error) {
	t, err := b.s.stores.Main().Authenticate(ctx, token)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrRevoked) {
		return server.Caller{}, server.ErrUnauthorized
	}
	if err != nil {
		return server.Caller{}, err
	}
	return server.Caller{TokenID: t.ID, Name: t.Name, Role: t.Role, Subscriptions: t.Subscriptions}, nil
}

// ListAlerts reads every geography's store.
func (b *Backend) ListAlerts(ctx context.Context, q server.AlertQuery) (server.AlertPage, error) {
	return b.s.stores.ListAlerts(ctx, q)
}

// GetAlert finds an alert in whichever store holds it.
func (b *Backend) GetAlert(ctx context.Context, id string) (server.AlertRecord, error) {
	return b.s.stores.GetAlert(ctx, id)
}

// SetAlertStatus changes the status and appends to the audit trail.
func (b *Backend) SetAlertStatus(ctx context.Context, id, status, comment, actor string) (server.AlertRecord, error) {
	return b.s.stores.SetAlertStatus(ctx, id, status, comment, actor)
}

// Subscriptions lists the subscriptions any store knows.
func (b *Backend) Subscriptions(ctx context.Context) ([]string, error) {
	return b.s.stores.Subscriptions(ctx)
}

// Settings returns a subscription's settings (defaults when none stored).
func (b *Backend) Settings(ctx context.Context, sub string) (server.Settings, error) {
	return b.s.stores.Main().Settings(ctx, sub)
}

// PutSettings stores settings; the alert pipeline reads them for every
// alert, so they apply at once.
func (b *Backend) PutSettings(ctx context.Context, st server.Settings) error {
	return b.s.stores.Main().PutSettings(ctx, st)
}

// Suppressions lists every rule.
func (b *Backend) Suppressions(ctx context.Context) ([]server.Suppression, error) {
	return b.s.stores.Main().Suppressions(ctx)
}

// PutSuppression creates or replaces a rule.
func (b *Backend) PutSuppression(ctx context.Context, sp server.Suppression) (server.Suppression, error) {
	return b.s.stores.Main().PutSuppression(ctx, sp)
}

// DeleteSuppression removes a rule.
func (b *Backend) DeleteSuppression(ctx context.Context, id string) error {
	return b.s.stores.Main().DeleteSuppression(ctx, id)
}

// IngestAudit checks that the body is an audit log Vigil reads, writes it
// durably to the spool and asks the watcher to read it now.
func (b *Backend) IngestAudit(_ context.Context, body []byte, contentEncoding string) (server.IngestReceipt, error) {
	switch contentEncoding {
	case "", "identity", "gzip", "x-gzip":
		// gzip stays compressed on disk; the readers recognise it.
	default:
		b.s.ingestErrors.Add(1)
		return server.IngestReceipt{}, fmt.Errorf("%w: content encoding %q is not supported (use gzip or none)", server.ErrInvalid, contentEncoding)
	}
	kind, err := sniffReader(bytes.NewReader(body))
	if err != nil || kind != kindAudit {
		b.s.ingestErrors.Add(1)
		reason := "not an audit-log format Vigil reads (Azure Activity Log or sign-ins, CloudTrail, GCP audit; JSON, JSON lines or {\"records\":[...]})"
		if err != nil && !errors.Is(err, errUnrecognised) {
			reason = err.Error()
		}
		return server.IngestReceipt{}, fmt.Errorf("%w: %s", server.ErrInvalid, reason)
	}
	id, err := b.s.spool.Write(body)
	if err != nil {
		b.s.ingestErrors.Add(1)
		return server.IngestReceipt{}, err
	}
	b.s.ingestBodies.Add(1)
	b.s.ingestBytes.Add(uint64(len(body)))
	b.s.ingestLast.Store(b.s.now().UnixNano())
	b.s.nudge()
	return server.IngestReceipt{ID: id, Bytes: len(body)}, nil
}

// IngestHealth merges the live counters with what earlier runs stored.
func (b *Backend) IngestHealth(ctx context.Context) (server.IngestHealth, error) {
	s := b.s
	main := s.stores.Main()
	stored, err := main.SourceHealth(ctx)
	if err != nil {
		return server.IngestHealth{}, err
	}
	gaps, err := main.Gaps(ctx)
	if err != nil {
		return server.IngestHealth{}, err
	}
	byName := map[string]store.SourceHealth{}
	for _, h := range stored {
		byName[h.Source] = h
	}
	for _, h := range s.sourceHealth() {
		if old, ok := byName[h.Source]; ok && old.LastSeen.After(h.LastSeen) {
			h.LastSeen = old.LastSeen
		}
		byName[h.Source] = h
	}
	now := s.now()
	out := server.IngestHealth{Gaps: gaps, Counters: map[string]uint64{}}
	for _, h := range byName {
		out.Sources = append(out.Sources, server.IngestSource{
			Name: h.Source, Kind: h.Kind, Records: h.Records, Errors: h.Errors, LastSeen: h.LastSeen,
			Silent: !h.LastSeen.IsZero() && now.Sub(h.LastSeen) > s.cfg.SilentAfter,
		})
	}
	sort.Slice(out.Sources, func(i, j int) bool { return out.Sources[i].Name < out.Sources[j].Name })
	s.mu.Lock()
	ns, ms := s.netSum, s.mgmtSum
	last := s.lastCkpt
	s.mu.Unlock()
	out.Counters["flow_records"] = ns.Records
	out.Counters["flow_late"] = ns.Late
	out.Counters["flow_no_start_time"] = ns.NoStartTime
	out.Counters["flow_not_ours"] = ns.NotOurs
	out.Counters["flow_replayed"] = ns.Replayed
	var events uint64
	for _, n := range ms.Events {
		events += uint64(n)
	}
	out.Counters["audit_events"] = events
	out.Counters["audit_late"] = uint64(ms.Late)
	out.Counters["udp_records"] = s.udpRecords.Load()
	out.Counters["http_ingest_bodies"] = s.ingestBodies.Load()
	out.Counters["http_ingest_bytes"] = s.ingestBytes.Load()
	out.Counters["http_ingest_rejected"] = s.ingestErrors.Load()
	if !last.IsZero() {
		out.Counters["last_checkpoint_unix"] = uint64(last.Unix())
	}
	return out, nil
}

// sourceHealth is the live state of every input: each exporter of each
// UDP listener, each watched folder and the HTTP ingest.
func (s *Service) sourceHealth() []store.SourceHealth {
	var out []store.SourceHealth
	if s.coll != nil {
		for _, l := range s.coll.Stats().Listeners {
			for _, e := range l.Exporters {
				out = append(out, store.SourceHealth{Source: l.Name + "/" + e.Exporter.String(), Kind: "exporter",
					LastSeen: e.LastSeen, Records: e.Records, Errors: e.ErrorTotal()})
			}
		}
	}
	s.mu.Lock()
	for dir, h := range s.folders {
		kind, name := "folder", "folder:"+dir
		if s.spool != nil && dir == s.spool.Dir() {
			kind, name = "spool", "spool"
		}
		out = append(out, store.SourceHealth{Source: name, Kind: kind, LastSeen: h.last, Records: h.records, Errors: h.errors})
	}
	s.mu.Unlock()
	if n := s.ingestBodies.Load() + s.ingestErrors.Load(); n > 0 {
		var last time.Time
		if ns := s.ingestLast.Load(); ns > 0 {
			last = time.Unix(0, ns)
		}
		out = append(out, store.SourceHealth{Source: "http-ingest", Kind: "http", LastSeen: last,
			Records: s.ingestBodies.Load(), Errors: s.ingestErrors.Load()})
	}
	return out
}
