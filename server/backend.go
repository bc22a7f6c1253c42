// Package server is Vigil's HTTP front: the REST API under /api/v1 with
// scoped bearer tokens, the audit-log ingest endpoint, Prometheus metrics,
// the health check and the embedded web UI.
//
// The API sees storage only through the Backend interface, so that the
// authorisation rules here are tested on their own and the store can route
// each subscription to its geography's database behind it.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/store"
)

// Errors a Backend returns; the API maps them to status codes. They are
// the store's, so that a Backend over the store returns them unchanged.
var (
	ErrNotFound     = store.ErrNotFound
	ErrUnauthorized = errors.New("unauthorized")
	ErrInvalid      = store.ErrInvalid
)

// Roles of a token, as the store defines them.
const (
	RoleAdmin   = store.RoleAdmin
	RoleAnalyst = store.RoleAnalyst
	RoleReader  = store.RoleReader
	RoleIngest  = store.RoleIngest
)

// Caller is the authenticated holder of a token.
type Caller struct {
	TokenID string `json:"token_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	// Subscriptions the caller may see. Empty means all of them, which only
	// an admin token or a token created with "*" has.
	Subscriptions []string `json:"subscriptions"`
}

// AllSubscriptions reports whether the caller sees every subscription.
func (c Caller) AllSubscriptions() bool { return len(c.Subscriptions) == 0 }

// Sees reports whether the caller may see data of subscription sub. Data
// that belongs to no subscription (tenant-level sign-in alerts) is visible
// only to callers that see all subscriptions.
func (c Caller) Sees(sub string) bool {
	if c.AllSubscriptions() {
		return true
	}
	for _, s := range c.Subscriptions {
		if s == sub {
			return true
		}
	}
	return false
}

// The API speaks the store's types: the JSON contract of an alert, its
// status history, settings and suppression rules is defined once, there.
type (
	// AlertQuery filters a list of alerts; Subscriptions limits the
	// result to those subscriptions (nil means no limit).
	AlertQuery = store.AlertQuery
	// StatusChange is one entry of an alert's audit trail.
	StatusChange = store.StatusChange
	// AlertRecord is an alert as stored, with its triage status.
	AlertRecord = store.AlertRecord
	// AlertPage is one page of alerts.
	AlertPage = store.AlertPage
	// Settings are the per-subscription detection settings.
	Settings = store.Settings
	// Suppression is a rule that hides matching alerts.
	Suppression = store.Suppression
	// IngestGap records data known to be lost, such as UDP flows received
	// between the last checkpoint and a crash.
	IngestGap = store.Gap
)

// IngestSource is the health of one input.
type IngestSource struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Records  uint64    `json:"records"`
	Errors   uint64    `json:"errors"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	Silent   bool      `json:"silent"`
}

// IngestHealth is what /api/v1/ingest reports.
type IngestHealth struct {
	Sources []IngestSource `json:"sources"`
	Gaps    []IngestGap    `json:"gaps"`
	// Counters are totals such as records, malformed and late.
	Counters map[string]uint64 `json:"counters"`
}

// Backend is what the API needs from storage and the running engine.
type Backend interface {
	Authenticate(ctx context.Context, token string) (Caller, error)
	ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error)
	GetAlert(ctx context.Context, id string) (AlertRecord, error)
	SetAlertStatus(ctx context.Context, id, status, comment, actor string) (AlertRecord, error)
	Subscriptions(ctx context.Context) ([]string, error)
	Settings(ctx context.Context, sub string) (Settings, error)
	PutSettings(ctx context.Context, s Settings) error
	Suppressions(ctx context.Context) ([]Suppression, error)
	PutSuppression(ctx context.Context, s Suppression) (Suppression, error)
	DeleteSuppression(ctx context.Context, id string) error
	IngestHealth(ctx context.Context) (IngestHealth, error)
	// IngestAudit durably stores an audit-log body for processing; it
	// returns only once the body is on disk.
	IngestAudit(ctx context.Context, body []byte, contentEncoding string) (IngestReceipt, error)
}

// IngestReceipt acknowledges an ingested body.
type IngestReceipt struct {
	ID    string `json:"id"`
	Bytes int    `json:"bytes"`
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
