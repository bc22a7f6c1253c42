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

	"github.com/vigil-ids/vigil/alert"
)

// Errors a Backend returns; the API maps them to status codes.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	ErrInvalid      = errors.New("invalid")
)

// Roles of a token.
const (
	RoleAdmin   = "admin"
	RoleAnalyst = "analyst"
	RoleReader  = "reader"
	RoleIngest  = "ingest"
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

// AlertQuery filters a list of alerts. Subscriptions limits the result to
// those subscriptions; nil means no limit.
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

// StatusChange is one entry of an alert's audit trail.
type StatusChange struct {
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Status  string    `json:"status"`
	Comment string    `json:"comment,omitempty"`
}

// AlertRecord is an alert as stored, with its triage status.
type AlertRecord struct {
	alert.Alert
	Status        string         `json:"status"`
	StatusComment string         `json:"status_comment,omitempty"`
	Updated       time.Time      `json:"updated"`
	History       []StatusChange `json:"history,omitempty"`
}

// AlertPage is one page of alerts.
type AlertPage struct {
	Alerts     []AlertRecord `json:"alerts"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Settings are the per-subscription detection settings.
type Settings struct {
	Subscription string `json:"subscription"`
	// Detections maps a detection type to whether it is enabled; a type
	// that is absent is enabled.
	Detections map[string]bool `json:"detections"`
	// IdentityAnalytics enables impossible travel, infrequent country and
	// anonymous IP for the subscription.
	IdentityAnalytics bool `json:"identity_analytics"`
}

// Suppression is a rule that hides matching alerts.
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

// IngestSource is the health of one input.
type IngestSource struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Records  uint64    `json:"records"`
	Errors   uint64    `json:"errors"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	Silent   bool      `json:"silent"`
}

// IngestGap records data known to be lost, such as UDP flows received
// between the last checkpoint and a crash.
type IngestGap struct {
	Source string    `json:"source"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Reason string    `json:"reason"`
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
