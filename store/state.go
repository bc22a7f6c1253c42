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

// States lists the stored blobs by name.
func (s *Store) States(ctx context.Context) ([]StateInfo, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, length(data), checkpoint_ns FROM state ORDER BY name")
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
