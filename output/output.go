// Package output delivers alerts to the places a security team reads them:
// a webhook (signed JSON), syslog (RFC 5424 over UDP, TCP or TLS, with an
// optional CEF payload) and a JSON-lines file, each optionally in the OCSF
// Detection Finding format.
//
// Every output is an *Output: a bounded queue in front of one delivery
// goroutine that retries failed deliveries with exponential backoff. The
// engine hands alerts to Enqueue (or the alert.Sink from Sink), which never
// blocks: when the queue is full the alert is counted as dropped. An alert
// that still fails after the last attempt goes to the dead-letter file, when
// one is configured, and is counted.
package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-ids/vigil/alert"
)

// Errors of the outputs.
var (
	ErrConfig = errors.New("output: invalid configuration")
	// ErrPermanent marks a delivery failure that retrying cannot fix, such
	// as a webhook answering 400.
	ErrPermanent = errors.New("permanent failure")
	ErrClosed    = errors.New("output: closed")
)

// Formats of the alert payload.
const (
	FormatJSON = "json" // the alert.Alert JSON contract
	FormatOCSF = "ocsf" // OCSF Detection Finding (class_uid 2004)
	FormatCEF  = "cef"  // ArcSight CEF, for syslog only
)

// Retry configures the queue and the retries shared by every output.
type Retry struct {
	// QueueSize bounds the alerts waiting for delivery (default 1024).
	QueueSize int `yaml:"queue-size"`
	// MaxAttempts is the number of tries per alert (default 5).
	MaxAttempts int `yaml:"max-attempts"`
	// Backoff is the wait after the first failure (default 1s); it doubles
	// after each failure up to MaxBackoff (default 1m).
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max-backoff"`
	// DeadLetter is a JSON-lines file that receives the alerts whose last
	// attempt failed; empty keeps none (they are only counted).
	DeadLetter string `yaml:"dead-letter"`
}

// DefaultRetry returns the defaults described on Retry.
func DefaultRetry() Retry {
	return Retry{QueueSize: 1024, MaxAttempts: 5, Backoff: time.Second, MaxBackoff: time.Minute}
}

func (r Retry) withDefaults() Retry {
	d := DefaultRetry()
	if r.QueueSize <= 0 {
		r.QueueSize = d.QueueSize
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = d.MaxAttempts
	}
	if r.Backoff <= 0 {
		r.Backoff = d.Backoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = d.MaxBackoff
	}
	if r.MaxBackoff < r.Backoff {
		r.MaxBackoff = r.Backoff
	}
	return r
}

// Deps are an output's collaborators.
type Deps struct {
	// Registry receives the output metrics (labelled by output name); nil
	// registers none. Several outputs may share one registry.
	Registry prometheus.Registerer
	// Logger receives delivery failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock of timestamps; nil means time.Now.
	Now func() time.Time
}

// Stats counts an output's work.
type Stats struct {
	// Enqueued alerts, Delivered ones, failed Attempts (each retry that
	// failed counts), Dropped because the queue was full, and DeadLettered
	// after their last attempt (written to the dead-letter file or not).
	Enqueued, Delivered, FailedAttempts, Dropped, DeadLettered uint64
	// Queued is the current queue length.
	Queued int
}

// deliverer sends one alert once.
type deliverer interface {
	deliver(ctx context.Context, a *alert.Alert) error
	close() error
}

// Output is one destination with its queue and delivery goroutine.
type Output struct {
	name   string
	kind   string
	retry  Retry
	d      deliverer
	logger *slog.Logger
	now    func() time.Time

	q      chan alert.Alert
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	closeMu sync.RWMutex
	closed  bool

	enqueued, delivered, failed, dropped, dead atomic.Uint64
	m                                          *metrics

	dlMu sync.Mutex
}

func newOutput(name, kind string, retry Retry, d deliverer, deps Deps) (*Output, error) {
	if name == "" {
		name = kind
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	retry = retry.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	o := &Output{
		name: name, kind: kind, retry: retry, d: d,
		logger: deps.Logger.With("component", "output", "output", name),
		now:    deps.Now,
		q:      make(chan alert.Alert, retry.QueueSize),
		ctx:    ctx, cancel: cancel,
		done: make(chan struct{}),
	}
	if deps.Registry != nil {
		m, err := registerMetrics(deps.Registry)
		if err != nil {
			cancel()
			return nil, err
		}
		o.m = m
		m.queue.WithLabelValues(name).Set(0)
	}
	go o.run()
	return o, nil
}

// Name returns the output's name, which labels its metrics.
func (o *Output) Name() string { return o.name }

// Enqueue queues an alert for delivery without blocking. It returns false,
// and counts the alert as dropped, when the queue is full or the output is
// closed.
func (o *Output) Enqueue(a alert.Alert) bool {
	o.closeMu.RLock()
	defer o.closeMu.RUnlock()
	if o.closed {
		o.drop(&a)
		return false
	}
	select {
	case o.q <- a:
		o.enqueued.Add(1)
		o.count(func(m *metrics) { m.queue.WithLabelValues(o.name).Set(float64(len(o.q))) })
		return true
	default:
		o.drop(&a)
		return false
	}
}

func (o *Output) drop(a *alert.Alert) {
	o.dropped.Add(1)
	o.count(func(m *metrics) { m.dropped.WithLabelValues(o.name).Inc() })
	o.logger.Warn("alert dropped: queue full or output closed", "alert", a.ID)
}

// Sink returns Enqueue as an alert.Sink, to plug into the engine.
func (o *Output) Sink() alert.Sink { return func(a alert.Alert) { o.Enqueue(a) } }

// Stats returns the counters.
func (o *Output) Stats() Stats {
	return Stats{
		Enqueued: o.enqueued.Load(), Delivered: o.delivered.Load(), FailedAttempts: o.failed.Load(),
		Dropped: o.dropped.Load(), DeadLettered: o.dead.Load(), Queued: len(o.q),
	}
}

// Close stops accepting alerts, delivers what is queued (a failing
// delivery is retried until ctx ends; then it and the rest of the queue go
// to the dead-letter file), and releases the connection or file.
func (o *Output) Close(ctx context.Context) error {
	o.once.Do(func() {
		o.closeMu.Lock()
		o.closed = true
		close(o.q)
		o.closeMu.Unlock()
		stop := context.AfterFunc(ctx, o.cancel)
		<-o.done
		stop()
		o.cancel()
	})
	return o.d.close()
}

func (o *Output) count(f func(*metrics)) {
	if o.m != nil {
		f(o.m)
	}
}

func (o *Output) run() {
	defer close(o.done)
	for a := range o.q {
		o.count(func(m *metrics) { m.queue.WithLabelValues(o.name).Set(float64(len(o.q))) })
		o.deliver(&a)
	}
}

// deliver tries one alert up to MaxAttempts times with exponential backoff.
func (o *Output) deliver(a *alert.Alert) {
	wait := o.retry.Backoff
	var err error
	attempt := 0
	for attempt < o.retry.MaxAttempts {
		attempt++
		if o.ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ErrClosed, o.ctx.Err())
			break
		}
		err = o.d.deliver(o.ctx, a)
		if err == nil {
			o.delivered.Add(1)
			o.count(func(m *metrics) { m.delivered.WithLabelValues(o.name).Inc() })
			return
		}
		o.failed.Add(1)
		o.count(func(m *metrics) { m.failures.WithLabelValues(o.name).Inc() })
		o.logger.Warn("delivery failed", "alert", a.ID, "attempt", attempt, "err", err)
		if errors.Is(err, ErrPermanent) || attempt == o.retry.MaxAttempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-o.ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, o.retry.MaxBackoff)
	}
	o.deadLetter(a, attempt, err)
}

// deadLetterEntry is one line of the dead-letter file.
type deadLetterEntry struct {
	Time     time.Time   `json:"time"`
	Output   string      `json:"output"`
	Attempts int         `json:"attempts"`
	Error    string      `json:"error"`
	Alert    alert.Alert `json:"alert"`
}

func (o *Output) deadLetter(a *alert.Alert, attempts int, cause error) {
	o.dead.Add(1)
	o.count(func(m *metrics) { m.dead.WithLabelValues(o.name).Inc() })
	if o.retry.DeadLetter == "" {
		o.logger.Error("alert undeliverable", "alert", a.ID, "attempts", attempts, "err", cause)
		return
	}
	line, _ := json.Marshal(deadLetterEntry{Time: o.now().UTC(), Output: o.name, Attempts: attempts, Error: fmt.Sprint(cause), Alert: *a})
	o.dlMu.Lock()
	defer o.dlMu.Unlock()
	if err := appendLine(o.retry.DeadLetter, line); err != nil {
		o.logger.Error("dead-letter write failed", "alert", a.ID, "err", err)
	}
}

// appendLine appends one line to a file and syncs it.
func appendLine(path string, line []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	return errors.Join(err, f.Sync(), f.Close())
}

type metrics struct {
	delivered, failures, dropped, dead *prometheus.CounterVec
	queue                              *prometheus.GaugeVec
}

// registerMetrics registers the output metrics once per registry and
// returns the registered vectors to every later output.
func registerMetrics(reg prometheus.Registerer) (*metrics, error) {
	cv := func(name, help string) (*prometheus.CounterVec, error) {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_output_" + name, Help: help}, []string{"output"})
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return are.ExistingCollector.(*prometheus.CounterVec), nil
			}
			return nil, err
		}
		return c, nil
	}
	var m metrics
	var err error
	if m.delivered, err = cv("delivered_total", "Alerts delivered."); err != nil {
		return nil, err
	}
	if m.failures, err = cv("failed_attempts_total", "Delivery attempts that failed, retries included."); err != nil {
		return nil, err
	}
	if m.dropped, err = cv("dropped_total", "Alerts dropped because the queue was full."); err != nil {
		return nil, err
	}
	if m.dead, err = cv("dead_letter_total", "Alerts given up after the last attempt."); err != nil {
		return nil, err
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigil_output_queue_length", Help: "Alerts waiting for delivery."}, []string{"output"})
	if err := reg.Register(g); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		g = are.ExistingCollector.(*prometheus.GaugeVec)
	}
	m.queue = g
	return &m, nil
}
