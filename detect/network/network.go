// Package network is Vigil's network-layer detection engine. It turns
// normalised flow records into the nine network alerts: incoming and
// outgoing SSH and RDP brute force (single source or many), and
// communication with a malicious address.
//
// Records are grouped into clock hours (UTC) per resource, service and
// direction; a flow belongs to the hour it starts in. Each closed hour's
// features (estimated connection attempts, attempts of the busiest remote,
// distinct remotes) are judged by detect/baseline against the resource's
// own learned level or the estate's, and against documented absolute
// floors. An hour closes when the newest record's time (the watermark)
// passes its end plus the reorder window, so the alerts do not depend on
// the order of records inside that window. docs/network-detections.md
// documents the rules, the defaults and why.
//
// A Detector is not safe for concurrent use.
package network

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/detect/baseline"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/flow"
)

// Deps are the detector's collaborators. Inventory may be nil when
// HomeNets mark the deployment's space; when both are given, HomeNets are
// set on the inventory as its fallback. Intel may be nil (no
// malicious-address alerts). Logger may be nil.
type Deps struct {
	Inventory *inventory.Inventory
	HomeNets  []netip.Prefix
	Intel     *intel.DB
	Logger    *slog.Logger
}

// Services, directions and the profile groups they make.
const (
	svcNone uint8 = iota
	svcSSH
	svcRDP
)

const (
	dirIn  = 0
	dirOut = 1

	nGroups  = 4 // (ssh, rdp) × (incoming, outgoing)
	groupMal = nGroups
	maxSlots = 4 // exporters tallied per resource-hour
	maxIPs   = 4 // addresses of one resource tallied per hour
)

func group(svc uint8, dir int) uint8 { return (svc-1)*2 + uint8(dir) }

var groupService = [nGroups]string{"ssh", "ssh", "rdp", "rdp"}
var groupDirection = [nGroups]string{"incoming", "outgoing", "incoming", "outgoing"}

// alert types per group: single, multi.
var groupTypes = [nGroups][2]string{
	{alert.IncomingSSH, alert.IncomingSSHMulti},
	{alert.OutgoingSSH, alert.OutgoingSSHMulti},
	{alert.IncomingRDP, alert.IncomingRDPMulti},
	{alert.OutgoingRDP, alert.OutgoingRDPMulti},
}

// stateKey names one open resource-hour of one group.
type stateKey struct {
	ref   inventory.Ref
	hour  int64 // hours since the Unix epoch
	group uint8
}

// slot tallies one exporter's view of a resource-hour.
type slot struct {
	id       uint64 // hash of exporter, observation domain, format and account
	exporter netip.Addr
	format   flow.Format
	records  uint64
	attempts uint64
	short    uint64
	denied   uint64
	rate     uint32
}

// remote flag bits for malicious-address tracking.
const (
	remResourceInit uint8 = 1 << iota
	remRemoteInit
	remResourceData
	remRemoteData
	remDenied
)

type remoteEntry struct {
	addr netip.Addr
	remoteStat
}

type remoteStat struct {
	att      [maxSlots]uint32
	bytesOut uint64 // resource to remote
	bytesIn  uint64
	records  uint32
	flags    uint8
}

// hourState is one open resource-hour. States are pooled: a steady stream
// of records reuses them and their maps without allocating.
type hourState struct {
	key stateKey
	// ips are the resource's addresses seen in the hour (a machine may be
	// reached on its private and its public address); each must have been
	// held the whole hour. ipAtt counts the attempts at each.
	ips       [maxIPs]netip.Addr
	ipAtt     [maxIPs]uint64
	nips      int
	ipChanged bool // more addresses than maxIPs
	replay    bool
	account   string
	slots     [maxSlots]slot
	nslots    int
	// remIdx indexes rems, the per-remote tallies: a found remote is
	// updated in place with one map lookup, and closing iterates a slice.
	remIdx  map[netip.Addr]int32
	rems    []remoteEntry
	sketch  *hyperloglog.Sketch
	tuples  map[uint64]struct{}
	denied  uint64
	samples []flow.Record
	// sketchSpare keeps a released sketch for reuse.
	sketchSpare *hyperloglog.Sketch
}

// point is one closed hour of a group, kept for the series in evidence.
type point struct {
	hour                int64
	attempts, top, dist float32
	alerted             bool
}

const maxSeries = 8

// resource is what the detector keeps per resource across hours: the
// learned profiles and a short series of recent hours.
type resource struct {
	prof   [nGroups]*baseline.Profile
	series [nGroups][maxSeries]point
	nser   [nGroups]uint8
}

func (r *resource) push(g uint8, p point) {
	s := &r.series[g]
	if int(r.nser[g]) < maxSeries {
		s[r.nser[g]] = p
		r.nser[g]++
		return
	}
	copy(s[:], s[1:])
	s[maxSeries-1] = p
}

// sourceKey identifies a source of records for the high-water marks: the
// exporter and its observation domain, or the cloud account for flow logs.
// The domain matters for IPFIX files, which carry no exporter address:
// without it every exporter's file would share one mark, and a file read
// further than another would mark the other's later data as replayed.
type sourceKey struct {
	exporter netip.Addr
	domain   uint32
	account  string
	format   flow.Format
}

func (k sourceKey) String() string {
	s := k.format.String() + "/"
	if k.exporter.IsValid() {
		s += k.exporter.String()
	} else {
		s += k.account
	}
	if k.domain != 0 {
		s += "/" + strconv.FormatUint(uint64(k.domain), 10)
	}
	return s
}

// Detector is the engine. Create it with New, feed it with Add in roughly
// ascending time, and call Close at the end of input.
type Detector struct {
	cfg    Config
	inv    *inventory.Inventory
	intel  *intel.DB
	log    *slog.Logger
	sink   alert.Sink
	ports  [65536]uint8
	rates  map[netip.Addr]uint32
	off    map[string]bool
	floors [nGroups][2]float64 // [group][single, multi]

	watermark     time.Time
	closedThrough int64 // every hour ≤ this is closed
	open          map[stateKey]*hourState
	byHour        map[int64][]*hourState
	hours         []int64 // open hours, ascending
	free          []*hourState

	resources map[inventory.Ref]*resource
	peers     [nGroups]baseline.Peer
	hwm       map[string]int64 // source -> newest record start (Unix ns) learned in earlier runs
	seen      map[sourceKey]*int64
	// lastSource and lastSeen cache the latest source's entry of seen.
	lastSource sourceKey
	lastSeen   *int64
	hwmCache   map[sourceKey]mark
	dormant    map[string][]byte // saved profiles of resources the inventory no longer knows

	incidents map[incidentKey]*incident
	sum       summary
}

// New returns a detector that delivers alerts to sink.
func New(cfg Config, deps Deps, sink alert.Sink) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, fmt.Errorf("%w: no alert sink", ErrConfig)
	}
	d := &Detector{
		cfg:           cfg,
		inv:           deps.Inventory,
		intel:         deps.Intel,
		log:           deps.Logger,
		sink:          sink,
		rates:         map[netip.Addr]uint32{},
		off:           map[string]bool{},
		closedThrough: math.MinInt64,
		open:          map[stateKey]*hourState{},
		byHour:        map[int64][]*hourState{},
		resources:     map[inventory.Ref]*resource{},
		hwm:           map[string]int64{},
		seen:          map[sourceKey]*int64{},
		hwmCache:      map[sourceKey]mark{},
		dormant:       map[string][]byte{},
		incidents:     map[incidentKey]*incident{},
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("component", "detect/network")
	if d.inv == nil {
		d.inv = inventory.New(deps.HomeNets)
	} else if len(deps.HomeNets) > 0 {
		d.inv.SetHomeNets(deps.HomeNets)
	}
	for _, p := range cfg.SSHPorts {
		d.ports[p] = svcSSH
	}
	for _, p := range cfg.RDPPorts {
		d.ports[p] = svcRDP
	}
	for k, v := range cfg.ExporterRates {
		d.rates[netip.MustParseAddr(k).Unmap()] = v
	}
	for _, t := range cfg.Disabled {
		d.off[t] = true
	}
	for g := range nGroups {
		if groupDirection[g] == "incoming" {
			d.floors[g] = [2]float64{cfg.MinAttempts, cfg.MinDistinctSources}
		} else {
			d.floors[g] = [2]float64{cfg.MinOutgoingAttempts, cfg.MinDistinctDestinations}
		}
	}
	d.sum.init()
	return d, nil
}

// hourOf returns the hour index of t (floor division, also before 1970).
func hourOf(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s < 0 && s%3600 != 0 {
		h--
	}
	return h
}

func hourTime(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// Add takes one record. The record is not kept after the call. In steady
// state it does not allocate.
func (d *Detector) Add(r *flow.Record) {
	d.sum.records++
	if int(r.Format) < len(d.sum.byFormat) {
		d.sum.byFormat[r.Format]++
	}
	if r.Start.IsZero() {
		d.sum.noTime++
		return
	}
	h := hourOf(r.Start)
	if h <= d.closedThrough {
		d.sum.late++
		return
	}
	if r.Start.After(d.watermark) {
		d.watermark = r.Start
		d.closeReady()
		if h <= d.closedThrough { // cannot happen with a non-negative window
			d.sum.late++
			return
		}
	}
	src, dst := r.SrcAddr.Unmap(), r.DstAddr.Unmap()
	srcRef, srcOurs := d.inv.Resolve(src, r.Start)
	dstRef, dstOurs := d.inv.Resolve(dst, r.Start)
	if !srcOurs && !dstOurs {
		d.sum.notOurs++
		return
	}
	sk := sourceKey{exporter: r.Exporter, domain: r.ObsDomain, account: r.Account, format: r.Format}
	replay := false
	if len(d.hwm) > 0 {
		if m, ok := d.hwmFor(sk); ok && r.Start.UnixNano() <= m {
			replay = true
			d.sum.replayed++
		}
	}
	// Records of one source come in runs: remember the last source's mark
	// so the map is touched only when the source changes.
	if d.lastSeen == nil || sk != d.lastSource {
		p, ok := d.seen[sk]
		if !ok {
			p = new(int64)
			*p = math.MinInt64
			d.seen[sk] = p
		}
		d.lastSource, d.lastSeen = sk, p
	}
	if ns := r.Start.UnixNano(); ns > *d.lastSeen {
		*d.lastSeen = ns
	}
	denied := r.Action == flow.ActionDeny
	if denied {
		d.sum.denied++
	}
	if d.intel != nil && srcOurs != dstOurs {
		if srcOurs {
			if m, ok := d.intel.Malicious(dst); ok {
				d.addListed(srcRef, src, dst, r, h, true, denied, replay, m)
			}
		} else if m, ok := d.intel.Malicious(src); ok {
			d.addListed(dstRef, dst, src, r, h, false, denied, replay, m)
		}
	}
	if r.Proto != flow.ProtoTCP {
		return
	}
	svcS, svcD := d.ports[r.SrcPort], d.ports[r.DstPort]
	if svcS == svcNone && svcD == svcNone {
		return
	}
	srcInit, ok := initiator(r, svcS != svcNone, svcD != svcNone)
	if !ok {
		d.sum.undetermined++
		return
	}
	svc := svcD
	client, server := src, dst
	clientRef, serverRef, clientOurs, serverOurs := srcRef, dstRef, srcOurs, dstOurs
	if !srcInit {
		svc = svcS
		client, server = dst, src
		clientRef, serverRef, clientOurs, serverOurs = dstRef, srcRef, dstOurs, srcOurs
	}
	if svc == svcNone {
		return // the initiator connected to a port that is not a service
	}
	if serverOurs {
		d.addService(serverRef, server, client, group(svc, dirIn), r, h, srcInit, denied, replay)
	}
	if clientOurs && !(serverOurs && d.cfg.OutgoingExternalOnly) {
		d.addService(clientRef, client, server, group(svc, dirOut), r, h, srcInit, denied, replay)
	}
}

type mark struct {
	at int64
	ok bool
}

func (d *Detector) hwmFor(k sourceKey) (int64, bool) {
	// The saved marks are keyed by the source's name; building it
	// allocates, so resolve each source once.
	if m, ok := d.hwmCache[k]; ok {
		return m.at, m.ok
	}
	at, ok := d.hwm[k.String()]
	d.hwmCache[k] = mark{at, ok}
	return at, ok
}

// initiator decides whether the record's source started the connection:
// the sender of SYN without ACK; else the side IE 239 marks (per directed
// record: BiflowInitiator means this record's source, BiflowReverseInitiator
// its destination); else the side not on the service port.
func initiator(r *flow.Record, srcSvc, dstSvc bool) (srcInit, ok bool) {
	if r.HasTCPFlags() && r.TCPFlags&(flow.TCPSyn|flow.TCPAck) == flow.TCPSyn {
		return true, true
	}
	switch r.BiflowDirection {
	case flow.BiflowInitiator:
		return true, true
	case flow.BiflowReverseInitiator:
		return false, true
	}
	if dstSvc && !srcSvc {
		return true, true
	}
	if srcSvc && !dstSvc {
		return false, true
	}
	return false, false
}

// state returns the open state for key, creating it.
func (d *Detector) state(k stateKey) *hourState {
	if st, ok := d.open[k]; ok {
		return st
	}
	var st *hourState
	if n := len(d.free); n > 0 {
		st = d.free[n-1]
		d.free = d.free[:n-1]
	} else {
		st = &hourState{remIdx: make(map[netip.Addr]int32, 8), rems: make([]remoteEntry, 0, 8)}
	}
	st.key = k
	d.open[k] = st
	lst, ok := d.byHour[k.hour]
	if !ok {
		i, _ := slices.BinarySearch(d.hours, k.hour)
		d.hours = slices.Insert(d.hours, i, k.hour)
	}
	d.byHour[k.hour] = append(lst, st)
	return st
}

func (st *hourState) note(ip netip.Addr, r *flow.Record, replay bool) int {
	i := 0
	for i < st.nips && st.ips[i] != ip {
		i++
	}
	if i == st.nips {
		if st.nips == maxIPs {
			st.ipChanged = true
			i = maxIPs - 1
		} else {
			st.ips[i] = ip
			st.nips++
		}
	}
	if st.account == "" {
		st.account = r.Account
	}
	if replay {
		st.replay = true
	}
	return i
}

// fnv-1a, for deterministic exporter slot ids.
func slotID(r *flow.Record) uint64 {
	h := uint64(14695981039346656037)
	mix := func(b byte) { h ^= uint64(b); h *= 1099511628211 }
	a := r.Exporter.As16()
	for _, b := range a {
		mix(b)
	}
	for i := 0; i < 4; i++ {
		mix(byte(r.ObsDomain >> (8 * i)))
	}
	mix(byte(r.Format))
	for i := 0; i < len(r.Account); i++ {
		mix(r.Account[i])
	}
	return h
}

func (st *hourState) slot(r *flow.Record) int {
	id := slotID(r)
	for i := 0; i < st.nslots; i++ {
		if st.slots[i].id == id {
			return i
		}
	}
	if st.nslots == maxSlots {
		// More exporters than slots: fold the rest into the last one. Four
		// exporters seeing one resource is already unusual.
		return maxSlots - 1
	}
	i := st.nslots
	st.nslots++
	st.slots[i] = slot{id: id, exporter: r.Exporter, format: r.Format}
	return i
}

func (d *Detector) rate(r *flow.Record) uint32 {
	if r.SamplingRate != 0 {
		return r.SamplingRate
	}
	d.sum.unknownRate++
	if v, ok := d.rates[r.Exporter.Unmap()]; ok {
		return v
	}
	return 1
}

func tupleHash(r *flow.Record, slot int) uint64 {
	h := uint64(14695981039346656037)
	mix := func(b byte) { h ^= uint64(b); h *= 1099511628211 }
	for _, a := range [2]netip.Addr{r.SrcAddr.Unmap(), r.DstAddr.Unmap()} {
		b := a.As16()
		for _, x := range b {
			mix(x)
		}
	}
	mix(byte(r.SrcPort))
	mix(byte(r.SrcPort >> 8))
	mix(byte(r.DstPort))
	mix(byte(r.DstPort >> 8))
	mix(r.Proto)
	mix(byte(slot))
	return h
}

func (d *Detector) addService(ref inventory.Ref, ip, remote netip.Addr, g uint8, r *flow.Record, h int64, fromInit, denied, replay bool) {
	st := d.state(stateKey{ref: ref, hour: h, group: g})
	ipi := st.note(ip, r, replay)
	si := st.slot(r)
	sl := &st.slots[si]
	sl.records++
	if denied {
		sl.denied++
		st.denied++
		d.sample(st, r)
		return
	}
	if !fromInit {
		return // never count reply directions
	}
	var n uint64
	switch {
	case r.HasTCPFlags():
		// The initiator's own records never carry the SYN-ACK; a SYN in them
		// is the opening segment of a connection.
		if r.TCPFlags&flow.TCPSyn != 0 {
			n = 1
		}
	case (r.Format == flow.FormatAzureNSG || r.Format == flow.FormatAzureVNet) && r.FlowState != 'B':
		// Azure reports a flow again while it continues and when it ends.
	default:
		if st.tuples == nil {
			st.tuples = map[uint64]struct{}{}
		}
		k := tupleHash(r, si)
		if _, dup := st.tuples[k]; !dup {
			st.tuples[k] = struct{}{}
			n = 1
		}
	}
	rate := d.rate(r)
	sl.rate = max(sl.rate, rate)
	att := n * uint64(rate)
	sl.attempts += att
	st.ipAtt[ipi] += att
	if n > 0 && (r.Packets <= d.cfg.ShortPackets || r.HasTCPFlags() && r.TCPFlags&^flow.TCPSyn == 0) {
		sl.short += att
	}
	d.addRemote(st, remote, si, att)
	d.sample(st, r)
}

func (st *hourState) find(a netip.Addr) (*remoteStat, bool) {
	if i, ok := st.remIdx[a]; ok {
		return &st.rems[i].remoteStat, true
	}
	return nil, false
}

func (st *hourState) insert(a netip.Addr) *remoteStat {
	st.remIdx[a] = int32(len(st.rems))
	st.rems = append(st.rems, remoteEntry{addr: a})
	return &st.rems[len(st.rems)-1].remoteStat
}

func (d *Detector) addRemote(st *hourState, remote netip.Addr, si int, att uint64) {
	if p, ok := st.find(remote); ok {
		p.att[si] = sat32(uint64(p.att[si]) + att)
		p.records++
		return
	}
	if len(st.rems) < d.cfg.DistinctExactCap {
		p := st.insert(remote)
		p.att[si] = sat32(att)
		p.records++
		return
	}
	// Beyond the exact cap: count distinct remotes with the sketch and keep
	// per-remote counts for the heaviest (space-saving: the newcomer takes
	// the place and the count of the lightest).
	if st.sketch == nil {
		st.sketch = st.takeSketch()
		for _, e := range st.rems {
			b := e.addr.As16()
			st.sketch.Insert(b[:])
		}
	}
	b := remote.As16()
	st.sketch.Insert(b[:])
	if att == 0 {
		return
	}
	mi := 0
	for i := 1; i < len(st.rems); i++ {
		t, m := st.rems[i].att[si], st.rems[mi].att[si]
		if t < m || t == m && st.rems[i].addr.Less(st.rems[mi].addr) {
			mi = i
		}
	}
	e := &st.rems[mi]
	delete(st.remIdx, e.addr)
	e.addr = remote
	st.remIdx[remote] = int32(mi)
	e.att[si] = sat32(uint64(e.att[si]) + att)
	e.records++
}

func sat32(x uint64) uint32 {
	if x > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(x)
}

// sample keeps the earliest flows of the hour (by start, then addresses and
// ports), so the samples do not depend on input order.
func (d *Detector) sample(st *hourState, r *flow.Record) {
	n := d.cfg.SampleFlows
	if n == 0 {
		return
	}
	if len(st.samples) == n && !recordLess(r, &st.samples[n-1]) {
		return
	}
	i := sort.Search(len(st.samples), func(i int) bool { return recordLess(r, &st.samples[i]) })
	if len(st.samples) < n {
		st.samples = append(st.samples, flow.Record{})
	}
	copy(st.samples[i+1:], st.samples[i:])
	st.samples[i] = *r
}

func recordLess(a, b *flow.Record) bool {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c < 0
	}
	if c := a.SrcAddr.Compare(b.SrcAddr); c != 0 {
		return c < 0
	}
	if c := a.DstAddr.Compare(b.DstAddr); c != 0 {
		return c < 0
	}
	if a.SrcPort != b.SrcPort {
		return a.SrcPort < b.SrcPort
	}
	if a.DstPort != b.DstPort {
		return a.DstPort < b.DstPort
	}
	if a.Packets != b.Packets {
		return a.Packets < b.Packets
	}
	if a.Bytes != b.Bytes {
		return a.Bytes < b.Bytes
	}
	return a.Exporter.Less(b.Exporter)
}

// carriesData reports whether a directed record carried payload: UDP and
// other protocols whenever they have packets; TCP when PSH is set or the
// bytes exceed what headers alone would take.
func carriesData(r *flow.Record) bool {
	if r.Packets == 0 {
		return false
	}
	if r.Proto != flow.ProtoTCP {
		return true
	}
	if r.HasTCPFlags() && r.TCPFlags&flow.TCPPsh != 0 {
		return true
	}
	hdr := uint64(60)
	if r.SrcAddr.Unmap().Is6() {
		hdr = 80
	}
	return r.Bytes > r.Packets*hdr
}

// anyInitiator decides who started a flow on any port: SYN without ACK,
// IE 239, else a well-known or registered server port facing an ephemeral
// one.
func anyInitiator(r *flow.Record) (srcInit, ok bool) {
	if r.Proto == flow.ProtoTCP && r.HasTCPFlags() && r.TCPFlags&(flow.TCPSyn|flow.TCPAck) == flow.TCPSyn {
		return true, true
	}
	switch r.BiflowDirection {
	case flow.BiflowInitiator:
		return true, true
	case flow.BiflowReverseInitiator:
		return false, true
	}
	if r.Proto != flow.ProtoTCP && r.Proto != flow.ProtoUDP {
		return false, false
	}
	s, d := r.SrcPort, r.DstPort
	switch {
	case d < 1024 && s >= 1024, d < 49152 && s >= 49152:
		return true, true
	case s < 1024 && d >= 1024, s < 49152 && d >= 49152:
		return false, true
	}
	return false, false
}

func (d *Detector) addListed(ref inventory.Ref, ip, remote netip.Addr, r *flow.Record, h int64, ourSends, denied, replay bool, m intel.Match) {
	st := d.state(stateKey{ref: ref, hour: h, group: groupMal})
	st.note(ip, r, replay)
	v, ok := st.find(remote)
	if !ok {
		v = st.insert(remote)
	}
	v.records++
	if denied {
		v.flags |= remDenied
		st.denied++
	} else {
		if srcInit, ok := anyInitiator(r); ok {
			if srcInit == ourSends {
				v.flags |= remResourceInit
			} else {
				v.flags |= remRemoteInit
			}
		}
		if carriesData(r) {
			if ourSends {
				v.flags |= remResourceData
			} else {
				v.flags |= remRemoteData
			}
		}
		if ourSends {
			v.bytesOut += r.Bytes
		} else {
			v.bytesIn += r.Bytes
		}
	}
	d.sample(st, r)
}

// closeReady closes every hour whose end plus the reorder window the
// watermark has passed.
func (d *Detector) closeReady() {
	for len(d.hours) > 0 {
		h := d.hours[0]
		if !d.watermark.After(hourTime(h + 1).Add(d.cfg.ReorderWindow)) {
			return
		}
		d.closeHour(h)
	}
	// Hours with no open state still close, so late records are counted
	// the same whatever the data.
	l := d.watermark.Add(-d.cfg.ReorderWindow)
	lim := hourOf(l) - 1
	if hourTime(lim + 1).Equal(l) {
		lim--
	}
	if lim > d.closedThrough {
		d.closedThrough = lim
	}
}

// Close closes every open hour and delivers the remaining alerts. Records
// added afterwards count as late.
func (d *Detector) Close() {
	for len(d.hours) > 0 {
		d.closeHour(d.hours[0])
	}
	if h := hourOf(d.watermark); !d.watermark.IsZero() && h > d.closedThrough {
		d.closedThrough = h
	}
}

// Watermark returns the newest record start seen.
func (d *Detector) Watermark() time.Time { return d.watermark }

func (d *Detector) release(st *hourState) {
	delete(d.open, st.key)
	sk := st.sketch
	clear(st.remIdx)
	clear(st.tuples)
	*st = hourState{remIdx: st.remIdx, rems: st.rems[:0], tuples: st.tuples, samples: st.samples[:0], sketchSpare: sk}
	if sk != nil {
		sk.Reset()
	}
	if len(d.free) < 4096 {
		d.free = append(d.free, st)
	}
}

func (st *hourState) takeSketch() *hyperloglog.Sketch {
	if st.sketchSpare != nil {
		s := st.sketchSpare
		st.sketchSpare = nil
		return s
	}
	return hyperloglog.New14()
}
