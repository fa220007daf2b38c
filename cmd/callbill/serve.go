package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/bss"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/config"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/recovery"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/webhook"
	"github.com/callbill/callbill/worker"
)

// serve runs the HTTP API and this node's background jobs until interrupted.
// Several serve processes may share one PostgreSQL database.
// Each flag overrides its setting in the configuration (serve.addr, …);
// the defaults shown are the built-in ones.
func (a *app) serve(fs *flag.FlagSet) runner {
	d := config.Defaults().Serve
	fs.String("addr", d.Addr.Value, "listen on `HOST:PORT`")
	fs.String("exports", d.Exports.Value, "the `DIR` of export files (shared by the nodes of one database)")
	fs.String("node", d.Node.Value, "this node's `NAME` in job records (default host-pid)")
	fs.Bool("auto-close", d.AutoClose.Value, "close the previous cycle at 12:00 on the 2nd (billing time zone); =false leaves closing to you")
	fs.Duration("auto-close-grace", d.AutoCloseGrace.Value, "how long (`DURATION`) a close already due when found (a catch-up) waits, so that you can stop the server first")
	fs.Duration("job-lease", d.JobLease.Value, "how long (`DURATION`) a node holds a job without renewing it; a dead node's jobs are taken over after it")
	fs.String("trusted-proxies", "", "a comma `LIST` of IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client (console sign-in throttling)")
	fs.Int64("authorize-cap", 0, "the longest call, in `SECONDS`, that call authorization grants (max_seconds); 0, or more than the world's billing.max_call_seconds, means that")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("serve takes no arguments")
		}
		if err := a.applyFlags(fs); err != nil {
			return err
		}
		return a.runServe(ctx)
	}
}

// serveGCPercent is a serving node's GOGC: the heap may grow to five times
// what is live between collections.
const serveGCPercent = 400

func (a *app) runServe(ctx context.Context) error {
	o := &a.cfg.Serve
	node := o.Node.Value
	if node == "" {
		host, _ := os.Hostname()
		node = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	log := slog.New(slog.NewTextHandler(a.stderr, nil)).With("node", node)
	// A node's live heap is small (tens of MB: the authorization snapshot
	// and the bill cache) and every request allocates, so Go's default GC
	// ran a cycle every few hundred requests; at 400 it runs a fifth as
	// often, for ~15 % more requests per core (docs/benchmarks.md, "Ingest
	// at the limit (issue 13)"). The operator's GOGC wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	// Read once: a key file changed later takes effect at the next start.
	key, err := a.cfg.ReadOperatorKey()
	if err != nil {
		return err
	}
	if key == "" {
		key = api.NewOperatorKey()
		fmt.Fprintf(a.stdout, "operator key (set operator_key_file in the configuration, or $CALLBILL_OPERATOR_KEY, to choose one): %s\n", key)
	}
	s, err := a.open(ctx, sqlstore.Create)
	if err != nil {
		return err
	}
	defer s.Close()
	if s.Created() {
		fmt.Fprintf(a.stderr, "created a new, empty database at %s: apply a world file (callbill apply -f FILE, or POST /api/v1/world) to add accounts\n", s.Where())
	}
	// Export files are the tenants' usage detail: the folder is the
	// service's own.
	exports := o.Exports.Value
	if err := os.MkdirAll(exports, 0o700); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr.Value)
	if err != nil {
		return err
	}
	metrics := api.NewMetrics()
	metrics.WatchBacklog(s, log)
	reservations := &authz.Service{Store: s, Cap: o.AuthorizeCap.Value, Node: node}
	auth := &worker.Authorizer{Live: &authz.Live{Service: reservations}, Log: log}
	if err := auth.Refresh(ctx); err != nil {
		return err
	}
	// The call platform posts CDRs as calls end, a hundred at a time from
	// many senders: one group rates them on a warm rater and commits those
	// that wait together.
	// Budgets are evaluated after each commit by the watcher's goroutine,
	// and by the worker's periodic pass (docs/budgets.md).
	budgets := budgetService(s, log)
	watch := budget.NewWatcher(budgets, log)
	watch.OnFired = func(n int) { metrics.BudgetAlerts.Add(float64(n)) }
	watch.OnFailure = metrics.BudgetFailures.Inc
	imports := (&ingest.Service{Store: s, Committed: watch.Committed}).NewGroup(0)
	defer imports.Close()
	apiHandler := (&api.Server{Importer: imports, Store: s, Money: s, Rest: s, Keys: s, Webhooks: s, Invoices: &invoice.Service{Store: s}, Contracts: &contract.Service{Store: s}, Budgets: budgets,
		Authorize: auth.Authorize, Reservations: reservations, OperatorKey: key,
		ExportDir: exports, Limits: o.BodyLimits(), Retention: o.Retention(), CJKFont: a.cfg.CJKFont.Value,
		Log: log, Metrics: metrics, Changes: auth.Version, CallsVersion: s.CallsVersion, Ready: s.Ready}).Handler()
	cons := &console.Server{Store: s, OperatorKey: key, ExportDir: exports, Log: log, TrustedProxies: o.TrustedProxies.Value,
		Retention: o.Retention(), CJKFont: a.cfg.CJKFont.Value}
	bssHandler := &bss.Handler{Store: s, Now: time.Now, Log: log}
	srv := &http.Server{
		Handler:           routes(log, apiHandler, cons.Handler(), bssHandler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	slow, _ := time.ParseDuration(os.Getenv("CALLBILL_FAULT_EXPORT_SLOW"))
	w := &worker.Node{Store: s, Name: node, ExportDir: exports, Retention: o.Retention(), Log: log, NoAutoClose: !o.AutoClose.Value,
		Lease: o.JobLease.Value, Slow: slow, CloseGrace: o.AutoCloseGrace.Value, OnAutoClose: a.announceAutoClose, Budgets: watch,
		OnJob: metrics.ObserveJob, OnClose: metrics.ObserveClose}
	if !o.AutoClose.Value {
		why := "--auto-close=false"
		if from := o.AutoClose.From; from.Kind != config.Flag {
			why = "serve.auto_close: false, " + from.String()
		}
		fmt.Fprintf(a.stderr, "automatic close: off (%s); close cycles with 'callbill bill close YYYY-MM'\n", why)
	}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	go auth.Run(ctx)
	watchDone := make(chan struct{})
	go func() { watch.Run(ctx); close(watchDone) }()
	hooks := &webhook.Deliverer{Store: s, Node: node, Log: log, OnAttempt: metrics.ObserveWebhookAttempt}
	hooksDone := make(chan struct{})
	go func() { hooks.Run(ctx); close(hooksDone) }()
	fmt.Fprintf(a.stdout, "callbill serving on http://%s (node %s)\n", ln.Addr(), node)
	if f, ok := a.stdout.(*os.File); ok {
		f.Sync()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stop()
		<-done
		<-hooksDone
		<-watchDone
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	<-done
	<-hooksDone
	// The posts already queued are written, and their budgets evaluated
	// (what this misses, the next node's pass catches).
	imports.Close()
	<-watchDone
	watch.Flush(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// announceAutoClose says on stderr what the automatic close will do next,
// each time that changes: money moves at a close, and a catch-up waits its
// grace so that an operator reading this can stop the server first.
func (a *app) announceAutoClose(n worker.AutoCloseNotice) {
	const layout = "2006-01-02 15:04:05 -07:00"
	cycles := cycleList(n.Cycles())
	verb := "closes"
	if n.From != n.Cycle {
		verb = "close"
	}
	switch {
	case n.CloseAt.IsZero():
		fmt.Fprintf(a.stderr, "automatic close: there are no accounts yet, so nothing closes; once there are, %s %s (due %s)\n",
			cycles, verb, n.At.Format(layout))
	case n.CatchUp:
		fmt.Fprintf(a.stderr, "automatic close: %s %s due since %s (12:00 on the 2nd, %s); this server closes %s at %s, in %s, "+
			"and deducts the bills from the accounts' cash. To close by hand instead, stop it now (Ctrl-C) and restart it with --auto-close=false.\n",
			cycles, map[bool]string{true: "is", false: "are"}[n.From == n.Cycle], n.At.Format(layout), n.Loc, map[bool]string{true: "it", false: "them"}[n.From == n.Cycle],
			n.CloseAt.In(n.Loc).Format(layout), time.Until(n.CloseAt).Round(time.Second))
	default:
		fmt.Fprintf(a.stderr, "automatic close: %s %s at %s (12:00 on the 2nd, %s)\n", cycles, verb, n.CloseAt.In(n.Loc).Format(layout), n.Loc)
	}
}

// routes is the node's HTTP handler: the REST API under /api/ (and
// /healthz, /metrics); the web console under /console/, where a browser
// opening "/" is sent; Alibaba's BSS OpenAPI (signed with tenant
// AccessKeys) at "/", where its SDKs send requests. The API and the
// console answer their own panics in their own formats; whatever panics
// outside them (the BSS endpoint) answers 500 here, and the node keeps
// serving.
func routes(log *slog.Logger, apiHandler, consoleHandler, bssHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("/healthz", apiHandler)
	mux.Handle("/metrics", apiHandler)
	mux.Handle("/console/", consoleHandler)
	mux.Handle("/", console.RootRedirect(bssHandler))
	return recovery.Handler(log, mux, internalError)
}

// bssInternalError is the BSS endpoint's own answer to an unexpected error
// (Alibaba's InternalError), which its SDKs read.
const bssInternalError = "The request processing has failed due to some unknown error, exception or failure."

// internalError answers a request that panicked outside the API and the
// console: in the BSS endpoint's terms at "/", plainly elsewhere.
func internalError(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// The request id the endpoint has set already, as in its other answers.
	id := w.Header().Get("x-acs-request-id")
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]string{"RequestId": id, "HostId": r.Host, "Code": "InternalError", "Message": bssInternalError})
}
