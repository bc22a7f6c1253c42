package management

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

// maxBurstOps bounds the actions a burst keeps.
const maxBurstOps = 4096

// toolOp is one toolkit action of a burst.
type toolOp struct {
	t       time.Time
	ev      opEvidence
	kind    string
	app     string // web app, for publishxml
	publish bool
	ps      bool
	ip      netip.Addr
}

// burst is one caller's run of toolkit actions, each within the toolkit
// window of the previous one. It is judged when it ends, so that the two
// toolkit alerts can be told apart on the whole burst.
type burst struct {
	principal, name, sub, tenant string
	ops                          []toolOp
	lo                           int // first op inside the sliding window
	first, last                  time.Time

	mb, az       bool
	mbFrom, mbTo time.Time
	azFrom, azTo time.Time
}

// toolkit feeds microburst-toolkit and azurite-toolkit.
func (d *Detector) toolkit(ev *audit.Event, p *principal, class opClass) {
	if class.has(opDeployment) && ev.CorrelationID != "" {
		p.deployments = append(p.deployments, deployment{corr: ev.CorrelationID, t: ev.Time})
		if len(p.deployments) > maxDeployments {
			p.deployments = p.deployments[1:]
		}
	}
	if !class.has(opToolkit) {
		return
	}
	// An ARM deployment lists keys and writes resources on its caller's
	// behalf; those calls share the deployment's correlation id.
	if ev.CorrelationID != "" {
		for _, dep := range p.deployments {
			if dep.corr == ev.CorrelationID && ev.Time.Sub(dep.t) < 6*time.Hour {
				return
			}
		}
	}
	w := d.cfg.Toolkit.Window
	b := d.bursts[p.ID]
	if b != nil && ev.Time.Sub(b.last) > w {
		d.closeBurst(b)
		b = nil
	}
	if b == nil {
		b = &burst{principal: p.ID, first: ev.Time}
		d.bursts[p.ID] = b
	}
	if ev.PrincipalName != "" {
		b.name = ev.PrincipalName
	}
	if b.sub == "" {
		b.sub = ev.Subscription
	}
	if b.tenant == "" {
		b.tenant = ev.Tenant
	}
	if ev.Time.After(b.last) {
		b.last = ev.Time
	}
	op := toolOp{
		t:       ev.Time,
		ev:      evidenceOf(ev, d.cur.loc.Country),
		kind:    class.kind,
		publish: class.has(opPublishXML),
		ps:      ev.Tool == audit.ToolPowerShell,
		ip:      ev.SourceIP,
	}
	if op.publish {
		op.app = webApp(ev.Resource)
	}
	if len(b.ops) >= maxBurstOps {
		drop := b.lo
		if drop == 0 {
			drop = 1
		}
		b.ops = append(b.ops[:0], b.ops[drop:]...)
		b.lo -= drop
		if b.lo < 0 {
			b.lo = 0
		}
	}
	b.ops = append(b.ops, op)
	for b.lo < len(b.ops) && ev.Time.Sub(b.ops[b.lo].t) > w {
		b.lo++
	}
	win := b.ops[b.lo:]
	// A late event may sit anywhere in time relative to the window: the
	// span is taken over the window's actual times.
	lo, hi := span(win)
	if len(win) >= d.cfg.Toolkit.MicroBurstMinOperations && distinctKinds(win) >= d.cfg.Toolkit.MicroBurstMinKinds {
		if !b.mb || lo.Before(b.mbFrom) {
			b.mbFrom = lo
		}
		if !b.mb || hi.After(b.mbTo) {
			b.mbTo = hi
		}
		b.mb = true
	}
	if op.publish && d.azuriteMatch(win) {
		if !b.az || lo.Before(b.azFrom) {
			b.azFrom = lo
		}
		if !b.az || hi.After(b.azTo) {
			b.azTo = hi
		}
		b.az = true
	}
}

func span(ops []toolOp) (lo, hi time.Time) {
	lo, hi = ops[0].t, ops[0].t
	for _, o := range ops[1:] {
		if o.t.Before(lo) {
			lo = o.t
		}
		if o.t.After(hi) {
			hi = o.t
		}
	}
	return lo, hi
}

func distinctKinds(ops []toolOp) int {
	var kinds [16]string
	n := 0
outer:
	for _, o := range ops {
		for _, k := range kinds[:n] {
			if k == o.kind {
				continue outer
			}
		}
		if n == len(kinds) {
			return n
		}
		kinds[n] = o.kind
		n++
	}
	return n
}

// azuriteMatch: publishing profiles of enough web apps, each fetched
// repeatedly, from PowerShell when so configured.
func (d *Detector) azuriteMatch(win []toolOp) bool {
	cfg := d.cfg.Toolkit
	per := map[string]int{}
	for _, o := range win {
		if !o.publish || o.app == "" || (cfg.AzuriteRequirePowerShell && !o.ps) {
			continue
		}
		per[o.app]++
	}
	apps := 0
	for _, n := range per {
		if n >= cfg.AzuriteMinPerApp {
			apps++
		}
	}
	return apps >= cfg.AzuriteMinWebApps
}

// webApp returns the web app (with its slot) a publishxml resource id names.
func webApp(resource string) string {
	r := strings.ToLower(resource)
	i := strings.Index(r, "/sites/")
	if i < 0 {
		return r
	}
	r = r[i+len("/sites/"):]
	if j := strings.Index(r, "/slots/"); j >= 0 {
		rest := r[j+len("/slots/"):]
		if k := strings.IndexByte(rest, '/'); k >= 0 {
			rest = rest[:k]
		}
		return r[:j] + "/" + rest
	}
	if k := strings.IndexByte(r, '/'); k >= 0 {
		r = r[:k]
	}
	return r
}

// closeBurst judges an ended burst. The toolkits are exclusive: a burst that
// harvests across the configured number of kinds of resource is MicroBurst,
// even when it also downloads publishing profiles (Get-AzPasswords does);
// Azurite touches web apps only.
func (d *Detector) closeBurst(b *burst) {
	var typ string
	var from, to time.Time
	switch {
	case b.mb:
		typ, from, to = alert.MicroBurstToolkit, b.mbFrom, b.mbTo
	case b.az:
		typ, from, to = alert.AzuriteToolkit, b.azFrom, b.azTo
	default:
		return
	}
	m := match{
		typ: typ, principal: b.principal, name: b.name, sub: b.sub, tenant: b.tenant,
		start: from, end: to,
	}
	kinds := map[string]int{}
	resources := map[string]bool{}
	apps := map[string]int{}
	var ips []netip.Addr
	for _, o := range b.ops {
		if o.t.Before(from) || o.t.After(to) {
			continue
		}
		m.ops = append(m.ops, o.ev)
		kinds[o.kind]++
		if o.ev.Resource != "" && len(resources) < 100 {
			resources[o.ev.Resource] = true
		}
		if o.publish && o.app != "" {
			apps[o.app]++
		}
		ips = append(ips, o.ip)
	}
	m.ips = ips
	res := sortedKeys(resources)
	m.extra = map[string]any{
		"resource_kinds": sortedKeys(kinds),
		"kind_counts":    kinds,
		"resources":      res,
		"burst_minutes":  round1(to.Sub(from).Minutes()),
	}
	if typ == alert.AzuriteToolkit || len(apps) > 0 {
		names := sortedKeys(apps)
		sort.Strings(names)
		m.extra["web_apps"] = names
		m.extra["publishxml_per_app"] = apps
	}
	d.raise(m)
}
