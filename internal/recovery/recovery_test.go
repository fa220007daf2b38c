package recovery_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callbill/callbill/internal/recovery"
	"github.com/callbill/callbill/internal/testutil"
)

// TestHandlerAnswers500AndServesOn: a panic before the answer began gets
// the caller's 500, with the stack in the log; the handler's download
// headers are dropped; the server goes on serving.
func TestHandlerAnswers500AndServesOn(t *testing.T) {
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="x.csv"`)
		var m map[string]int
		//lint:ignore SA5000 a nil map: a real bug, not a panic(…) call
		m["x"]++
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := httptest.NewServer(recovery.Handler(log, mux, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}))
	defer srv.Close()
	for range 3 {
		resp, err := http.Get(srv.URL + "/boom")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || strings.TrimSpace(string(body)) != "internal error" || resp.Header.Get("Content-Disposition") != "" {
			t.Fatalf("panic: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		resp, err = http.Get(srv.URL + "/ok")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("after the panic: %d %q", resp.StatusCode, body)
		}
	}
	if l := logs.String(); !strings.Contains(l, "panic serving a request") || !strings.Contains(l, "assignment to entry in nil map") ||
		!strings.Contains(l, "runtime/debug.Stack") || !strings.Contains(l, "path=/boom") {
		t.Fatalf("log: %s", l)
	}
}

// TestHandlerCutsAStartedAnswer: once the answer has begun, the client
// must not get a short body that looks whole: the connection is cut.
func TestHandlerCutsAStartedAnswer(t *testing.T) {
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	called := false
	srv := httptest.NewServer(recovery.Handler(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, "half")
		w.(http.Flusher).Flush()
		panic("midway")
	}), func(w http.ResponseWriter, r *http.Request) { called = true }))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a cut-off answer read as whole")
	}
	if called {
		t.Error("a 500 was written after the answer had begun")
	}
	if !strings.Contains(logs.String(), "midway") {
		t.Errorf("log: %s", logs.String())
	}
}

// TestHandlerPassesErrAbortHandler: http.ErrAbortHandler is the standard
// way to cut a connection; it is neither answered nor logged as a bug.
func TestHandlerPassesErrAbortHandler(t *testing.T) {
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	called := false
	srv := httptest.NewServer(recovery.Handler(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}), func(w http.ResponseWriter, r *http.Request) { called = true }))
	defer srv.Close()
	if resp, err := http.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d", resp.StatusCode)
	}
	if called || logs.String() != "" {
		t.Errorf("answered %v, log %q", called, logs.String())
	}
}

// TestDoRecovers: a loop step that panics is logged and reported.
func TestDoRecovers(t *testing.T) {
	var logs testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if recovery.Do(log, "step panicked", func() {}) {
		t.Error("a quiet step reported a panic")
	}
	if !recovery.Do(log, "step panicked", func() { panic("bad") }, "step", "sweep") {
		t.Error("the panic was not reported")
	}
	if l := logs.String(); !strings.Contains(l, "step panicked") || !strings.Contains(l, "step=sweep") || !strings.Contains(l, "panic=bad") ||
		!strings.Contains(l, "goroutine") {
		t.Errorf("log: %s", l)
	}
}
