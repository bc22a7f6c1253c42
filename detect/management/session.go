package management

import (
	"math"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

// sessions runs inactive-account-session and powershell-session. Both look
// at a whole session rather than at one event: the first control-plane call
// after a long silence, or the first PowerShell sign-in, is often not itself
// the persistence action that follows it minutes later.
func (d *Detector) sessions(ev *audit.Event, p *principal, class opClass) {
	t := ev.Time

	// A denied or failed action secured nothing.
	persistence := class.has(opPersistence) && ev.Result != audit.ResultFailure
	if ev.Kind.ControlPlane() {
		switch {
		case !p.LastCP.IsZero() && t.Sub(p.LastCP) >= days(d.cfg.Inactive.Days):
			p.ReturnStart, p.ReturnPrev = t, p.LastCP
		case !p.ReturnStart.IsZero() && t.Sub(p.ReturnStart) > d.cfg.Inactive.ReturnWindow:
			p.ReturnStart, p.ReturnPrev = time.Time{}, time.Time{}
		}
		if !p.ReturnStart.IsZero() && persistence {
			idle := p.ReturnStart.Sub(p.ReturnPrev)
			d.raise(d.newMatch(alert.InactiveAccountSession, ev, p, map[string]any{
				"last_activity_before": p.ReturnPrev.UTC().Format(time.RFC3339Nano),
				"session_start":        p.ReturnStart.UTC().Format(time.RFC3339Nano),
				"inactive_days":        math.Floor(idle.Hours() / 24),
				"threshold_days":       d.cfg.Inactive.Days,
			}, "last_activity_before", "session_start", "inactive_days"))
		}
	}

	if ev.Cloud != audit.CloudAzure {
		return
	}
	if !p.PSStart.IsZero() && t.Sub(p.LastSeen) > d.cfg.SessionGap {
		p.PSStart, p.PSPrev = time.Time{}, time.Time{}
	}
	if ev.Tool == audit.ToolPowerShell && p.PSStart.IsZero() {
		prev := p.toolLast(audit.ToolPowerShell)
		cfg := d.cfg.PowerShell
		history := t.Sub(p.FirstSeen) >= days(cfg.MinHistoryDays) && p.ActiveDays >= cfg.MinActiveDays
		if history && (prev.IsZero() || t.Sub(prev) >= days(cfg.LookbackDays)) {
			p.PSStart, p.PSPrev = t, prev
		}
	}
	if !p.PSStart.IsZero() && ev.Tool == audit.ToolPowerShell && ev.Kind == audit.KindActivity && persistence {
		var prev any
		if !p.PSPrev.IsZero() {
			prev = p.PSPrev.UTC().Format(time.RFC3339Nano)
		}
		d.raise(d.newMatch(alert.PowerShellSession, ev, p, map[string]any{
			"previous_powershell_use": prev,
			"session_start":           p.PSStart.UTC().Format(time.RFC3339Nano),
			"lookback_days":           d.cfg.PowerShell.LookbackDays,
			"history_days":            math.Floor(t.Sub(p.FirstSeen).Hours() / 24),
			"active_days":             p.ActiveDays,
			"app_id":                  ev.AppID,
		}, "previous_powershell_use", "session_start", "history_days", "active_days"))
	}
}

// newMatch builds a match for one event of a principal.
func (d *Detector) newMatch(typ string, ev *audit.Event, p *principal, extra map[string]any, keepFirst ...string) match {
	m := match{
		typ:       typ,
		principal: p.ID,
		name:      p.Name,
		sub:       ev.Subscription,
		tenant:    ev.Tenant,
		start:     ev.Time,
		end:       ev.Time,
		ops:       []opEvidence{evidenceOf(ev, d.cur.loc.Country)},
		extra:     extra,
	}
	if ev.Kind == audit.KindSignIn {
		m.sub = ""
	}
	if len(keepFirst) > 0 {
		m.keepFirst = map[string]bool{}
		for _, k := range keepFirst {
			m.keepFirst[k] = true
		}
	}
	return m
}
