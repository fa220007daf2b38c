// Package bss serves the subset of Alibaba Cloud's BSS OpenAPI (version
// 2017-12-14, RPC style, signature v1) that bill tools use, over callbill's
// bills.
//
// A request is signed with a tenant's AccessKey (callbill accesskey create)
// and acts for that key's account only. Supported actions: QueryBillOverview,
// QueryBill, QuerySettleBill, QueryInstanceBill, DescribeInstanceBill,
// QueryAccountBalance and QueryResourcePackageInstances. docs/bss.md maps
// their fields to the bill's columns.
package bss

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
)

// Version is the BSS OpenAPI version served.
const Version = "2017-12-14"

// TimestampWindow is how far a request's Timestamp may be from the server's
// clock, either way: up to TimestampWindow in the past or in the future.
const TimestampWindow = 15 * time.Minute

// ClockMargin covers the disagreement between the clock that checks a
// Timestamp (the handler's) and the one that ages nonces (the store's), and
// between the clocks of several servers on one database.
const ClockMargin = 2 * time.Minute

// NonceRetention is how long a SignatureNonce is remembered after its first
// use. A request first seen at t may carry a Timestamp up to
// t+TimestampWindow, which stays acceptable until t+2·TimestampWindow; a
// nonce forgotten sooner could be replayed in the meantime.
//
// It counts from when the nonce was seen, by the store's clock, rather than
// from the request's Timestamp: one clock records and forgets, no column is
// added, and rows written by earlier versions keep their meaning. The price
// is remembering a nonce up to TimestampWindow longer than strictly needed.
const NonceRetention = 2*TimestampWindow + ClockMargin

// Limits on what a request may carry; the SDKs send a few hundred bytes.
const (
	maxQuery  = 64 << 10 // query string, encoded
	maxBody   = 64 << 10 // form body, encoded
	maxParams = 100      // parameters in the query string and the body together
	maxValue  = 4 << 10  // a parameter's name or value, decoded
)

// Store is what the endpoint reads (sqlstore.Store).
type Store interface {
	// AccessKey returns a valid key with its secret; ENOTFOUND for an
	// unknown or revoked key.
	AccessKey(ctx context.Context, id string) (*callbill.AccessKey, error)
	// UseNonce records a key's SignatureNonce and remembers it for keep.
	// Returns ECONFLICT if the nonce was used before by this key.
	UseNonce(ctx context.Context, keyID, nonce string, keep time.Duration) error
	closing.Store // bills
	Status(ctx context.Context, uid string) (*callbill.AccountStatus, error)
	Location(ctx context.Context) (*time.Location, error)
	AccountName(ctx context.Context, uid string) (string, error)
	VoicePackages(ctx context.Context, uid string) ([]callbill.VoicePackage, time.Time, error)
}

// Handler serves the BSS OpenAPI at "/", by GET or POST, with parameters in
// the query string and the form body.
type Handler struct {
	Store Store
	Now   func() time.Time // the clock Timestamp is checked against
	Log   *slog.Logger
}

// request is one authenticated call.
type request struct {
	ctx     context.Context
	h       *Handler
	params  map[string]string
	account string
	host    string
}

func (r *request) get(name string) string { return r.params[name] }

// actions maps Action to its implementation.
var actions = map[string]func(r *request) (*envelope, error){
	"QueryBillOverview":             queryBillOverview,
	"QueryBill":                     queryBill,
	"QuerySettleBill":               querySettleBill,
	"QueryInstanceBill":             queryInstanceBill,
	"DescribeInstanceBill":          describeInstanceBill,
	"QueryAccountBalance":           queryAccountBalance,
	"QueryResourcePackageInstances": queryResourcePackageInstances,
}

// ServeHTTP authenticates the request (signature v1), then runs its action.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	w.Header().Set("x-acs-request-id", id)
	out, key, action, err := h.serve(w, r)
	key, action = clip(key), clip(action) // they come from the client: keep log lines short
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			h.log().Error("bss request failed", "request_id", id, "action", action, "access_key_id", key, "err", err)
			ae = errInternal
		} else {
			h.log().Info("bss request refused", "request_id", id, "action", action, "access_key_id", key,
				"code", ae.Code, "remote", r.RemoteAddr)
		}
		writeJSON(w, ae.Status, errorBody{RequestId: id, HostId: r.Host, Code: ae.Code, Message: ae.Message})
		return
	}
	out.RequestId = id
	writeJSON(w, http.StatusOK, out)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// serve checks the request in this order: method and path; the common
// parameters; Version and Action; Timestamp; the AccessKey; the signature;
// and only then the nonce, so that a forged request cannot burn nonces.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (out *envelope, keyID, action string, err error) {
	if r.URL.Path != "/" {
		return nil, "", "", errApiNotFound
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, "", "", errorf(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod",
			"Specified HTTP method %s is not supported: use GET or POST.", r.Method)
	}
	params, err := readParams(w, r)
	if err != nil {
		return nil, "", "", err
	}
	keyID, action = params["AccessKeyId"], params["Action"]
	for _, name := range []string{"AccessKeyId", "Signature", "Timestamp", "SignatureNonce", "Action", "Version"} {
		if params[name] == "" {
			return nil, keyID, action, missing(name)
		}
	}
	if params["Version"] != Version {
		return nil, keyID, action, errVersion
	}
	run, ok := actions[action]
	if !ok {
		return nil, keyID, action, errApiNotFound
	}
	if err := checkCommon(params); err != nil {
		return nil, keyID, action, err
	}
	if err := h.checkTimestamp(params["Timestamp"]); err != nil {
		return nil, keyID, action, err
	}
	ctx := r.Context()
	var key *callbill.AccessKey
	if len(keyID) <= 128 {
		key, err = h.Store.AccessKey(ctx, keyID)
	} else {
		err = callbill.Errorf(callbill.ENOTFOUND, "access key too long")
	}
	if callbill.ErrorCode(err) == callbill.ENOTFOUND {
		return nil, keyID, action, errKeyNotFound
	}
	if err != nil {
		return nil, keyID, action, err
	}
	if sts, ok := Verify(r.Method, params, key.Secret); !ok {
		return nil, keyID, action, errSignature(sts)
	}
	err = h.Store.UseNonce(ctx, keyID, params["SignatureNonce"], NonceRetention)
	if callbill.ErrorCode(err) == callbill.ECONFLICT {
		return nil, keyID, action, errNonceUsed
	}
	if err != nil {
		return nil, keyID, action, err
	}
	req := &request{ctx: ctx, h: h, params: params, account: key.Account, host: r.Host}
	if err := req.checkOwner(); err != nil {
		return nil, keyID, action, err
	}
	out, err = run(req)
	return out, keyID, action, storeError(err)
}

// readParams reads the parameters of the query string and, for a POST of
// an application/x-www-form-urlencoded body, of the body (parseParams).
func readParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	var body []byte
	if r.Method == http.MethodPost && r.Body != nil {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil {
				return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The Content-Type header is not well formed: %v", err)
			}
			if mt == "application/x-www-form-urlencoded" {
				body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return nil, tooLarge("form body", maxBody)
				}
				if err != nil {
					return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The form body cannot be read: %v", err)
				}
			}
		}
	}
	return parseParams(r.URL.RawQuery, body)
}

// parseParams merges the parameters of a query string and of a form body,
// both URL-encoded, within the limits above. A name given twice (in either,
// or in both) is refused: the SDK never does it, and a second value would
// make it ambiguous what was signed.
func parseParams(query string, body []byte) (map[string]string, error) {
	if len(query) > maxQuery {
		return nil, tooLarge("query string", maxQuery)
	}
	if len(body) > maxBody {
		return nil, tooLarge("form body", maxBody)
	}
	parts := [2]url.Values{}
	n := 0
	for i, p := range []struct{ what, raw string }{{"query string", query}, {"form body", string(body)}} {
		vs, err := url.ParseQuery(p.raw)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The %s is not well formed: %v", p.what, err)
		}
		for _, v := range vs {
			n += len(v)
		}
		parts[i] = vs
	}
	if n > maxParams {
		return nil, errorf(http.StatusBadRequest, "InvalidParameter",
			"The request has %d parameters: at most %d are accepted.", n, maxParams)
	}
	params := make(map[string]string, n)
	for _, vs := range parts {
		// In name order, so that the error does not depend on map order.
		for _, k := range slices.Sorted(maps.Keys(vs)) {
			v := vs[k]
			if len(k) > maxValue {
				return nil, errorf(http.StatusBadRequest, "InvalidParameter",
					"A parameter name (%s) is longer than %d bytes.", clip(k), maxValue)
			}
			if _, dup := params[k]; dup || len(v) > 1 {
				return nil, invalid(clip(k), "it is given more than once")
			}
			if len(v[0]) > maxValue {
				return nil, invalid(clip(k), "it is longer than %d bytes", maxValue)
			}
			params[k] = v[0]
		}
	}
	return params, nil
}

// checkCommon checks the common parameters the v1 signer adds.
func checkCommon(params map[string]string) error {
	if m, ok := params["SignatureMethod"]; ok && m != "HMAC-SHA1" {
		return invalid("SignatureMethod", "only HMAC-SHA1 is supported")
	}
	if v, ok := params["SignatureVersion"]; ok && v != "1.0" {
		return invalid("SignatureVersion", "only 1.0 is supported")
	}
	if t := params["SignatureType"]; t != "" {
		return invalid("SignatureType", "bearer tokens are not supported; sign with an AccessKey")
	}
	if params["SecurityToken"] != "" {
		return invalid("SecurityToken", "STS tokens are not supported; sign with an AccessKey")
	}
	if f := params["Format"]; f != "" && !strings.EqualFold(f, "JSON") {
		return invalid("Format", "only JSON is supported")
	}
	if len(params["SignatureNonce"]) > 255 {
		return invalid("SignatureNonce", "it is longer than 255 characters")
	}
	return nil
}

// checkTimestamp requires UTC yyyy-MM-ddTHH:mm:ssZ within TimestampWindow
// of now.
func (h *Handler) checkTimestamp(s string) error {
	t, err := time.Parse("2006-01-02T15:04:05Z", s)
	if err != nil || len(s) != len("2006-01-02T15:04:05Z") {
		return errTimeFormat
	}
	if d := h.now().Sub(t); d > TimestampWindow || d < -TimestampWindow {
		return errTimeExpired
	}
	return nil
}

// checkOwner keeps a key to its own account: BillOwnerId and OwnerId, when
// given, must name the key's account. Any other value is refused (whether
// or not such an account exists), never quietly answered with the key's
// own bills.
func (r *request) checkOwner() error {
	for _, name := range []string{"BillOwnerId", "OwnerId"} {
		if v := r.get(name); v != "" && v != r.account {
			return invalid(name, "an AccessKey acts for its own account (%s) only", r.account)
		}
	}
	return nil
}

// storeError turns domain errors from the store into Alibaba's terms;
// anything else stays an internal error.
func storeError(err error) error {
	var ae *apiError
	if err == nil || errors.As(err, &ae) {
		return err
	}
	switch callbill.ErrorCode(err) {
	case callbill.EINVALID:
		return errorf(http.StatusBadRequest, "InvalidParameter", "%s", callbill.ErrorMessage(err))
	case callbill.ENOTFOUND:
		return errorf(http.StatusNotFound, "NotFound", "%s", callbill.ErrorMessage(err))
	}
	return err
}

// requestID is a random UUID in upper case, as Alibaba's RequestId looks.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
