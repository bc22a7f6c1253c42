package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/netflow"
)

// ErrNoHandler is returned by New when Deps gives no way to deliver records.
var ErrNoHandler = errors.New("collector: no handler")

// Deps are the collector's collaborators.
type Deps struct {
	// NewHandler returns the handler of one worker. It is called once per
	// worker, from Start, before any datagram is read. A handler is only
	// ever called from its worker's goroutine, so it needs no locking of
	// its own; handlers of different workers run concurrently. The record
	// passed is valid only during the call.
	NewHandler func(listener string, worker int) flow.Handler
	// Handler is used by every worker when NewHandler is nil; it is then
	// called concurrently and must be safe for that.
	Handler flow.Handler
	// Registry receives the collector's metrics; nil registers none.
	Registry prometheus.Registerer
	// Logger receives start and stop messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock of last-seen times; nil means time.Now.
	Now func() time.Time
}

// Collector serves the configured UDP listeners.
type Collector struct {
	cfg    Config
	deps   Deps
	logger *slog.Logger

	mu        sync.Mutex
	listeners []*listener
	started   bool
	stopOnce  sync.Once
	wg        sync.WaitGroup
	done      chan struct{}
}

type listener struct {
	cfg     ListenerConfig
	addr    netip.AddrPort
	workers []*worker
}

// New checks the configuration and prepares a collector; Start binds the
// sockets.
func New(cfg Config, deps Deps) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.NewHandler == nil && deps.Handler == nil {
		return nil, ErrNoHandler
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	c := &Collector{
		cfg:    cfg.withDefaults(),
		deps:   deps,
		logger: deps.Logger.With("component", "collector"),
		done:   make(chan struct{}),
	}
	if deps.Registry != nil {
		if err := deps.Registry.Register(newMetrics(c)); err != nil {
			return nil, fmt.Errorf("collector: register metrics: %w", err)
		}
	}
	return c, nil
}

// Start binds every listener's sockets and starts the workers. It returns
// once all sockets are bound, or the first error (after closing what was
// bound). The collector stops when ctx is done or Stop is called.
func (c *Collector) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("collector: already started")
	}
	c.started = true
	for _, lc := range c.cfg.Listeners {
		l, err := c.bind(ctx, lc)
		if err != nil {
			for _, l := range c.listeners {
				for _, w := range l.workers {
					w.conn.Close()
				}
			}
			c.listeners = nil
			return err
		}
		c.listeners = append(c.listeners, l)
	}
	for _, l := range c.listeners {
		for _, w := range l.workers {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				w.run()
			}()
		}
		c.logger.Info("listening", "listener", l.cfg.Name, "addr", l.addr.String(),
			"workers", len(l.workers), "receive_buffer", l.workers[0].rcvbuf)
	}
	go func() {
		select {
		case <-ctx.Done():
			c.Stop()
		case <-c.done:
		}
	}()
	return nil
}

func (c *Collector) bind(ctx context.Context, lc ListenerConfig) (*listener, error) {
	l := &listener{cfg: lc}
	addr := lc.Listen
	for i := 0; i < lc.Workers; i++ {
		conn, err := listenUDP(ctx, addr)
		if err != nil {
			for _, w := range l.workers {
				w.conn.Close()
			}
			return nil, fmt.Errorf("collector: listener %q: %w", lc.Name, err)
		}
		if i == 0 {
			// Port 0 picks a free port once; the other workers join it.
			l.addr = conn.LocalAddr().(*net.UDPAddr).AddrPort()
			host, _, _ := net.SplitHostPort(lc.Listen)
			addr = net.JoinHostPort(host, strconv.Itoa(int(l.addr.Port())))
		}
		granted, err := setReceiveBuffer(conn, c.cfg.ReceiveBuffer)
		if err != nil {
			c.logger.Warn("receive buffer", "listener", lc.Name, "err", err)
		}
		w := &worker{
			c:        c,
			listener: lc.Name,
			id:       i,
			conn:     conn,
			dec:      netflow.NewDecoder(c.cfg.Decoder),
			rcvbuf:   granted,
			inode:    socketInode(conn),
			lastSeen: map[netip.Addr]int64{},
		}
		if c.deps.NewHandler != nil {
			w.handler = c.deps.NewHandler(lc.Name, i)
		} else {
			w.handler = c.deps.Handler
		}
		if w.handler == nil {
			w.handler = func(*flow.Record) {}
		}
		l.workers = append(l.workers, w)
	}
	return l, nil
}

// drainTime bounds how long Stop keeps reading datagrams that are already
// queued in the sockets.
const drainTime = 100 * time.Millisecond

// Stop reads what the sockets still hold for a short while, stops the
// workers, closes the sockets and waits for the workers to return. Every
// record is delivered to its handler before Stop returns. It is safe to call
// more than once.
func (c *Collector) Stop() {
	c.stopOnce.Do(func() {
		close(c.done)
		c.mu.Lock()
		ls := c.listeners
		c.mu.Unlock()
		deadline := time.Now().Add(drainTime)
		for _, l := range ls {
			for _, w := range l.workers {
				w.stopping.Store(true)
				_ = w.conn.SetReadDeadline(deadline)
			}
		}
		c.wg.Wait()
		for _, l := range ls {
			for _, w := range l.workers {
				w.conn.Close()
			}
		}
		c.logger.Info("stopped")
	})
}

// Addrs returns the bound address of each listener by name, useful when a
// listener was configured with port 0.
func (c *Collector) Addrs() map[string]netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]netip.AddrPort, len(c.listeners))
	for _, l := range c.listeners {
		out[l.cfg.Name] = l.addr
	}
	return out
}

// worker owns one socket, one decoder and one handler.
type worker struct {
	c        *Collector
	listener string
	id       int
	conn     *net.UDPConn
	dec      *netflow.Decoder
	handler  flow.Handler
	rcvbuf   int
	inode    uint64
	stopping atomic.Bool

	// Written by the worker, read by Stats.
	datagrams  atomic.Uint64
	bytes      atomic.Uint64
	readErrors atomic.Uint64
	overflow   atomic.Uint32 // cumulative drops from SO_RXQ_OVFL

	// Owned by the worker goroutine.
	lastSeen map[netip.Addr]int64

	// pub is the latest snapshot of the decoder, published by the worker.
	mu  sync.Mutex
	pub []ExporterStats
}

func (w *worker) run() {
	buf := make([]byte, 65536)
	oob := make([]byte, oobSize)
	interval := w.c.cfg.StatsInterval
	now := w.c.deps.Now
	// The read deadline doubles as the worker's ticker: when it passes, the
	// read returns at once and the worker publishes its counters. This
	// keeps the decoder, which is not safe for concurrent use, on this
	// goroutine alone.
	_ = w.conn.SetReadDeadline(time.Now().Add(interval))
	for {
		n, oobn, _, from, err := w.conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				w.publish()
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.publish()
				if w.stopping.Load() {
					w.dec.Flush(w.handler)
					w.publish()
					return
				}
				_ = w.conn.SetReadDeadline(time.Now().Add(interval))
				continue
			}
			w.readErrors.Add(1)
			continue
		}
		w.datagrams.Add(1)
		w.bytes.Add(uint64(n))
		if oobn > 0 {
			if v, ok := parseOverflow(oob[:oobn]); ok {
				w.overflow.Store(v)
			}
		}
		exp := from.Addr().Unmap()
		w.lastSeen[exp] = now().UnixNano()
		// Decode counts every fault in the decoder's statistics, by
		// exporter and reason, which publish exports; the error itself
		// adds nothing.
		_ = w.dec.Decode(netip.AddrPortFrom(exp, from.Port()), netflow.TransportUDP, buf[:n], w.handler)
	}
}

// publish copies the decoder's per-exporter counters for Stats.
func (w *worker) publish() {
	st := w.dec.Stats()
	out := make([]ExporterStats, 0, len(st.Exporters))
	for _, e := range st.Exporters {
		es := ExporterStats{Listener: w.listener, Exporter: e.Exporter, Datagrams: e.Messages, Errors: map[string]uint64{}}
		for k, v := range e.Errors {
			es.Errors[k] += v
		}
		for _, d := range e.Domains {
			es.Records += d.DataRecords + d.ReverseRecords
			for k, v := range d.Errors {
				es.Errors[k] += v
			}
		}
		if t, ok := w.lastSeen[e.Exporter]; ok {
			es.LastSeen = time.Unix(0, t).UTC()
		}
		out = append(out, es)
	}
	w.mu.Lock()
	w.pub = out
	w.mu.Unlock()
}
