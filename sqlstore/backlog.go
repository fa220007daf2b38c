package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// Backlog reads the work waiting in the database (callbill.BacklogReader)
// in one statement, for the metrics at scrape time. It reads only live
// rows through indexes: queued and running jobs of the given kinds
// (jobs_claim), pending deliveries (the partial index
// webhook_deliveries_due), the failed deliveries of each enabled endpoint
// (webhook_deliveries_status), a few meta keys and whether any account
// exists — never the history of done jobs or delivered events. (CROSS
// JOIN keeps SQLite's loop on the few endpoints, each seeking its failed
// deliveries, instead of scanning every delivery.)
func (s *Store) Backlog(ctx context.Context, jobKinds []string) (*callbill.Backlog, error) {
	now := s.Now()
	var q strings.Builder
	var args []any
	if len(jobKinds) > 0 {
		q.WriteString(`SELECT 'job', kind, status, COUNT(*), MIN(created_at) FROM jobs
			WHERE kind IN (?` + strings.Repeat(", ?", len(jobKinds)-1) + `) AND status IN ('queued', 'running')
			GROUP BY kind, status
			UNION ALL `)
		for _, k := range jobKinds {
			args = append(args, k)
		}
	}
	q.WriteString(`SELECT 'delivery', '', CASE WHEN d.attempts = 0 THEN 'pending' ELSE 'retrying' END, COUNT(*), MIN(e.at)
			FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event
			WHERE d.status = 'pending'
			GROUP BY CASE WHEN d.attempts = 0 THEN 'pending' ELSE 'retrying' END
		UNION ALL
		SELECT 'delivery', '', 'failed', COUNT(*), 0
			FROM webhook_endpoints w CROSS JOIN webhook_deliveries d
			WHERE d.endpoint = w.id AND w.disabled_at = 0 AND d.status = 'failed'
		UNION ALL
		SELECT 'meta', key, value, 0, 0 FROM meta
			WHERE key IN ('closed_through', 'first_cycle', 'billable_from', 'max_call_seconds', 'timezone')
		UNION ALL
		SELECT 'accounts', '', '', COUNT(*), 0 FROM (SELECT 1 AS one FROM accounts LIMIT 1) AS any_account`)
	db := s.reader()
	rows, err := db.QueryContext(ctx, s.rebind(q.String()), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := &callbill.Backlog{At: now}
	// One row per group: what it is, a key (kind, meta key), a state or
	// value, a count and the oldest time in it.
	meta := map[string]string{}
	accounts := 0
	for rows.Next() {
		var what, key, value string
		var n, oldest int64
		if err := rows.Scan(&what, &key, &value, &n, &oldest); err != nil {
			return nil, err
		}
		switch what {
		case "job":
			b.Jobs = append(b.Jobs, callbill.JobBacklog{Kind: key, Status: callbill.JobStatus(value), Count: n, Oldest: timeOrZero(oldest)})
		case "delivery":
			switch value {
			case "pending":
				b.Webhooks.Pending = n
			case "retrying":
				b.Webhooks.Retrying = n
			case "failed":
				b.Webhooks.Failed = n
			}
			if value != "failed" && n > 0 {
				at := time.UnixMilli(oldest)
				if b.Webhooks.OldestPending.IsZero() || at.Before(b.Webhooks.OldestPending) {
					b.Webhooks.OldestPending = at
				}
			}
		case "meta":
			meta[key] = value
		case "accounts":
			accounts = int(n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	b.Close, err = closeState(meta, accounts, now)
	return b, err
}

// closeState reads where closing stands from the meta rows, as the
// closing transaction's reads do (closedThrough, location, billingWindow).
func closeState(meta map[string]string, accounts int, now time.Time) (callbill.CloseState, error) {
	st := callbill.CloseState{Accounts: accounts}
	ints := map[string]int64{}
	for _, k := range []string{"closed_through", "first_cycle", "billable_from", "max_call_seconds"} {
		if v := meta[k]; v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return st, err
			}
			ints[k] = n
		}
	}
	loc, _, err := billingLocation(meta["timezone"])
	if err != nil {
		return st, err
	}
	st.Closed, st.FirstActivity, st.Loc = callbill.Cycle(ints["closed_through"]), callbill.Cycle(ints["first_cycle"]), loc
	st.Window = callbill.NewWindow(callbill.Cycle(ints["billable_from"]), ints["max_call_seconds"], now, loc)
	return st, nil
}
