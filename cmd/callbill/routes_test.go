package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill/bss"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/sqlstore"
)

// TestRoutesFavicon: a browser's /favicon.ico is answered by the console
// (its icon) and never reaches the BSS endpoint, which would log it as a
// refused request on every visit; the BSS endpoint still answers at "/".
func TestRoutesFavicon(t *testing.T) {
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cons := &console.Server{Store: s, Log: log}
	noAPI := http.NotFoundHandler()
	srv := httptest.NewServer(routes(log, noAPI, cons.Handler(), &bss.Handler{Store: s, Now: time.Now, Log: log}))
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for range 3 {
		resp, body := get("/favicon.ico")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
			t.Fatalf("/favicon.ico: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if strings.Contains(logs.String(), "bss") {
		t.Errorf("the icon requests reached the BSS endpoint:\n%s", logs.String())
	}
	// An unsigned BSS call is still the endpoint's (refused, in its terms).
	resp, body := get("/?Action=QueryAccountBalance")
	if resp.StatusCode != 400 || !strings.Contains(body, `"Code"`) || !strings.Contains(logs.String(), "bss request refused") {
		t.Errorf("a BSS call: %d %s\n%s", resp.StatusCode, body, logs.String())
	}
}
