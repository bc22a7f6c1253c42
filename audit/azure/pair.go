package azure

import (
	"time"

	"github.com/vigil-ids/vigil/audit"
)

// PairConfig bounds the lookahead a Pairer keeps. The Activity Log writes
// an operation's outcome a few seconds after its Start for a synchronous
// call and minutes later for an asynchronous one; an operation still open
// when the window passes is emitted with audit.ResultStarted.
type PairConfig struct {
	// Window is how much event time an operation stays open after its
	// first record. Event time, not wall-clock time, so that reading old
	// files gives the same result as reading live ones.
	Window time.Duration
	// MaxPending is the most events held back at once (open operations and
	// the finished ones queued behind them); when it is reached the oldest
	// is released early. It bounds memory on inputs with no outcomes.
	MaxPending int
}

// DefaultPairConfig returns the window Vigil uses: 15 minutes of event time
// and at most 65,536 pending events.
func DefaultPairConfig() PairConfig {
	return PairConfig{Window: 15 * time.Minute, MaxPending: 1 << 16}
}

// PairStats counts what a Pairer did.
type PairStats struct {
	// Paired is the number of records merged into another record's event.
	Paired uint64 `json:"paired"`
	// Unfinished is the number of operations emitted without an outcome
	// (audit.ResultStarted).
	Unfinished uint64 `json:"unfinished"`
	// Early is the number of operations released before their window
	// passed because MaxPending was reached.
	Early uint64 `json:"early"`
}

// opKey identifies an operation: its correlation id, operation name and
// resource id, compared without regard to ASCII case. A correlation id
// alone can span a whole deployment of many operations, so it never
// identifies one by itself.
//
// The key is a 128-bit hash of the case-folded fields rather than the
// lower-cased strings: lower-casing allocates a copy of every mixed-case
// resource id, and the pairer sees every Activity Log record. Two
// independent 64-bit FNV-style hashes make an accidental collision between
// operations open within one pairing window vanishingly unlikely.
type opKey struct {
	h1, h2 uint64
}

func keyOf(corr, op, resource string) opKey {
	k := opKey{h1: 14695981039346656037, h2: 0x6a09e667f3bcc909}
	for _, s := range [3]string{corr, op, resource} {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			k.h1 = (k.h1 ^ uint64(c)) * 1099511628211
			k.h2 = (k.h2 ^ uint64(c)) * 0x9e3779b97f4a7c15
		}
		// A separator keeps ("ab","c") and ("a","bc") apart.
		k.h1 = (k.h1 ^ 0xff) * 1099511628211
		k.h2 = (k.h2 ^ 0xff) * 0x9e3779b97f4a7c15
	}
	return k
}

type slot struct {
	ev    audit.Event
	stage Stage
	key   opKey
	done  bool
}

// Pairer joins the Start, Accept, Success and Failure records of each
// Activity Log operation into one event carrying the final result. Events
// leave in the order of their operation's first record. The event keeps
// the first record's time (when the caller acted) and its request body;
// the outcome record gives the result, the status and the response body,
// and fills any field the first record lacked. An outcome whose first
// stage was not seen is emitted alone; a Start or Accept arriving after
// its operation's outcome (out-of-order input) is absorbed.
//
// Records that are not stages (sign-ins, ResourceHealth events) and
// records with no correlation id pass through, in order. A Pairer is not
// safe for concurrent use.
type Pairer struct {
	cfg    PairConfig
	emit   func(*audit.Event)
	q      []slot // pending events; q[head:] are live
	head   int
	base   uint64              // sequence number of q[0]
	open   map[opKey]uint64    // open operation -> sequence number
	closed map[opKey]time.Time // recently finished operations -> outcome time
	latest time.Time
	adds   int
	stats  PairStats
}

// NewPairer returns a Pairer that calls emit for every finished event.
// The event passed to emit is valid only during the call, but its strings
// and bodies are never reused, so a shallow copy may be kept. Zero fields
// of cfg take their defaults.
func NewPairer(cfg PairConfig, emit func(*audit.Event)) *Pairer {
	def := DefaultPairConfig()
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = def.MaxPending
	}
	return &Pairer{cfg: cfg, emit: emit, open: map[opKey]uint64{}, closed: map[opKey]time.Time{}}
}

// Stats returns the counts so far.
func (p *Pairer) Stats() PairStats { return p.stats }

// Add takes one decoded record. rec may be reused by the caller after Add
// returns.
func (p *Pairer) Add(rec *Record) {
	ev := &rec.Event
	if ev.Time.After(p.latest) {
		p.latest = ev.Time
	}
	if rec.Stage == StageNone || ev.CorrelationID == "" {
		p.push(slot{ev: *ev, stage: rec.Stage, done: true})
		p.release()
		return
	}
	key := keyOf(ev.CorrelationID, ev.Operation, ev.Resource)
	if seq, ok := p.open[key]; ok {
		s := &p.q[seq-p.base]
		merge(s, rec)
		p.stats.Paired++
		if s.done {
			delete(p.open, key)
			p.closed[key] = ev.Time
		}
		p.release()
		return
	}
	if !rec.Stage.final() {
		if t, ok := p.closed[key]; ok && ev.Time.Sub(t) < p.cfg.Window {
			p.stats.Paired++ // a late Start or Accept of an operation already emitted
			return
		}
		p.open[key] = p.base + uint64(len(p.q))
		p.push(slot{ev: *ev, stage: rec.Stage, key: key})
		p.release()
		return
	}
	p.closed[key] = ev.Time
	p.push(slot{ev: *ev, stage: rec.Stage, key: key, done: true})
	p.release()
}

// AddEvent takes an event a reader already emitted, for joining the
// stages of operations split across files: readers pair within a file,
// so an operation whose Start ends one hourly blob and whose Success
// begins the next comes out as a started event and an outcome event.
// Feeding the events of several files, merged in time order, through one
// Pairer with AddEvent joins them again. The stage is taken from the
// result: started events are open operations, success and failure are
// outcomes, and anything else (sign-ins, other clouds, events with no
// stage) passes through in order.
func (p *Pairer) AddEvent(ev *audit.Event) {
	rec := Record{Event: *ev}
	if ev.Cloud == audit.CloudAzure && ev.Kind == audit.KindActivity {
		switch ev.Result {
		case audit.ResultStarted:
			rec.Stage = StageStart
		case audit.ResultSuccess:
			rec.Stage = StageSuccess
		case audit.ResultFailure:
			rec.Stage = StageFailure
		}
	}
	p.Add(&rec)
}

// merge folds a later record of the same operation into its slot.
func merge(s *slot, rec *Record) {
	ev, in := &s.ev, &rec.Event
	if rec.Stage > s.stage {
		s.stage = rec.Stage
		ev.Result = in.Result
		if in.Status != "" {
			ev.Status = in.Status
		}
	}
	s.done = s.stage.final()
	if ev.ResponseBody == nil {
		ev.ResponseBody = in.ResponseBody
	}
	if ev.RequestBody == nil {
		ev.RequestBody = in.RequestBody
	}
	if !ev.SourceIP.IsValid() && ev.SourceIPText == "" {
		ev.SourceIP, ev.SourceIPText = in.SourceIP, in.SourceIPText
	}
	if ev.PrincipalID == "" {
		ev.PrincipalID, ev.PrincipalName, ev.PrincipalType = in.PrincipalID, in.PrincipalName, in.PrincipalType
	}
	if ev.AppID == "" {
		ev.AppID, ev.Tool = in.AppID, in.Tool
	}
	if ev.Tenant == "" {
		ev.Tenant = in.Tenant
	}
	if ev.EventID == "" {
		ev.EventID = in.EventID
	}
}

func (p *Pairer) push(s slot) {
	if p.head == len(p.q) {
		// Empty: restart at the front so the slice does not creep.
		p.base += uint64(len(p.q))
		p.q, p.head = p.q[:0], 0
	} else if p.head > 1024 && p.head > len(p.q)/2 {
		n := copy(p.q, p.q[p.head:])
		clear(p.q[n:])
		p.q = p.q[:n]
		p.base += uint64(p.head)
		p.head = 0
	}
	p.q = append(p.q, s)
}

// release emits the finished events at the head of the queue, and the
// open ones whose window has passed.
func (p *Pairer) release() {
	for p.head < len(p.q) {
		s := &p.q[p.head]
		if !s.done {
			expired := p.latest.Sub(s.ev.Time) > p.cfg.Window
			full := len(p.q)-p.head > p.cfg.MaxPending
			if !expired && !full {
				break
			}
			if !expired {
				p.stats.Early++
			}
			p.finishOpen(s)
		}
		p.emit(&s.ev)
		*s = slot{}
		p.head++
	}
	p.adds++
	if p.adds&4095 == 0 || len(p.closed) > 2*p.cfg.MaxPending {
		p.prune()
	}
}

func (p *Pairer) finishOpen(s *slot) {
	delete(p.open, s.key)
	p.closed[s.key] = s.ev.Time
	s.ev.Result = audit.ResultStarted
	p.stats.Unfinished++
}

// prune forgets finished operations older than the window.
func (p *Pairer) prune() {
	for k, t := range p.closed {
		if p.latest.Sub(t) > p.cfg.Window {
			delete(p.closed, k)
		}
	}
}

// Flush emits every pending event, open operations with
// audit.ResultStarted. Call it at the end of the input; the Pairer can be
// used again afterwards.
func (p *Pairer) Flush() {
	for p.head < len(p.q) {
		s := &p.q[p.head]
		if !s.done {
			p.finishOpen(s)
		}
		p.emit(&s.ev)
		*s = slot{}
		p.head++
	}
	clear(p.open)
	clear(p.closed)
}
