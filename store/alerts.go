package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// AlertRecord is an alert as stored, with its triage status. History is
// filled by GetAlert and SetAlertStatus, not by ListAlerts.
type AlertRecord struct {
	alert.Alert
	Status        string         `json:"status"`
	StatusComment string         `json:"status_comment,omitempty"`
	Created       time.Time      `json:"created"`
	Updated       time.Time      `json:"updated"`
	History       []StatusChange `json:"history,omitempty"`
}

// StatusChange is one entry of an alert's audit trail.
type StatusChange struct {
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Status  string    `json:"status"`
	Comment string    `json:"comment,omitempty"`
}

// AlertQuery filters a list of alerts. Empty fields do not filter. Types
// matches any of the listed types. Subscriptions limits the result to those
// subscriptions: nil means no limit, an empty non-nil slice matches nothing.
// From and To select alerts whose [Start, End] overlaps [From, To). Cursor
// continues a previous page; Limit defaults to 100 and is capped at 1000.
type AlertQuery struct {
	Types         []string
	Layer         string
	Severity      string
	Status        string
	Resource      string
	Principal     string
	Subscription  string
	Subscriptions []string
	From, To      time.Time
	Cursor        string
	Limit         int
}

// AlertPage is one page of alerts, newest incident first (by start, then
// id). NextCursor is empty on the last page. Because the order is by the
// incident's start, which never changes, paging is stable while alerts are
// inserted or updated: no alert is skipped or repeated.
type AlertPage struct {
	Alerts     []AlertRecord `json:"alerts"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Limits of AlertQuery.Limit.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

func validStatus(s string) bool {
	return s == alert.StatusActive || s == alert.StatusDismissed || s == alert.StatusResolved
}

// PutAlert inserts the alert, or replaces the stored version of the same id
// (a growing incident) while keeping its status, comment and history. It
// reports whether the alert was new.
func (s *Store) PutAlert(ctx context.Context, a alert.Alert) (created bool, err error) {
	if a.ID == "" || a.Type == "" {
		return false, fmt.Errorf("store: put alert: %w: id and type are required", ErrInvalid)
	}
	body, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("store: put alert %s: %w", a.ID, err)
	}
	now := s.now().UnixNano()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM alerts WHERE id = ?", a.ID).Scan(&n); err != nil {
			return err
		}
		created = n == 0
		_, err := tx.ExecContext(ctx, `INSERT INTO alerts
			(id, subscription, type, layer, severity, resource, principal, start_ns, end_ns, created_ns, updated_ns, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				subscription = excluded.subscription, type = excluded.type, layer = excluded.layer,
				severity = excluded.severity, resource = excluded.resource, principal = excluded.principal,
				start_ns = excluded.start_ns, end_ns = excluded.end_ns, updated_ns = excluded.updated_ns,
				body = excluded.body`,
			a.ID, a.Subscription, a.Type, a.Layer, a.Severity, a.Resource, a.Principal,
			a.Start.UnixNano(), a.End.UnixNano(), now, now, string(body))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: put alert %s: %w", a.ID, err)
	}
	return created, nil
}

const alertCols = "id, status, status_comment, created_ns, updated_ns, body, start_ns"

func scanAlert(sc interface{ Scan(...any) error }) (AlertRecord, int64, error) {
	var r AlertRecord
	var id, body string
	var created, updated, start int64
	if err := sc.Scan(&id, &r.Status, &r.StatusComment, &created, &updated, &body, &start); err != nil {
		return r, 0, err
	}
	if err := json.Unmarshal([]byte(body), &r.Alert); err != nil {
		return r, 0, fmt.Errorf("alert %s: stored body: %w", id, err)
	}
	r.ID = id
	r.Created, r.Updated = fromNS(created), fromNS(updated)
	return r, start, nil
}

// GetAlert returns the alert with its history, or ErrNotFound.
func (s *Store) GetAlert(ctx context.Context, id string) (AlertRecord, error) {
	r, _, err := scanAlert(s.db.QueryRowContext(ctx, "SELECT "+alertCols+" FROM alerts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("store: alert %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: alert %s: %w", id, err)
	}
	r.History, err = s.history(ctx, id)
	return r, err
}

func (s *Store) history(ctx context.Context, id string) ([]StatusChange, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT time_ns, actor, status, comment FROM alert_history WHERE alert_id = ? ORDER BY seq", id)
	if err != nil {
		return nil, fmt.Errorf("store: alert %s history: %w", id, err)
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		var t int64
		if err := rows.Scan(&t, &c.Actor, &c.Status, &c.Comment); err != nil {
			return nil, err
		}
		c.Time = fromNS(t)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetAlertStatus sets the status (active, dismissed or resolved) and
// comment of an alert and appends the change to its audit trail, in one
// transaction.
func (s *Store) SetAlertStatus(ctx context.Context, id, status, comment, actor string) (AlertRecord, error) {
	if !validStatus(status) {
		return AlertRecord{}, fmt.Errorf("store: status %q: %w: want active, dismissed or resolved", status, ErrInvalid)
	}
	now := s.now().UnixNano()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE alerts SET status = ?, status_comment = ?, updated_ns = ? WHERE id = ?",
			status, comment, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO alert_history (alert_id, time_ns, actor, status, comment) VALUES (?, ?, ?, ?, ?)",
			id, now, actor, status, comment)
		return err
	})
	if err != nil {
		return AlertRecord{}, fmt.Errorf("store: alert %s status: %w", id, err)
	}
	return s.GetAlert(ctx, id)
}

// HasAlert reports whether the alert is stored here.
func (s *Store) HasAlert(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM alerts WHERE id = ?", id).Scan(&n)
	return n > 0, err
}

// cursor is the position after the last alert of a page.
type cursor struct {
	start int64
	id    string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.start, 10) + "/" + c.id))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("%w: cursor", ErrInvalid)
	}
	num, id, ok := strings.Cut(string(b), "/")
	start, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, fmt.Errorf("%w: cursor", ErrInvalid)
	}
	return cursor{start, id}, nil
}

func (c cursor) before(o cursor) bool {
	// Pages run from the newest start down; ties by id descending.
	if c.start != o.start {
		return c.start > o.start
	}
	return c.id > o.id
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// ListAlerts returns one page of the alerts that match q.
func (s *Store) ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error) {
	limit := pageLimit(q.Limit)
	recs, keys, err := s.listAlerts(ctx, q, limit+1)
	if err != nil {
		return AlertPage{}, err
	}
	return page(recs, keys, limit), nil
}

func page(recs []AlertRecord, keys []cursor, limit int) AlertPage {
	p := AlertPage{Alerts: recs}
	if len(recs) > limit {
		p.Alerts = recs[:limit]
		p.NextCursor = keys[limit-1].String()
	}
	if p.Alerts == nil {
		p.Alerts = []AlertRecord{}
	}
	return p
}

func (s *Store) listAlerts(ctx context.Context, q AlertQuery, n int) ([]AlertRecord, []cursor, error) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	in := func(col string, vs []string) {
		ph := make([]string, len(vs))
		for i, v := range vs {
			ph[i] = "?"
			args = append(args, v)
		}
		if len(vs) == 0 {
			where = append(where, "0")
			return
		}
		where = append(where, col+" IN ("+strings.Join(ph, ",")+")")
	}
	if len(q.Types) > 0 {
		in("type", q.Types)
	}
	eq("layer", q.Layer)
	eq("severity", q.Severity)
	eq("status", q.Status)
	eq("resource", q.Resource)
	eq("principal", q.Principal)
	eq("subscription", q.Subscription)
	if q.Subscriptions != nil {
		in("subscription", q.Subscriptions)
	}
	if !q.From.IsZero() {
		where = append(where, "end_ns >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where = append(where, "start_ns < ?")
		args = append(args, q.To.UnixNano())
	}
	if q.Cursor != "" {
		c, err := parseCursor(q.Cursor)
		if err != nil {
			return nil, nil, fmt.Errorf("store: list alerts: %w", err)
		}
		where = append(where, "(start_ns < ? OR (start_ns = ? AND id < ?))")
		args = append(args, c.start, c.start, c.id)
	}
	query := "SELECT " + alertCols + " FROM alerts"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY start_ns DESC, id DESC LIMIT ?"
	args = append(args, n)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: list alerts: %w", err)
	}
	defer rows.Close()
	var recs []AlertRecord
	var keys []cursor
	for rows.Next() {
		r, start, err := scanAlert(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("store: list alerts: %w", err)
		}
		recs = append(recs, r)
		keys = append(keys, cursor{start, r.ID})
	}
	return recs, keys, rows.Err()
}

// Subscriptions returns the subscriptions that have alerts or settings
// here, sorted.
func (s *Store) Subscriptions(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT subscription FROM alerts WHERE subscription != '' UNION SELECT subscription FROM settings ORDER BY 1")
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
