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
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// Version is the BSS OpenAPI version served.
const Version = "2017-12-14"

// MaxSkew is how far a request's Timestamp may be from the server's clock.
const MaxSkew = 15 * time.Minute

// maxBody bounds a form body; the SDK sends an empty one.
const maxBody = 1 << 20

// Store is what the endpoint reads (sqlstore.Store).
type Store interface {
	// AccessKey returns a valid key with its secret; ENOTFOUND for an
	// unknown or revoked key.
	AccessKey(ctx context.Context, id string) (*callbill.AccessKey, error)
	// UseNonce records a key's SignatureNonce; ECONFLICT when it was seen in
	// the last 15 minutes.
	UseNonce(ctx context.Context, keyID, nonce string) error
	Bill(ctx context.Context, uid string, c callbill.Cycle, daily bool) (*callbill.Bill, error)
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
	sts := StringToSign(r.Method, params)
	if subtle.ConstantTimeCompare([]byte(Sign(sts, key.Secret)), []byte(params["Signature"])) != 1 {
		return nil, keyID, action, errSignature(sts)
	}
	err = h.Store.UseNonce(ctx, keyID, params["SignatureNonce"])
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

// readParams merges the query string and a form body. A name given twice
// (in either, or in both) is refused: the SDK never does it, and a second
// value would make it ambiguous what was signed.
func readParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The query string is not well formed: %v", err)
	}
	var form url.Values
	if r.Method == http.MethodPost && r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The form body is not well formed: %v", err)
		}
		form = r.PostForm
	}
	params := map[string]string{}
	for _, vs := range []url.Values{query, form} {
		for k, v := range vs {
			if _, dup := params[k]; dup || len(v) > 1 {
				return nil, invalid(k, "it is given more than once")
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

// checkTimestamp requires UTC yyyy-MM-ddTHH:mm:ssZ within MaxSkew of now.
func (h *Handler) checkTimestamp(s string) error {
	t, err := time.Parse("2006-01-02T15:04:05Z", s)
	if err != nil || len(s) != len("2006-01-02T15:04:05Z") {
		return errTimeFormat
	}
	if d := h.now().Sub(t); d > MaxSkew || d < -MaxSkew {
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
