package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/httperr"
	"github.com/callbill/callbill/internal/recovery"
)

// What every route goes through: registration with its scope, who the
// request is from, panics, errors as problem details, JSON answers.

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
