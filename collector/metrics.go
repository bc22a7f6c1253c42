package collector

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics exports Stats at scrape time, so that the hot path updates no
// shared Prometheus state. Labels are the listener, the exporter address
// and, for errors, the reason: all bounded by configuration or by
// netflow.Config.MaxExporters, never by flow contents.
type metrics struct {
	c *Collector

	datagrams, records, errors, lastSeen, silent *prometheus.Desc
	sockDatagrams, sockBytes, readErrors, drops  *prometheus.Desc
	rcvbuf, workers                              *prometheus.Desc
}

func newMetrics(c *Collector) *metrics {
	exp := []string{"listener", "exporter"}
	lst := []string{"listener"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("vigil_collector_"+name, help, labels, nil)
	}
	return &metrics{
		c:             c,
		datagrams:     d("exporter_datagrams_total", "Datagrams received from an exporter, decodable or not.", exp),
		records:       d("exporter_records_total", "Flow records decoded from an exporter.", exp),
		errors:        d("exporter_errors_total", "Malformed or undecodable input from an exporter, by reason.", append(exp, "reason")),
		lastSeen:      d("exporter_last_seen_timestamp_seconds", "Unix time of the last datagram from an exporter.", exp),
		silent:        d("exporter_silent", "1 when an exporter has sent nothing for the configured silent-after time.", exp),
		sockDatagrams: d("datagrams_total", "Datagrams read from a listener's sockets.", lst),
		sockBytes:     d("bytes_total", "Bytes read from a listener's sockets.", lst),
		readErrors:    d("read_errors_total", "Failed reads on a listener's sockets.", lst),
		drops:         d("kernel_drops_total", "Datagrams the kernel dropped because a listener's receive buffer was full.", lst),
		rcvbuf:        d("receive_buffer_bytes", "Receive buffer granted to each of a listener's sockets.", lst),
		workers:       d("workers", "Sockets and goroutines serving a listener.", lst),
	}
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.datagrams, m.records, m.errors, m.lastSeen, m.silent,
		m.sockDatagrams, m.sockBytes, m.readErrors, m.drops, m.rcvbuf, m.workers} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	for _, l := range m.c.Stats().Listeners {
		counter(m.sockDatagrams, l.Datagrams, l.Name)
		counter(m.sockBytes, l.Bytes, l.Name)
		counter(m.readErrors, l.ReadErrors, l.Name)
		counter(m.drops, l.KernelDrops, l.Name)
		gauge(m.rcvbuf, float64(l.ReceiveBuffer), l.Name)
		gauge(m.workers, float64(l.Workers), l.Name)
		for _, e := range l.Exporters {
			a := e.Exporter.String()
			counter(m.datagrams, e.Datagrams, l.Name, a)
			counter(m.records, e.Records, l.Name, a)
			for r, v := range e.Errors {
				counter(m.errors, v, l.Name, a, r)
			}
			if !e.LastSeen.IsZero() {
				gauge(m.lastSeen, float64(e.LastSeen.UnixNano())/1e9, l.Name, a)
			}
			s := 0.0
			if e.Silent {
				s = 1
			}
			gauge(m.silent, s, l.Name, a)
		}
	}
}
