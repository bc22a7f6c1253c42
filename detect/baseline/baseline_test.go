package baseline

import (
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // a Monday

// learnDays learns a constant value for every hour of n days.
func learnDays(p *Profile, peer *Peer, n int, v [NumFeatures]float64) {
	for h := 0; h < n*24; h++ {
		p.Learn(t0.Add(time.Duration(h)*time.Hour), v)
		if peer != nil {
			peer.Learn(v)
		}
	}
}

func TestBucket(t *testing.T) {
	tests := []struct {
		at   time.Time
		want int
	}{
		{t0, 0},
		{t0.Add(23 * time.Hour), 5},
		{t0.Add(5*24*time.Hour + 4*time.Hour), Blocks + 1}, // Saturday 04:00
		{t0.Add(6*24*time.Hour + 23*time.Hour), 2*Blocks - 1},
	}
	for _, tt := range tests {
		if got := Bucket(tt.at); got != tt.want {
			t.Errorf("Bucket(%s) = %d, want %d", tt.at, got, tt.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	m := DefaultModel()
	bastion := new(Profile)
	learnDays(bastion, nil, 14, [NumFeatures]float64{2000, 400, 60})
	young := new(Profile)
	learnDays(young, nil, 3, [NumFeatures]float64{2000, 400, 60})
	quiet := new(Profile)
	learnDays(quiet, nil, 10, [NumFeatures]float64{20, 8, 3})
	estate := new(Peer)
	learnDays(new(Profile), estate, 3, [NumFeatures]float64{30, 10, 4})
	hour := t0.Add(15*24*time.Hour + 10*time.Hour)

	tests := []struct {
		name     string
		f        Feature
		observed float64
		own      *Profile
		peer     *Peer
		floor    float64
		basis    string
		alert    bool
	}{
		{"bastion at its normal level", Attempts, 2100, bastion, estate, 1000, BasisOwn, false},
		{"bastion ten times its normal", Attempts, 25000, bastion, estate, 1000, BasisOwn, true},
		{"quiet server, 3000 attempts", Attempts, 3000, quiet, estate, 1000, BasisOwn, true},
		{"quiet server, anomalous but below floor", Attempts, 500, quiet, estate, 1000, BasisOwn, false},
		{"young profile falls back to peers", Attempts, 2100, young, estate, 1000, BasisPeer, true},
		{"no history, no peers: floor decides", Attempts, 1200, nil, nil, 1000, BasisNone, true},
		{"no history, below floor", Attempts, 243, nil, nil, 1000, BasisNone, false},
		{"no history, lowered floor", Attempts, 243, nil, nil, 50, BasisNone, true},
		{"peers with too few samples", Attempts, 1200, nil, new(Peer), 1000, BasisNone, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := m.Evaluate(hour, tt.f, tt.observed, tt.own, tt.peer, tt.floor)
			if d.Basis != tt.basis || d.Alert != tt.alert {
				t.Errorf("got basis %s alert %v, want %s %v (%+v)", d.Basis, d.Alert, tt.basis, tt.alert, d)
			}
			if d.Alert && (d.Observed < d.Floor || d.Score < d.Threshold) {
				t.Errorf("alert without its reasons: %+v", d)
			}
		})
	}
}

func TestWeekendAware(t *testing.T) {
	p := new(Profile)
	for h := 0; h < 21*24; h++ {
		at := t0.Add(time.Duration(h) * time.Hour)
		v := 1000.0
		if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
			v = 10
		}
		p.Learn(at, [NumFeatures]float64{v, v, 1})
	}
	m := DefaultModel()
	sat := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	mon := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if d := m.Evaluate(mon, Attempts, 1000, p, nil, 100); d.Alert {
		t.Errorf("weekday level alerted on a weekday: %+v", d)
	}
	if d := m.Evaluate(sat, Attempts, 1000, p, nil, 100); !d.Alert {
		t.Errorf("weekday level on a weekend did not alert: %+v", d)
	}
}

func TestDeterministicAndRoundTrip(t *testing.T) {
	var a, b Profile
	var pa, pb Peer
	for _, p := range []struct {
		pr *Profile
		pe *Peer
	}{{&a, &pa}, {&b, &pb}} {
		for h := 0; h < 30*24; h++ {
			v := float64((h*7919)%500 + 1)
			p.pr.Learn(t0.Add(time.Duration(h)*time.Hour), [NumFeatures]float64{v, v / 3, v / 50})
			p.pe.Learn([NumFeatures]float64{v, v / 3, v / 50})
		}
	}
	ea, _ := a.MarshalBinary()
	eb, _ := b.MarshalBinary()
	if diff := cmp.Diff(ea, eb); diff != "" {
		t.Fatalf("same input, different profiles:\n%s", diff)
	}
	if len(ea) != ProfileSize {
		t.Errorf("encoded profile is %d bytes, want %d", len(ea), ProfileSize)
	}
	var c Profile
	if err := c.UnmarshalBinary(ea); err != nil {
		t.Fatal(err)
	}
	if c != a {
		t.Error("profile round trip differs")
	}
	ep, _ := pa.MarshalBinary()
	var pc Peer
	if err := pc.UnmarshalBinary(ep); err != nil {
		t.Fatal(err)
	}
	if pc != pa {
		t.Error("peer round trip differs")
	}
	if a.Days() != 30 {
		t.Errorf("days = %d, want 30", a.Days())
	}
}

func TestProfileSizeBudget(t *testing.T) {
	// Four (service, direction) profiles per resource must stay well under
	// the 4 KiB per resource budget.
	if s := 4 * unsafe.Sizeof(Profile{}); s > 2048 {
		t.Errorf("four profiles take %d bytes in memory", s)
	}
	t.Logf("profile: %d bytes in memory, %d encoded; peer: %d bytes", unsafe.Sizeof(Profile{}), ProfileSize, unsafe.Sizeof(Peer{}))
}

func TestModelValidate(t *testing.T) {
	if err := DefaultModel().Validate(); err != nil {
		t.Errorf("default model invalid: %v", err)
	}
	m := DefaultModel()
	m.MinSpread = 0
	if m.Validate() == nil {
		t.Error("zero spread accepted")
	}
}

func FuzzUnmarshal(f *testing.F) {
	var p Profile
	learnDays(&p, nil, 8, [NumFeatures]float64{100, 50, 4})
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Add(make([]byte, PeerSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Profile
		if p.UnmarshalBinary(data) == nil {
			out, _ := p.MarshalBinary()
			if string(out) != string(data) {
				t.Fatal("profile re-encoding differs")
			}
			DefaultModel().Evaluate(t0, Attempts, 10, &p, nil, 1)
		}
		var q Peer
		if q.UnmarshalBinary(data) == nil {
			DefaultModel().Evaluate(t0, Distinct, 10, nil, &q, 1)
		}
	})
}

func BenchmarkLearn(b *testing.B) {
	var p Profile
	v := [NumFeatures]float64{100, 40, 7}
	h := 0
	b.ReportAllocs()
	for b.Loop() {
		p.Learn(t0.Add(time.Duration(h)*time.Hour), v)
		h++
	}
}

// A bucket that learned noisy hours (quiet ones and a few commodity
// bursts) must not hide an attack: the spread is capped, so an hour far
// above the learned level still scores.
func TestSpreadIsCapped(t *testing.T) {
	var p Profile
	for h := 0; h < 10*24; h++ {
		v := [NumFeatures]float64{3, 2, 1}
		if h%24 == 16 && (h/24)%3 == 0 {
			v = [NumFeatures]float64{250, 250, 1} // a commodity burst every third day
		}
		p.Learn(t0.Add(time.Duration(h)*time.Hour), v)
	}
	at := t0.Add(10*24*time.Hour + 16*time.Hour)
	capped := DefaultModel()
	uncapped := capped
	uncapped.MaxSpread = 0
	d := capped.Evaluate(at, 0, 900, &p, nil, 500)
	if d.Basis != BasisOwn || d.Spread > capped.MaxSpread || d.Score < capped.ScoreThreshold {
		t.Errorf("capped: %+v, want own basis, spread ≤ %v and an anomalous score", d, capped.MaxSpread)
	}
	if u := uncapped.Evaluate(at, 0, 900, &p, nil, 500); !(u.Spread > capped.MaxSpread) {
		t.Errorf("the noisy bucket did not widen the uncapped spread (%v), so the test shows nothing", u.Spread)
	}
	m := DefaultModel()
	m.MaxSpread = m.MinSpread / 2
	if m.Validate() == nil {
		t.Error("max-spread below min-spread accepted")
	}
}
