package api_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
)

// fakeBacklog answers reads with b, or err; it counts them and keeps the
// deadline each was given.
type fakeBacklog struct {
	mu        sync.Mutex
	b         *callbill.Backlog
	err       error
	reads     int
	deadlines []time.Duration
}

func (f *fakeBacklog) Backlog(ctx context.Context, kinds []string) (*callbill.Backlog, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if d, ok := ctx.Deadline(); ok {
		f.deadlines = append(f.deadlines, time.Until(d))
	} else {
		f.deadlines = append(f.deadlines, -1)
	}
	if len(kinds) != len(callbill.JobKinds) {
		return nil, errors.New("asked for other kinds")
	}
	return f.b, f.err
}

func scrape(t *testing.T, m *api.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// TestMetricsExportTheBacklog: the database's queues are read at scrape
// time, once for scrapes less than a second apart, under a deadline; every
// known kind, state and outcome has its series from start-up; ages, the
// last closed cycle and when the next close is due are the backlog's.
func TestMetricsExportTheBacklog(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 11, 5, 10, 0, 0, 0, sh)
	oct := callbill.NewCycle(2026, time.October)
	f := &fakeBacklog{b: &callbill.Backlog{At: now,
		Jobs:     []callbill.JobBacklog{{Kind: callbill.JobExport, Status: callbill.JobQueued, Count: 4, Oldest: now.Add(-90 * time.Second)}},
		Webhooks: callbill.WebhookBacklog{Pending: 2, Retrying: 3, Failed: 1, OldestPending: now.Add(-time.Hour)},
		Close:    callbill.CloseState{Closed: oct - 1, FirstActivity: oct - 3, Window: callbill.NewWindow(0, 0, now, sh), Loc: sh, Accounts: 1}}}
	m := api.NewMetrics()
	m.WatchBacklog(f, nil)
	out := scrape(t, m)
	due := time.Date(2026, 11, 2, 12, 0, 0, 0, sh).Unix() // 2026-10's close
	for _, want := range []string{
		`callbill_job_queue_depth{kind="export",state="queued"} 4`,
		`callbill_job_queue_depth{kind="export",state="running"} 0`,
		`callbill_job_queue_depth{kind="close",state="queued"} 0`,
		`callbill_job_queue_oldest_age_seconds{kind="export"} 90`,
		`callbill_job_queue_oldest_age_seconds{kind="close"} 0`,
		`callbill_webhook_backlog{state="pending"} 2`,
		`callbill_webhook_backlog{state="retrying"} 3`,
		`callbill_webhook_backlog{state="failed"} 1`,
		`callbill_webhook_backlog_oldest_age_seconds 3600`,
		`callbill_closed_through_cycle 202609`,
		`callbill_close_due_timestamp_seconds ` + strconv.FormatFloat(float64(due), 'g', -1, 64),
		`callbill_metrics_backlog_errors_total 0`,
		// Known labels exist at zero before anything happened.
		`callbill_jobs_total{kind="close",outcome="failed"} 0`,
		`callbill_jobs_total{kind="export",outcome="done"} 0`,
		`callbill_close_duration_seconds_count{outcome="failed"} 0`,
		`callbill_close_duration_seconds_count{outcome="closed"} 0`,
		`callbill_webhook_attempts_total{outcome="delivered"} 0`,
		`callbill_webhook_attempts_total{outcome="unrecorded"} 0`,
		`callbill_import_duration_seconds_count 0`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if !strings.Contains(out, "# HELP callbill_job_queue_depth ") || !strings.Contains(out, "aggregate with max()") {
		t.Errorf("the database's series do not say to aggregate with max()")
	}
	scrape(t, m)
	if f.reads != 1 || f.deadlines[0] <= 0 || f.deadlines[0] > 2*time.Second {
		t.Errorf("%d reads for two scrapes at once, deadlines %v; want 1 read with a deadline of 2s at most", f.reads, f.deadlines)
	}

	m.ObserveClose("closed", 1500*time.Millisecond)
	m.ObserveWebhookAttempt(callbill.AttemptOutcomeRetry)
	m.ObserveJob(callbill.JobClose, "done")
	out = scrape(t, m)
	for _, want := range []string{`callbill_close_duration_seconds_count{outcome="closed"} 1`, `callbill_close_duration_seconds_sum{outcome="closed"} 1.5`,
		`callbill_webhook_attempts_total{outcome="retry"} 1`, `callbill_jobs_total{kind="close",outcome="done"} 1`} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
}

// TestMetricsSurviveAFailingBacklogRead: a read that fails is counted and
// its series left out; the scrape still answers with the rest, and the next
// scrape reads again.
func TestMetricsSurviveAFailingBacklogRead(t *testing.T) {
	f := &fakeBacklog{err: errors.New("database is locked")}
	m := api.NewMetrics()
	m.WatchBacklog(f, nil)
	out := scrape(t, m)
	if !strings.Contains(out, "callbill_metrics_backlog_errors_total 1\n") || !strings.Contains(out, "callbill_calls_imported_total 0\n") ||
		strings.Contains(out, "callbill_job_queue_depth{") {
		t.Errorf("a failed read:\n%s", out)
	}
	f.mu.Lock()
	f.err, f.b = nil, &callbill.Backlog{At: time.Now(), Close: callbill.CloseState{Loc: time.UTC, Window: callbill.NewWindow(0, 0, time.Now(), time.UTC)}}
	f.mu.Unlock()
	out = scrape(t, m)
	if f.reads != 2 || !strings.Contains(out, `callbill_job_queue_depth{kind="export",state="queued"} 0`) ||
		!strings.Contains(out, "callbill_close_due_timestamp_seconds 0\n") || !strings.Contains(out, "callbill_metrics_backlog_errors_total 1\n") {
		t.Errorf("after the failure, %d reads:\n%s", f.reads, out)
	}
}
