package management

import (
	"net/netip"
	"sort"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

// Evidence bounds: enough for an analyst, bounded for a long incident.
const (
	maxEvidenceOps = 50
	maxEvidenceIPs = 20
)

// opEvidence is one operation behind an alert.
type opEvidence struct {
	Time      time.Time
	Operation string
	Resource  string
	IP        string
	Result    string
	Tool      string
	Country   string
}

func (o opEvidence) record() map[string]any {
	m := map[string]any{
		"time":      o.Time.UTC().Format(time.RFC3339Nano),
		"operation": o.Operation,
	}
	if o.Resource != "" {
		m["resource"] = o.Resource
	}
	if o.IP != "" {
		m["ip"] = o.IP
	}
	if o.Result != "" {
		m["result"] = o.Result
	}
	if o.Tool != "" {
		m["tool"] = o.Tool
	}
	if o.Country != "" {
		m["country"] = o.Country
	}
	return m
}

func evidenceOf(ev *audit.Event, country string) opEvidence {
	o := opEvidence{
		Time:      ev.Time,
		Operation: ev.Operation,
		Resource:  ev.Resource,
		Result:    string(ev.Result),
		Tool:      string(ev.Tool),
		Country:   country,
	}
	if ev.SourceIP.IsValid() {
		o.IP = ev.SourceIP.String()
	} else if ev.SourceIPText != "" {
		o.IP = ev.SourceIPText
	}
	return o
}

// incident is an open alert: one per type and principal while matching
// activity keeps coming within the incident gap.
type incident struct {
	a         alert.Alert
	ops       []opEvidence
	opCount   int
	ips       []string
	countries []string
	extra     map[string]any
}

type incKey struct{ typ, principal string }

// match is one piece of activity that raised or extends an alert.
type match struct {
	typ        string
	principal  string
	name       string
	sub        string
	tenant     string
	start, end time.Time
	ops        []opEvidence
	ips        []netip.Addr
	countries  []string
	// extra is merged into the evidence; later matches overwrite keys,
	// except those in keepFirst.
	extra     map[string]any
	keepFirst map[string]bool
}

// raise opens or extends the incident of m and delivers the alert.
func (d *Detector) raise(m match) {
	if d.disabled[m.typ] {
		return
	}
	k := incKey{m.typ, m.principal}
	inc := d.incidents[k]
	if inc != nil && m.start.After(inc.a.End.Add(d.cfg.IncidentGap)) {
		inc = nil
	}
	if inc == nil {
		a := alert.New(m.typ, m.principal, m.start, m.end)
		if s, ok := d.cfg.Severities[m.typ]; ok {
			a.Severity = s
		}
		a.Principal = m.principal
		inc = &incident{a: a, extra: map[string]any{}}
		d.incidents[k] = inc
		d.stats.alerts[m.typ]++
	}
	a := &inc.a
	if m.end.After(a.End) {
		a.End = m.end.UTC()
	}
	if a.PrincipalName == "" {
		a.PrincipalName = m.name
	}
	if a.Subscription == "" {
		a.Subscription = m.sub
	}
	if a.Tenant == "" {
		a.Tenant = m.tenant
	}
	for _, o := range m.ops {
		inc.opCount++
		if len(inc.ops) < maxEvidenceOps {
			inc.ops = append(inc.ops, o)
		}
	}
	for _, ip := range m.ips {
		if ip.IsValid() {
			inc.ips = addCapped(inc.ips, ip.String(), maxEvidenceIPs)
		}
	}
	for _, o := range m.ops {
		if o.IP != "" {
			inc.ips = addCapped(inc.ips, o.IP, maxEvidenceIPs)
		}
		if o.Country != "" {
			inc.countries = addCapped(inc.countries, o.Country, maxEvidenceIPs)
		}
	}
	for _, c := range m.countries {
		if c != "" {
			inc.countries = addCapped(inc.countries, c, maxEvidenceIPs)
		}
	}
	for k, v := range m.extra {
		if _, had := inc.extra[k]; had && m.keepFirst[k] {
			continue
		}
		inc.extra[k] = v
	}
	d.deliver(inc)
}

func (d *Detector) deliver(inc *incident) {
	a := inc.a
	a.RemoteIPs = append([]string{}, inc.ips...)
	ev := make(map[string]any, len(inc.extra)+6)
	for k, v := range inc.extra {
		ev[k] = v
	}
	ops := make([]map[string]any, len(inc.ops))
	for i, o := range inc.ops {
		ops[i] = o.record()
	}
	ev["operations"] = ops
	ev["operation_count"] = inc.opCount
	names := map[string]int{}
	for _, o := range inc.ops {
		names[o.Operation]++
	}
	ev["operation_names"] = sortedKeys(names)
	ev["ips"] = append([]string{}, inc.ips...)
	ev["countries"] = append([]string{}, inc.countries...)
	ev["first_activity"] = a.Start.Format(time.RFC3339Nano)
	ev["last_activity"] = a.End.Format(time.RFC3339Nano)
	a.Evidence = ev
	a.Mitre = append([]string{}, inc.a.Mitre...)
	d.stats.deliveries++
	if d.log != nil {
		d.log.Debug("management alert", "type", a.Type, "id", a.ID, "principal", a.Principal)
	}
	if d.sink != nil {
		d.sink(a)
	}
}

// pruneIncidents forgets incidents that can no longer be extended.
func (d *Detector) pruneIncidents(now time.Time) {
	for k, inc := range d.incidents {
		if now.Sub(inc.a.End) > d.cfg.IncidentGap {
			delete(d.incidents, k)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
