package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// Settings are the detection settings of one subscription.
type Settings struct {
	Subscription string `json:"subscription"`
	// Detections maps a detection type to whether it is enabled; a type
	// that is absent is enabled.
	Detections map[string]bool `json:"detections"`
	// IdentityAnalytics enables impossible travel, infrequent country and
	// anonymous IP for the subscription.
	IdentityAnalytics bool `json:"identity_analytics"`
}

// DefaultSettings are the settings of a subscription never configured:
// every detection on, identity analytics on.
func DefaultSettings(sub string) Settings {
	return Settings{Subscription: sub, Detections: map[string]bool{}, IdentityAnalytics: true}
}

// Enabled reports whether detection typ runs for the subscription.
func (st Settings) Enabled(typ string) bool {
	if d, ok := alert.Lookup(typ); ok && d.Identity && !st.IdentityAnalytics {
		return false
	}
	on, ok := st.Detections[typ]
	return !ok || on
}

// Settings returns the subscription's settings, or DefaultSettings when it
// has none stored.
func (s *Store) Settings(ctx context.Context, sub string) (Settings, error) {
	var body string
	err := s.db.QueryRowContext(ctx, "SELECT body FROM settings WHERE subscription = ?", sub).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings(sub), nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("store: settings %q: %w", sub, err)
	}
	st := DefaultSettings(sub)
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return Settings{}, fmt.Errorf("store: settings %q: %w", sub, err)
	}
	if st.Detections == nil {
		st.Detections = map[string]bool{}
	}
	return st, nil
}

// AllSettings returns every stored subscription's settings.
func (s *Store) AllSettings(ctx context.Context) ([]Settings, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT body FROM settings ORDER BY subscription")
	if err != nil {
		return nil, fmt.Errorf("store: settings: %w", err)
	}
	defer rows.Close()
	var out []Settings
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var st Settings
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			return nil, fmt.Errorf("store: settings: %w", err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// PutSettings stores a subscription's settings. Unknown detection types
// are refused.
func (s *Store) PutSettings(ctx context.Context, st Settings) error {
	if st.Subscription == "" {
		return fmt.Errorf("store: settings: %w: no subscription", ErrInvalid)
	}
	for typ := range st.Detections {
		if _, ok := alert.Lookup(typ); !ok {
			return fmt.Errorf("store: settings: %w: unknown detection %q", ErrInvalid, typ)
		}
	}
	if st.Detections == nil {
		st.Detections = map[string]bool{}
	}
	body, _ := json.Marshal(st)
	_, err := s.db.ExecContext(ctx, `INSERT INTO settings (subscription, body) VALUES (?, ?)
		ON CONFLICT (subscription) DO UPDATE SET body = excluded.body`, st.Subscription, string(body))
	if err != nil {
		return fmt.Errorf("store: settings %q: %w", st.Subscription, err)
	}
	return nil
}

// Suppression is a stored rule that silences matching alerts. Rule holds
// the matching fields (type, resource, remote); Subscription narrows it to
// one subscription, Principal to one principal.
type Suppression struct {
	ID           string    `json:"id"`
	Type         string    `json:"type,omitempty"`
	Subscription string    `json:"subscription,omitempty"`
	Resource     string    `json:"resource,omitempty"`
	Principal    string    `json:"principal,omitempty"`
	RemoteCIDR   string    `json:"remote_cidr,omitempty"`
	Comment      string    `json:"comment,omitempty"`
	Created      time.Time `json:"created"`
	CreatedBy    string    `json:"created_by,omitempty"`
}

// Matches reports whether the rule silences the alert.
func (r Suppression) Matches(a *alert.Alert) bool {
	if r.Subscription != "" && r.Subscription != a.Subscription {
		return false
	}
	if r.Principal != "" && r.Principal != a.Principal {
		return false
	}
	if r.Type == "" && r.Resource == "" && r.RemoteCIDR == "" {
		return r.Subscription != "" || r.Principal != ""
	}
	return r.rule().Matches(a)
}

func (r Suppression) rule() alert.Suppression {
	return alert.Suppression{Type: r.Type, Resource: r.Resource, Remote: r.RemoteCIDR, Reason: r.Comment}
}

// Validate checks that the rule can match and is not a catch-all.
func (r Suppression) Validate() error {
	if r.Type == "" && r.Resource == "" && r.RemoteCIDR == "" && r.Subscription == "" && r.Principal == "" {
		return fmt.Errorf("%w: a suppression needs at least one of type, subscription, resource, principal, remote_cidr", ErrInvalid)
	}
	if r.Type != "" || r.Resource != "" || r.RemoteCIDR != "" {
		if err := r.rule().Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return nil
}

// PutSuppression creates a rule (empty ID: a random id is assigned and
// Created set) or replaces the rule with that ID, keeping its creation
// time. It returns the rule as stored.
func (s *Store) PutSuppression(ctx context.Context, r Suppression) (Suppression, error) {
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("store: suppression: %w", err)
	}
	if r.ID == "" {
		var b [8]byte
		rand.Read(b[:])
		r.ID = hex.EncodeToString(b[:])
		r.Created = s.now().UTC()
	} else {
		old, err := s.Suppression(ctx, r.ID)
		if err != nil {
			return r, err
		}
		r.Created, r.CreatedBy = old.Created, old.CreatedBy
	}
	body, _ := json.Marshal(r)
	_, err := s.db.ExecContext(ctx, `INSERT INTO suppressions (id, created_ns, body) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body`, r.ID, r.Created.UnixNano(), string(body))
	if err != nil {
		return r, fmt.Errorf("store: suppression %s: %w", r.ID, err)
	}
	return r, nil
}

// Suppression returns one rule, or ErrNotFound.
func (s *Store) Suppression(ctx context.Context, id string) (Suppression, error) {
	var body string
	err := s.db.QueryRowContext(ctx, "SELECT body FROM suppressions WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return Suppression{}, fmt.Errorf("store: suppression %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Suppression{}, fmt.Errorf("store: suppression %s: %w", id, err)
	}
	var r Suppression
	err = json.Unmarshal([]byte(body), &r)
	return r, err
}

// Suppressions lists every rule, oldest first.
func (s *Store) Suppressions(ctx context.Context) ([]Suppression, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT body FROM suppressions ORDER BY created_ns, id")
	if err != nil {
		return nil, fmt.Errorf("store: suppressions: %w", err)
	}
	defer rows.Close()
	out := []Suppression{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var r Suppression
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("store: suppressions: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteSuppression removes a rule, or returns ErrNotFound.
func (s *Store) DeleteSuppression(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM suppressions WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("store: suppression %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: suppression %s: %w", id, ErrNotFound)
	}
	return nil
}
