package network

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/detect/baseline"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/flow"
)

// hourResult is one closed resource-hour, judged.
type hourResult struct {
	st       *hourState
	name     string
	typ      string
	slot     slot
	si       int
	attempts uint64
	top      uint64
	distinct float64
	exact    bool
	main     baseline.Decision
	dm, da   baseline.Decision
	listed   []listed
	probes   int
}

type listed struct {
	ip    netip.Addr
	match intel.Match
	v     remoteStat
}

type incidentKey struct {
	ref inventory.Ref
	typ string
}

// incident is one alert as it grows hour by hour.
type incident struct {
	key        incidentKey
	g          uint8
	first      int64
	last       int64
	name       string
	resourceIP string
	sub        string
	hours      []map[string]any
	series     []map[string]any
	remotes    map[netip.Addr]uint64
	listed     map[netip.Addr]listed
	samples    []flow.Record
	attempts   uint64
	short      uint64
	denied     uint64
	maxTop     uint64
	maxDist    float64
	maxRate    uint32
	exporter   string
	peak       baseline.Decision
	dm, da     baseline.Decision
	delivered  bool
	suppressed bool
}

// maxIncidentHours bounds the per-hour list an alert carries; the totals
// keep counting after it.
const maxIncidentHours = 72

func (d *Detector) closeHour(h int64) {
	states := d.byHour[h]
	delete(d.byHour, h)
	if i, ok := slices.BinarySearch(d.hours, h); ok {
		d.hours = slices.Delete(d.hours, i, i+1)
	}
	// Judge every resource-hour of the hour against the state learned
	// before it, then learn: the result does not depend on the order in
	// which resources are visited.
	results := make([]hourResult, 0, len(states))
	for _, st := range states {
		results = append(results, d.evaluate(st))
	}
	slices.SortFunc(results, func(a, b hourResult) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.st.key.group, b.st.key.group))
	})
	for i := range results {
		d.finish(&results[i], h)
	}
	for _, st := range states {
		d.release(st)
	}
	if h > d.closedThrough {
		d.closedThrough = h
	}
	for k, inc := range d.incidents {
		if inc.last < h {
			delete(d.incidents, k)
		}
	}
}

func (d *Detector) evaluate(st *hourState) hourResult {
	res := hourResult{st: st, name: d.inv.Name(st.key.ref)}
	hour := hourTime(st.key.hour)
	if st.key.group == groupMal {
		for _, e := range st.rems {
			ip, v := e.addr, e.remoteStat
			if v.flags&remResourceInit != 0 || v.flags&(remResourceData|remRemoteData) == remResourceData|remRemoteData {
				m, _ := d.intel.Malicious(ip)
				res.listed = append(res.listed, listed{ip: ip, match: m, v: v})
			} else {
				res.probes++
			}
		}
		slices.SortFunc(res.listed, func(a, b listed) int {
			return cmp.Or(cmp.Compare(b.match.Confidence, a.match.Confidence), a.ip.Compare(b.ip))
		})
		if len(res.listed) > 0 {
			res.typ = alert.MaliciousAddress
		}
		return res
	}
	g := st.key.group
	best := 0
	for i := 1; i < st.nslots; i++ {
		a, b := &st.slots[i], &st.slots[best]
		if a.records > b.records || a.records == b.records && a.id < b.id {
			best = i
		}
	}
	res.si = best
	res.slot = st.slots[best]
	res.attempts = res.slot.attempts
	// The sum of the few largest counts does not depend on which remote
	// holds which, so ties need no order.
	var few [baseline.FewRemotes]uint64
	for i := range st.rems {
		t := uint64(st.rems[i].att[best])
		if t <= few[len(few)-1] {
			continue
		}
		i := len(few) - 1
		for i > 0 && few[i-1] < t {
			few[i] = few[i-1]
			i--
		}
		few[i] = t
	}
	for _, t := range few {
		res.top += t
	}
	res.exact = st.sketch == nil
	if res.exact {
		res.distinct = float64(len(st.rems))
	} else {
		res.distinct = float64(st.sketch.Estimate())
	}
	var prof *baseline.Profile
	if r := d.resources[st.key.ref]; r != nil {
		prof = r.prof[g]
	}
	m := d.cfg.Model
	res.dm = m.Evaluate(hour, baseline.Distinct, res.distinct, prof, &d.peers[g], d.floors[g][1])
	res.da = m.Evaluate(hour, baseline.TopAttempts, float64(res.top), prof, &d.peers[g], sampledFloor(d.floors[g][0], res.slot.rate))
	switch {
	case res.dm.Alert:
		res.typ, res.main = groupTypes[g][1], res.dm
	case res.da.Alert:
		res.typ, res.main = groupTypes[g][0], res.da
	}
	return res
}

func (d *Detector) finish(res *hourResult, h int64) {
	st := res.st
	ref := st.key.ref
	hour := hourTime(h)
	held := st.nips > 0 && !st.ipChanged
	for i := 0; i < st.nips && held; i++ {
		held = d.inv.HeldWholeHourRef(ref, st.ips[i], hour)
	}
	anomalous := res.typ != ""
	if st.key.group == groupMal {
		d.sum.listedProbes += uint64(res.probes)
	} else {
		r := d.resources[ref]
		if r == nil {
			r = &resource{}
			d.resources[ref] = r
		}
		g := st.key.group
		r.push(g, point{hour: h, attempts: float32(res.attempts), top: float32(res.top), dist: float32(res.distinct), alerted: anomalous})
		if !anomalous && !st.replay && held {
			v := [baseline.NumFeatures]float64{float64(res.attempts), float64(res.top), res.distinct}
			if r.prof[g] == nil {
				r.prof[g] = new(baseline.Profile)
			}
			r.prof[g].Learn(hour, v)
			d.peers[g].Learn(v)
		}
	}
	if !anomalous {
		return
	}
	if !held {
		d.sum.suppressedIPChange++
		return
	}
	if d.off[res.typ] {
		d.sum.disabled++
		return
	}
	k := incidentKey{ref: ref, typ: res.typ}
	inc := d.incidents[k]
	if inc == nil || inc.last != h-1 {
		inc = d.newIncident(k, res, h)
		d.incidents[k] = inc
	}
	inc.add(d, res, h)
	a := inc.build(d)
	if _, ok := d.cfg.Suppressions.Match(&a); ok {
		if !inc.suppressed {
			inc.suppressed = true
			d.sum.suppressedRules++
		}
		return
	}
	if !inc.delivered {
		inc.delivered = true
		d.sum.alerts[res.typ]++
	}
	d.sink(a)
}

func (d *Detector) newIncident(k incidentKey, res *hourResult, h int64) *incident {
	st := res.st
	inc := &incident{key: k, g: st.key.group, first: h, last: h - 1, name: res.name, resourceIP: st.mainIP().String(),
		remotes: map[netip.Addr]uint64{}, listed: map[netip.Addr]listed{}}
	inc.sub = inventory.Subscription(res.name)
	if inc.sub == "" {
		inc.sub = st.account
	}
	if st.key.group != groupMal && d.cfg.SeriesHours > 0 {
		if r := d.resources[k.ref]; r != nil {
			pts := r.series[st.key.group][:r.nser[st.key.group]]
			for _, p := range pts {
				if p.hour < h && p.hour >= h-int64(d.cfg.SeriesHours) {
					inc.series = append(inc.series, seriesPoint(p))
				}
			}
		}
	}
	return inc
}

func seriesPoint(p point) map[string]any {
	return map[string]any{
		"hour":                 hourTime(p.hour).Format(time.RFC3339),
		"attempts":             float64(p.attempts),
		"top_remotes_attempts": float64(p.top),
		"distinct_remotes":     float64(p.dist),
		"alerted":              p.alerted,
	}
}

func (inc *incident) add(d *Detector, res *hourResult, h int64) {
	st := res.st
	inc.last = h
	inc.denied += st.denied
	for _, r := range st.samples {
		if len(inc.samples) < d.cfg.SampleFlows {
			inc.samples = append(inc.samples, r)
		}
	}
	if inc.key.typ == alert.MaliciousAddress {
		for _, l := range res.listed {
			old, ok := inc.listed[l.ip]
			if ok {
				l.v.bytesIn += old.v.bytesIn
				l.v.bytesOut += old.v.bytesOut
				l.v.records += old.v.records
				l.v.flags |= old.v.flags
			}
			inc.listed[l.ip] = l
		}
		if len(inc.hours) < maxIncidentHours {
			inc.hours = append(inc.hours, map[string]any{
				"hour": hourTime(h).Format(time.RFC3339), "listed_remotes": len(res.listed), "inbound_probes": res.probes, "denied": st.denied})
		}
		return
	}
	inc.attempts += res.attempts
	inc.short += res.slot.short
	inc.maxTop = max(inc.maxTop, res.top)
	inc.maxDist = max(inc.maxDist, res.distinct)
	inc.maxRate = max(inc.maxRate, res.slot.rate)
	if inc.exporter == "" {
		inc.exporter = exporterName(res.slot)
	}
	if len(inc.hours) == 0 || res.main.Score > inc.peak.Score {
		inc.peak = res.main
	}
	inc.dm, inc.da = res.dm, res.da
	for _, e := range st.rems {
		ip, v := e.addr, e.remoteStat
		if a := uint64(v.att[res.si]); a > 0 {
			inc.remotes[ip] += a
		} else if _, ok := inc.remotes[ip]; !ok && v.records > 0 {
			inc.remotes[ip] += 0
		}
	}
	hr := map[string]any{
		"hour":                 hourTime(h).Format(time.RFC3339),
		"attempts":             float64(res.attempts),
		"top_remotes_attempts": float64(res.top),
		"distinct_remotes":     res.distinct,
		"distinct_exact":       res.exact,
		"short_or_failed":      float64(res.slot.short),
		"denied":               float64(st.denied),
		"sampling_rate":        float64(res.slot.rate),
		"exporter":             exporterName(res.slot),
		"exporters":            st.nslots,
	}
	if len(inc.hours) < maxIncidentHours {
		inc.hours = append(inc.hours, hr)
	}
	if len(inc.series) < d.cfg.SeriesHours+maxIncidentHours {
		inc.series = append(inc.series, seriesPoint(point{hour: h, attempts: float32(res.attempts), top: float32(res.top), dist: float32(res.distinct), alerted: true}))
	}
}

func exporterName(s slot) string {
	if s.exporter.IsValid() {
		return s.exporter.String()
	}
	return s.format.String()
}

// build renders the incident as an alert record.
func (inc *incident) build(d *Detector) alert.Alert {
	a := alert.New(inc.key.typ, inc.name, hourTime(inc.first), hourTime(inc.last+1))
	a.Resource = inc.name
	a.ResourceIP = inc.resourceIP
	a.Subscription = inc.sub
	if s, ok := d.cfg.Severities[inc.key.typ]; ok {
		a.Severity = s
	}
	ev := a.Evidence
	ev["sample_flows"] = sampleFlows(inc.samples)
	ev["denied"] = float64(inc.denied)
	ev["hours"] = inc.hours
	if inc.key.typ == alert.MaliciousAddress {
		ls := make([]listed, 0, len(inc.listed))
		for _, l := range inc.listed {
			ls = append(ls, l)
		}
		slices.SortFunc(ls, func(a, b listed) int {
			return cmp.Or(cmp.Compare(b.match.Confidence, a.match.Confidence), a.ip.Compare(b.ip))
		})
		var rows []map[string]any
		for _, l := range ls {
			a.RemoteIPs = append(a.RemoteIPs, l.ip.String())
			by := "undetermined"
			switch {
			case l.v.flags&remResourceInit != 0:
				by = "resource"
			case l.v.flags&remRemoteInit != 0:
				by = "remote"
			}
			rows = append(rows, map[string]any{
				"ip": l.ip.String(), "indicator": l.match.Indicator, "category": l.match.Category,
				"source": l.match.Source, "confidence": float64(l.match.Confidence), "initiated_by": by,
				"bytes_sent": float64(l.v.bytesOut), "bytes_received": float64(l.v.bytesIn), "records": float64(l.v.records),
			})
		}
		ev["listed_remotes"] = rows
		if len(ls) > 0 {
			ev["indicator"] = ls[0].match.Indicator
			ev["intel_source"] = ls[0].match.Source
			ev["confidence"] = float64(ls[0].match.Confidence)
			ev["category"] = ls[0].match.Category
		}
		return a
	}
	type rc struct {
		ip netip.Addr
		n  uint64
	}
	rcs := make([]rc, 0, len(inc.remotes))
	for ip, n := range inc.remotes {
		rcs = append(rcs, rc{ip, n})
	}
	slices.SortFunc(rcs, func(a, b rc) int { return cmp.Or(cmp.Compare(b.n, a.n), a.ip.Compare(b.ip)) })
	if len(rcs) > d.cfg.TopRemotes {
		rcs = rcs[:d.cfg.TopRemotes]
	}
	top := make([]map[string]any, 0, len(rcs))
	for _, r := range rcs {
		a.RemoteIPs = append(a.RemoteIPs, r.ip.String())
		top = append(top, map[string]any{"ip": r.ip.String(), "attempts": float64(r.n)})
	}
	ev["service"] = groupService[inc.g]
	ev["direction"] = groupDirection[inc.g]
	ev["feature"] = inc.peak.Feature
	ev["observed"] = inc.peak.Observed
	ev["expected"] = inc.peak.Expected
	ev["basis"] = inc.peak.Basis
	ev["history_days"] = float64(inc.peak.Days)
	ev["score"] = inc.peak.Score
	ev["floor"] = inc.peak.Floor
	ev["threshold"] = inc.peak.Threshold
	ev["decisions"] = []baseline.Decision{inc.dm, inc.da}
	ev["attempts"] = float64(inc.attempts)
	ev["top_remotes_attempts"] = float64(inc.maxTop)
	ev["distinct_remotes"] = inc.maxDist
	ev["short_or_failed"] = float64(inc.short)
	ev["sampling_rate"] = float64(inc.maxRate)
	ev["exporter"] = inc.exporter
	ev["top_remotes"] = top
	ev["series"] = inc.series
	return a
}

// SampleFlow is a flow as an alert's evidence shows it.
type SampleFlow struct {
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Src          string    `json:"src"`
	SrcPort      uint16    `json:"src_port"`
	Dst          string    `json:"dst"`
	DstPort      uint16    `json:"dst_port"`
	Proto        uint8     `json:"proto"`
	TCPFlags     uint8     `json:"tcp_flags,omitempty"`
	Packets      uint64    `json:"packets"`
	Bytes        uint64    `json:"bytes"`
	SamplingRate uint32    `json:"sampling_rate"`
	Action       string    `json:"action,omitempty"`
	Exporter     string    `json:"exporter,omitempty"`
	Format       string    `json:"format"`
}

func sampleFlows(rs []flow.Record) []SampleFlow {
	out := make([]SampleFlow, 0, len(rs))
	for _, r := range rs {
		s := SampleFlow{Start: r.Start.UTC(), End: r.End.UTC(), Src: r.SrcAddr.String(), SrcPort: r.SrcPort,
			Dst: r.DstAddr.String(), DstPort: r.DstPort, Proto: r.Proto, TCPFlags: r.TCPFlags, Packets: r.Packets,
			Bytes: r.Bytes, SamplingRate: r.SamplingRate, Action: r.Action.String(), Format: r.Format.String()}
		if r.Exporter.IsValid() {
			s.Exporter = r.Exporter.String()
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SampleFlow) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst), cmp.Compare(a.SrcPort, b.SrcPort))
	})
	return out
}

// mainIP is the resource's address that drew the most attempts in the hour
// (the first seen on a tie): the one under attack or attacking.
func (st *hourState) mainIP() netip.Addr {
	best := 0
	for i := 1; i < st.nips; i++ {
		if st.ipAtt[i] > st.ipAtt[best] || st.ipAtt[i] == st.ipAtt[best] && st.ips[i].Less(st.ips[best]) {
			best = i
		}
	}
	return st.ips[best]
}

// sampledFloor raises an attempts floor for an estimate scaled up from
// sampled records. With 1-in-r packet sampling, the count of sampled
// opening segments n is Poisson-like, and rate × n overstates the attempts
// about as often as it understates them: a commodity burst of 250
// attempts seen at 1 in 100 reaches an estimate of 500 one time in nine.
// The floor therefore applies to a one-sigma lower bound, r × (n − √n),
// rather than to r × n; the returned value is the estimate at which that
// bound meets the floor. Unsampled counts (r ≤ 1) are exact and keep the
// floor as it is.
func sampledFloor(floor float64, rate uint32) float64 {
	if rate <= 1 || floor <= 0 {
		return floor
	}
	r := float64(rate)
	root := (1 + math.Sqrt(1+4*floor/r)) / 2 // √n at which n − √n = floor/r
	return r * root * root
}
