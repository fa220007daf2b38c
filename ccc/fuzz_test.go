package ccc_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbill/callbill/ccc"
)

// answer is a RoundTripper that answers every request with one body and
// status: what CCC (or whatever stands at its address) sent.
type answer struct {
	status int
	body   []byte
}

func (a answer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Body: io.NopCloser(bytes.NewReader(a.body)), Header: http.Header{}}, nil
}

// FuzzListPage: whatever the answer to a ListCallDetailRecords request,
// the client returns a page of at most the records it asked for, or an
// error; it never panics.
func FuzzListPage(f *testing.F) {
	f.Add(200, []byte(`{"Code":"OK","Data":{"PageNumber":1,"PageSize":2,"TotalCount":1,"List":[{"ContactId":"c1","InstanceId":"i"}]}}`))
	f.Add(200, []byte(`{"Code":"OK","Data":{"List":[{},{},{}]}}`))
	f.Add(200, []byte(`{"Code":"OK"}`))
	f.Add(403, []byte(`{"Code":"Forbidden.NoPermission","Message":"no","RequestId":"r"}`))
	f.Add(500, []byte(`<html>bad gateway</html>`))
	f.Add(200, []byte(`{"Code":"OK","Data":{"TotalCount":-5,"List":null}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		c := &ccc.Client{Endpoint: "https://ccc.example.test", AccessKeyID: "id", AccessKeySecret: "secret", PageSize: 2,
			HTTP: &http.Client{Transport: answer{status, body}}}
		w := ccc.Window{From: time.Unix(1_790_000_000, 0), To: time.Unix(1_790_003_600, 0)}
		p, err := c.ListPage(context.Background(), "ccc-1", w, 1)
		if err != nil {
			if p != nil {
				t.Fatalf("a page and an error: %+v %v", p, err)
			}
			return
		}
		if status != 200 || len(p.Records) > 2 || p.Total < -1 || p.Number != 1 {
			t.Fatalf("status %d: page %+v", status, p)
		}
	})
}

// FuzzLoadState: a state file of any content loads as cursors of valid
// instance ids, or is refused with an error; it never panics.
func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{"cursors":{"ccc-hz-001":"2026-12-01T00:00:00+08:00"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"cursors":{"":"2026-12-01T00:00:00Z"}}`))
	f.Add([]byte(`{"cursors":{"a b":"x"}}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := ccc.LoadState(path)
		if err != nil {
			return
		}
		for id := range st.Cursors {
			if err := ccc.CheckInstance(id); err != nil {
				t.Fatalf("loaded a cursor of %q: %v", id, err)
			}
		}
	})
}
