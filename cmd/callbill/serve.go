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
	"syscall"
	"time"

	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/bss"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/recovery"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/webhook"
	"github.com/callbill/callbill/worker"
)

// serve runs the HTTP API and this node's background jobs until interrupted.
// Several serve processes may share one PostgreSQL database.
func (a *app) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	exports := fs.String("exports", "exports", "folder for export files (shared by the nodes of one database)")
	node := fs.String("node", "", "this node's name in job records (default host-pid)")
	autoClose := fs.Bool("auto-close", true, "close the previous cycle at 12:00 on the 2nd (billing time zone)")
	lease := fs.Duration("job-lease", time.Minute, "how long a node holds a job without renewing it; a dead node's jobs are taken over after it")
	trusted := fs.String("trusted-proxies", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client (console sign-in throttling)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments")
	}
	proxies, err := console.ParseTrustedProxies(*trusted)
	if err != nil {
		return usagef("serve: --trusted-proxies: %v", err)
	}
	if *node == "" {
		host, _ := os.Hostname()
		*node = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	log := slog.New(slog.NewTextHandler(a.stderr, nil)).With("node", *node)
	key := os.Getenv("CALLBILL_OPERATOR_KEY")
	if key == "" {
		key = api.NewOperatorKey()
		fmt.Fprintf(a.stdout, "operator key (set CALLBILL_OPERATOR_KEY to choose one): %s\n", key)
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	// Export files are the tenants' usage detail: the folder is the
	// service's own.
	if err := os.MkdirAll(*exports, 0o700); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	metrics := api.NewMetrics()
	auth := &worker.Authorizer{Store: s, Log: log}
	if err := auth.Refresh(ctx); err != nil {
		return err
	}
	// The call platform posts CDRs as calls end, a hundred at a time from
	// many senders: one group rates them on a warm rater and commits those
	// that wait together.
	imports := (&ingest.Service{Store: s}).NewGroup(0)
	defer imports.Close()
	apiHandler := (&api.Server{Importer: imports, Store: s, Money: s, Rest: s, Keys: s, Webhooks: s, Invoices: &invoice.Service{Store: s}, Contracts: &contract.Service{Store: s}, Authorize: auth.Authorize, OperatorKey: key,
		ExportDir: *exports, Log: log, Metrics: metrics, Changes: auth.Version, CallsVersion: s.CallsVersion}).Handler()
	cons := &console.Server{Store: s, OperatorKey: key, ExportDir: *exports, Log: log, TrustedProxies: proxies}
	bssHandler := &bss.Handler{Store: s, Now: time.Now, Log: log}
	srv := &http.Server{
		Handler:           routes(log, apiHandler, cons.Handler(), bssHandler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	slow, _ := time.ParseDuration(os.Getenv("CALLBILL_FAULT_EXPORT_SLOW"))
	w := &worker.Node{Store: s, Name: *node, ExportDir: *exports, Log: log, NoAutoClose: !*autoClose, Lease: *lease, Slow: slow,
		OnJob: func(kind, outcome string) { metrics.Jobs.WithLabelValues(kind, outcome).Inc() }}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	go auth.Run(ctx)
	hooks := &webhook.Deliverer{Store: s, Node: *node, Log: log}
	hooksDone := make(chan struct{})
	go func() { hooks.Run(ctx); close(hooksDone) }()
	fmt.Fprintf(a.stdout, "callbill serving on http://%s (node %s)\n", ln.Addr(), *node)
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
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	<-done
	<-hooksDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
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
