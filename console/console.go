// Package console is callbill's web console (费用中心): the tenant's pages —
// bill overview, bill details, usage detail with CSV export and export
// records, voice packages, account and ledger, invoices (titles,
// applying, withdrawing) and e-contracts (drafting, editing, confirming,
// voiding, the PDF) and budgets (set, remove, where each stands, alerts)
// — and the operator's — accounts, any tenant's view, closing a cycle,
// top-ups, AccessKeys, the invoice queue (issue, reject), every account's
// contracts (void), every account's budgets and alerts, and the imports
// (undo). Pages
// are rendered on the server from templates and assets embedded in the
// binary; charts are inline SVG drawn on the server; the little JavaScript
// there is (column sorting, keeping the export form in step with the
// filters) only improves pages that work without it.
//
// Sign-in is by AccessKey (a tenant), by console user and password (bcrypt;
// a tenant's user or the operator's) or by the operator key. Sessions are
// random 256-bit ids in HttpOnly cookies, stored server-side (hashed) so
// that every node of a database shares them; they end after 12 hours idle.
// Every form carries a token bound to the session and every unsafe request
// must pass http.CrossOriginProtection; a form that changes something also
// carries a fresh key (sent twice, it is done once) and answers with a
// redirect and a flash message (forms.go). A tenant sees its own account
// only: other accounts' pages and the operator's answer 404, as in the API.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/httperr"
	"github.com/callbill/callbill/internal/recovery"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/ledger"
)

// Store is what the console reads and does (sqlstore.Store).
type Store interface {
	// tenant pages
	Account(ctx context.Context, uid string) (*callbill.Account, error)
	closing.Store // bills, and the operator's close
	BillCycles(ctx context.Context, uid string) ([]callbill.Cycle, error)
	Status(ctx context.Context, uid string) (*callbill.AccountStatus, error)
	Ledger(ctx context.Context, uid string) ([]callbill.LedgerEntry, error)
	VoicePackages(ctx context.Context, uid string) ([]callbill.VoicePackage, time.Time, error)
	Usage(ctx context.Context, uid string, f callbill.UsageFilter) ([]callbill.Call, int64, error)
	jobs.Store
	Job(ctx context.Context, id int64) (*callbill.Job, error)
	Location(ctx context.Context) (*time.Location, error)

	// operator pages
	AccountStandings(ctx context.Context) ([]callbill.AccountStatus, error)
	ledger.Store // top-ups
	AccessKeys(ctx context.Context, uid string) ([]callbill.AccessKeyInfo, error)
	AllAccessKeys(ctx context.Context) ([]callbill.AccessKeyInfo, error)
	CreateAccessKey(ctx context.Context, uid string) (*callbill.AccessKey, error)
	RevokeAccessKey(ctx context.Context, id string) error
	ingest.ImportStore // import records and undo

	// sign-in and sessions
	AccessKey(ctx context.Context, id string) (*callbill.AccessKey, error)
	ConsoleUser(ctx context.Context, name string) (*callbill.ConsoleUser, error)
	CreateConsoleSession(ctx context.Context, sess *callbill.ConsoleSession) error
	ConsoleSession(ctx context.Context, idHash string, idle time.Duration) (*callbill.ConsoleSession, error)
	DeleteConsoleSession(ctx context.Context, idHash string) error
	PurgeConsoleSessions(ctx context.Context, before time.Time) (int64, error)
}

// bills is closing and bill views on the store.
func (s *Server) bills() *closing.Service { return &closing.Service{Store: s.Store} }

// DefaultIdle is how long a session lasts without a request.
const DefaultIdle = 12 * time.Hour

// Server serves the console under /console/.
type Server struct {
	Store       Store
	OperatorKey string // also signs the operator in ("" = it cannot)
	ExportDir   string // where the export jobs' files are
	Log         *slog.Logger
	// Now is the clock of the pages (the current cycle); time.Now when nil.
	Now func() time.Time
	// Idle ends a session after this long without a request (DefaultIdle).
	Idle time.Duration
	// Invoices and Contracts, when set, serve a tenant's 发票 and 合同 pages
	// (/console/a/{uid}/invoices…, /console/a/{uid}/contracts…) after the
	// console has checked the session and the account. Unset, the console
	// serves its own pages when the Store has invoices (invoice.Store), or
	// else a placeholder.
	Invoices, Contracts http.Handler
	// TrustedProxies are the reverse proxies in front of the console
	// (serve.trusted_proxies, config.ParseTrustedProxies). Failed sign-ins from one of them are counted
	// against the client its X-Forwarded-For names; with none, that header
	// is ignored, since any client can send it.
	TrustedProxies []netip.Prefix
	// Retention is how long export files are kept (their expiry shown).
	Retention callbill.Retention
	// CJKFont is the font file of contract PDFs; "" the embedded one.
	CJKFont string

	once    sync.Once
	handler http.Handler
	routes  []Route
	pages   map[string]*template.Template
	assets  map[string]asset
	version string
	limit   *limiter // failed sign-ins per client and name
	// limitClient counts failed sign-ins per client address, whatever the name.
	limitClient *limiter
	forms       formDone
}

// Scope says who may open a route.
type Scope string

const (
	ScopePublic   Scope = "public"   // anyone (sign-in, assets)
	ScopeSession  Scope = "session"  // anyone signed in
	ScopeAccount  Scope = "account"  // the operator, or a tenant session of the route's {uid}
	ScopeOperator Scope = "operator" // operator sessions only
)

// Route is one registered route.
type Route struct {
	Method  string
	Pattern string
	Scope   Scope
}

// Routes lists the console's routes (after Handler).
func (s *Server) Routes() []Route {
	s.init()
	return s.routes
}

//go:embed templates static
var files embed.FS

// Handler returns the console; mount it at /console/.
func (s *Server) Handler() http.Handler {
	s.init()
	return s.handler
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Idle == 0 {
			s.Idle = DefaultIdle
		}
		s.limit = newLimiter(10, 10*time.Minute)
		s.limitClient = newLimiter(100, 10*time.Minute)
		dummyHash() // made now, so that no sign-in waits ~60 ms for it
		s.loadAssets()
		s.loadTemplates()
		mux := http.NewServeMux()
		s.routes = nil
		s.handle(mux, "GET", "/console/{$}", ScopePublic, s.home)
		s.handle(mux, "GET", "/console/login", ScopePublic, s.loginPage)
		s.handle(mux, "POST", "/console/login", ScopePublic, s.login)
		s.handle(mux, "GET", "/console/lang", ScopePublic, s.setLang)
		s.handle(mux, "GET", "/console/static/{file}", ScopePublic, s.static)
		s.handle(mux, "POST", "/console/logout", ScopeSession, s.logout)

		s.handle(mux, "GET", "/console/a/{uid}/{$}", ScopeAccount, s.accountHome)
		s.handle(mux, "GET", "/console/a/{uid}/overview", ScopeAccount, s.overview)
		s.handle(mux, "GET", "/console/a/{uid}/bill", ScopeAccount, s.billDetails)
		s.handle(mux, "GET", "/console/a/{uid}/usage", ScopeAccount, s.usage)
		s.handle(mux, "POST", "/console/a/{uid}/usage/export", ScopeAccount, s.createExport)
		s.handle(mux, "GET", "/console/a/{uid}/exports", ScopeAccount, s.exports)
		s.handle(mux, "GET", "/console/a/{uid}/exports/{id}/file", ScopeAccount, s.exportFile)
		s.handle(mux, "GET", "/console/a/{uid}/packages", ScopeAccount, s.packages)
		s.handle(mux, "GET", "/console/a/{uid}/account", ScopeAccount, s.account)
		switch {
		case s.Invoices != nil:
			s.mount(mux, "/console/a/{uid}/invoices", s.Invoices, "invoices")
		case s.invoiceService() != nil:
			s.handle(mux, "GET", "/console/a/{uid}/invoices", ScopeAccount, s.invoices)
			s.handle(mux, "POST", "/console/a/{uid}/invoices/titles", ScopeAccount, s.addTitle)
			s.handle(mux, "POST", "/console/a/{uid}/invoices/titles/{id}/delete", ScopeAccount, s.deleteTitle)
			s.handle(mux, "POST", "/console/a/{uid}/invoices/apply", ScopeAccount, s.applyInvoice)
			s.handle(mux, "POST", "/console/a/{uid}/invoices/{id}/withdraw", ScopeAccount, s.withdrawInvoice)
		default:
			s.mount(mux, "/console/a/{uid}/invoices", nil, "invoices")
		}
		switch {
		case s.Contracts != nil:
			s.mount(mux, "/console/a/{uid}/contracts", s.Contracts, "contracts")
		case s.invoiceService() != nil:
			s.handle(mux, "GET", "/console/a/{uid}/contracts", ScopeAccount, s.contracts)
			s.handle(mux, "POST", "/console/a/{uid}/contracts", ScopeAccount, s.createContract)
			s.handle(mux, "GET", "/console/a/{uid}/contracts/{id}", ScopeAccount, s.contract)
			s.handle(mux, "POST", "/console/a/{uid}/contracts/{id}/party", ScopeAccount, s.editContract)
			s.handle(mux, "POST", "/console/a/{uid}/contracts/{id}/confirm", ScopeAccount, s.confirmContract)
			s.handle(mux, "POST", "/console/a/{uid}/contracts/{id}/void", ScopeAccount, s.voidContract)
			s.handle(mux, "GET", "/console/a/{uid}/contracts/{id}/pdf", ScopeAccount, s.contractPDF)
		default:
			s.mount(mux, "/console/a/{uid}/contracts", nil, "contracts")
		}

		if s.budgetService() != nil {
			s.handle(mux, "GET", "/console/a/{uid}/budgets", ScopeAccount, s.budgets)
			s.handle(mux, "POST", "/console/a/{uid}/budgets/set", ScopeAccount, s.setBudget)
			s.handle(mux, "POST", "/console/a/{uid}/budgets/trigger", ScopeAccount, s.setTrigger)
			s.handle(mux, "POST", "/console/a/{uid}/budgets/{id}/remove", ScopeAccount, s.removeBudget)
			s.handle(mux, "GET", "/console/op/budgets", ScopeOperator, s.opBudgets)
		}

		s.handle(mux, "GET", "/console/op/accounts", ScopeOperator, s.opAccounts)
		s.handle(mux, "GET", "/console/op/close", ScopeOperator, s.opClosePage)
		s.handle(mux, "POST", "/console/op/close", ScopeOperator, s.opClose)
		s.handle(mux, "GET", "/console/op/topup", ScopeOperator, s.opTopUpPage)
		s.handle(mux, "POST", "/console/op/topup", ScopeOperator, s.opTopUp)
		s.handle(mux, "GET", "/console/op/keys", ScopeOperator, s.opKeys)
		s.handle(mux, "POST", "/console/op/keys", ScopeOperator, s.opCreateKey)
		s.handle(mux, "POST", "/console/op/keys/{id}/revoke", ScopeOperator, s.opRevokeKey)
		s.handle(mux, "GET", "/console/op/imports", ScopeOperator, s.opImports)
		s.handle(mux, "GET", "/console/op/imports/{id}/undo", ScopeOperator, s.opUndoPage)
		s.handle(mux, "POST", "/console/op/imports/{id}/undo", ScopeOperator, s.opUndo)
		if s.invoiceService() != nil {
			s.handle(mux, "GET", "/console/op/invoices", ScopeOperator, s.opInvoices)
			s.handle(mux, "POST", "/console/op/invoices/{id}/issue", ScopeOperator, s.opIssue)
			s.handle(mux, "POST", "/console/op/invoices/{id}/reject", ScopeOperator, s.opReject)
			s.handle(mux, "GET", "/console/op/contracts", ScopeOperator, s.opContracts)
			s.handle(mux, "POST", "/console/op/contracts/{id}/void", ScopeOperator, s.opVoidContract)
		}

		mux.Handle("/console/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.fail(w, r, &view{s: s, lang: langOf(r)}, callbill.Errorf(callbill.ENOTFOUND, "page not found"))
		}))
		cop := http.NewCrossOriginProtection()
		cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.fail(w, r, &view{s: s, lang: langOf(r)}, errForbidden)
		}))
		// A panic anywhere below answers the error page (500); the stack
		// goes to the log and the process keeps serving.
		s.handler = securityHeaders(recovery.Handler(s.Log, cop.Handler(mux), func(w http.ResponseWriter, r *http.Request) {
			s.fail(w, r, &view{s: s, lang: langOf(r), r: r}, errPanic)
		}))
	})
}

// errPanic is what a request that panicked fails with; its stack is in the
// log already.
var errPanic = callbill.Errorf(callbill.EINTERNAL, "internal error")

// RootRedirect sends a browser that opens the server's root (GET / with
// no query) to the console, answers /favicon.ico with the console's icon,
// and sends every other request to next: the BSS endpoint at "/" is always
// called with a query (Action=…) or a POST, and a browser's icon request
// would otherwise reach it and be logged as a refused BSS request on every
// visit.
func RootRedirect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch {
		case get && r.URL.Path == "/" && r.URL.RawQuery == "":
			http.Redirect(w, r, "/console/", http.StatusFound)
		case get && r.URL.Path == "/favicon.ico":
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Header().Set("Cache-Control", "public, max-age=86400")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.ServeContent(w, r, "", startTime, bytes.NewReader(favicon))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// favicon is the console's icon (static/favicon.svg), which pages link to
// and /favicon.ico answers with.
var favicon, _ = files.ReadFile("static/favicon.svg")

// errForbidden is a cross-origin or token failure on a form.
var errForbidden = callbill.Errorf(callbill.EFORBIDDEN, "the form was not sent from this console or has expired; reload the page and try again")

// page is a page handler: it fills the view or returns an error.
type page func(w http.ResponseWriter, r *http.Request, v *view) error

// handle registers a route with its scope.
func (s *Server) handle(mux *http.ServeMux, method, pattern string, scope Scope, h page) {
	s.routes = append(s.routes, Route{method, pattern, scope})
	mux.Handle(method+" "+pattern, s.guard(scope, h))
}

// mount serves a tenant's sub-tree (invoices, contracts) by h once the
// session may see the account, or a placeholder page while h is nil.
func (s *Server) mount(mux *http.ServeMux, prefix string, h http.Handler, name string) {
	if h == nil {
		s.handle(mux, "GET", prefix, ScopeAccount, func(w http.ResponseWriter, r *http.Request, v *view) error {
			v.Nav, v.Title = name, v.T("nav."+name)
			return s.render(w, r, v, "placeholder", map[string]string{"Name": name})
		})
		return
	}
	for _, p := range []string{prefix, prefix + "/"} {
		s.routes = append(s.routes, Route{"", p, ScopeAccount})
		mux.Handle(p, s.guard(ScopeAccount, func(w http.ResponseWriter, r *http.Request, v *view) error {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, v.Sess)))
			return nil
		}))
	}
}

type sessionKey struct{}

// Session is the console session of a request that a mounted handler
// (Server.Invoices, Server.Contracts) serves: its account, and the token
// (CSRF) its forms must carry as the field "csrf" — the console checks it
// on every POST before the handler runs.
func Session(r *http.Request) *callbill.ConsoleSession {
	sess, _ := r.Context().Value(sessionKey{}).(*callbill.ConsoleSession)
	return sess
}

// securityHeaders sets the headers every console response carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if !strings.HasPrefix(r.URL.Path, "/console/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// guard finds the session, checks the scope and runs the page.
func (s *Server) guard(scope Scope, h page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		v := &view{s: s, lang: langOf(r), started: started, r: r}
		if scope != ScopePublic {
			sess, err := s.session(r)
			if err != nil {
				s.fail(w, r, v, err)
				return
			}
			if sess == nil {
				if r.Method == http.MethodGet {
					http.Redirect(w, r, "/console/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				s.fail(w, r, v, errForbidden)
				return
			}
			v.Sess = sess
			switch scope {
			case ScopeOperator:
				if !sess.Operator {
					s.fail(w, r, v, callbill.Errorf(callbill.ENOTFOUND, "page not found"))
					return
				}
			case ScopeAccount:
				uid := r.PathValue("uid")
				if !sess.Operator && sess.Account != uid {
					s.fail(w, r, v, callbill.Errorf(callbill.ENOTFOUND, "page not found"))
					return
				}
				if err := s.loadAccount(r.Context(), v, uid); err != nil {
					s.fail(w, r, v, err)
					return
				}
			}
			if r.Method == http.MethodPost {
				r.Body = http.MaxBytesReader(w, r.Body, maxForm)
				if err := checkToken(r, sess.CSRF); err != nil {
					s.fail(w, r, v, err)
					return
				}
			} else {
				takeFlash(w, r, v)
			}
		}
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	})
}

// loadAccount puts the account a page is about into the view.
func (s *Server) loadAccount(ctx context.Context, v *view, uid string) error {
	a, err := s.Store.Account(ctx, uid)
	if err != nil {
		return err
	}
	v.Account = a
	v.UID = uid
	return nil
}

// fail shows an error page in the page's language; anything unexpected
// is logged and shown only as "internal error".
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	code := callbill.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = callbill.EINVALID, v.errf(callbill.EINVALID, "err.form_too_large")
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	st := httperr.Status(code)
	var msg string
	switch {
	case code == callbill.EINTERNAL:
		if err != errPanic { // a panic's stack is logged already
			s.Log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		msg = v.T("error.internal")
	case code == callbill.ENOTFOUND:
		// Another tenant's page and a missing one look the same.
		msg = v.T("error.notfound")
	case err == errForbidden:
		msg = v.T("error.forbidden")
	default:
		msg = v.errorText(err)
	}
	v.Title = strconv.Itoa(st) + " " + statusText(v.lang, st)
	v.status = st
	if rerr := s.render(w, r, v, "error", map[string]any{"Status": st, "Message": msg}); rerr != nil {
		http.Error(w, msg, st)
	}
}

// statusText is an HTTP status's name in the page's language.
func statusText(lang string, st int) string {
	if _, ok := messages["status."+strconv.Itoa(st)]; ok {
		return translate(lang, "status."+strconv.Itoa(st))
	}
	return http.StatusText(st)
}

// render writes a page: the layout around the named template.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *view, name string, data any) error {
	t := s.pages[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	v.Data = data
	if v.Title == "" {
		v.Title = v.T("title." + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if !v.started.IsZero() {
		h.Set("Server-Timing", fmt.Sprintf("app;dur=%.1f", float64(time.Since(v.started).Microseconds())/1000))
	}
	st := v.status
	if st == 0 {
		st = http.StatusOK
	}
	w.WriteHeader(st)
	_, err := w.Write(buf.Bytes())
	return err
}

// loadTemplates parses the layout with each page.
func (s *Server) loadTemplates() {
	s.pages = map[string]*template.Template{}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html"))
	names, _ := fs.Glob(files, "templates/*.html")
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		s.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(files, n))
	}
}
