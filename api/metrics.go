package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, served at /metrics
// (docs/operations.md, "What to watch"). Series with labels known in
// advance exist from start-up, at zero, so that a dashboard has no holes.
type Metrics struct {
	reg          *prometheus.Registry
	httpDuration *prometheus.HistogramVec
	Imported     prometheus.Counter
	Duplicates   prometheus.Counter
	Rejected     prometheus.Counter
	ImportTime   prometheus.Histogram
	Jobs         *prometheus.CounterVec
	closeTime    *prometheus.HistogramVec
	webhooks     *prometheus.CounterVec
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
	m.Jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbill_jobs_total",
		Help: "Background jobs this node finished, by kind and outcome (done, failed)."}, []string{"kind", "outcome"})
	for _, kind := range callbill.JobKinds {
		for _, outcome := range []callbill.JobStatus{callbill.JobDone, callbill.JobFailed} {
			m.Jobs.WithLabelValues(kind, string(outcome))
		}
	}
	// A close of 1,000 accounts takes under a second, a large deployment's
	// minutes: 10 ms to about 11 minutes.
	m.closeTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "callbill_close_duration_seconds",
		Help: "Closes run on this node (the API's and the automatic close), by outcome: closed, already_closed, " +
			"refused (the request or the state forbids it), failed (the store or a bug failed it). _count counts them.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 17)}, []string{"outcome"})
	for _, outcome := range closing.CloseOutcomes {
		m.closeTime.WithLabelValues(outcome)
	}
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbill_webhook_attempts_total",
		Help: "Webhook delivery attempts this node made, by outcome: delivered (2xx), retry (failed, tried again later), " +
			"failed (the last attempt failed: the delivery waits for a replay), unrecorded (the store did not record it)."},
		[]string{"outcome"})
	for _, outcome := range callbill.WebhookAttemptOutcomes {
		m.webhooks.WithLabelValues(outcome)
	}
	m.BudgetAlerts = prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_budget_alerts_total", Help: "Budget thresholds fired by this node (budget.threshold events)."})
	m.BudgetFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_budget_evaluation_failures_total",
		Help: "Budget evaluations on this node that failed; each is retried at the next import and by the periodic pass."})
	m.reg.MustRegister(m.httpDuration, m.Imported, m.Duplicates, m.Rejected, m.ImportTime, m.Jobs, m.closeTime, m.webhooks, m.BudgetAlerts, m.BudgetFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveClose counts a close and its duration (closing.Service.Observe).
func (m *Metrics) ObserveClose(outcome string, took time.Duration) {
	if m != nil {
		m.closeTime.WithLabelValues(outcome).Observe(took.Seconds())
	}
}

// ObserveWebhookAttempt counts a webhook attempt's outcome
// (webhook.Deliverer.OnAttempt).
func (m *Metrics) ObserveWebhookAttempt(outcome string) {
	if m != nil {
		m.webhooks.WithLabelValues(outcome).Inc()
	}
}

// ObserveJob counts a background job's outcome (worker.Node.OnJob).
func (m *Metrics) ObserveJob(kind, outcome string) {
	if m != nil {
		m.Jobs.WithLabelValues(kind, outcome).Inc()
	}
}

// WatchBacklog adds the database's queues, read from r at scrape time:
// job queue depth and age, the webhook backlog and its age, where closing
// stands. Failed reads are logged to log and counted.
func (m *Metrics) WatchBacklog(r callbill.BacklogReader, log *slog.Logger) {
	m.reg.MustRegister(newBacklogCollector(r, log))
}

// backlogTimeout bounds a scrape's read of the database; backlogReuse is
// how long one read answers every scrape (several Prometheus servers, a
// scraper retrying), so that scrapes cost the database at most one read a
// second.
const (
	backlogTimeout = 2 * time.Second
	backlogReuse   = time.Second
)

// backlogCollector reads the database's queues at scrape time. A read
// that fails or times out leaves its series out of that scrape (the rest
// is served) and counts in callbill_metrics_backlog_errors_total.
type backlogCollector struct {
	read   callbill.BacklogReader
	log    *slog.Logger
	errors prometheus.Counter

	depth, queueAge, hooks, hookAge, closedThrough, closeDue *prometheus.Desc

	mu     sync.Mutex // one read at a time; concurrent scrapes share it
	last   *callbill.Backlog
	lastAt time.Time
}

// sameOnEveryNode ends the help of a series read from the database.
const sameOnEveryNode = " Read from the database at scrape time: every node of one database exports the same value, so aggregate with max(), not sum()."

func newBacklogCollector(r callbill.BacklogReader, log *slog.Logger) *backlogCollector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &backlogCollector{read: r, log: log,
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbill_metrics_backlog_errors_total",
			Help: "Scrapes whose read of the database's queues failed or timed out; their backlog series were left out."}),
		depth: prometheus.NewDesc("callbill_job_queue_depth", "Background jobs queued or running, by kind and state."+sameOnEveryNode,
			[]string{"kind", "state"}, nil),
		queueAge: prometheus.NewDesc("callbill_job_queue_oldest_age_seconds", "How long the oldest queued job of a kind has waited; 0 when none waits."+sameOnEveryNode,
			[]string{"kind"}, nil),
		hooks: prometheus.NewDesc("callbill_webhook_backlog", "Webhook deliveries not delivered, by state: pending (not attempted yet), "+
			"retrying (failed, tried again later), failed (gave up after 12 attempts: waits for a replay; enabled endpoints only)."+sameOnEveryNode,
			[]string{"state"}, nil),
		hookAge: prometheus.NewDesc("callbill_webhook_backlog_oldest_age_seconds", "Age of the event of the oldest pending or retrying "+
			"webhook delivery; 0 when none waits."+sameOnEveryNode, nil, nil),
		closedThrough: prometheus.NewDesc("callbill_closed_through_cycle", "The last closed billing cycle as YYYYMM (202610 is 2026-10); 0 when none is."+sameOnEveryNode,
			nil, nil),
		closeDue: prometheus.NewDesc("callbill_close_due_timestamp_seconds", "When the oldest open cycle that has to close became, or becomes, due "+
			"(12:00 on the 2nd of the month after it, billing time zone), as a Unix time; 0 while there are no accounts."+sameOnEveryNode,
			nil, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	c.errors.Describe(ch)
	for _, d := range []*prometheus.Desc{c.depth, c.queueAge, c.hooks, c.hookAge, c.closedThrough, c.closeDue} {
		ch <- d
	}
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.backlog()
	c.errors.Collect(ch)
	if b == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, kind := range callbill.JobKinds {
		for _, state := range callbill.JobStates {
			gauge(c.depth, float64(b.JobCount(kind, state)), kind, string(state))
		}
		gauge(c.queueAge, b.OldestQueued(kind).Seconds(), kind)
	}
	gauge(c.hooks, float64(b.Webhooks.Pending), "pending")
	gauge(c.hooks, float64(b.Webhooks.Retrying), "retrying")
	gauge(c.hooks, float64(b.Webhooks.Failed), "failed")
	gauge(c.hookAge, b.OldestPendingDelivery().Seconds())
	closed := 0
	if cy := b.Close.Closed; cy != 0 {
		closed = cy.Year()*100 + int(cy.Month())
	}
	gauge(c.closedThrough, float64(closed))
	due := 0.0
	if at := closing.PlanAutoClose(b.At, b.Close).DueSince(); !at.IsZero() {
		due = float64(at.Unix())
	}
	gauge(c.closeDue, due)
}

// backlog reads the queues, or reuses a read less than backlogReuse old;
// nil when the read failed.
func (c *backlogCollector) backlog() *callbill.Backlog {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && time.Since(c.lastAt) < backlogReuse {
		return c.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	b, err := c.read.Backlog(ctx, callbill.JobKinds)
	if err != nil {
		c.errors.Inc()
		c.log.Error("metrics: read the backlog", "err", err)
		c.last = nil
		return nil
	}
	c.last, c.lastAt = b, time.Now()
	return b
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
