package service

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	alerts            *prometheus.CounterVec
	dropped           *prometheus.CounterVec
	alertErrors       prometheus.Counter
	idleFlushes       *prometheus.CounterVec
	checkpoints       prometheus.Counter
	checkpointSeconds prometheus.Histogram
	reloads           prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_alerts_stored_total", Help: "New alerts stored, by type.",
		}, []string{"type"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_alerts_dropped_total", Help: "Alerts not stored, by type and reason (disabled, suppressed).",
		}, []string{"type", "reason"}),
		alertErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_alert_store_errors_total", Help: "Alerts that could not be stored.",
		}),
		idleFlushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_idle_flushes_total", Help: "Times a detector closed its open windows because input went idle.",
		}, []string{"detector"}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_checkpoints_total", Help: "Checkpoints written.",
		}),
		checkpointSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_checkpoint_duration_seconds", Help: "Time to write a checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_reloads_total", Help: "Successful reloads of inventory, intel and GeoIP.",
		}),
	}
	for _, c := range []prometheus.Collector{m.alerts, m.dropped, m.alertErrors, m.idleFlushes, m.checkpoints,
		m.checkpointSeconds, m.reloads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("service: register metrics: %w", err)
		}
	}
	return m, nil
}

// relUnder reports whether path lies inside dir.
func relUnder(dir, path string) (bool, error) {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return false, err
	}
	return rel != ".." && !strings.HasPrefix(rel, "../"), nil
}

// healthCollector exports ingest health at scrape time: per source, when
// it was last seen and whether it is silent.
type healthCollector struct {
	s                *Service
	lastSeen, silent *prometheus.Desc
}

func newHealthCollector(s *Service) *healthCollector {
	return &healthCollector{s: s,
		lastSeen: prometheus.NewDesc("vigil_source_last_seen_timestamp_seconds",
			"When each input (exporter, watched folder, spool, HTTP ingest) last delivered data.", []string{"source", "kind"}, nil),
		silent: prometheus.NewDesc("vigil_source_silent",
			"1 when an input that delivered data has sent nothing for silent-after.", []string{"source", "kind"}, nil),
	}
}

func (h *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- h.lastSeen
	ch <- h.silent
}

func (h *healthCollector) Collect(ch chan<- prometheus.Metric) {
	now := h.s.now()
	for _, src := range h.s.sourceHealth() {
		if src.LastSeen.IsZero() {
			continue
		}
		silent := 0.0
		if now.Sub(src.LastSeen) > h.s.cfg.SilentAfter {
			silent = 1
		}
		ch <- prometheus.MustNewConstMetric(h.lastSeen, prometheus.GaugeValue, float64(src.LastSeen.UnixNano())/1e9, src.Source, src.Kind)
		ch <- prometheus.MustNewConstMetric(h.silent, prometheus.GaugeValue, silent, src.Source, src.Kind)
	}
}
