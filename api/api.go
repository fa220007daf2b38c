// Package api is callbill's REST interface under /api/v1: JSON, errors as
// RFC 7807 problem details, described by the OpenAPI document it serves.
// The operator authenticates with the operator key; a tenant with an
// AccessKey pair and sees only its own account.
package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/internal/httperr"
	"github.com/callbill/callbill/internal/recovery"
	"github.com/callbill/callbill/jobs"
)

// Store is what the API needs of the store (sqlstore.Store).
type Store interface {
	Import(ctx context.Context, src callbill.CDRSource, opts callbill.ImportOptions) (*callbill.ImportReport, error)
	CloseCycle(ctx context.Context, c callbill.Cycle) (*callbill.CloseReport, error)
	Bill(ctx context.Context, uid string, c callbill.Cycle, daily bool) (*callbill.Bill, error)
	jobs.Store
	Job(ctx context.Context, id int64) (*callbill.Job, error)
	AccountExists(ctx context.Context, uid string) error
}

// Limits on request bodies.
const (
	maxImportBytes = 1 << 30
	maxJSONBytes   = 1 << 20
)

// Server serves the API.
type Server struct {
	Store       Store
	Money       MoneyStore
	Rest        RestStore
	Keys        KeyStore
	Webhooks    WebhookStore
	Invoices    InvoiceStore
	Contracts   *contract.Service // nil: on Invoices when it stores contracts
	Authorize   func(instance, number string, dir callbill.Direction) callbill.Decision
	OperatorKey string
	ExportDir   string
	Log         *slog.Logger
	Metrics     *Metrics
	// Changes, when set, returns the store's change counter (serve gives the
	// authorizer's, refreshed every 250 ms); closed bills are served from
	// memory while it stays the same.
	Changes func(ctx context.Context) (string, error)

	routes []Route
	cache  billCache
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
	mux := http.NewServeMux()
	s.routes = nil
	s.handle(mux, "GET", "/healthz", ScopePublic, func(w http.ResponseWriter, r *http.Request) error {
		_, err := w.Write([]byte("ok\n"))
		return err
	})
	s.handle(mux, "GET", "/api/v1/openapi.json", ScopePublic, s.openAPI)
	s.handle(mux, "POST", "/api/v1/imports", ScopeOperator, s.importCDRs)
	s.handle(mux, "GET", "/api/v1/imports/rejects/{id}", ScopeOperator, s.importRejects)
	s.handle(mux, "POST", "/api/v1/cycles/{cycle}/close", ScopeOperator, s.closeCycle)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/bills/{cycle}", ScopeAccount, s.bill)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/bills/{cycle}/overview", ScopeAccount, s.billOverview)
	s.handle(mux, "POST", "/api/v1/exports", ScopeTenant, s.createExport)
	s.handle(mux, "GET", "/api/v1/exports", ScopeTenant, s.listExports)
	s.handle(mux, "GET", "/api/v1/exports/{id}", ScopeTenant, s.exportJob)
	s.handle(mux, "GET", "/api/v1/exports/{id}/file", ScopeTenant, s.exportFile)
	if s.Money != nil {
		s.moneyRoutes(mux)
	}
	if s.Rest != nil {
		s.restRoutes(mux)
	}
	if s.Webhooks != nil {
		s.webhookRoutes(mux, s.Webhooks)
	}
	if s.Contracts == nil {
		if cs, ok := s.Invoices.(contract.Store); ok {
			s.Contracts = &contract.Service{Store: cs}
		}
	}
	if s.Invoices != nil {
		s.invoiceRoutes(mux)
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

// errPanic is what a request that panicked fails with: its stack is in the
// log already, and the client sees only "internal error".
var errPanic = callbill.Errorf(callbill.EINTERNAL, "internal error")

// recoverPanics answers a panic of h with the usual problem (internal, 500);
// the process keeps serving.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return recovery.Handler(s.Log, h, func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errPanic) })
}

type handler func(w http.ResponseWriter, r *http.Request) error

// handle registers a route with its scope.
func (s *Server) handle(mux *http.ServeMux, method, pattern string, scope Scope, h handler) {
	s.routes = append(s.routes, Route{method, pattern, scope})
	mux.Handle(method+" "+pattern, s.guard(scope, h))
}

type principalKey struct{}

// Principal is who a request acts for.
type Principal struct {
	Operator bool
	Account  string // a tenant key's account
}

// principal returns who the request acts for.
func principal(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey{}).(Principal)
	return p
}

// canSee reports whether the request may see an account's data. A tenant
// asking for another account gets "not found", never "forbidden", so that
// it learns nothing of other tenants.
func canSee(r *http.Request, uid string) error {
	p := principal(r)
	if p.Operator || p.Account == uid {
		return nil
	}
	return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
}

// authenticate finds who the request is from: the operator key as a bearer
// token, or a tenant's AccessKey ID and secret as HTTP Basic credentials.
func (s *Server) authenticate(r *http.Request) (Principal, error) {
	if id, secret, ok := r.BasicAuth(); ok && s.Keys != nil {
		k, err := s.Keys.AccessKey(r.Context(), id)
		if err == nil && subtle.ConstantTimeCompare([]byte(secret), []byte(k.Secret)) == 1 {
			return Principal{Account: k.Account}, nil
		}
		if err != nil && callbill.ErrorCode(err) != callbill.ENOTFOUND {
			return Principal{}, err
		}
		return Principal{}, callbill.Errorf(callbill.EUNAUTHORIZED, "unknown AccessKey ID or wrong secret")
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && s.OperatorKey != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.OperatorKey)) == 1 {
		return Principal{Operator: true}, nil
	}
	return Principal{}, callbill.Errorf(callbill.EUNAUTHORIZED,
		"authentication required: a tenant AccessKey (HTTP Basic: ID and secret) or the operator key (Authorization: Bearer KEY)")
}

// guard authenticates, checks the scope and runs the handler; a panic
// becomes a 500.
func (s *Server) guard(scope Scope, h handler) http.Handler {
	return s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scope != ScopePublic {
			p, err := s.authenticate(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			switch {
			case scope == ScopeOperator && !p.Operator:
				s.fail(w, r, callbill.Errorf(callbill.ENOTFOUND, "no such resource"))
				return
			case scope == ScopeAccount:
				if err := canSee(r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), r.PathValue("uid")); err != nil {
					s.fail(w, r, err)
					return
				}
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}))
}

// fail writes an error as JSON; anything unexpected is logged and shown only
// as "internal error".
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := callbill.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = callbill.EINVALID, callbill.Errorf(callbill.EINVALID, "request body larger than %d bytes", mbe.Limit)
	}
	if code == callbill.EINTERNAL && err != errPanic {
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	// RFC 7807 problem details, with our stable code beside.
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(httperr.Status(code))
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"type": "https://callbill.dev/problems/" + code, "title": http.StatusText(httperr.Status(code)),
		"status": httperr.Status(code), "detail": callbill.ErrorMessage(err), "code": code, "instance": r.URL.Path})
}

func marshalJSON(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

type rejectJSON struct {
	Line     int    `json:"line"`
	Reason   string `json:"reason"`
	Conflict bool   `json:"conflict,omitempty"`
}

// importCDRs imports the CSV or CCC JSON body, with the CLI's rules. The
// answer lists the first callbill.MaxReportedRejects rejects; when rows were
// rejected, all of them — the original row, its line and the reason — are in
// a rejects file the operator downloads from rejects_file (kept like export
// files, callbill.ExportKeepDays). The body is spooled to disk as it is read,
// so that the rejected rows can be read again without holding any of them.
func (s *Server) importCDRs(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, maxImportBytes)
	spool, err := os.CreateTemp("", "callbill-import-*.cdr")
	if err != nil {
		return err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	dec, err := cdr.NewDecoder(io.TeeReader(body, spool))
	if err != nil {
		return err
	}
	rejects, err := cdr.NewRejectLog("")
	if err != nil {
		return err
	}
	defer rejects.Close()
	started := time.Now()
	rep, err := s.Store.Import(r.Context(), cdr.Source(dec, 0),
		callbill.ImportOptions{Strict: r.URL.Query().Get("strict") == "true", OnReject: rejects.Add})
	if err != nil {
		return err
	}
	if m := s.Metrics; m != nil {
		m.Imported.Add(float64(rep.Imported))
		m.Duplicates.Add(float64(rep.Duplicates))
		m.Rejected.Add(float64(rep.Rejected))
		m.ImportTime.Observe(time.Since(started).Seconds())
	}
	out := struct {
		Imported    int64        `json:"imported"`
		Duplicates  int64        `json:"duplicates"`
		Rejected    int64        `json:"rejected"`
		Conflicts   int64        `json:"conflicts"`
		Rejects     []rejectJSON `json:"rejects"`
		RejectsFile string       `json:"rejects_file,omitempty"`
	}{rep.Imported, rep.Duplicates, rep.Rejected, rep.Conflicts, []rejectJSON{}, ""}
	for _, rj := range rep.Rejects {
		out.Rejects = append(out.Rejects, rejectJSON{rj.Pos.Line, rj.Reason, rj.Conflict})
	}
	if rep.Rejected > 0 && s.ExportDir != "" {
		// The spool may lack a tail the decoder never read (a fatal error
		// ends the import early); WriteFile then keeps the reasons anyway.
		if err := spool.Sync(); err != nil {
			return err
		}
		id, err := newRejectsID()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(s.ExportDir, cdr.StoredRejectsDir), 0o700); err != nil {
			return err
		}
		if _, err := rejects.WriteFileAt(0, spool.Name(), filepath.Join(s.ExportDir, cdr.StoredRejectsName(id))); err != nil {
			return err
		}
		out.RejectsFile = "/api/v1/imports/rejects/" + id
	}
	return writeJSON(w, http.StatusOK, out)
}

// newRejectsID names a rejects file: 128 random bits, so that the names of
// other imports cannot be guessed.
func newRejectsID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// importRejects sends the rejects file of an API import.
func (s *Server) importRejects(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return callbill.Errorf(callbill.ENOTFOUND, "no rejects file %q", id)
	}
	root, err := os.OpenRoot(s.ExportDir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.Open(cdr.StoredRejectsName(id))
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "no rejects file %s (they are kept %d days)", id, callbill.ExportKeepDays)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="rejects-`+id+`.csv"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}

func (s *Server) closeCycle(w http.ResponseWriter, r *http.Request) error {
	c, err := callbill.ParseCycle(r.PathValue("cycle"))
	if err != nil {
		return err
	}
	rep, err := s.Store.CloseCycle(r.Context(), c)
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
	var version string
	key := r.URL.Path + "?" + r.URL.RawQuery
	if s.Changes != nil {
		v, err := s.Changes(r.Context())
		if err != nil {
			return err
		}
		version = v
		if body, ok := s.cache.get(key, version); ok {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, err := w.Write(body)
			return err
		}
	}
	b, v, err := s.loadBill(r)
	if err != nil {
		return err
	}
	body, err := marshalJSON(b.JSON(v))
	if err != nil {
		return err
	}
	if version != "" && b.Status == callbill.BillStatusClosed {
		s.cache.put(key, version, body)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err = w.Write(body)
	return err
}

func (s *Server) loadBill(r *http.Request) (*callbill.Bill, callbill.View, error) {
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
	b, err := s.Store.Bill(r.Context(), r.PathValue("uid"), c, v.Daily)
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
	b, _, err := s.loadBill(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b.Overview())
}
