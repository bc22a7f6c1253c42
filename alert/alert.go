// Package alert defines Vigil's alert record, the catalog of the 17 alert
// types, and the deterministic alert id that lets an offline scan and the
// service name the same incident alike.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Layers.
const (
	LayerNetwork    = "network"
	LayerManagement = "management"
)

// Severities, from least to most severe.
const (
	SeverityLow    = "low"
	SeverityMedium = "medium"
	SeverityHigh   = "high"
)

// Statuses an analyst can set.
const (
	StatusActive    = "active"
	StatusDismissed = "dismissed"
	StatusResolved  = "resolved"
)

// Alert is one incident. Network alerts carry Resource and ResourceIP;
// management alerts carry Principal. Consecutive hours of one incident
// extend End and the counts in Evidence, and keep the same ID.
type Alert struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Layer       string `json:"layer"`
	Severity    string `json:"severity"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Remediation string `json:"remediation"`

	Subscription string `json:"subscription"`
	Tenant       string `json:"tenant,omitempty"`

	Start time.Time `json:"start"`
	End   time.Time `json:"end"`

	Resource      string `json:"resource,omitempty"`
	ResourceIP    string `json:"resource_ip,omitempty"`
	Principal     string `json:"principal,omitempty"`
	PrincipalName string `json:"principal_name,omitempty"`

	RemoteIPs []string       `json:"remote_ips"`
	Evidence  map[string]any `json:"evidence"`
	Mitre     []string       `json:"mitre"`
}

// ID derives an alert id from the type, the key (resource or principal) and
// the first hour of the incident. It is stable across runs and processes.
func ID(typ, key string, first time.Time) string {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(first.UTC().Truncate(time.Hour).Format(time.RFC3339)))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Key returns what identifies the alert's subject: the principal for
// management alerts, the resource for network alerts.
func (a *Alert) Key() string {
	if a.Layer == LayerManagement {
		return a.Principal
	}
	return a.Resource
}

// Sink receives alerts. An alert may be delivered more than once as its
// incident grows; later deliveries with the same ID replace earlier ones.
type Sink func(Alert)

// New fills the catalog fields (layer, severity, title, description,
// remediation, mitre) of a fresh alert of the given type and computes its id
// from key and start. Unknown types get only the type and id.
func New(typ, key string, start, end time.Time) Alert {
	a := Alert{
		ID:        ID(typ, key, start),
		Type:      typ,
		Start:     start.UTC(),
		End:       end.UTC(),
		RemoteIPs: []string{},
		Evidence:  map[string]any{},
		Mitre:     []string{},
	}
	if d, ok := Lookup(typ); ok {
		a.Layer = d.Layer
		a.Severity = d.Severity
		a.Title = d.Title
		a.Description = d.Description
		a.Remediation = d.Remediation
		a.Mitre = append([]string(nil), d.Mitre...)
	}
	return a
}
