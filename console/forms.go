package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callbill/callbill"
)

// Forms that change something (the 发票 and 合同 pages, the operator's
// invoice queue and contracts) answer POST-redirect-GET: the POST does the
// work and sends the browser back to a page with a flash message, so that a
// reload never sends the form again. Each rendered form carries a fresh key
// (formKey): the same form sent twice (a double click) is done once — by
// the store's idempotency key where it has one (applications, contracts),
// and on this node by the replay cache below for the others.

// flashCookie carries the message (and, after an error, what was typed) to
// the page the POST redirects to. It is signed with the session's token, so
// that nothing but this console can put text on a page.
const flashCookie = "callbill_flash"

// flash is what a POST leaves for the next page.
type flash struct {
	OK   string            `json:"o,omitempty"`
	Err  string            `json:"e,omitempty"`
	Form map[string]string `json:"f,omitempty"` // the fields sent, to fill the form again after an error
	For  string            `json:"w,omitempty"` // the form the error is about: shown beside it
}

func flashMAC(token, payload string) string {
	m := hmac.New(sha256.New, []byte("callbill console flash\x00"+token))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// setFlash leaves fl for the next page of the session.
func setFlash(w http.ResponseWriter, r *http.Request, sess *callbill.ConsoleSession, fl flash) {
	b, _ := json.Marshal(fl)
	if len(b) > 2400 { // a cookie holds about 4 KB: keep the message, drop the fields
		fl.Form = nil
		b, _ = json.Marshal(fl)
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	setCookie(w, r, flashCookie, p+"."+flashMAC(sess.CSRF, p), 120)
}

// takeFlash puts the session's flash into the view and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request, v *view) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return
	}
	setCookie(w, r, flashCookie, "", -1)
	p, mac, ok := strings.Cut(c.Value, ".")
	if !ok || v.Sess == nil || !hmac.Equal([]byte(mac), []byte(flashMAC(v.Sess.CSRF, p))) {
		return
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return
	}
	var fl flash
	if json.Unmarshal(b, &fl) != nil {
		return
	}
	v.Flash, v.Error = fl.OK, fl.Err
	if fl.Err != "" {
		v.Form, v.ErrorFor = fl.Form, fl.For
	}
}

// shown tells the view which forms the page shows: an error about another
// form (one the page no longer has, such as a draft's after it became
// formal) is shown at the top.
func (v *view) shown(forms ...string) {
	for _, f := range forms {
		if f != "" && f == v.ErrorFor {
			return
		}
	}
	v.ErrorFor = ""
}

// prefill is a field of the form named as it was sent, when the page
// follows that form's error; else def.
func (v *view) prefill(form, name, def string) string {
	if v.Form != nil && v.ErrorFor == form {
		return v.Form[name]
	}
	return def
}

// formDone remembers what the forms sent with a key did, per session,
// form action and key, for ten minutes (this node).
type formDone struct {
	mu sync.Mutex
	m  map[string]*formResult
}

type formResult struct {
	done chan struct{}
	at   time.Time
	to   string // "" when the form failed outright (an error page): a retry runs it again
	fl   flash
}

const formKeep = 10 * time.Minute

// claim returns the form's result, and whether this request is the first
// with it (and must do the work, then call finish).
func (d *formDone) claim(id string) (*formResult, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if d.m == nil {
		d.m = map[string]*formResult{}
	}
	if len(d.m) > 100_000 { // never grow without bound (the keys are a convenience)
		d.m = map[string]*formResult{}
	}
	if len(d.m) > 1000 {
		for k, res := range d.m {
			if now.Sub(res.at) > formKeep {
				select {
				case <-res.done:
					delete(d.m, k)
				default:
				}
			}
		}
	}
	if res, ok := d.m[id]; ok && now.Sub(res.at) <= formKeep {
		return res, false
	}
	res := &formResult{done: make(chan struct{}), at: now}
	d.m[id] = res
	return res, true
}

func (d *formDone) finish(id string, res *formResult, to string, fl flash) {
	d.mu.Lock()
	res.to, res.fl = to, fl
	if to == "" {
		delete(d.m, id)
	}
	d.mu.Unlock()
	close(res.done)
}

// outcome is what a form's work came to: where to go and what to say
// there.
type outcome struct {
	To   string
	OK   string
	For  string            // the form: an error is shown beside it (the page goes to #{For}-form)
	Form map[string]string // on an error, the fields to fill in again
}

// submit runs a form's work once per key and answers with a redirect and a
// flash (POST-redirect-GET). An error that is the tenant's to fix (invalid,
// refused, conflict) goes back to outcome.To as a message in the page's
// language; not found and internal errors are error pages (another
// account's object is "not found", like a missing one).
func (s *Server) submit(w http.ResponseWriter, r *http.Request, v *view, work func() (outcome, error)) error {
	key := r.PostFormValue("key")
	if !formKey.MatchString(key) {
		return v.errf(callbill.EINVALID, "err.form_key")
	}
	id := hashID(v.Sess.IDHash + "\x00" + r.URL.Path + "\x00" + key)
	for {
		res, first := s.forms.claim(id)
		if !first {
			select {
			case <-res.done:
			case <-r.Context().Done():
				return r.Context().Err()
			}
			if res.to == "" {
				continue // the first failed outright: do it here
			}
			setFlash(w, r, v.Sess, res.fl)
			http.Redirect(w, r, res.to, http.StatusSeeOther)
			return nil
		}
		out, fl, err := s.runForm(v, id, res, work)
		if err != nil {
			return err
		}
		s.forms.finish(id, res, out.To, fl)
		setFlash(w, r, v.Sess, fl)
		http.Redirect(w, r, out.To, http.StatusSeeOther)
		return nil
	}
}

// runForm does a claimed form's work. An error page (not found, internal)
// is returned and forgotten; any other error becomes the flash. If the
// work panics, the claim is released so that a retry can run.
func (s *Server) runForm(v *view, id string, res *formResult, work func() (outcome, error)) (out outcome, fl flash, err error) {
	done := false
	defer func() {
		if !done {
			s.forms.finish(id, res, "", flash{})
		}
	}()
	out, err = work()
	if err == nil {
		done = true
		return out, flash{OK: out.OK}, nil
	}
	if code := callbill.ErrorCode(err); code == callbill.ENOTFOUND || code == callbill.EINTERNAL || out.To == "" {
		return out, flash{}, err
	}
	done = true
	fl = flash{Err: v.errorText(err), Form: out.Form, For: out.For}
	if out.For != "" {
		out.To += "#" + out.For + "-form"
	}
	return out, fl, nil
}

// fields is the form's values named, for filling the form in again.
func fields(r *http.Request, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = r.PostFormValue(n)
	}
	return m
}
