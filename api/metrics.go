package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, served at /metrics.
type Metrics struct {
	reg          *prometheus.Registry
	httpDuration *prometheus.HistogramVec
	Imported     prometheus.Counter
	Duplicates   prometheus.Counter
	Rejected     prometheus.Counter
	ImportTime   prometheus.Histogram
	Jobs         *prometheus.CounterVec
	// BudgetAlerts counts budget thresholds fired by this node;
	// BudgetFailures its budget evaluations that failed (each retried).
	BudgetAlerts   prometheus.Counter
	BudgetFailures prometheus.Counter
}

// NewMetrics registers callbill's metrics and Go's runtime ones.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "callbill_http_request_duration_seconds",
		Help: "HTTP request latency by route and status.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)},
		[]string{"route", "code"})
	m.Imported = prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_calls_imported_total", Help: "Calls rated and stored."})
	m.Duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_calls_duplicate_total", Help: "CDRs seen before, counted once."})
	m.Rejected = prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_calls_rejected_total", Help: "CDRs rejected (conflicts included)."})
	m.ImportTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callbill_import_duration_seconds",
		Help: "Time to decode, rate and store one uploaded file.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)})
	m.Jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbill_jobs_total", Help: "Background jobs finished, by kind and outcome."},
		[]string{"kind", "outcome"})
	m.BudgetAlerts = prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_budget_alerts_total", Help: "Budget thresholds fired (budget.threshold events)."})
	m.BudgetFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_budget_evaluation_failures_total",
		Help: "Budget evaluations that failed; each is retried at the next import and by the periodic pass."})
	m.reg.MustRegister(m.httpDuration, m.Imported, m.Duplicates, m.Rejected, m.ImportTime, m.Jobs, m.BudgetAlerts, m.BudgetFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Instrument times every request by its route pattern (not its path, so the
// labels stay few).
func (m *Metrics) Instrument(next *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		_, pattern := next.Handler(r)
		next.ServeHTTP(sw, r)
		if pattern == "" {
			pattern = "unmatched"
		}
		m.httpDuration.WithLabelValues(pattern, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}
