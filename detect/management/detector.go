package management

import (
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

// Detector runs the management detections over a stream of audit events.
// It is not safe for concurrent use: one goroutine calls Add, Close,
// Summary, SaveState and LoadState.
type Detector struct {
	cfg      Config
	deps     Deps
	sink     alert.Sink
	log      *slog.Logger
	builtins builtinRoles
	disabled map[string]bool
	vpnASN   map[uint32]bool

	principals map[string]*principal
	orgs       map[string]*org
	subTenant  map[string]string
	roles      map[string]*roleWrite
	bursts     map[string]*burst
	incidents  map[incKey]*incident

	// Reorder buffer: a min-heap of indices into a slab of event copies.
	heap    eventHeap
	slab    []audit.Event
	free    []int32
	seq     uint64
	maxTime time.Time
	// done is the time of the last event processed in order.
	done time.Time

	hwm       map[sourceKey]time.Time
	loadedHWM map[sourceKey]time.Time

	// cur is where the caller of the event being processed is.
	cur located

	lastPruneHour   int64
	lastBurstMinute int64
	closed          bool
	stats           stats
}

// sourceKey names a source of events for the high-water marks: re-reading
// what a saved state has already learnt from the same source is skipped.
type sourceKey struct {
	Cloud audit.Cloud
	Kind  audit.Kind
	Scope string // subscription, account or project; the tenant for sign-ins
}

func (k sourceKey) String() string { return string(k.Cloud) + "/" + string(k.Kind) + "/" + k.Scope }

type eventClass struct {
	cloud audit.Cloud
	kind  audit.Kind
}

type stats struct {
	events     map[eventClass]int
	enriched   int
	late       int
	skipped    map[string]int
	alerts     map[string]int
	deliveries int
}

// New returns a Detector. sink receives every alert delivery; it may be nil.
func New(cfg Config, deps Deps, sink alert.Sink) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{
		cfg:        cfg,
		deps:       deps,
		sink:       sink,
		log:        deps.Logger,
		builtins:   sharedBuiltins,
		disabled:   map[string]bool{},
		vpnASN:     map[uint32]bool{},
		principals: map[string]*principal{},
		orgs:       map[string]*org{},
		subTenant:  map[string]string{},
		roles:      map[string]*roleWrite{},
		bursts:     map[string]*burst{},
		incidents:  map[incKey]*incident{},
		hwm:        map[sourceKey]time.Time{},
		loadedHWM:  map[sourceKey]time.Time{},
		stats: stats{
			events:  map[eventClass]int{},
			skipped: map[string]int{},
			alerts:  map[string]int{},
		},
	}
	if d.log != nil {
		d.log = d.log.With("component", "detect/management")
	}
	for _, t := range cfg.Disabled {
		d.disabled[t] = true
	}
	for _, a := range cfg.Location.VPNASNs {
		d.vpnASN[a] = true
	}
	return d, nil
}

// Skip reasons counted in the summary.
const (
	skipNoTime      = "no-time"
	skipBadTime     = "time-out-of-range"
	skipNoPrincipal = "no-principal"
	skipLearnt      = "already-learnt"
	skipAfterClose  = "after-close"
)

// Add takes one event. Events may arrive out of time order within the
// reorder window; they are buffered and processed in time order as later
// events arrive. An event older than what was already processed is
// processed at once and counted late. Add copies what it keeps: the caller
// may reuse ev and its buffers when Add returns.
func (d *Detector) Add(ev *audit.Event) {
	if ev == nil {
		return
	}
	d.stats.events[eventClass{ev.Cloud, ev.Kind}]++
	if d.closed {
		d.stats.skipped[skipAfterClose]++
		return
	}
	if ev.Time.IsZero() {
		d.stats.skipped[skipNoTime]++
		return
	}
	if ev.Time.Before(minEventTime) || ev.Time.After(maxEventTime) {
		// The reorder buffer orders by nanoseconds since 1970; a date
		// they cannot hold would wrap and stall the watermark, keeping
		// every later event in memory until Close.
		d.stats.skipped[skipBadTime]++
		return
	}
	if !d.done.IsZero() && ev.Time.Before(d.done) {
		d.stats.late++
		e := *ev
		d.process(&e)
		return
	}
	idx := d.store(ev)
	d.seq++
	d.heap.push(heapEntry{t: ev.Time.UnixNano(), seq: d.seq, idx: idx})
	if ev.Time.After(d.maxTime) {
		d.maxTime = ev.Time
	}
	d.drain(d.maxTime.Add(-d.cfg.ReorderWindow))
}

// The dates an int64 count of nanoseconds since 1970 can hold; the lower
// bound keeps a year's margin so that the watermark, the latest time less
// the reorder window, stays representable too.
var (
	minEventTime = time.Unix(0, math.MinInt64).Add(366 * 24 * time.Hour)
	maxEventTime = time.Unix(0, math.MaxInt64)
)

// store copies ev into the slab. Request bodies are copied only for the
// operations that read them.
func (d *Detector) store(ev *audit.Event) int32 {
	var idx int32
	if n := len(d.free); n > 0 {
		idx = d.free[n-1]
		d.free = d.free[:n-1]
		d.slab[idx] = *ev
	} else {
		idx = int32(len(d.slab))
		d.slab = append(d.slab, *ev)
	}
	e := &d.slab[idx]
	if len(e.RequestBody) > 0 || len(e.ResponseBody) > 0 {
		key := e.OperationKey
		if key == "" {
			key = strings.ToLower(e.Operation)
		}
		if c := classify(e.Cloud, key); c.has(opRoleAssignment | opRoleDefinition) {
			e.RequestBody = append([]byte(nil), e.RequestBody...)
			e.ResponseBody = append([]byte(nil), e.ResponseBody...)
		} else {
			e.RequestBody, e.ResponseBody = nil, nil
		}
	}
	return idx
}

// drain processes buffered events up to the watermark.
func (d *Detector) drain(watermark time.Time) {
	wm := watermark.UnixNano()
	for len(d.heap.e) > 0 && d.heap.e[0].t <= wm {
		d.popOne()
	}
}

func (d *Detector) popOne() {
	top := d.heap.pop()
	e := &d.slab[top.idx]
	d.process(e)
	d.slab[top.idx] = audit.Event{}
	d.free = append(d.free, top.idx)
}

// Close processes every buffered event and delivers the toolkit bursts
// still open. Events added after Close are counted and ignored.
func (d *Detector) Close() {
	if d.closed {
		return
	}
	for len(d.heap.e) > 0 {
		d.popOne()
	}
	keys := sortedKeys(d.bursts)
	for _, k := range keys {
		d.closeBurst(d.bursts[k])
		delete(d.bursts, k)
	}
	d.closed = true
}

// process runs the detections on one event and then learns from it.
func (d *Detector) process(ev *audit.Event) {
	t := ev.Time
	if t.After(d.done) {
		d.done = t
	}
	pid := ev.PrincipalID
	if pid == "" {
		pid = ev.PrincipalName
	}
	if pid == "" {
		d.stats.skipped[skipNoPrincipal]++
		return
	}
	src := sourceKey{Cloud: ev.Cloud, Kind: ev.Kind, Scope: ev.Subscription}
	if src.Scope == "" {
		src.Scope = ev.Tenant
	}
	if hw, ok := d.loadedHWM[src]; ok && !t.After(hw) {
		d.stats.skipped[skipLearnt]++
		return
	}
	if t.After(d.hwm[src]) {
		d.hwm[src] = t
	}
	if h := t.Unix() / 3600; h != d.lastPruneHour {
		d.lastPruneHour = h
		d.prune(t)
	}
	// Ended toolkit bursts are judged within a minute of event time.
	if m := t.Unix() / 60; m != d.lastBurstMinute && len(d.bursts) > 0 {
		d.lastBurstMinute = m
		d.closeEndedBursts(t)
	}
	if ev.OperationKey == "" && ev.Operation != "" {
		ev.OperationKey = strings.ToLower(ev.Operation)
	}
	class := classify(ev.Cloud, ev.OperationKey)

	o := d.orgFor(ev)
	// The organisation's learning period runs from its first event.
	if o.FirstSeen.IsZero() || t.Before(o.FirstSeen) {
		o.FirstSeen = t
	}
	p := d.principals[pid]
	if p == nil {
		p = &principal{ID: pid, Cloud: ev.Cloud, Org: o.Key, FirstSeen: t, LastSeen: t}
		d.principals[pid] = p
	}
	if ev.PrincipalName != "" {
		p.Name = ev.PrincipalName
	}
	if ev.PrincipalType != audit.PrincipalUnknown {
		p.Type = ev.PrincipalType
	}

	d.cur = d.locate(ev, p)

	// Detections see the profiles as they were before this event.
	d.sessions(ev, p, class)
	if ev.Cloud == audit.CloudAzure && ev.Kind == audit.KindActivity {
		d.toolkit(ev, p, class)
		d.customRole(ev, p, class)
	}
	d.location(ev, p, o)

	d.learn(ev, p)
}

// learn updates the principal profile with an event (the location part is
// learnt in location).
func (d *Detector) learn(ev *audit.Event, p *principal) {
	t := ev.Time
	if t.Before(p.FirstSeen) {
		p.FirstSeen = t
	}
	if t.After(p.LastSeen) {
		p.LastSeen = t
	}
	if ev.Kind.ControlPlane() {
		if p.LastCP.IsZero() || dayOf(t) != dayOf(p.LastCP) && t.After(p.LastCP) {
			p.ActiveDays++
		}
		if p.FirstCP.IsZero() || t.Before(p.FirstCP) {
			p.FirstCP = t
		}
		if t.After(p.LastCP) {
			p.LastCP = t
		}
	} else {
		if p.FirstSignIn.IsZero() || t.Before(p.FirstSignIn) {
			p.FirstSignIn = t
		}
		if t.After(p.LastSignIn) {
			p.LastSignIn = t
		}
	}
	if ev.Tool != audit.ToolUnknown {
		p.Tools, _ = touch(p.Tools, ev.Tool, t, maxPrincipalTools)
	}
}

// orgFor returns the organisation of an event: the tenant when known (also
// through a subscription seen with its tenant), else the account or project.
func (d *Detector) orgFor(ev *audit.Event) *org {
	if d.cfg.Location.SingleOrganisation {
		o := d.orgs[""]
		if o == nil {
			o = newOrg("")
			d.orgs[""] = o
		}
		return o
	}
	scope := ev.Tenant
	if ev.Cloud == audit.CloudAzure && ev.Subscription != "" {
		if scope != "" {
			if _, ok := d.subTenant[ev.Subscription]; !ok {
				d.subTenant[ev.Subscription] = scope
			}
		} else {
			scope = d.subTenant[ev.Subscription]
		}
	}
	if scope == "" {
		scope = ev.Subscription
	}
	o := d.orgs[scope]
	if o == nil {
		o = newOrg(scope)
		d.orgs[scope] = o
	}
	return o
}

// prune runs hourly (in event time): it closes finished toolkit bursts,
// forgets incidents that can no longer grow and old organisation shares,
// and bounds the principal profiles.
func (d *Detector) prune(now time.Time) {
	d.closeEndedBursts(now)
	d.pruneIncidents(now)
	cutoff := now.Add(-days(d.cfg.Location.CountryRecencyDays))
	for _, o := range d.orgs {
		o.prune(cutoff)
	}
	for k, r := range d.roles {
		if now.Sub(r.T) > d.cfg.CustomRole.Window {
			delete(d.roles, k)
		}
	}
	d.boundPrincipals()
}

// closeEndedBursts judges the bursts whose window has passed, in a stable
// order.
func (d *Detector) closeEndedBursts(now time.Time) {
	var ended []string
	for k, b := range d.bursts {
		if now.Sub(b.last) > d.cfg.Toolkit.Window {
			ended = append(ended, k)
		}
	}
	sort.Strings(ended)
	for _, k := range ended {
		d.closeBurst(d.bursts[k])
		delete(d.bursts, k)
	}
}

// boundPrincipals drops the least recently seen principals above the limit.
func (d *Detector) boundPrincipals() {
	limit := d.cfg.MaxPrincipals
	if len(d.principals) <= limit+limit/10 {
		return
	}
	all := make([]*principal, 0, len(d.principals))
	for _, p := range d.principals {
		all = append(all, p)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].LastSeen.After(all[j].LastSeen) })
	for _, p := range all[limit:] {
		delete(d.principals, p.ID)
	}
}

// Summary counts what the detector saw and raised.
type Summary struct {
	// Events counts events added, by "cloud/kind".
	Events map[string]int `json:"events"`
	// Enriched counts events located through the Locator.
	Enriched int `json:"enriched"`
	// Late counts events that arrived after later events had been processed.
	Late int `json:"late"`
	// Skipped counts events not processed, by reason.
	Skipped map[string]int `json:"skipped"`
	// Buffered is the number of events waiting in the reorder buffer.
	Buffered int `json:"buffered"`
	// Alerts counts distinct alerts (incidents) by type.
	Alerts map[string]int `json:"alerts"`
	// Deliveries counts alert deliveries, including re-deliveries of growing
	// incidents.
	Deliveries int `json:"deliveries"`
	// Principals and Organisations are the profiles held.
	Principals    int `json:"principals"`
	Organisations int `json:"organisations"`
}

// Summary returns the counts so far.
func (d *Detector) Summary() Summary {
	cp := func(m map[string]int) map[string]int {
		out := make(map[string]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	events := make(map[string]int, len(d.stats.events))
	for k, v := range d.stats.events {
		events[string(k.cloud)+"/"+string(k.kind)] = v
	}
	return Summary{
		Events:        events,
		Enriched:      d.stats.enriched,
		Late:          d.stats.late,
		Skipped:       cp(d.stats.skipped),
		Buffered:      len(d.heap.e),
		Alerts:        cp(d.stats.alerts),
		Deliveries:    d.stats.deliveries,
		Principals:    len(d.principals),
		Organisations: len(d.orgs),
	}
}

// String renders the summary for people.
func (s Summary) String() string {
	var b strings.Builder
	total := 0
	for _, v := range s.Events {
		total += v
	}
	fmt.Fprintf(&b, "management: %d events", total)
	if len(s.Events) > 0 {
		b.WriteString(" (")
		for i, k := range sortedKeys(s.Events) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", k, s.Events[k])
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; %d located by GeoIP; %d late", s.Enriched, s.Late)
	if len(s.Skipped) > 0 {
		b.WriteString("; skipped:")
		for _, k := range sortedKeys(s.Skipped) {
			fmt.Fprintf(&b, " %s %d", k, s.Skipped[k])
		}
	}
	fmt.Fprintf(&b, "\n%d principals, %d organisations profiled\n", s.Principals, s.Organisations)
	alerts := 0
	for _, v := range s.Alerts {
		alerts += v
	}
	fmt.Fprintf(&b, "%d alerts", alerts)
	for _, k := range sortedKeys(s.Alerts) {
		fmt.Fprintf(&b, "\n  %-26s %d", k, s.Alerts[k])
	}
	b.WriteString("\n")
	return b.String()
}

// heapEntry orders buffered events by time, then by arrival.
type heapEntry struct {
	t   int64
	seq uint64
	idx int32
}

// eventHeap is a binary min-heap; written out rather than through
// container/heap so that pushing does not box each entry on the heap.
type eventHeap struct{ e []heapEntry }

func (h *eventHeap) less(i, j int) bool {
	if h.e[i].t != h.e[j].t {
		return h.e[i].t < h.e[j].t
	}
	return h.e[i].seq < h.e[j].seq
}

func (h *eventHeap) push(x heapEntry) {
	h.e = append(h.e, x)
	i := len(h.e) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h.e[i], h.e[parent] = h.e[parent], h.e[i]
		i = parent
	}
}

func (h *eventHeap) pop() heapEntry {
	top := h.e[0]
	n := len(h.e) - 1
	h.e[0] = h.e[n]
	h.e = h.e[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.e[i], h.e[m] = h.e[m], h.e[i]
		i = m
	}
	return top
}
