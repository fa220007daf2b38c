package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/bss"
)

// brokenBSS is a BSS store whose key lookup panics: a bug met by every
// signed request.
type brokenBSS struct{ bss.Store }

func (brokenBSS) AccessKey(ctx context.Context, id string) (*callbill.AccessKey, error) {
	var keys map[string]*callbill.AccessKey
	//lint:ignore SA5000 the bug this test needs: a runtime panic
	keys[id] = nil
	return nil, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRoutesRecoverPanics: a panic in the BSS endpoint answers its
// InternalError (500) with the stack in the log, a panic elsewhere a plain
// 500, and the node goes on serving every route.
func TestRoutesRecoverPanics(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	apiStub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/boom" {
			panic("api bug")
		}
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(routes(log, apiStub, ok, &bss.Handler{Store: brokenBSS{}, Now: time.Now, Log: log}))
	defer srv.Close()
	q := url.Values{"Action": {"QueryAccountBalance"}, "Version": {bss.Version}, "AccessKeyId": {"LTAI-test"}, "Signature": {"x"},
		"SignatureNonce": {"n1"}, "Timestamp": {time.Now().UTC().Format("2006-01-02T15:04:05Z")}, "Format": {"JSON"}}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for range 2 {
		resp, body := get("/?" + q.Encode())
		var e struct{ RequestId, Code, Message string }
		json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != 500 || e.Code != "InternalError" || e.RequestId == "" || e.RequestId != resp.Header.Get("x-acs-request-id") ||
			strings.Contains(body, "nil map") {
			t.Fatalf("BSS panic: %d %s", resp.StatusCode, body)
		}
		if resp, body := get("/api/v1/boom"); resp.StatusCode != 500 || strings.TrimSpace(body) != "internal error" {
			t.Fatalf("API panic: %d %s", resp.StatusCode, body)
		}
		for _, p := range []string{"/healthz", "/api/v1/accounts", "/console/"} {
			if resp, body := get(p); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("%s after a panic: %d %s", p, resp.StatusCode, body)
			}
		}
		if resp, _ := get("/"); resp.StatusCode != http.StatusFound {
			t.Fatalf("/ after a panic: %d", resp.StatusCode)
		}
	}
	if l := logs.String(); !strings.Contains(l, "assignment to entry in nil map") || !strings.Contains(l, "brokenBSS.AccessKey") ||
		!strings.Contains(l, "api bug") || !strings.Contains(l, "runtime/debug.Stack") {
		t.Errorf("log: %s", l)
	}
}

// TestServeRefusesBadTrustedProxies: a value of --trusted-proxies that is
// neither an IP nor a CIDR is a usage error naming it.
func TestServeRefusesBadTrustedProxies(t *testing.T) {
	for _, bad := range []string{"not-an-ip", "10.0.0.0/33"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--db", filepath.Join(t.TempDir(), "x.db"), "serve", "--trusted-proxies", "10.0.0.0/8," + bad},
			strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), bad) || !strings.Contains(stderr.String(), "--trusted-proxies") {
			t.Errorf("%s: exit %d, %s", bad, code, stderr.String())
		}
	}
}

// TestServeFileModes: the database file (and its -wal and -shm) and the
// export folder are the service's own; serve takes --trusted-proxies.
func TestServeFileModes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), []byte(authWorld), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "modes.db")
	if r := runCLI(t, dir, "--db", db, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	n := startNodeArgs(t, dir, db, "modes", "--trusted-proxies", "127.0.0.1,10.0.0.0/8")
	if code := n.do(t, "GET", "/healthz", nil, nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	want := map[string]os.FileMode{db: 0o600, db + "-wal": 0o600, db + "-shm": 0o600, filepath.Join(dir, "exports"): 0o700}
	for path, mode := range want {
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), st.Mode().Perm(), mode)
		}
	}
}
