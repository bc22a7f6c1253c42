// Package baseline is the model behind Vigil's "abnormal for this
// environment" network detections. It learns, for each resource and each
// (service, direction), the normal hourly level of a few features, aware of
// the time of day and of weekdays versus weekends, in a fixed-size profile;
// and it learns the estate's level for the same features (the peer level).
// It then scores an hour's observation against what it expected and
// explains the decision.
//
// The model, in short (docs/network-detections.md has the reasoning):
//
//   - Values are learned as x = log1p(count): hourly counts are heavy-tailed
//     and a ratio ("ten times the usual") is what an analyst means by
//     anomalous.
//   - Each profile has 2 day types (weekday, weekend) × 6 blocks of 4 hours
//     = 12 buckets per feature. A bucket holds the running mean of x and the
//     running mean absolute deviation of x from it, as float32, plus a sample
//     count. The first 30 samples are averaged exactly; after that the
//     weights are exponential with α = 1/30, so the profile keeps
//     following a resource whose usage drifts and never grows.
//   - The profile also counts the distinct UTC days it learned from. The own
//     baseline is used once it has MinDays (7) days and the hour's bucket has
//     at least MinBucketSamples samples.
//   - The peer level per (service, direction, feature) is a histogram of x
//     over every learned resource-hour of the estate; the expected value is
//     its PeerQuantile (0.95) quantile, used when the estate has at least
//     MinPeerSamples resource-hours.
//   - score = (x_observed − x_expected) / spread, where spread is the
//     learned deviation scaled to a standard deviation (×1.25), never below
//     MinSpread nor above MaxSpread. On the peer basis and without any basis (expected 0) the
//     spread is MinSpread.
//   - An hour is anomalous when score ≥ ScoreThreshold, and alerts only if
//     the observation is also at or above the documented absolute floor.
//     Floors always apply; the baseline can only raise the bar above them.
//   - Callers learn only hours that did not alert, so an attack is never
//     learned as normal.
//
// Everything is deterministic: the same observations in the same hour order
// give bit-identical profiles.
package baseline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Feature indexes the learned features of one (service, direction).
type Feature uint8

// The learned features.
const (
	// Attempts is the estimated number of connection attempts in the hour.
	Attempts Feature = iota
	// TopAttempts is the estimated attempts of the FewRemotes busiest
	// remote addresses: "one or a few sources".
	TopAttempts
	// Distinct is the number of distinct remote addresses.
	Distinct
	NumFeatures = 3
)

// FewRemotes is how many of the busiest remotes TopAttempts adds up.
const FewRemotes = 3

var featureNames = [NumFeatures]string{"attempts", "top-remotes-attempts", "distinct-remotes"}

// String returns the feature's stable name.
func (f Feature) String() string {
	if int(f) < NumFeatures {
		return featureNames[f]
	}
	return "unknown"
}

// Time buckets.
const (
	BlockHours  = 4
	Blocks      = 24 / BlockHours
	NumBuckets  = 2 * Blocks
	maxSamples  = 30 // exact averaging up to here, then α = 1/maxSamples
	devToSigma  = 1.25
	peerBins    = 128
	peerBinSize = 0.125 // in log1p units: the histogram covers counts up to e^16
	peerMaxN    = 1 << 24
)

// Bucket returns the profile bucket of an hour: weekday or weekend (UTC),
// and its 4-hour block of the day.
func Bucket(hour time.Time) int {
	hour = hour.UTC()
	b := hour.Hour() / BlockHours
	if wd := hour.Weekday(); wd == time.Saturday || wd == time.Sunday {
		b += Blocks
	}
	return b
}

type bucket struct {
	Mean, Dev float32
	N         uint16
}

// Profile is one resource's learned level for one (service, direction). Its
// size is fixed (about 440 bytes) however long the history.
type Profile struct {
	days    uint16
	lastDay int32 // days since the Unix epoch of the last learned hour, +1 (0 = none)
	b       [NumFeatures][NumBuckets]bucket
}

// ProfileSize is the encoded size of a Profile in bytes.
const ProfileSize = 2 + 4 + NumFeatures*NumBuckets*10

// Days returns the number of distinct UTC days the profile learned from.
func (p *Profile) Days() int { return int(p.days) }

// Learn adds one hour's observed counts. Hours must be learned in
// non-decreasing order for the day count to be exact.
func (p *Profile) Learn(hour time.Time, v [NumFeatures]float64) {
	day := int32(hour.Unix()/86400) + 1
	if day != p.lastDay {
		if p.days < math.MaxUint16 {
			p.days++
		}
		p.lastDay = day
	}
	bi := Bucket(hour)
	for f := range NumFeatures {
		x := float32(math.Log1p(max(v[f], 0)))
		b := &p.b[f][bi]
		if b.N < maxSamples {
			b.N++
		}
		a := 1 / float32(b.N)
		if b.N == 1 {
			b.Mean, b.Dev = x, 0
			continue
		}
		d := x - b.Mean
		b.Mean += a * d
		b.Dev += a * (abs32(d) - b.Dev)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// own returns the bucket's learned level (log space) and spread.
func (p *Profile) own(hour time.Time, f Feature) (mean, dev float64, n int) {
	b := p.b[f][Bucket(hour)]
	return float64(b.Mean), float64(b.Dev), int(b.N)
}

// MarshalBinary encodes the profile in ProfileSize bytes (little endian).
func (p *Profile) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, ProfileSize))
}

// AppendBinary appends the encoding of the profile to b.
func (p *Profile) AppendBinary(b []byte) ([]byte, error) {
	b = binary.LittleEndian.AppendUint16(b, p.days)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.lastDay))
	for f := range NumFeatures {
		for i := range NumBuckets {
			k := p.b[f][i]
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(k.Mean))
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(k.Dev))
			b = binary.LittleEndian.AppendUint16(b, k.N)
		}
	}
	return b, nil
}

// ErrCorrupt is returned when encoded state cannot be decoded.
var ErrCorrupt = errors.New("corrupt baseline state")

// UnmarshalBinary decodes a profile encoded by MarshalBinary.
func (p *Profile) UnmarshalBinary(b []byte) error {
	if len(b) != ProfileSize {
		return fmt.Errorf("%w: profile of %d bytes, want %d", ErrCorrupt, len(b), ProfileSize)
	}
	p.days = binary.LittleEndian.Uint16(b)
	p.lastDay = int32(binary.LittleEndian.Uint32(b[2:]))
	o := 6
	for f := range NumFeatures {
		for i := range NumBuckets {
			k := &p.b[f][i]
			k.Mean = math.Float32frombits(binary.LittleEndian.Uint32(b[o:]))
			k.Dev = math.Float32frombits(binary.LittleEndian.Uint32(b[o+4:]))
			k.N = binary.LittleEndian.Uint16(b[o+8:])
			if !finite32(k.Mean) || !finite32(k.Dev) || k.Mean < 0 || k.Dev < 0 || k.N > maxSamples {
				return fmt.Errorf("%w: bucket out of range", ErrCorrupt)
			}
			o += 10
		}
	}
	return nil
}

func finite32(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// Peer is the estate's level for one (service, direction): per feature, a
// histogram of log1p(count) over learned resource-hours, in bins of 0.125.
// Counts are halved when they reach 2^24 so that old history fades and the
// counters never overflow.
type Peer struct {
	n    [NumFeatures]uint32
	hist [NumFeatures][peerBins]uint32
}

// PeerSize is the encoded size of a Peer in bytes.
const PeerSize = NumFeatures * (peerBins + 1) * 4

// Learn adds one resource-hour.
func (p *Peer) Learn(v [NumFeatures]float64) {
	for f := range NumFeatures {
		i := int(math.Log1p(max(v[f], 0)) / peerBinSize)
		i = min(max(i, 0), peerBins-1)
		p.hist[f][i]++
		p.n[f]++
		if p.n[f] >= peerMaxN {
			p.n[f] = 0
			for j := range p.hist[f] {
				p.hist[f][j] /= 2
				p.n[f] += p.hist[f][j]
			}
		}
	}
}

// Samples returns how many resource-hours the feature's histogram holds.
func (p *Peer) Samples(f Feature) int { return int(p.n[f]) }

// quantile returns the q-quantile of the feature in log space (the upper
// edge of the bin where the cumulative count reaches q).
func (p *Peer) quantile(f Feature, q float64) float64 {
	target := uint64(math.Ceil(q * float64(p.n[f])))
	var c uint64
	for i, h := range p.hist[f] {
		c += uint64(h)
		if c >= target && c > 0 {
			return float64(i+1) * peerBinSize
		}
	}
	return float64(peerBins) * peerBinSize
}

// MarshalBinary encodes the histogram in PeerSize bytes.
func (p *Peer) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, PeerSize)
	for f := range NumFeatures {
		b = binary.LittleEndian.AppendUint32(b, p.n[f])
		for _, h := range p.hist[f] {
			b = binary.LittleEndian.AppendUint32(b, h)
		}
	}
	return b, nil
}

// UnmarshalBinary decodes a histogram encoded by MarshalBinary.
func (p *Peer) UnmarshalBinary(b []byte) error {
	if len(b) != PeerSize {
		return fmt.Errorf("%w: peer of %d bytes, want %d", ErrCorrupt, len(b), PeerSize)
	}
	o := 0
	for f := range NumFeatures {
		p.n[f] = binary.LittleEndian.Uint32(b[o:])
		o += 4
		var sum uint64
		for j := range p.hist[f] {
			p.hist[f][j] = binary.LittleEndian.Uint32(b[o:])
			sum += uint64(p.hist[f][j])
			o += 4
		}
		if sum != uint64(p.n[f]) {
			return fmt.Errorf("%w: peer histogram total", ErrCorrupt)
		}
	}
	return nil
}

// Model holds the scoring parameters. DefaultModel gives the documented
// defaults.
type Model struct {
	// MinDays is the own history, in distinct days, needed before the
	// resource's own baseline is trusted.
	MinDays int `yaml:"min-days"`
	// MinBucketSamples is the samples the hour's bucket needs.
	MinBucketSamples int `yaml:"min-bucket-samples"`
	// PeerQuantile is the quantile of the estate's resource-hours taken as
	// the peer level.
	PeerQuantile float64 `yaml:"peer-quantile"`
	// MinPeerSamples is the resource-hours the estate needs before its
	// level is used.
	MinPeerSamples int `yaml:"min-peer-samples"`
	// MinSpread is the smallest spread, in log1p units, a score is divided
	// by: with the default 0.35 and threshold 3, an hour must be at least
	// e^1.05 ≈ 2.9 times its expected level (plus one) to be anomalous.
	MinSpread float64 `yaml:"min-spread"`
	// MaxSpread caps the learned spread. Without a cap, a few noisy hours
	// in a sparsely learned bucket (commodity bursts, heavy sampling)
	// widen the spread until a real attack no longer scores: with the
	// default 0.8 and threshold 3, an hour that is e^2.4 ≈ 11 times its
	// expected level (plus one) is always anomalous. 0 means no cap.
	MaxSpread float64 `yaml:"max-spread"`
	// ScoreThreshold is the score at or above which an hour is anomalous.
	ScoreThreshold float64 `yaml:"score-threshold"`
}

// DefaultModel returns the documented defaults.
func DefaultModel() Model {
	return Model{MinDays: 7, MinBucketSamples: 3, PeerQuantile: 0.95, MinPeerSamples: 24, MinSpread: 0.35, MaxSpread: 0.8, ScoreThreshold: 3}
}

// Validate checks the parameters.
func (m Model) Validate() error {
	switch {
	case m.MinDays < 1:
		return errors.New("min-days must be at least 1")
	case m.MinBucketSamples < 1 || m.MinBucketSamples > maxSamples:
		return fmt.Errorf("min-bucket-samples must be within 1..%d", maxSamples)
	case !(m.PeerQuantile > 0 && m.PeerQuantile <= 1):
		return errors.New("peer-quantile must be within (0, 1]")
	case m.MinPeerSamples < 1:
		return errors.New("min-peer-samples must be at least 1")
	case !(m.MinSpread > 0):
		return errors.New("min-spread must be positive")
	case m.MaxSpread != 0 && !(m.MaxSpread >= m.MinSpread):
		return errors.New("max-spread must be 0 (no cap) or at least min-spread")
	case !(m.ScoreThreshold > 0):
		return errors.New("score-threshold must be positive")
	}
	return nil
}

// Basis names what the expected value came from.
const (
	BasisOwn  = "own"
	BasisPeer = "peer"
	BasisNone = "none"
)

// Decision explains how one feature of one hour was judged.
type Decision struct {
	Feature   string  `json:"feature"`
	Observed  float64 `json:"observed"`
	Expected  float64 `json:"expected"`
	Basis     string  `json:"basis"`
	Days      int     `json:"history_days"`
	Spread    float64 `json:"spread"`
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Floor     float64 `json:"floor"`
	Anomalous bool    `json:"anomalous"`
	Alert     bool    `json:"alert"`
}

// Evaluate judges an observed count for a feature in an hour against the
// resource's profile (may be nil), the estate's level (may be nil) and the
// absolute floor.
func (m Model) Evaluate(hour time.Time, f Feature, observed float64, own *Profile, peer *Peer, floor float64) Decision {
	d := Decision{Feature: f.String(), Observed: observed, Basis: BasisNone, Threshold: m.ScoreThreshold, Floor: floor, Spread: m.MinSpread}
	var xe float64
	if own != nil {
		d.Days = own.Days()
	}
	switch {
	case own != nil && own.Days() >= m.MinDays && own.b[f][Bucket(hour)].N >= uint16(m.MinBucketSamples):
		mean, dev, _ := own.own(hour, f)
		xe = mean
		d.Basis = BasisOwn
		d.Spread = max(devToSigma*dev, m.MinSpread)
		if m.MaxSpread > 0 {
			d.Spread = min(d.Spread, m.MaxSpread)
		}
	case peer != nil && peer.Samples(f) >= m.MinPeerSamples:
		// The estate's high quantile is already a generous "normal"; the
		// score measures how far beyond it the hour lies, in MinSpread
		// units, so an hour must be about three times the estate's 95th
		// percentile to be anomalous on this basis.
		xe = peer.quantile(f, m.PeerQuantile)
		d.Basis = BasisPeer
	}
	d.Expected = round3(math.Expm1(xe))
	d.Score = round3((math.Log1p(max(observed, 0)) - xe) / d.Spread)
	d.Spread = round3(d.Spread)
	d.Anomalous = d.Score >= m.ScoreThreshold
	d.Alert = d.Anomalous && observed >= floor
	return d
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
