package mgmt

import (
	"encoding/json"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/detect/management"
	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/sim/world"
)

// worldDeps gives the detector the simulated internet as its GeoIP,
// country table and anonymity feed.
type worldDeps struct {
	w    *world.World
	anon map[netip.Addr]world.Indicator
}

func (d worldDeps) Locate(ip netip.Addr) (audit.Location, uint32, string, bool) {
	p, ok := d.w.Lookup(ip)
	if !ok {
		return audit.Location{}, 0, "", false
	}
	return audit.Location{Country: p.Country, City: p.City, Latitude: p.Lat, Longitude: p.Lon, RadiusKm: float64(p.RadiusKm),
		CountryOnly: p.City == ""}, p.ASN, p.Org, true
}

func (d worldDeps) Bordering(a, b string) bool { return d.w.Neighbours(a, b) }

func (d worldDeps) Centroid(code string) (float64, float64, bool) {
	c, ok := d.w.Country(code)
	return c.Lat, c.Lon, ok
}

func (d worldDeps) Anonymous(ip netip.Addr) (string, string, string, int, bool) {
	if in, ok := d.anon[ip]; ok {
		return in.Category, in.Prefix.String(), in.Source, in.Confidence, true
	}
	if p, ok := d.w.Lookup(ip); ok && p.Kind == world.KindVPNService {
		return "vpn", p.Prefix.String(), "sim-anonymity-feed", 90, true
	}
	return "", "", "", 0, false
}

// auditEvent normalises a simulated event the way the readers do.
func auditEvent(s *sim, e *event) audit.Event {
	ev := audit.Event{Time: e.t, Tenant: s.est.tenant, Subscription: e.sub, PrincipalID: e.p.id, PrincipalName: e.p.upn,
		SourceIP: e.ip, SourceIPText: e.ip.String(), Operation: e.op, OperationKey: strings.ToLower(e.op), Resource: e.resource,
		Result: audit.ResultSuccess, CorrelationID: e.corr, AppID: e.appID, UserAgent: e.ua}
	if e.fail {
		ev.Result = audit.ResultFailure
	}
	switch e.p.kind {
	case kindUser:
		ev.PrincipalType = audit.PrincipalUser
	case kindService:
		ev.PrincipalType = audit.PrincipalService
	default:
		ev.PrincipalType = audit.PrincipalManagedID
	}
	if e.body != "" {
		ev.RequestBody = json.RawMessage(e.body)
	}
	switch e.src {
	case srcActivity:
		ev.Cloud, ev.Kind, ev.Tool = audit.CloudAzure, audit.KindActivity, audit.ToolForAppID(e.appID)
	case srcSignIn:
		ev.Cloud, ev.Kind, ev.Tool, ev.Subscription = audit.CloudAzure, audit.KindSignIn, audit.ToolForAppID(e.appID), ""
		ev.Operation, ev.OperationKey = "Sign-in activity", "sign-in activity"
	case srcCloudTrail:
		ev.Cloud, ev.Kind, ev.Tenant = audit.CloudAWS, audit.KindCloudTrail, ""
	case srcGCP:
		ev.Cloud, ev.Kind, ev.Tenant = audit.CloudGCP, audit.KindGCPAudit, ""
	}
	return ev
}

func newTestDetector(t *testing.T, seed int64, cfg *Config, alerts map[string]alert.Alert) *management.Detector {
	t.Helper()
	w := world.New(seed)
	cfg.World = w
	deps := worldDeps{w: w, anon: map[netip.Addr]world.Indicator{}}
	for _, in := range w.Anonymizers() {
		if in.Prefix.IsSingleIP() {
			deps.anon[in.Prefix.Addr()] = in
		}
	}
	det, err := management.New(management.DefaultConfig(), management.Deps{Locator: deps, Countries: deps, Anonymity: deps},
		func(a alert.Alert) { alerts[a.ID] = a })
	if err != nil {
		t.Fatal(err)
	}
	return det
}

// TestDetectorAgreesWithLabels scores the management detector's alerts on
// the simulated events against the labels: the labels and the detector
// implement the same documented rules, so a disagreement is a bug in one
// of them. The events go to the detector as the readers would normalise
// them, so the test does not depend on the readers.
func TestDetectorAgreesWithLabels(t *testing.T) {
	for _, name := range []string{"seed1", "seed2"} {
		seed := map[string]int64{"seed1": 1, "seed2": 2}[name]
		r := generated(t, name, seed)
		score(t, seed, r.truth, r.alerts)
	}
}

func score(t *testing.T, seed int64, truth []eval.Incident, alerts map[string]alert.Alert) {
	const slack = time.Hour
	matched := map[int]bool{}
	type row struct{ expected, detected, false int }
	rows := map[string]*row{}
	get := func(typ string) *row {
		if rows[typ] == nil {
			rows[typ] = &row{}
		}
		return rows[typ]
	}
	for _, in := range truth {
		get(in.Type).expected++
	}
	ids := make([]string, 0, len(alerts))
	for id := range alerts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := alerts[id]
		hit := false
		for i, in := range truth {
			if in.Type == a.Type && in.Key == a.Principal && !a.Start.After(in.End.Add(slack)) && !a.End.Before(in.Start.Add(-slack)) {
				if !matched[i] {
					get(in.Type).detected++
				}
				matched[i], hit = true, true
			}
		}
		if !hit {
			get(a.Type).false++
			t.Logf("seed %d: unlabelled alert %s %s %s..%s", seed, a.Type, a.Principal, a.Start.Format(time.RFC3339), a.End.Format(time.RFC3339))
		}
	}
	for i, in := range truth {
		if !matched[i] {
			t.Logf("seed %d: missed %s %s %s %s", seed, in.Type, in.Key, in.Start.Format(time.RFC3339), in.Note)
		}
	}
	types := make([]string, 0, len(rows))
	for typ := range rows {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		r := rows[typ]
		t.Logf("seed %d %-26s expected %2d detected %2d false %2d", seed, typ, r.expected, r.detected, r.false)
		if r.detected != r.expected || r.false != 0 {
			t.Errorf("seed %d: %s: the detector and the labels disagree", seed, typ)
		}
	}
}
