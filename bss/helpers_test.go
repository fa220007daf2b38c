package bss_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
	"github.com/callbill/callbill"
	"github.com/callbill/callbill/bss"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
)

const (
	uidA = "1000000000000001" // the scenario's enterprise account
	uidB = "1000000000000002" // the scenario's individual account
)

var cycle = callbill.NewCycle(2026, time.October)

// storeNow is the store's clock: after 2026-10, so that it can be closed,
// and while the scenario's voice package is valid.
var storeNow = time.Date(2026, 11, 5, 4, 0, 0, 0, time.UTC)

// env is a store holding the golden scenario (testdata/scenario), 2026-10
// closed, an AccessKey per account, and the endpoint on a test server.
type env struct {
	store  *sqlstore.Store
	srv    *httptest.Server
	keyA   *callbill.AccessKey
	keyB   *callbill.AccessKey
	logBuf *bytes.Buffer
}

func newEnv(t *testing.T) *env { return newEnvOn(t, "") }

// newEnvOn is newEnv on a given store DSN ("" for SQLite in a temp dir).
func newEnvOn(t *testing.T, dsn string) *env {
	t.Helper()
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "bss.db")
	}
	// The SDK honours HTTP_PROXY; the test server is local.
	for _, v := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(v, "")
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Now = func() time.Time { return storeNow }
	s.MasterKey = bytes.Repeat([]byte{1}, 32)

	yaml, err := os.ReadFile(filepath.Join("..", "testdata", "scenario", "world.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w, problems := world.Parse(yaml)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("..", "testdata", "scenario", "calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := cdr.NewDecoder(f)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: callbill.ImportOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 11 {
		t.Fatalf("imported %d calls, want the scenario's 11", rep.Imported)
	}
	if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: cycle}); err != nil {
		t.Fatal(err)
	}
	e := &env{store: s, logBuf: &bytes.Buffer{}}
	if e.keyA, err = s.CreateAccessKey(ctx, uidA); err != nil {
		t.Fatal(err)
	}
	if e.keyB, err = s.CreateAccessKey(ctx, uidB); err != nil {
		t.Fatal(err)
	}
	e.srv = e.serve(t, time.Now)
	return e
}

// serve starts the endpoint over the env's store with the given clock.
func (e *env) serve(t *testing.T, now func() time.Time) *httptest.Server {
	h := &bss.Handler{Store: e.store, Now: now, Log: slog.New(slog.NewTextHandler(e.logBuf, nil))}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// client is the official v1 SDK client signed with key, pointed at srv.
func client(t *testing.T, srv *httptest.Server, id, secret string) *bssopenapi.Client {
	t.Helper()
	c, err := bssopenapi.NewClientWithAccessKey("cn-hangzhou", id, secret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = strings.TrimPrefix(srv.URL, "http://")
	return c
}

// bill is the bill as `callbill bill show --json` prints it.
func (e *env) bill(t *testing.T, uid string, v callbill.View) callbill.BillJSON {
	t.Helper()
	b, err := (&closing.Service{Store: e.store}).Bill(context.Background(), closing.BillInput{Account: uid, Cycle: cycle, Daily: v.Daily})
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON, as the CLI prints it.
	raw, err := json.Marshal(b.JSON(v))
	if err != nil {
		t.Fatal(err)
	}
	var j callbill.BillJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	return j
}

// --- hand-built requests

func nonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// signed returns params with the v1 SDK's common parameters added and
// signed with secret for method; extra overrides them.
func signed(method, keyID, secret string, extra map[string]string) map[string]string {
	p := map[string]string{
		"Format": "JSON", "Version": bss.Version, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
		"SignatureType": "", "SignatureNonce": nonce(), "AccessKeyId": keyID, "RegionId": "cn-hangzhou",
		"Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"),
	}
	for k, v := range extra {
		p[k] = v
	}
	p["Signature"] = bss.Sign(bss.StringToSign(method, p), secret)
	return p
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func (a answer) code() string { s, _ := a.body["Code"].(string); return s }

// send sends params as a GET query or a POST form body.
func send(t *testing.T, srv *httptest.Server, method string, params map[string]string) answer {
	t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequest(method, srv.URL+"/?"+q.Encode(), nil)
	} else {
		req, err = http.NewRequest(method, srv.URL+"/", strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s: answer is not JSON: %v\n%s", method, err, raw)
	}
	return a
}
