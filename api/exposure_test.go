package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/internal/testutil"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/worker"
)

// TestTenantJobJSONShowsNoPathNorNode: an export record shows a tenant how
// many rows and bytes its file has, never where the file lies on the
// server nor which node (host) made it; the operator sees both.
func TestTenantJobJSONShowsNoPathNorNode(t *testing.T) {
	srv, s, exports, _ := setupServer(t)
	ctx := context.Background()
	k, err := s.CreateAccessKey(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	const body = `{"account":"1001","cycle":"2026-10"}`
	code, out := request(t, srv.URL, "POST", "/api/v1/exports", k.ID, k.Secret, body)
	if code != http.StatusAccepted {
		t.Fatalf("export: %d %s", code, out)
	}
	var job struct{ ID int64 }
	json.Unmarshal([]byte(out), &job)
	const node = "billing-host-7.example.internal-4242"
	wctx, cancel := context.WithCancel(ctx)
	n := &worker.Node{Store: s, Name: node, ExportDir: exports, Poll: 10 * time.Millisecond, NoAutoClose: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan struct{})
	go func() { n.Run(wctx); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if j, err := s.Job(ctx, job.ID); err == nil && j.Status == callbill.JobDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the export did not finish")
		}
	}
	cancel()
	<-done

	one := "/api/v1/exports/" + itoa(job.ID)
	for _, rq := range []struct{ method, path, body string }{{"GET", "/api/v1/exports", ""}, {"GET", one, ""}, {"POST", "/api/v1/exports", body}} {
		code, out := request(t, srv.URL, rq.method, rq.path, k.ID, k.Secret, rq.body)
		if code != 200 {
			t.Fatalf("tenant %s %s: %d %s", rq.method, rq.path, code, out)
		}
		if strings.Contains(out, exports) || strings.Contains(out, node) || strings.Contains(out, `"path"`) || strings.Contains(out, `"node"`) {
			t.Errorf("tenant %s %s shows the server's path or node: %s", rq.method, rq.path, out)
		}
		if !strings.Contains(out, `"rows":0`) || !strings.Contains(out, `"bytes":`) {
			t.Errorf("tenant %s %s lost the file's size: %s", rq.method, rq.path, out)
		}
	}
	for _, p := range []string{"/api/v1/exports", one, "/api/v1/exports?account=1001"} {
		code, out := request(t, srv.URL, "GET", p, "", "", "")
		if code != 200 || !strings.Contains(out, `"node":"`+node+`"`) || !strings.Contains(out, `"path":"`+exports) {
			t.Errorf("operator %s: %d %s", p, code, out)
		}
	}
	// The tenant still downloads its file.
	req, _ := http.NewRequest("GET", srv.URL+one+"/file", nil)
	req.SetBasicAuth(k.ID, k.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("tenant download: %d", resp.StatusCode)
	}
}

// panicky is the store with a bug: listing jobs panics, and so, with the
// standard way of cutting a connection, does checking an account.
type panicky struct{ *sqlstore.Store }

func (p panicky) Jobs(ctx context.Context, q callbill.JobQuery) ([]*callbill.Job, error) {
	var jobs map[string][]*callbill.Job
	//lint:ignore SA5000 the bug this test needs: a runtime panic
	jobs[q.Kind] = nil
	return nil, nil
}

func (p panicky) AccountExists(ctx context.Context, uid string) error { panic(http.ErrAbortHandler) }

// TestPanicInHandlerAnswers500: a handler that panics answers the usual
// problem (internal, "internal error") with its stack in the log, the
// metrics count the 500, and the server goes on answering.
func TestPanicInHandlerAnswers500(t *testing.T) {
	_, s, exports, _ := setupServer(t)
	var logs testutil.SyncBuffer
	as := &api.Server{Store: panicky{s}, Rest: s, Keys: s, OperatorKey: key, ExportDir: exports, Metrics: api.NewMetrics(),
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	srv := httptest.NewServer(as.Handler())
	defer srv.Close()
	for range 3 {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/exports", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p struct {
			Status int
			Code   string
			Detail string
		}
		json.Unmarshal(b, &p)
		if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			p.Status != 500 || p.Code != callbill.EINTERNAL || p.Detail != "internal error" {
			t.Fatalf("panicking route: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		if strings.Contains(string(b), "nil map") || strings.Contains(string(b), "goroutine") {
			t.Fatalf("the panic reached the client: %s", b)
		}
		if code, out := call(t, srv, "GET", "/api/v1/accounts", key, ""); code != 200 || !strings.Contains(out, `"1001"`) {
			t.Fatalf("after the panic: %d %s", code, out)
		}
	}
	l := logs.String()
	if !strings.Contains(l, "assignment to entry in nil map") || !strings.Contains(l, "runtime/debug.Stack") || !strings.Contains(l, "panicky.Jobs") {
		t.Errorf("the log lacks the panic and its stack: %s", l)
	}
	if strings.Contains(l, `msg="request failed"`) {
		t.Errorf("the panic is logged twice: %s", l)
	}
	if _, out := call(t, srv, "GET", "/metrics", "", ""); !strings.Contains(out, `route="GET /api/v1/exports"}`) ||
		!strings.Contains(out, `code="500",route="GET /api/v1/exports"`) {
		t.Errorf("the metrics miss the 500s")
	}

	// http.ErrAbortHandler cuts the connection, as net/http does: no answer,
	// nothing logged.
	before := logs.String()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/exports", strings.NewReader(`{"account":"1001","cycle":"2026-10"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("an aborted request was answered %d", resp.StatusCode)
	}
	if logs.String() != before {
		t.Errorf("an abort was logged: %s", strings.TrimPrefix(logs.String(), before))
	}
	if code, _ := call(t, srv, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz after an abort: %d", code)
	}
}
