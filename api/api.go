// Package api is callbill's REST interface under /api/v1: JSON, errors as
// RFC 7807 problem details, described by the OpenAPI document it serves.
// The operator authenticates with the operator key; a tenant with an
// AccessKey pair and sees only its own account.
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/config"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/provision"
)

// Store is what the API needs of the store (sqlstore.Store).
type Store interface {
	ingest.Store
	ingest.ImportStore
	closing.Store
	jobs.Store
	Job(ctx context.Context, id int64) (*callbill.Job, error)
	AccountExists(ctx context.Context, uid string) error
}

// Importer imports CDRs (ingest.Service, ingest.Group).
type Importer interface {
	Import(ctx context.Context, in ingest.Input) (*callbill.ImportReport, error)
}

// Server serves the API.
type Server struct {
	Store       Store
	Money       MoneyStore
	Rest        RestStore
	Keys        KeyStore
	Webhooks    WebhookStore
	Invoices    *invoice.Service   // nil: no invoice or contract routes
	Contracts   *contract.Service  // with Invoices, whose Location its routes use
	Budgets     *budget.Service    // nil: no budget routes
	Ledger      *ledger.Service    // nil: on Money, else on Rest
	Provision   *provision.Service // nil: on Rest
	Authorize   func(instance, number string, dir callbill.Direction) callbill.Decision
	OperatorKey string
	ExportDir   string
	// Limits bound request bodies (serve.limits); a zero one takes its
	// default (config.DefaultBodyLimits).
	Limits config.BodyLimits
	// Retention is how long export and rejects files are kept (their
	// expiry shown, a missing rejects file explained).
	Retention callbill.Retention
	// CJKFont is the font file of contract PDFs; "" the embedded one.
	CJKFont string
	Log     *slog.Logger
	Metrics *Metrics
	// Changes, when set, returns the store's change counter (serve gives the
	// authorizer's, refreshed every 250 ms); closed bills are served from
	// memory while it stays the same.
	Changes func(ctx context.Context) (string, error)
	// CallsVersion, when set, says when an account's calls billed in a
	// cycle last changed (an import added some): with Changes, it lets an
	// open cycle's live bill be served from memory until then.
	CallsVersion func(ctx context.Context, uid string, c callbill.Cycle) (string, error)
	// Ready, when set, says whether the node can serve: /readyz answers 503
	// while it returns an error (the store unreachable, its schema not this
	// release's). /healthz only says the process is alive.
	Ready func(ctx context.Context) error
	// Importer imports the CDRs posted to /api/v1/imports; nil: an
	// ingest.Service on Store. A server gives an ingest.Group, which commits
	// the call platform's small concurrent posts together.
	Importer Importer
	// Reservations, when set, takes and releases the reservations of
	// started calls (docs/authorization.md).
	Reservations *authz.Service

	routes []Route
	cache  bodyCache
	frames closing.Frames
}

// Scope says who may call a route.
type Scope string

const (
	ScopePublic   Scope = "public"   // anyone
	ScopeOperator Scope = "operator" // the operator key only
	ScopeAccount  Scope = "account"  // the operator, or a tenant key of the route's {uid}
	ScopeTenant   Scope = "tenant"   // the operator or any tenant; the handler scopes what it shows
)

// Route is one registered route.
type Route struct {
	Method  string
	Pattern string
	Scope   Scope
}

// Routes lists the registered routes (after Handler).
func (s *Server) Routes() []Route { return s.routes }

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	if s.Importer == nil {
		s.Importer = &ingest.Service{Store: s.Store}
	}
	mux := http.NewServeMux()
	s.routes = nil
	s.handle(mux, "GET", "/healthz", ScopePublic, func(w http.ResponseWriter, r *http.Request) error {
		_, err := w.Write([]byte("ok\n"))
		return err
	})
	s.handle(mux, "GET", "/readyz", ScopePublic, func(w http.ResponseWriter, r *http.Request) error {
		if s.Ready != nil {
			if err := s.Ready(r.Context()); err != nil {
				// The reason goes to the log: the route is public.
				s.Log.Warn("not ready", "err", err)
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return nil
			}
		}
		_, err := w.Write([]byte("ok\n"))
		return err
	})
	s.handle(mux, "GET", "/api/v1/openapi.json", ScopePublic, s.openAPI)
	s.handle(mux, "POST", "/api/v1/imports", ScopeOperator, s.importCDRs)
	s.handle(mux, "GET", "/api/v1/imports/rejects/{id}", ScopeOperator, s.importRejects)
	s.handle(mux, "GET", "/api/v1/imports", ScopeOperator, s.listImports)
	s.handle(mux, "POST", "/api/v1/imports/{id}/undo", ScopeOperator, s.undoImport)
	s.handle(mux, "POST", "/api/v1/cycles/{cycle}/close", ScopeOperator, s.closeCycle)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/bills/{cycle}", ScopeAccount, s.bill)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/bills/{cycle}/overview", ScopeAccount, s.billOverview)
	s.handle(mux, "POST", "/api/v1/exports", ScopeTenant, s.createExport)
	s.handle(mux, "GET", "/api/v1/exports", ScopeTenant, s.listExports)
	s.handle(mux, "GET", "/api/v1/exports/{id}", ScopeTenant, s.exportJob)
	s.handle(mux, "GET", "/api/v1/exports/{id}/file", ScopeTenant, s.exportFile)
	if s.Money != nil {
		if s.Ledger == nil {
			s.Ledger = &ledger.Service{Store: s.Money}
		}
		s.moneyRoutes(mux)
	}
	if s.Rest != nil {
		if s.Ledger == nil {
			s.Ledger = &ledger.Service{Store: s.Rest}
		}
		if s.Provision == nil {
			s.Provision = &provision.Service{Store: s.Rest}
		}
		s.restRoutes(mux)
	}
	if s.Webhooks != nil {
		s.webhookRoutes(mux, s.Webhooks)
	}
	if s.Reservations != nil {
		s.reservationRoutes(mux)
	}
	if s.Invoices != nil {
		s.invoiceRoutes(mux)
		if s.Contracts != nil {
			s.contractRoutes(mux)
		}
	}
	if s.Budgets != nil {
		s.budgetRoutes(mux)
	}
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics.Handler())
		s.routes = append(s.routes, Route{"GET", "/metrics", ScopePublic})
	}
	// Every route recovers its own panics (guard), inside the metrics, so
	// that they count the 500; this catches the rest (the metrics route).
	if s.Metrics == nil {
		return s.recoverPanics(mux)
	}
	return s.recoverPanics(s.Metrics.Instrument(mux))
}

func (s *Server) closeCycle(w http.ResponseWriter, r *http.Request) error {
	c, err := callbill.ParseCycle(r.PathValue("cycle"))
	if err != nil {
		return err
	}
	rep, err := (&closing.Service{Store: s.Store, Observe: s.Metrics.ObserveClose}).Close(r.Context(), closing.CloseInput{Cycle: c})
	if err != nil {
		return err
	}
	closed := []string{}
	for _, cy := range rep.Closed {
		closed = append(closed, cy.String())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"closed": closed, "already_closed": rep.AlreadyClosed})
}

// bill shows a bill's details: by billing item or instance, by cycle or day,
// filtered by product detail and instance.
func (s *Server) bill(w http.ResponseWriter, r *http.Request) error {
	// A closed bill changes only when money moves or the world changes, and
	// the store's change counter says when: serve it from memory till then.
	// An open cycle's live bill changes also when calls come in, which the
	// account's calls version says.
	var version, openVersion string
	key := r.URL.Path + "?" + r.URL.RawQuery
	if s.Changes != nil {
		v, err := s.Changes(r.Context())
		if err != nil {
			return err
		}
		version = v
		if body, ok := s.cache.get(key, version); ok {
			return writeBody(w, body)
		}
		if c, err := callbill.ParseCycle(r.PathValue("cycle")); err == nil && s.CallsVersion != nil {
			cv, err := s.CallsVersion(r.Context(), r.PathValue("uid"), c)
			if err != nil {
				return err
			}
			openVersion = version + "/" + cv
			if body, ok := s.cache.get(key, openVersion); ok {
				return writeBody(w, body)
			}
		}
	}
	b, v, err := s.loadBill(r, version)
	if err != nil {
		return err
	}
	body, err := marshalJSON(b.JSON(v))
	if err != nil {
		return err
	}
	switch {
	case version != "" && b.Status == callbill.BillStatusClosed:
		s.cache.put(key, version, body)
	case openVersion != "":
		s.cache.put(key, openVersion, body)
	}
	return writeBody(w, body)
}

func writeBody(w http.ResponseWriter, body []byte) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := w.Write(body)
	return err
}

// loadBill reads the bill the request names; version, when set, is the
// store's change counter the caller read (closing.BillInput.Version).
func (s *Server) loadBill(r *http.Request, version string) (*callbill.Bill, callbill.View, error) {
	c, err := callbill.ParseCycle(r.PathValue("cycle"))
	if err != nil {
		return nil, callbill.View{}, err
	}
	q := r.URL.Query()
	v := callbill.View{ByInstance: q.Get("by") == "instance", Daily: q.Get("period") == "day"}
	if by := q.Get("by"); by != "" && by != "item" && by != "instance" {
		return nil, v, callbill.Errorf(callbill.EINVALID, "by must be item or instance")
	}
	if p := q.Get("period"); p != "" && p != "cycle" && p != "day" {
		return nil, v, callbill.Errorf(callbill.EINVALID, "period must be cycle or day")
	}
	b, err := (&closing.Service{Store: s.Store, Frames: &s.frames}).Bill(r.Context(),
		closing.BillInput{Account: r.PathValue("uid"), Cycle: c, Daily: v.Daily, Version: version})
	if err != nil {
		return nil, v, err
	}
	if pd, inst := q.Get("product_detail"), q.Get("instance"); pd != "" || inst != "" {
		b = b.Filter(callbill.ProductDetail(pd), inst)
	}
	return b, v, nil
}

// billOverview sums a bill by product detail and subscription type (账单概览).
func (s *Server) billOverview(w http.ResponseWriter, r *http.Request) error {
	b, _, err := s.loadBill(r, "")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b.Overview())
}

// jsonBody is the request's body, bounded for JSON.
func (s *Server) jsonBody(w http.ResponseWriter, r *http.Request) io.Reader {
	return http.MaxBytesReader(w, r.Body, s.Limits.OrDefault().JSON)
}
