// Package metrics counts what the edge server does, for Prometheus. It
// keeps its own registry (no global state) and never labels with anything
// a person or a token could put there: labels are our own words and
// numbers.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the edge server's set of metrics.
type Metrics struct {
	reg       *prometheus.Registry
	screens   prometheus.Gauge
	signIns   *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	graph     *prometheus.CounterVec
	messages  *prometheus.CounterVec
	polls     prometheus.Counter
	pollLag   prometheus.Histogram
	owned     prometheus.Gauge
	leases    *prometheus.CounterVec
}

// New returns the metrics, registered with the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		screens: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "placard_screens_connected", Help: "WebSocket connections of screens open now.",
		}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "placard_sign_ins_total", Help: "Device-code sign-ins by outcome (success, declined, expired, blocked, ...).",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "placard_token_refreshes_total", Help: "Access tokens obtained with a refresh token, by outcome.",
		}, []string{"outcome"}),
		graph: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "placard_graph_requests_total", Help: "Microsoft Graph requests by endpoint and HTTP status (0: no answer).",
		}, []string{"endpoint", "status"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "placard_websocket_messages_total", Help: "WebSocket messages by direction (in, out) and type.",
		}, []string{"direction", "type"}),
		polls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "placard_graph_polls_total", Help: "Polls of Microsoft Graph, one per account per tick.",
		}),
		pollLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "placard_graph_poll_lag_seconds",
			Help:    "How late a poll of Microsoft Graph started after it was due.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60},
		}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "placard_accounts_owned", Help: "Accounts this replica owns now: it alone reads Graph and refreshes tokens for them.",
		}),
		leases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "placard_lease_changes_total", Help: "Accounts' leases this replica gained or lost.",
		}, []string{"change"}),
	}
	m.reg.MustRegister(m.screens, m.signIns, m.refreshes, m.graph, m.messages, m.polls, m.pollLag, m.owned, m.leases,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SignIn counts a sign-in's outcome.
func (m *Metrics) SignIn(outcome string) { m.signIns.WithLabelValues(outcome).Inc() }

// Lease counts an account's lease gained (true) or lost by this replica.
func (m *Metrics) Lease(gained bool) {
	if gained {
		m.owned.Inc()
		m.leases.WithLabelValues("gained").Inc()
		return
	}
	m.owned.Dec()
	m.leases.WithLabelValues("lost").Inc()
}

// TokenRefresh counts a refresh's outcome.
func (m *Metrics) TokenRefresh(outcome string) { m.refreshes.WithLabelValues(outcome).Inc() }

// PollLag records a poll and how late it started.
func (m *Metrics) PollLag(d time.Duration) {
	m.polls.Inc()
	m.pollLag.Observe(max(d, 0).Seconds())
}

// Connections sets the number of open screen connections.
func (m *Metrics) Connections(n int) { m.screens.Set(float64(n)) }

// Message counts a WebSocket message.
func (m *Metrics) Message(direction, kind string) { m.messages.WithLabelValues(direction, kind).Inc() }

// GraphRequest counts a Graph request's answer.
func (m *Metrics) GraphRequest(endpoint string, status int) {
	m.graph.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
}
