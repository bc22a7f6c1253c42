package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FileProgress is how far a watched file has been read. Identity tells a
// file apart from a new file at the same path (device and inode, or a hash
// of its head); Offset is the byte offset and Record the index of the next
// record to read, whichever the reader uses.
type FileProgress struct {
	Path     string    `json:"path"`
	Identity string    `json:"identity"`
	Offset   int64     `json:"offset"`
	Record   int64     `json:"record"`
	Updated  time.Time `json:"updated"`
}

// PutProgress records a file's progress.
func (s *Store) PutProgress(ctx context.Context, p FileProgress) error {
	if p.Path == "" {
		return fmt.Errorf("store: progress: %w: no path", ErrInvalid)
	}
	if p.Updated.IsZero() {
		p.Updated = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ingest_progress (path, identity, offset, record, updated_ns) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (path) DO UPDATE SET identity = excluded.identity, offset = excluded.offset,
			record = excluded.record, updated_ns = excluded.updated_ns`,
		p.Path, p.Identity, p.Offset, p.Record, p.Updated.UnixNano())
	if err != nil {
		return fmt.Errorf("store: progress %s: %w", p.Path, err)
	}
	return nil
}

// Progress returns a file's progress, or ErrNotFound.
func (s *Store) Progress(ctx context.Context, path string) (FileProgress, error) {
	p := FileProgress{Path: path}
	var upd int64
	err := s.db.QueryRowContext(ctx, "SELECT identity, offset, record, updated_ns FROM ingest_progress WHERE path = ?", path).
		Scan(&p.Identity, &p.Offset, &p.Record, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("store: progress %s: %w", path, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: progress %s: %w", path, err)
	}
	p.Updated = fromNS(upd)
	return p, nil
}

// AllProgress lists every file's progress by path.
func (s *Store) AllProgress(ctx context.Context) ([]FileProgress, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT path, identity, offset, record, updated_ns FROM ingest_progress ORDER BY path")
	if err != nil {
		return nil, fmt.Errorf("store: progress: %w", err)
	}
	defer rows.Close()
	var out []FileProgress
	for rows.Next() {
		var p FileProgress
		var upd int64
		if err := rows.Scan(&p.Path, &p.Identity, &p.Offset, &p.Record, &upd); err != nil {
			return nil, err
		}
		p.Updated = fromNS(upd)
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteProgress forgets a file (it was removed).
func (s *Store) DeleteProgress(ctx context.Context, path string) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM ingest_progress WHERE path = ?", path)
	return err
}

// SourceHealth is the last known state of one input (an exporter, a
// watched folder, the HTTP ingest). Records and Errors are totals.
type SourceHealth struct {
	Source   string    `json:"source"`
	Kind     string    `json:"kind"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	Records  uint64    `json:"records"`
	Errors   uint64    `json:"errors"`
}

// Gap is data known to be lost, such as UDP flows received between the
// last checkpoint and a crash.
type Gap struct {
	Source string    `json:"source"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Reason string    `json:"reason"`
}

// PutSourceHealth records the state of several sources in one
// transaction; the service calls it at each checkpoint.
func (s *Store) PutSourceHealth(ctx context.Context, hs ...SourceHealth) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, h := range hs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ingest_sources (source, kind, last_seen_ns, records, errors) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (source) DO UPDATE SET kind = excluded.kind, last_seen_ns = max(last_seen_ns, excluded.last_seen_ns),
					records = excluded.records, errors = excluded.errors`,
				h.Source, h.Kind, ns(h.LastSeen), int64(h.Records), int64(h.Errors)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: source health: %w", err)
	}
	return nil
}

// SourceHealth lists every source by name.
func (s *Store) SourceHealth(ctx context.Context) ([]SourceHealth, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT source, kind, last_seen_ns, records, errors FROM ingest_sources ORDER BY source")
	if err != nil {
		return nil, fmt.Errorf("store: source health: %w", err)
	}
	defer rows.Close()
	var out []SourceHealth
	for rows.Next() {
		var h SourceHealth
		var seen, recs, errs int64
		if err := rows.Scan(&h.Source, &h.Kind, &seen, &recs, &errs); err != nil {
			return nil, err
		}
		h.LastSeen, h.Records, h.Errors = fromNS(seen), uint64(recs), uint64(errs)
		out = append(out, h)
	}
	return out, rows.Err()
}

// AddGap records lost data.
func (s *Store) AddGap(ctx context.Context, g Gap) error {
	if g.Source == "" || g.To.Before(g.From) {
		return fmt.Errorf("store: gap: %w: needs a source and From <= To", ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO ingest_gaps (source, from_ns, to_ns, reason) VALUES (?, ?, ?, ?)",
		g.Source, g.From.UnixNano(), g.To.UnixNano(), g.Reason)
	if err != nil {
		return fmt.Errorf("store: gap: %w", err)
	}
	return nil
}

// Gaps lists recorded gaps, oldest first.
func (s *Store) Gaps(ctx context.Context) ([]Gap, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT source, from_ns, to_ns, reason FROM ingest_gaps ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("store: gaps: %w", err)
	}
	defer rows.Close()
	out := []Gap{}
	for rows.Next() {
		var g Gap
		var f, t int64
		if err := rows.Scan(&g.Source, &f, &t, &g.Reason); err != nil {
			return nil, err
		}
		g.From, g.To = fromNS(f), fromNS(t)
		out = append(out, g)
	}
	return out, rows.Err()
}
