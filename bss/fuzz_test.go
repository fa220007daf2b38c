package bss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
)

// Seeds are in testdata/fuzz/<FuzzName>/: the published signature vectors,
// requests shaped like the SDKs' and ones that break each limit.

// FuzzParseRequest: parsing a query string and a form body never panics,
// refuses with a 400 InvalidParameter or yields parameters within the limits
// that survive being encoded again; the handler reads exactly that; and the
// whole handler answers every request with a JSON error or success.
func FuzzParseRequest(f *testing.F) {
	h := &Handler{Store: fuzzStore{}, Now: func() time.Time { return fuzzNow }, Log: discardLog}
	f.Fuzz(func(t *testing.T, query, contentType string, body []byte) {
		params, err := parseParams(query, body)
		if err != nil {
			badRequest(t, "parseParams", err)
		} else {
			if len(query) > maxQuery || len(body) > maxBody || len(params) > maxParams {
				t.Fatalf("accepted %d bytes of query, %d of body, %d parameters", len(query), len(body), len(params))
			}
			for k, v := range params {
				if len(k) > maxValue || len(v) > maxValue {
					t.Fatalf("accepted a name of %d bytes with a value of %d", len(k), len(v))
				}
			}
			// What was parsed is what is signed: encoding it again (as the
			// signer does) and parsing that gives the same parameters.
			enc := make([]string, 0, len(params))
			for k, v := range params {
				enc = append(enc, PercentEncode(k)+"="+PercentEncode(v))
			}
			if q := strings.Join(enc, "&"); len(q) <= maxQuery {
				again, err := parseParams(q, nil)
				if err != nil || !maps.Equal(again, params) {
					t.Fatalf("parameters encoded again: %v, %q\nwant %q", err, again, params)
				}
			}
		}

		// The handler reads the body of a POST with a form Content-Type
		// only.
		mt, _, ctErr := mime.ParseMediaType(contentType)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			got, gotErr := readParams(httptest.NewRecorder(), fuzzRequest(method, query, contentType, body))
			if gotErr != nil {
				badRequest(t, method+" readParams", gotErr)
			}
			var want map[string]string
			var wantErr error
			switch {
			case method == http.MethodPost && contentType != "" && ctErr != nil:
				if gotErr == nil {
					t.Fatalf("POST with Content-Type %q (%v) accepted", contentType, ctErr)
				}
				continue
			case method == http.MethodPost && mt == "application/x-www-form-urlencoded":
				want, wantErr = params, err
			default:
				want, wantErr = parseParams(query, nil)
			}
			// Errors may differ in which limit they name first.
			if (gotErr == nil) != (wantErr == nil) || !maps.Equal(got, want) {
				t.Fatalf("%s readParams = %q, %v\nwant %q, %v", method, got, gotErr, want, wantErr)
			}
		}

		// The whole endpoint: a JSON answer with a Code and a request id,
		// never an internal error (the store below fails only with domain
		// errors).
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, fuzzRequest(method, query, contentType, body))
			var out struct{ Code, RequestId string }
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Code == "" || out.RequestId == "" ||
				w.Header().Get("x-acs-request-id") != out.RequestId {
				t.Fatalf("%s: answer %d %q: %v", method, w.Code, w.Body, err)
			}
			if w.Code >= 500 {
				t.Fatalf("%s: %d %s", method, w.Code, w.Body)
			}
		}
	})
}

// FuzzVerifySignature: signature v1 verification never panics; a request
// signed with Sign verifies; changing any byte of any parameter (name or
// value, Signature included), of the method or of the secret makes it fail.
// params is a canonical query string (name=value&…, percent-encoded: any
// byte can be given); the published vectors must give their signatures.
func FuzzVerifySignature(f *testing.F) {
	f.Fuzz(func(t *testing.T, method, query, secret string, delta byte) {
		params := decodeCanonical(query)
		// Whatever Signature the input carries.
		if sts, ok := Verify(method, params, secret); sts != StringToSign(method, params) ||
			ok != (params["Signature"] == Sign(sts, secret)) {
			t.Fatalf("Verify = %q, %v", sts, ok)
		}
		// The canonical form is unambiguous: it decodes to what was signed.
		unsigned := maps.Clone(params)
		delete(unsigned, "Signature")
		if back := decodeCanonical(Canonicalize(params)); !maps.Equal(back, unsigned) {
			t.Fatalf("Canonicalize(%q) = %q decodes to %q", params, Canonicalize(params), back)
		}
		for _, v := range vectors {
			if method == v.method && query == v.canonical && secret == v.secret {
				if got := Sign(StringToSign(method, params), secret); got != v.signature {
					t.Fatalf("%s vector: signature %s, want %s", method, got, v.signature)
				}
			}
		}

		signed := maps.Clone(params)
		signed["Signature"] = Sign(StringToSign(method, signed), secret)
		if _, ok := Verify(method, signed, secret); !ok {
			t.Fatalf("a signed request does not verify: %s %q", method, signed)
		}
		if delta == 0 {
			delta = 1
		}
		flip := func(s string, i int) string {
			b := []byte(s)
			b[i] ^= delta
			return string(b)
		}
		// Every byte while the input is small, else a spread of them.
		step := func(n int) int { return n/128 + 1 }
		for _, k := range slices.Sorted(maps.Keys(signed)) {
			v := signed[k]
			// In place, restored after each change.
			for i := 0; i < len(k); i += step(len(k)) {
				nk := flip(k, i)
				prev, had := signed[nk]
				delete(signed, k)
				signed[nk] = v
				_, ok := Verify(method, signed, secret)
				delete(signed, nk)
				if had {
					signed[nk] = prev
				}
				signed[k] = v
				if ok {
					t.Fatalf("name %q changed to %q at byte %d: still verifies", k, nk, i)
				}
			}
			for i := 0; i < len(v); i += step(len(v)) {
				signed[k] = flip(v, i)
				_, ok := Verify(method, signed, secret)
				signed[k] = v
				if ok {
					t.Fatalf("%s=%q changed at byte %d: still verifies", k, v, i)
				}
			}
		}
		for i := 0; i < len(method); i += step(len(method)) {
			if _, ok := Verify(flip(method, i), signed, secret); ok {
				t.Fatalf("method %q changed at byte %d: still verifies", method, i)
			}
		}
		for i := 0; i < len(secret); i += step(len(secret)) {
			if _, ok := Verify(method, signed, flip(secret, i)); ok {
				t.Fatalf("secret changed at byte %d: still verifies", i)
			}
		}
	})
}

// vectors are the published signature example (TestSignatureVectors).
var vectors = []struct{ method, canonical, secret, signature string }{
	{"GET", refCanonical, "testsecret", "OLeaidS1JvxuMvnyHOwuJ+uX5qY="},
	{"POST", refCanonical, "testsecret", "MxbnVAM4w6sft9xjVpe/GCKueuk="},
}

const refCanonical = "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1" +
	"&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0" +
	"&Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26"

func TestVectorsCanonical(t *testing.T) {
	// The fuzz seeds' form of the vectors is their canonical string.
	p := decodeCanonical(refCanonical)
	if got := Canonicalize(p); got != refCanonical {
		t.Errorf("Canonicalize = %q", got)
	}
	for _, v := range vectors {
		if got := Sign(StringToSign(v.method, p), v.secret); got != v.signature {
			t.Errorf("%s: %s, want %s", v.method, got, v.signature)
		}
	}
}

// decodeCanonical reads name=value&… with percent-escapes (PercentEncode's
// inverse; "+" stays "+"); a piece that does not decode is taken as it is.
// A name given again replaces the earlier one.
func decodeCanonical(s string) map[string]string {
	params := map[string]string{}
	if s == "" {
		return params
	}
	for _, piece := range strings.Split(s, "&") {
		k, v, _ := strings.Cut(piece, "=")
		if d, err := url.PathUnescape(k); err == nil {
			k = d
		}
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
		params[k] = v
	}
	return params
}

// badRequest fails unless err is a 400 InvalidParameter.
func badRequest(t *testing.T, what string, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != "InvalidParameter" {
		t.Fatalf("%s: %v, want a 400 InvalidParameter", what, err)
	}
}

func fuzzRequest(method, query, contentType string, body []byte) *http.Request {
	r := &http.Request{
		Method: method, URL: &url.URL{Path: "/", RawQuery: query}, Host: "bss.test",
		Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)),
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r.WithContext(context.Background())
}

var discardLog = slog.New(slog.DiscardHandler)

// fuzzNow is the published vector's Timestamp, so that seeds built on it
// pass the Timestamp check.
var fuzzNow = time.Date(2016, 2, 23, 12, 46, 24, 0, time.UTC)

// fuzzStore knows the key testid (secret testsecret) and nothing else.
type fuzzStore struct{}

var errNoData = callbill.Errorf(callbill.ENOTFOUND, "no data in the fuzz store")

func (fuzzStore) AccessKey(_ context.Context, id string) (*callbill.AccessKey, error) {
	if id != "testid" {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "access key %s not found", id)
	}
	return &callbill.AccessKey{ID: id, Account: "1000000000000001", Secret: "testsecret"}, nil
}
func (fuzzStore) UseNonce(context.Context, string, string, time.Duration) error { return nil }
func (fuzzStore) ViewBills(context.Context, func(closing.Tx, time.Time) error) error {
	return errNoData
}
func (fuzzStore) UpdateClosing(context.Context, func(closing.Tx, time.Time) error) error {
	return errNoData
}
func (fuzzStore) Status(context.Context, string) (*callbill.AccountStatus, error) {
	return nil, errNoData
}
func (fuzzStore) Location(context.Context) (*time.Location, error)    { return time.UTC, nil }
func (fuzzStore) AccountName(context.Context, string) (string, error) { return "", errNoData }
func (fuzzStore) VoicePackages(context.Context, string) ([]callbill.VoicePackage, time.Time, error) {
	return nil, time.Time{}, errNoData
}
