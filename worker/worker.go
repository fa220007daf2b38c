// Package worker runs a node's background jobs: usage exports and the
// automatic close of the previous cycle at 12:00 on the 2nd. Several nodes
// may share one store; each job is claimed by one node at a time under a
// lease, so nothing runs twice, and a job whose node died is taken over when
// its lease runs out.
package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/export"
	"github.com/callbill/callbill/internal/atomicfile"
	"github.com/callbill/callbill/internal/recovery"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/ledger"
)

// Store is what the worker needs of the store (sqlstore.Store).
type Store interface {
	export.Source
	jobs.Store
	ClaimJob(ctx context.Context, kind, node string, lease time.Duration) (*callbill.Job, error)
	ExtendLease(ctx context.Context, id int64, node string, lease time.Duration) error
	FinishJob(ctx context.Context, id int64, node, result string) error
	FailJob(ctx context.Context, id int64, node, reason string) error
	closing.Store
	Location(ctx context.Context) (*time.Location, error)
	ledger.Store // sweeps and renewals
	ExpiredJobs(ctx context.Context, kind string, before time.Time) ([]*callbill.Job, error)
	ExpireJob(ctx context.Context, id int64) error
	authz.Store // expired reservations
}

// removeStaleTemps deletes the temporary files of exports whose node died
// midway (atomicfile.TempGlob): older than two leases, no live
// node is still writing them.
func (n *Node) removeStaleTemps() {
	root, err := os.OpenRoot(n.ExportDir)
	if err != nil {
		return
	}
	defer root.Close()
	names, _ := filepath.Glob(filepath.Join(n.ExportDir, atomicfile.TempGlob))
	for _, name := range names {
		if st, err := os.Stat(name); err == nil && time.Since(st.ModTime()) > 2*n.Lease {
			root.Remove(filepath.Base(name))
		}
	}
}

// expireRejectsFiles deletes the rejects files of API imports older than
// Retention.Rejects() days, and as old temporary ones (atomicfile.TempGlob):
// an import writes its rejects file as it goes, so a node that died midway
// leaves one, and no import runs that long.
func (n *Node) expireRejectsFiles(ctx context.Context) {
	root, err := os.OpenRoot(n.ExportDir)
	if err != nil {
		return
	}
	defer root.Close()
	names, _ := filepath.Glob(filepath.Join(n.ExportDir, cdr.StoredRejectsDir, "*.csv"))
	temps, _ := filepath.Glob(filepath.Join(n.ExportDir, cdr.StoredRejectsDir, atomicfile.TempGlob))
	names = append(names, temps...)
	before := n.Now().AddDate(0, 0, -n.Retention.Rejects())
	for _, name := range names {
		if st, err := os.Stat(name); err == nil && st.ModTime().Before(before) {
			rel := cdr.StoredRejectsDir + "/" + filepath.Base(name)
			if err := root.Remove(rel); err != nil && !os.IsNotExist(err) {
				n.Log.Error("delete expired rejects file", "file", rel, "err", err)
			}
		}
	}
}

// expireExports deletes the files of exports older than Retention.Exports() days and
// marks them expired; the records stay. The file goes first: a crash in
// between leaves a record whose download says the file is gone, and the
// next sweep marks it.
func (n *Node) expireExports(ctx context.Context) {
	jobs, err := n.Store.ExpiredJobs(ctx, callbill.JobExport, n.Now().AddDate(0, 0, -n.Retention.Exports()))
	if err != nil {
		if ctx.Err() == nil {
			n.Log.Error("list expired exports", "err", err)
		}
		return
	}
	if len(jobs) == 0 {
		return
	}
	root, err := os.OpenRoot(n.ExportDir)
	if err != nil {
		n.Log.Error("export folder", "err", err)
		return
	}
	defer root.Close()
	for _, j := range jobs {
		var res struct{ Path string }
		json.Unmarshal([]byte(j.Result), &res)
		if res.Path != "" {
			if err := root.Remove(filepath.Base(res.Path)); err != nil && !os.IsNotExist(err) {
				n.Log.Error("delete expired export", "job", j.ID, "err", err)
				continue
			}
		}
		if err := n.Store.ExpireJob(ctx, j.ID); err != nil {
			n.Log.Error("expire export", "job", j.ID, "err", err)
		}
	}
}

// Node runs jobs.
type Node struct {
	Store     Store
	Name      string // this node's name in job records
	ExportDir string // where export files go
	// Retention is how long export and rejects files are kept
	// (serve.export_keep_days, serve.rejects_keep_days).
	Retention callbill.Retention
	Lease     time.Duration // how long a claim holds without renewal
	Poll      time.Duration // how often to look for work
	Log       *slog.Logger
	Now       func() time.Time
	// NoAutoClose leaves closing to the operator.
	NoAutoClose bool
	// CloseGrace is how long an automatic close that is already due when
	// this node first finds it closable (a catch-up: the node was not
	// running at 12:00 on the 2nd, or the accounts came later) waits
	// before it runs, so that an operator told of it can stop the node
	// before money moves. A close the node saw coming runs at its time.
	CloseGrace time.Duration
	// OnAutoClose, when set, is told the next automatic close each time it
	// changes (the first time included).
	OnAutoClose func(AutoCloseNotice)
	// OnJob, when set, is told each job's kind and outcome (done, failed).
	OnJob func(kind, outcome string)
	// OnClose, when set, is told each automatic close's outcome
	// (closing.CloseOutcomes) and how long it took.
	OnClose func(outcome string, took time.Duration)
	// Slow, for crash tests, pauses an export this long every 10,000 rows.
	Slow time.Duration
	// Budgets, when set, runs the budgets' periodic pass every
	// budget.PassEvery (budget.Watcher): what an evaluation at import time
	// missed — it failed, or the importing process died — is fired then.
	Budgets interface {
		Pass(ctx context.Context) error
	}

	planned AutoCloseNotice // the automatic close as last planned
}

// AutoCloseNotice is the next automatic close as this node plans it.
type AutoCloseNotice struct {
	closing.AutoClose
	// CloseAt is when this node queues it: Plan.At, or for a catch-up
	// CloseGrace after the node found it due; zero when it cannot close
	// (there are no accounts).
	CloseAt time.Time
	CatchUp bool // it was due already when this node found it closable
}

// Run works until ctx ends.
func (n *Node) Run(ctx context.Context) {
	if n.Lease == 0 {
		n.Lease = time.Minute
	}
	if n.Poll == 0 {
		n.Poll = 500 * time.Millisecond
	}
	if n.Now == nil {
		n.Now = time.Now
	}
	t := time.NewTicker(n.Poll)
	defer t.Stop()
	var lastSweep, lastBudgets time.Time
	money := &ledger.Service{Store: n.Store}
	for {
		n.step(ctx, "schedule the automatic close", n.scheduleClose)
		if n.Budgets != nil && time.Since(lastBudgets) >= budget.PassEvery {
			lastBudgets = time.Now()
			// Failures are logged and counted by the pass itself.
			n.step(ctx, "evaluate budgets", func(ctx context.Context) { n.Budgets.Pass(ctx) })
		}
		// Time alone moves accounts (a grace period ending) and numbers (rent
		// running out): record those transitions, renew what is set to.
		if time.Since(lastSweep) >= 30*time.Second {
			lastSweep = time.Now()
			n.step(ctx, "sweep account states", func(ctx context.Context) {
				if err := money.Sweep(ctx); err != nil && ctx.Err() == nil {
					n.Log.Error("sweep account states", "err", err)
				}
			})
			n.step(ctx, "expire exports", n.expireExports)
			n.step(ctx, "expire rejects files", n.expireRejectsFiles)
			n.step(ctx, "delete expired reservations", func(ctx context.Context) {
				// They hold nothing from their expiry on; this keeps the table small.
				if _, err := (&authz.Service{Store: n.Store}).Sweep(ctx); err != nil && ctx.Err() == nil {
					n.Log.Error("delete expired reservations", "err", err)
				}
			})
			n.step(ctx, "renew numbers", func(ctx context.Context) {
				if k, err := money.RenewDue(ctx); err != nil && ctx.Err() == nil {
					n.Log.Error("renew numbers", "err", err)
				} else if k > 0 {
					n.Log.Info("renewed number rent", "numbers", k)
				}
			})
		}
		for n.next(ctx, callbill.JobClose) || n.next(ctx, callbill.JobExport) {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step runs one step of the loop. A panic in it is logged with its stack
// and the loop goes on; it reports whether the step ran through. The
// step's context ends with it, so that a transaction a panic left open is
// rolled back then instead of holding the database's write lock.
func (n *Node) step(ctx context.Context, what string, fn func(ctx context.Context)) bool {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return !recovery.Do(n.Log, "background step panicked", func() { fn(ctx) }, "step", what)
}

// next runs the next job of kind, if any; it reports whether there may be
// more. A job that panics is failed by runOne; a panic around it (claiming,
// recording) ends this round, and the next poll tries again.
func (n *Node) next(ctx context.Context, kind string) bool {
	found := false
	n.step(ctx, "run a "+kind+" job", func(ctx context.Context) { found = n.runOne(ctx, kind) })
	return found
}

// errPanic is the failure of a job that panicked: its record says only
// "internal error", the log has the stack.
var errPanic = callbill.Errorf(callbill.EINTERNAL, "internal error")

// runSafely runs a claimed job; a panic fails the job instead of the node.
// The job has its own context, ended before the outcome is recorded: a
// transaction the panic left open is rolled back first.
func (n *Node) runSafely(ctx context.Context, job *callbill.Job, log *slog.Logger) (result string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			recovery.Log(log, "job panicked", p)
			result, err = "", errPanic
		}
	}()
	return n.run(ctx, job)
}

// CloseRetry is how long after a failed automatic close it is tried again,
// for as long as the cycle stays open and due.
const CloseRetry = 10 * time.Minute

// scheduleClose queues the automatic close once this node's time for it
// has come (closeAt). The job key makes every node's request the same job.
func (n *Node) scheduleClose(ctx context.Context) {
	if n.NoAutoClose {
		return
	}
	p, err := (&closing.Service{Store: n.Store}).NextAutoClose(ctx)
	if err != nil {
		n.Log.Error("plan the automatic close", "err", err)
		return
	}
	now := n.Now()
	at := n.closeAt(p, now)
	if at.IsZero() || now.Before(at) {
		return
	}
	c := p.Cycle
	if _, _, err := (jobs.Service{Store: n.Store}).Enqueue(ctx, autoCloseJob(c)); err != nil {
		n.Log.Error("queue automatic close", "cycle", c.String(), "err", err)
	}
}

// autoCloseJob is the automatic close of c as a job: one key for every
// node, tried again CloseRetry after a failed attempt.
func autoCloseJob(c callbill.Cycle) callbill.JobRequest {
	return callbill.JobRequest{Kind: callbill.JobClose, Key: "close:" + c.String(), Params: fmt.Sprintf(`{"cycle":%q}`, c.String()),
		RetryFailedAfter: CloseRetry}
}

// closeAt is when this node queues the close p plans: at p.At when the
// node saw it coming, else CloseGrace after the node first found it due
// and closable; zero while there are no accounts. A change of plan is
// logged and told to OnAutoClose.
func (n *Node) closeAt(p *closing.AutoClose, now time.Time) time.Time {
	prev := n.planned
	closable := p.Accounts > 0
	if prev.Cycle == p.Cycle && prev.From == p.From && !prev.CloseAt.IsZero() == closable && prev.Loc != nil {
		return prev.CloseAt
	}
	next := AutoCloseNotice{AutoClose: *p}
	if closable {
		switch {
		case prev.Cycle == p.Cycle && !prev.CloseAt.IsZero(): // the same close (From moved): its time stands
			next.CloseAt, next.CatchUp = prev.CloseAt, prev.CatchUp
		case now.Before(p.At):
			next.CloseAt = p.At
		default:
			next.CloseAt, next.CatchUp = now.Add(n.CloseGrace), true
		}
	}
	n.planned = next
	n.Log.Info("automatic close", "cycle", p.Cycle.String(), "from", p.From.String(), "due", p.At, "close_at", next.CloseAt,
		"catch_up", next.CatchUp, "accounts", p.Accounts)
	if n.OnAutoClose != nil {
		n.OnAutoClose(next)
	}
	return next.CloseAt
}

// runOne claims and runs one job of kind; it reports whether it found one.
func (n *Node) runOne(ctx context.Context, kind string) bool {
	job, err := n.Store.ClaimJob(ctx, kind, n.Name, n.Lease)
	if err != nil {
		if ctx.Err() == nil {
			n.Log.Error("claim job", "kind", kind, "err", err)
		}
		return false
	}
	if job == nil {
		return false
	}
	log := n.Log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempts)
	result, err := n.runSafely(ctx, job, log)
	if n.OnJob != nil {
		outcome := callbill.JobDone
		if err != nil {
			outcome = callbill.JobFailed
		}
		n.OnJob(job.Kind, string(outcome))
	}
	if err != nil {
		log.Error("job failed", "err", err)
		if ferr := n.Store.FailJob(ctx, job.ID, n.Name, callbill.ErrorMessage(err)); ferr != nil {
			log.Error("record failure", "err", ferr)
		}
		return true
	}
	if err := n.Store.FinishJob(ctx, job.ID, n.Name, result); err != nil {
		log.Error("record result", "err", err)
		return true
	}
	log.Info("job done", "result", result)
	return true
}

func (n *Node) run(ctx context.Context, job *callbill.Job) (string, error) {
	switch job.Kind {
	case callbill.JobClose:
		var p struct{ Cycle string }
		if err := json.Unmarshal([]byte(job.Params), &p); err != nil {
			return "", err
		}
		c, err := callbill.ParseCycle(p.Cycle)
		if err != nil {
			return "", err
		}
		if _, err := (&closing.Service{Store: n.Store, Observe: n.OnClose}).Close(ctx, closing.CloseInput{Cycle: c}); err != nil {
			return "", err
		}
		return fmt.Sprintf(`{"closed":%q}`, c.String()), nil
	case callbill.JobExport:
		var p callbill.ExportParams
		if err := json.Unmarshal([]byte(job.Params), &p); err != nil {
			return "", err
		}
		f, err := p.Filter()
		if err != nil {
			return "", err
		}
		// Usage detail is the tenants' private data: the folder is the
		// service's own (the files are 0600, export.Write).
		if err := os.MkdirAll(n.ExportDir, 0o700); err != nil {
			return "", err
		}
		// The file is named by the job, so a retry overwrites a half-done
		// attempt's file instead of leaving a second one.
		ext := ".csv"
		if p.Format == "xlsx" {
			ext = ".xlsx"
		}
		n.removeStaleTemps()
		path := filepath.Join(n.ExportDir, "usage-"+strconv.FormatInt(job.ID, 10)+ext)
		// A long export renews its lease as it goes, so that no other node
		// takes it over while this one is alive.
		renewed := n.Now()
		progress := func(rows int64) {
			if n.Slow > 0 {
				time.Sleep(n.Slow)
			}
			if n.Now().Sub(renewed) > n.Lease/3 {
				renewed = n.Now()
				if err := n.Store.ExtendLease(ctx, job.ID, n.Name, n.Lease); err != nil {
					n.Log.Error("renew export lease", "job", job.ID, "err", err)
				}
			}
		}
		res, err := export.Write(ctx, n.Store, p.Account, f, path, export.Options{Format: export.Format(p.Format), Extra: p.Extra, Progress: progress})
		if err != nil {
			return "", err
		}
		b, _ := json.Marshal(res)
		return string(b), nil
	}
	return "", callbill.Errorf(callbill.EINVALID, "unknown job kind %q", job.Kind)
}
