package fleetwatch

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the watcher's Prometheus series, in a registry of its own so
// that several watchers in one process (tests) do not collide.
type metrics struct {
	reg          *prometheus.Registry
	messages     *prometheus.CounterVec
	invalid      prometheus.Counter
	members      prometheus.Gauge
	owned        prometheus.Gauge
	offline      prometheus.Gauge
	unsynced     prometheus.Gauge
	gaps         prometheus.Counter
	missing      prometheus.Counter
	reboots      prometheus.Counter
	alerts       *prometheus.CounterVec
	webhookFails prometheus.Counter
	digests      prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "praxisgate_watch", Name: name, Help: help}
	}
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts(f("messages_total", "Box messages received, by topic kind.")), []string{"kind"})
	m.invalid = prometheus.NewCounter(prometheus.CounterOpts(f("invalid_messages_total", "Messages that did not parse (topic or JSON).")))
	m.members = prometheus.NewGauge(prometheus.GaugeOpts(f("members", "Live watcher instances of the group, this one included.")))
	m.owned = prometheus.NewGauge(prometheus.GaugeOpts(f("boxes_owned", "Boxes this instance is responsible for.")))
	m.offline = prometheus.NewGauge(prometheus.GaugeOpts(f("boxes_offline", "Owned boxes that are offline (Last Will or silent).")))
	m.unsynced = prometheus.NewGauge(prometheus.GaugeOpts(f("boxes_clock_unsynced", "Owned boxes whose last message said clock unsynced.")))
	m.gaps = prometheus.NewCounter(prometheus.CounterOpts(f("seq_gaps_total", "Seq ranges reported missing.")))
	m.missing = prometheus.NewCounter(prometheus.CounterOpts(f("seq_missing_total", "Seqs reported missing.")))
	m.reboots = prometheus.NewCounter(prometheus.CounterOpts(f("reboots_total", "Reboots (new boot id) of owned boxes.")))
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts(f("alerts_total", "Alerts queued for the webhook, by alertname and state.")), []string{"alertname", "state"})
	m.webhookFails = prometheus.NewCounter(prometheus.CounterOpts(f("webhook_errors_total", "Failed webhook posts (retried).")))
	m.digests = prometheus.NewCounter(prometheus.CounterOpts(f("digests_sent_total", "Digests passed to other instances.")))
	m.reg.MustRegister(m.messages, m.invalid, m.members, m.owned, m.offline, m.unsynced, m.gaps, m.missing, m.reboots,
		m.alerts, m.webhookFails, m.digests, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
