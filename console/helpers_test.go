package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/demo"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
)

const operatorKey = "test-operator-key-0123456789"

// fixture is a store with two demo tenants, a closed cycle of calls and
// an open one after it, served by the console and the API on one
// loopback server.
type fixture struct {
	store   *sqlstore.Store
	srv     *httptest.Server
	cons    *console.Server
	exports string
	cycle   callbill.Cycle // closed, with calls
	open    callbill.Cycle // ended but open (the operator closes it)
	uid1    string
	uid2    string
	key1    *callbill.AccessKey
	key2    *callbill.AccessKey
	log     *bytes.Buffer
}

const (
	tenantUser   = "alice"
	tenantPass   = "alice-password-1"
	operatorUser = "root"
	operatorPass = "root-password-12"
)

// invoices is the invoice workflow over the fixture's store.
func (f *fixture) invoices() *invoice.Service { return &invoice.Service{Store: f.store} }

// newFixture is a fixture whose operator has set the provider side of
// contracts (乙方), as the demo does.
func newFixture(t testing.TB, calls int) *fixture {
	t.Helper()
	f := newBareFixture(t, calls)
	if err := f.store.SetContractProvider(context.Background(), demo.Provider()); err != nil {
		t.Fatal(err)
	}
	return f
}

// newBareFixture is a fixture without the provider side of contracts: a
// contract cannot be confirmed in it.
func newBareFixture(t testing.TB, calls int) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "console.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.MasterKey = []byte("0123456789abcdef0123456789abcdef")
	t.Cleanup(func() { s.Close() })
	loc, _ := time.LoadLocation(callbill.DefaultTimezone)
	f := &fixture{store: s, exports: filepath.Join(dir, "exports"), log: &bytes.Buffer{}}
	f.cycle = callbill.CycleOf(time.Now(), loc) - 2
	f.open = f.cycle + 1
	loadDemo(t, s, demo.Options{Cycle: f.cycle, Accounts: 2, Calls: calls, Seed: 3})
	if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: f.cycle}); err != nil {
		t.Fatal(err)
	}
	uids, err := s.AccountUIDs(ctx)
	if err != nil || len(uids) < 2 {
		t.Fatalf("accounts %v %v", uids, err)
	}
	f.uid1, f.uid2 = uids[0], uids[1]
	if f.key1, err = s.CreateAccessKey(ctx, f.uid1); err != nil {
		t.Fatal(err)
	}
	if f.key2, err = s.CreateAccessKey(ctx, f.uid2); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: tenantUser, Account: f.uid1, Password: tenantPass}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: operatorUser, Account: "", Password: operatorPass}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(f.log, nil))
	f.cons = &console.Server{Store: s, OperatorKey: operatorKey, ExportDir: f.exports, Log: log}
	as := &api.Server{Store: s, Money: s, Rest: s, Keys: s, Invoices: &invoice.Service{Store: s}, Contracts: &contract.Service{Store: s},
		Budgets: &budget.Service{Store: s, Spend: &closing.Service{Store: s}}, OperatorKey: operatorKey, ExportDir: f.exports, Log: log}
	mux := http.NewServeMux()
	mux.Handle("/console/", f.cons.Handler())
	mux.Handle("/api/", as.Handler())
	f.srv = httptest.NewServer(mux) // 127.0.0.1 only
	t.Cleanup(f.srv.Close)
	return f
}

// loadDemo applies a demo world and imports its calls.
func loadDemo(t testing.TB, s *sqlstore.Store, o demo.Options) {
	t.Helper()
	ctx := context.Background()
	w, ps := world.Parse(demo.World(o))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := demo.WriteCalls(&buf, o); err != nil {
		t.Fatal(err)
	}
	dec, err := cdr.NewDecoder(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: callbill.ImportOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejected > 0 {
		t.Fatalf("demo import rejected %d", rep.Rejected)
	}
}

// client is a browser-like HTTP client with its own cookies that does not
// follow redirects.
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

func (f *fixture) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: f.srv.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	return c.do(req)
}

var tokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the first form token on a page.
func (c *client) token(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no form token on %s", path)
	}
	return m[1]
}

// login signs in with a form of the sign-in page.
func (c *client) login(form url.Values) *http.Response {
	c.t.Helper()
	form.Set("csrf", c.token("/console/login"))
	resp, _ := c.post("/console/login", form)
	return resp
}

func (f *fixture) tenant(t testing.TB) *client {
	c := f.client(t)
	if resp := c.login(url.Values{"method": {"accesskey"}, "id": {f.key1.ID}, "secret": {f.key1.Secret}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("tenant sign-in: %d", resp.StatusCode)
	}
	return c
}

func (f *fixture) operator(t testing.TB) *client {
	c := f.client(t)
	if resp := c.login(url.Values{"method": {"operator"}, "key": {operatorKey}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator sign-in: %d", resp.StatusCode)
	}
	return c
}

// apiGet reads the API as the operator.
func (f *fixture) apiGet(t testing.TB, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+operatorKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("API %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}
