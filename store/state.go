package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Checkpoint writes learned state blobs (baselines, profiles), by name, in
// one transaction with checkpoint time at: after a crash either all of
// them are the new version or none is. Blobs not named keep their value.
func (s *Store) Checkpoint(ctx context.Context, at time.Time, blobs map[string][]byte) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for name, b := range blobs {
			if b == nil {
				b = []byte{}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO state (name, data, checkpoint_ns) VALUES (?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET data = excluded.data, checkpoint_ns = excluded.checkpoint_ns`,
				name, b, at.UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}

// State returns a learned state blob and the time of the checkpoint that
// wrote it, or ErrNotFound.
func (s *Store) State(ctx context.Context, name string) ([]byte, time.Time, error) {
	var b []byte
	var at int64
	err := s.db.QueryRowContext(ctx, "SELECT data, checkpoint_ns FROM state WHERE name = ?", name).Scan(&b, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("store: state %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: state %q: %w", name, err)
	}
	return b, fromNS(at), nil
}

// StateInfo describes one stored blob.
type StateInfo struct {
	Name       string
	Size       int
	Checkpoint time.Time
}

// States lists the stored blobs by name (the run marker of BeginRun
// excluded).
func (s *Store) States(ctx context.Context) ([]StateInfo, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, length(data), checkpoint_ns FROM state WHERE name != ? ORDER BY name", runState)
	if err != nil {
		return nil, fmt.Errorf("store: states: %w", err)
	}
	defer rows.Close()
	var out []StateInfo
	for rows.Next() {
		var i StateInfo
		var at int64
		if err := rows.Scan(&i.Name, &i.Size, &at); err != nil {
			return nil, err
		}
		i.Checkpoint = fromNS(at)
		out = append(out, i)
	}
	return out, rows.Err()
}

// runState is the state entry that tells whether the last run of the
// service ended cleanly.
const runState = "vigil.run"

// RunInfo describes the run before the current one.
type RunInfo struct {
	// Unclean is set when the previous run never called EndRun: it was
	// killed or crashed, and what it received after LastCheckpoint (UDP
	// flows, which cannot be replayed) is lost.
	Unclean bool
	// PreviousStart is when the previous run began (zero on first start).
	PreviousStart time.Time
	// LastCheckpoint is the newest checkpoint time of any learned state
	// (zero when none was written).
	LastCheckpoint time.Time
}

// BeginRun marks the start of a run of the service at now and reports how
// the previous run ended. The service records a Gap from LastCheckpoint to
// now when Unclean is set.
func (s *Store) BeginRun(ctx context.Context, now time.Time) (RunInfo, error) {
	var info RunInfo
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var data []byte
		var at int64
		err := tx.QueryRowContext(ctx, "SELECT data, checkpoint_ns FROM state WHERE name = ?", runState).Scan(&data, &at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			info.Unclean = string(data) == "running"
			info.PreviousStart = fromNS(at)
		}
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT max(checkpoint_ns) FROM state WHERE name != ?", runState).Scan(&last); err != nil {
			return err
		}
		info.LastCheckpoint = fromNS(last.Int64)
		_, err = tx.ExecContext(ctx, `INSERT INTO state (name, data, checkpoint_ns) VALUES (?, CAST('running' AS BLOB), ?)
			ON CONFLICT (name) DO UPDATE SET data = excluded.data, checkpoint_ns = excluded.checkpoint_ns`, runState, now.UnixNano())
		return err
	})
	if err != nil {
		return RunInfo{}, fmt.Errorf("store: begin run: %w", err)
	}
	return info, nil
}

// EndRun marks a clean end of the run, after the final checkpoint.
func (s *Store) EndRun(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE state SET data = CAST('stopped' AS BLOB) WHERE name = ?", runState); err != nil {
		return fmt.Errorf("store: end run: %w", err)
	}
	return nil
}
