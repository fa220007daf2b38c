package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"golang.org/x/crypto/bcrypt"
)

// Cookies of the console; all are scoped to /console/.
const (
	sessionCookie = "callbill_session"
	loginCookie   = "callbill_login" // the sign-in form's token, before there is a session
	langCookie    = "lang"
	cookiePath    = "/console/"
)

// maxForm limits form bodies.
const maxForm = 64 << 10

// newToken returns 256 random bits, base64url.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashID is what the store keeps of a session id.
func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// operatorFP fingerprints the operator key: a session signed in with it
// ends when the key changes.
func operatorFP(key string) string {
	h := sha256.Sum256([]byte("callbill console operator key\x00" + key))
	return hex.EncodeToString(h[:16])
}

// secure reports whether the browser reached us over TLS (directly or
// through a proxy that says so): cookies are then Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
}

// session returns the request's session, nil when there is none (or it
// ended).
func (s *Server) session(r *http.Request) (*callbill.ConsoleSession, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) < 40 || len(c.Value) > 64 {
		return nil, nil
	}
	sess, err := s.Store.ConsoleSession(r.Context(), hashID(c.Value), s.Idle)
	if callbill.ErrorCode(err) == callbill.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if sess.Via == callbill.SessionViaOperatorKey &&
		(s.OperatorKey == "" || subtle.ConstantTimeCompare([]byte(sess.OperatorFP), []byte(operatorFP(s.OperatorKey))) != 1) {
		return nil, nil
	}
	if !sess.Operator && sess.Account == "" {
		return nil, nil
	}
	return sess, nil
}

// checkToken checks a form's token against the session's (or, signing in,
// the sign-in cookie's).
func checkToken(r *http.Request, want string) error {
	got := r.PostFormValue("csrf")
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errForbidden
	}
	return nil
}

// home sends the signed-in to their first page, anyone else to sign in.
func (s *Server) home(w http.ResponseWriter, r *http.Request, v *view) error {
	sess, err := s.session(r)
	if err != nil {
		return err
	}
	switch {
	case sess == nil:
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	case sess.Operator:
		http.Redirect(w, r, "/console/op/accounts", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/console/a/"+sess.Account+"/overview", http.StatusSeeOther)
	}
	return nil
}

// accountHome opens an account's overview.
func (s *Server) accountHome(w http.ResponseWriter, r *http.Request, v *view) error {
	http.Redirect(w, r, v.A("overview"), http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in destination inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "/console/login") {
		return ""
	}
	return next
}

type loginData struct {
	Token   string
	Next    string
	Method  string
	ID      string
	Name    string
	Message string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if sess, err := s.session(r); err == nil && sess != nil {
		return s.home(w, r, v)
	}
	return s.showLogin(w, r, v, loginData{Next: safeNext(r.URL.Query().Get("next")), Method: "accesskey"})
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, v *view, d loginData) error {
	d.Token = newToken()
	setCookie(w, r, loginCookie, d.Token, 3600)
	v.Title = v.T("login.title")
	return s.render(w, r, v, "login", d)
}

// dummyHash is compared against when a user does not exist, so that a
// missing user takes as long as a wrong password. It is made once, when a
// console is first set up, not at package init: bcrypt at its default cost
// takes ~60 ms, which every CLI command (an import, a bill) would pay.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("callbill console dummy password"), bcrypt.DefaultCost)
	return h
})

// login signs in with an AccessKey, a console user's password or the
// operator key, and starts a new session.
func (s *Server) login(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return v.errf(callbill.EINVALID, "err.bad_form")
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || checkToken(r, c.Value) != nil {
		return s.showLogin(w, r, v, loginData{Method: "accesskey", Message: v.T("login.expired")})
	}
	client := s.clientAddr(r)
	d := loginData{Next: safeNext(r.PostFormValue("next")), Method: r.PostFormValue("method")}
	// Failures count per client and sign-in name, so that one user's
	// mistakes do not lock out another who shares an address (a proxy, an
	// office NAT); the operator key is one name. A far higher bound per
	// address keeps one client from trying name after name (and from
	// filling the counts until they are forgotten).
	who := ""
	switch d.Method {
	case "accesskey":
		d.ID = strings.TrimSpace(r.PostFormValue("id"))
		who = d.ID
	case "password":
		d.Name = strings.TrimSpace(r.PostFormValue("name"))
		who = d.Name
	}
	throttle := throttleKey(client, d.Method, who)
	if !s.limit.allow(throttle, s.Now()) || !s.limitClient.allow(client, s.Now()) {
		v.status = http.StatusTooManyRequests
		d.Message = v.T("login.throttled")
		return s.showLogin(w, r, v, d)
	}
	ctx := r.Context()
	now := s.Now()
	sess := &callbill.ConsoleSession{Via: d.Method, CreatedAt: now, LastSeen: now}
	ok := false
	switch d.Method {
	case "accesskey":
		k, err := s.Store.AccessKey(ctx, d.ID)
		if err != nil && callbill.ErrorCode(err) != callbill.ENOTFOUND {
			return err
		}
		if err == nil && subtle.ConstantTimeCompare([]byte(r.PostFormValue("secret")), []byte(k.Secret)) == 1 {
			ok = true
			sess.Via, sess.KeyID, sess.Account = callbill.SessionViaAccessKey, k.ID, k.Account
		}
	case "password":
		u, err := s.Store.ConsoleUser(ctx, d.Name)
		if err != nil && callbill.ErrorCode(err) != callbill.ENOTFOUND {
			return err
		}
		hash := dummyHash()
		if err == nil {
			hash = []byte(u.PasswordHash)
		}
		match := bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) == nil
		if err == nil && match {
			ok = true
			sess.Via, sess.User, sess.Account = callbill.SessionViaPassword, u.Name, u.Account
			sess.Operator = u.Operator()
		}
	case "operator":
		key := r.PostFormValue("key")
		if s.OperatorKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.OperatorKey)) == 1 {
			ok = true
			sess.Via, sess.OperatorFP, sess.Operator = callbill.SessionViaOperatorKey, operatorFP(s.OperatorKey), true
		}
	default:
		d.Method = "accesskey"
	}
	if !ok {
		s.limit.fail(throttle, now)
		s.limitClient.fail(client, now)
		s.Log.Info("console sign-in failed", "method", d.Method, "client", client)
		v.status = http.StatusUnauthorized
		d.Message = v.T("login.failed")
		return s.showLogin(w, r, v, d)
	}
	if _, err := s.Store.PurgeConsoleSessions(ctx, now.Add(-s.Idle)); err != nil {
		s.Log.Error("purge console sessions", "err", err)
	}
	id := newToken()
	sess.IDHash, sess.CSRF = hashID(id), newToken()
	if err := s.Store.CreateConsoleSession(ctx, sess); err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, id, 0)
	setCookie(w, r, loginCookie, "", -1)
	next := d.Next
	if next == "" || (!sess.Operator && !strings.HasPrefix(next, "/console/a/"+sess.Account+"/")) {
		next = "/console/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.Store.DeleteConsoleSession(r.Context(), v.Sess.IDHash); err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

// setLang remembers the chosen language and goes back.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request, v *view) error {
	lang := "zh"
	if r.URL.Query().Get("to") == "en" {
		lang = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: cookiePath, MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	back := safeNext(r.URL.Query().Get("back"))
	if back == "" {
		back = "/console/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// langOf is the request's language: the lang cookie, else Chinese.
func langOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "zh"
}

// throttleKey is what failed sign-ins are counted against: the client's
// address and the name it signs in as. Case is folded and the length
// bounded, so that neither makes a fresh count for the same name.
func throttleKey(client, method, who string) string {
	who = strings.ToLower(who)
	if len(who) > 256 {
		who = who[:256]
	}
	return client + "\x00" + method + "\x00" + who
}

// clientAddr is the address of the client a request comes from. From a
// trusted proxy it is the right-most address of X-Forwarded-For that is not
// itself a trusted proxy (each proxy appends the address it was reached
// from, so what lies left of that was written by the client and proves
// nothing); from anyone else it is the connection's own address.
func (s *Server) clientAddr(r *http.Request) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !s.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// Not an address ("unknown", garbage): nothing left of it can
			// be trusted; count against the last proxy seen.
			break
		}
		client = a
		if !s.trusted(a) {
			break
		}
	}
	return client.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads an address as RemoteAddr or X-Forwarded-For write it: with
// or without a port, IPv6 with or without brackets. An IPv4 address mapped
// into IPv6 is the IPv4 address.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// limiter refuses sign-ins under a key (throttleKey) after max failures
// within a window (this node's count; bcrypt slows every guess anyway).
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, fails: map[string][]time.Time{}}
}

func (l *limiter) recent(client string, now time.Time) []time.Time {
	ts := l.fails[client]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, client)
		return nil
	}
	l.fails[client] = ts
	return ts
}

func (l *limiter) allow(client string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(client, now)) < l.max
}

func (l *limiter) fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 100_000 { // never grow without bound
		l.fails = map[string][]time.Time{}
	}
	l.fails[client] = append(l.recent(client, now), now)
}
