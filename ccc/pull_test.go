package ccc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill/ccc"
	"github.com/callbill/callbill/internal/testccc"
)

// memSink imports into a set of contact ids, as callbill does: a record
// seen before is a duplicate. It can fail its nth import.
type memSink struct {
	mu     sync.Mutex
	ids    map[string]time.Time // contact id → start
	calls  int
	failAt map[int]bool // 1-based import numbers that fail
	reject string       // a contact id to reject
}

func (m *memSink) Import(ctx context.Context, records []json.RawMessage) (*ccc.Imported, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.failAt[m.calls] {
		return nil, errors.New("the server is down")
	}
	if m.ids == nil {
		m.ids = map[string]time.Time{}
	}
	out := &ccc.Imported{}
	for i, raw := range records {
		var r struct {
			ContactId string
			StartTime int64
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		switch _, seen := m.ids[r.ContactId]; {
		case r.ContactId == m.reject:
			out.Rejected++
			out.Rejects = append(out.Rejects, ccc.Rejected{Record: i, Reason: "unknown service number"})
		case seen:
			out.Duplicates++
		default:
			m.ids[r.ContactId] = time.UnixMilli(r.StartTime)
			out.Imported++
		}
	}
	return out, nil
}

func (m *memSink) has(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok
}

// records makes n records of instance, the ith starting at start + i·step.
func records(instance string, start time.Time, step time.Duration, n int) []testccc.Record {
	out := make([]testccc.Record, n)
	for i := range out {
		s := start.Add(time.Duration(i) * step)
		out[i] = testccc.Record{ContactID: fmt.Sprintf("%s-%d-%d", instance, start.UnixMilli(), i), Instance: instance, Inbound: i%2 == 0,
			Caller: "13800000001", Callee: "057100000001", Start: s, End: s.Add(65 * time.Second)}
	}
	return out
}

type harness struct {
	fake  *testccc.Server
	sink  *memSink
	p     *ccc.Puller
	st    *ccc.State
	saves []ccc.State
	all   []testccc.Record
	// exempt are records the save check leaves out: they came after
	// their window was read, which only the overlap catches.
	exempt map[string]bool
	t      *testing.T
}

// newHarness makes a puller on a fake CCC and an in-memory sink whose
// every save is checked: no record of the instance that started before the
// cursor may be missing from the sink (what a crash right after the save
// would lose), unless it came later than the overlap.
func newHarness(t *testing.T, pageSize int) *harness {
	h := &harness{fake: testccc.New(), sink: &memSink{}, st: &ccc.State{Cursors: map[string]time.Time{}}, exempt: map[string]bool{}, t: t}
	t.Cleanup(h.fake.Close)
	h.p = &ccc.Puller{
		Client:  &ccc.Client{Endpoint: h.fake.URL, AccessKeyID: h.fake.KeyID, AccessKeySecret: h.fake.Secret, PageSize: pageSize},
		Sink:    h.sink,
		Lag:     5 * time.Minute,
		Overlap: time.Hour,
		Save: func(st *ccc.State) error {
			for id, cur := range st.Cursors {
				for _, r := range h.all {
					if r.Instance == id && r.Start.Before(cur) && !h.sink.has(r.ContactID) && !h.exempt[r.ContactID] {
						t.Errorf("cursor of %s moved to %s past %s (started %s), not imported", id, cur, r.ContactID, r.Start)
					}
				}
			}
			h.saves = append(h.saves, ccc.State{Cursors: map[string]time.Time{}})
			for id, cur := range st.Cursors {
				h.saves[len(h.saves)-1].Cursors[id] = cur
			}
			return nil
		},
	}
	return h
}

func (h *harness) add(rs ...testccc.Record) {
	h.fake.Add(rs...)
	h.all = append(h.all, rs...)
}

// missing lists the records the sink lacks.
func (h *harness) missing() []string {
	var out []string
	for _, r := range h.all {
		if !h.sink.has(r.ContactID) {
			out = append(out, r.ContactID)
		}
	}
	return out
}

func TestPassReadsEverythingOnceAndMovesTheCursor(t *testing.T) {
	h := newHarness(t, 7)
	now := time.Now()
	// Two days of one instance (three windows of at most a day), some of
	// another; a call within the lag waits for the next pass.
	h.add(records("ccc-a", now.Add(-50*time.Hour), 17*time.Minute, 170)...)
	h.add(records("ccc-b", now.Add(-3*time.Hour), 9*time.Minute, 15)...)
	recent := records("ccc-b", now.Add(-2*time.Minute), time.Second, 1)
	h.fake.Add(recent...)
	h.p.Since = now.Add(-60 * time.Hour)
	rep, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a", "ccc-b"})
	if err != nil {
		t.Fatal(err)
	}
	if m := h.missing(); len(m) != 0 {
		t.Fatalf("missing after one pass: %v", m)
	}
	if h.sink.has(recent[0].ContactID) {
		t.Error("a call that started within the lag was read")
	}
	if rep.Imported != 185 || rep.Read != 185 || rep.Rejected != 0 {
		t.Errorf("report %+v", rep)
	}
	if rep.Windows != 6 { // ccc-a: 60 h in 24 + 24 + 12; ccc-b the same
		t.Errorf("windows %d, want 6", rep.Windows)
	}
	for _, id := range []string{"ccc-a", "ccc-b"} {
		if got := h.st.Cursors[id]; !got.Equal(rep.Until) {
			t.Errorf("cursor of %s = %s, want the pass's end %s", id, got, rep.Until)
		}
	}
	if d := time.Since(rep.Until); d < 5*time.Minute || d > 6*time.Minute {
		t.Errorf("the pass ended %s ago, want the lag", d)
	}
	// Each cursor moved forward only, window by window.
	last := map[string]time.Time{}
	for _, s := range h.saves {
		for id, cur := range s.Cursors {
			if cur.Before(last[id]) {
				t.Errorf("cursor of %s went back from %s to %s", id, last[id], cur)
			}
			last[id] = cur
		}
	}

	// A second pass reads the overlap again: nothing new, the overlap's
	// records are duplicates.
	h.p.Now = func() time.Time { return now.Add(time.Minute) }
	rep, err = h.p.Pass(context.Background(), h.st, []string{"ccc-a", "ccc-b"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || rep.Duplicates == 0 {
		t.Errorf("second pass: %+v", rep)
	}
}

func TestPassSplitsWhatCCCCannotPageThrough(t *testing.T) {
	h := newHarness(t, 5) // 100 pages of 5: 500 records at most per query
	now := time.Now()
	h.add(records("ccc-a", now.Add(-3*time.Hour), 8*time.Second, 1234)...)
	h.p.Since = now.Add(-4 * time.Hour)
	rep, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a"})
	if err != nil {
		t.Fatal(err)
	}
	if m := h.missing(); len(m) != 0 {
		t.Fatalf("missing: %d records, first %s", len(m), m[0])
	}
	if rep.Imported != 1234 || rep.Windows < 3 {
		t.Errorf("report %+v", rep)
	}
	for _, q := range h.fake.Queries() {
		if q.Page > 100 || q.PageSize != 5 {
			t.Fatalf("query %+v", q)
		}
	}
}

func TestPassTooManyRecordsInOneMillisecond(t *testing.T) {
	h := newHarness(t, 1)
	now := time.Now().Truncate(time.Millisecond)
	at := now.Add(-time.Hour)
	h.add(records("ccc-a", at, 0, 101)...)
	h.p.Since = now.Add(-2 * time.Hour)
	_, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a"})
	if err == nil || !strings.Contains(err.Error(), "more than 100 records starting at") {
		t.Fatalf("err = %v", err)
	}
	if cur, ok := h.st.Cursors["ccc-a"]; ok && cur.After(at) {
		t.Errorf("cursor %s moved past the records", cur)
	}
}

// Records that CCC writes while a window is read shift its pages: reading
// goes on to the first short page, so nothing already there is skipped, and
// a window still full at page 100 is read again in halves.
func TestPassReadsRecordsThatArriveMeanwhile(t *testing.T) {
	for _, c := range []struct {
		name     string
		pageSize int
		split    bool
	}{{"split", 1, true}, {"read on", 10, false}} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.pageSize)
			now := time.Now()
			h.add(records("ccc-a", now.Add(-2*time.Hour), time.Minute, 90)...)
			late := records("ccc-late", now.Add(-2*time.Hour).Add(30*time.Second), time.Minute, 30)
			for i := range late {
				late[i].Instance = "ccc-a"
				h.exempt[late[i].ContactID] = !c.split
			}
			var once sync.Once
			h.fake.SetFail(func(q testccc.Query) *testccc.Failure {
				if q.Page == 3 {
					once.Do(func() { h.add(late...) })
				}
				return nil
			})
			h.p.Since = now.Add(-3 * time.Hour)
			rep, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a"})
			if err != nil {
				t.Fatal(err)
			}
			var missing []string
			for _, id := range h.missing() {
				if !strings.HasPrefix(id, "ccc-late") {
					t.Errorf("%s, there before the pass, was not read", id)
				}
				missing = append(missing, id)
			}
			if c.split {
				// Read again in halves: everything, the late ones too.
				if len(missing) != 0 || rep.Windows < 2 {
					t.Errorf("missing %v, report %+v", missing, rep)
				}
				return
			}
			// The late records that landed on pages already read are
			// missed by this pass; an overlap reaching back to their start
			// catches them.
			if len(missing) == 0 {
				t.Fatal("no late record was missed: the test shows nothing")
			}
			h.p.Overlap = 3 * time.Hour
			if _, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a"}); err != nil {
				t.Fatal(err)
			}
			if m := h.missing(); len(m) != 0 {
				t.Errorf("missing after a pass with a longer overlap: %v", m)
			}
		})
	}
}

// A failed import stops the pass with the cursor at the last window
// imported whole; the next pass converges, each record once.
func TestPassStopsAtAFailedImport(t *testing.T) {
	h := newHarness(t, 10)
	now := time.Now()
	h.add(records("ccc-a", now.Add(-40*time.Hour), 7*time.Minute, 300)...)
	h.p.Since = now.Add(-48 * time.Hour)
	// The first day's window takes 14 imports (137 records in pages of
	// 10); the 16th is in the second day's.
	h.sink.failAt = map[int]bool{16: true}
	_, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a"})
	if err == nil || !strings.Contains(err.Error(), "the server is down") || !strings.Contains(err.Error(), "page") {
		t.Fatalf("err = %v", err)
	}
	if got, want := h.st.Cursors["ccc-a"], h.p.Since.Truncate(time.Millisecond).Add(ccc.MaxWindow); !got.Equal(want) {
		t.Errorf("cursor after the failure %s, want the end of the first day's window %s", got, want)
	}
	rep, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a"})
	if err != nil {
		t.Fatal(err)
	}
	if m := h.missing(); len(m) != 0 {
		t.Fatalf("missing: %v", m)
	}
	if len(h.sink.ids) != 300 || rep.Duplicates == 0 {
		t.Errorf("%d records stored, report %+v", len(h.sink.ids), rep)
	}
}

// CCC's refusal stops the pass with its Code and Message; the cursor stays.
func TestPassStopsAtCCCErrors(t *testing.T) {
	h := newHarness(t, 10)
	now := time.Now()
	h.add(records("ccc-a", now.Add(-2*time.Hour), time.Minute, 30)...)
	h.p.Since = now.Add(-3 * time.Hour)
	h.fake.SetFail(func(q testccc.Query) *testccc.Failure {
		if q.Page == 2 {
			return &testccc.Failure{Status: 429, Code: "Throttling.User", Message: "Request was denied due to user flow control."}
		}
		return nil
	})
	_, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a"})
	var ae *ccc.APIError
	if !errors.As(err, &ae) || ae.Code != "Throttling.User" || ae.Status != 429 ||
		!strings.Contains(err.Error(), "Throttling.User: Request was denied due to user flow control. (HTTP 429, RequestId req-fail)") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := h.st.Cursors["ccc-a"]; ok {
		t.Error("the cursor moved")
	}

	// A wrong secret is CCC's SignatureDoesNotMatch.
	h.fake.SetFail(nil)
	h.p.Client.AccessKeySecret = "wrong"
	_, err = h.p.Pass(context.Background(), h.st, []string{"ccc-a"})
	if !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestPassNeedsSinceForANewInstance(t *testing.T) {
	h := newHarness(t, 10)
	h.st.Cursors["ccc-a"] = time.Now().Add(-time.Hour)
	_, err := h.p.Pass(context.Background(), h.st, []string{"ccc-a", "ccc-b"})
	if err == nil || !strings.Contains(err.Error(), "instance ccc-b has no cursor") || !strings.Contains(err.Error(), "--since") {
		t.Fatalf("err = %v", err)
	}
	if len(h.fake.Queries()) != 0 {
		t.Error("CCC was asked before the settings were checked")
	}
	_, err = h.p.Pass(context.Background(), h.st, []string{"ccc a"})
	if err == nil || !strings.Contains(err.Error(), "not a CCC instance id") {
		t.Fatalf("err = %v", err)
	}
}

// Answers that are not what CCC sends are errors, never panics or
// silently taken.
func TestClientBoundsTheAnswer(t *testing.T) {
	w := ccc.Window{From: time.Now().Add(-time.Hour), To: time.Now()}
	for name, c := range map[string]struct {
		handler func(w http.ResponseWriter, r *http.Request)
		want    string
	}{
		"not JSON": {func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			w.Write([]byte("<html>Bad Gateway</html>"))
		}, "Bad Gateway: <html>Bad Gateway</html> (HTTP 502)"},
		"OK without Data": {func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"Code":"OK","RequestId":"r1"}`))
		}, "the answer has no Data (RequestId r1)"},
		"a code other than OK": {func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"Code":"Forbidden.RAM","Message":"User not authorized to operate on the specified resource.","RequestId":"r2"}`))
		}, "Forbidden.RAM: User not authorized to operate on the specified resource. (HTTP 200, RequestId r2)"},
		"more records than asked": {func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"Code":"OK","Data":{"List":[{},{},{}]}}`))
		}, "page 1 holds 3 records, more than the 2 asked"},
		"too large": {func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"Code":"OK","Data":{"List":["`))
			chunk := []byte(strings.Repeat("x", 1<<20))
			for range 33 {
				w.Write(chunk)
			}
		}, "larger than 33554432 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(c.handler))
			defer srv.Close()
			cl := &ccc.Client{Endpoint: srv.URL, AccessKeyID: "k", AccessKeySecret: "s", PageSize: 2}
			_, err := cl.ListPage(context.Background(), "ccc-a", w, 1)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// Run retries a failed pass with a growing delay and stops, without an
// error, when its context ends.
func TestRunRetriesUntilStopped(t *testing.T) {
	h := newHarness(t, 10)
	now := time.Now()
	h.add(records("ccc-a", now.Add(-2*time.Hour), time.Minute, 40)...)
	h.p.Since = now.Add(-3 * time.Hour)
	fails := 0
	var mu sync.Mutex
	h.fake.SetFail(func(q testccc.Query) *testccc.Failure {
		mu.Lock()
		defer mu.Unlock()
		if fails < 3 {
			fails++
			return &testccc.Failure{Status: 503, Code: "ServiceUnavailable", Message: "try later"}
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	var errs []error
	passes := 0
	done := make(chan error, 1)
	go func() {
		done <- h.p.Run(ctx, h.st, []string{"ccc-a"}, 20*time.Millisecond, time.Millisecond,
			func(*ccc.Report) {
				passes++
				if passes == 2 {
					cancel()
				}
			},
			func(err error) { errs = append(errs, err) })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("Run did not stop")
	}
	if len(errs) != 3 || !strings.Contains(errs[0].Error(), "ServiceUnavailable") {
		t.Errorf("errors %v", errs)
	}
	if m := h.missing(); len(m) != 0 {
		t.Errorf("missing: %v", m)
	}
	// Settings that another pass would only repeat stop Run at once.
	h.p.Since = time.Time{}
	if err := h.p.Run(context.Background(), &ccc.State{}, []string{"ccc-new"}, time.Second, time.Millisecond, nil, nil); err == nil {
		t.Error("Run without --since for a new instance did not stop")
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st, err := ccc.LoadState(path)
	if err != nil || len(st.Cursors) != 0 {
		t.Fatalf("a missing file: %v %+v", err, st)
	}
	at := time.Date(2026, 12, 6, 2, 35, 0, 123e6, time.UTC)
	st.Cursors["ccc-a"] = at
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", fi, err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "{\n  \"cursors\": {\n    \"ccc-a\": \"2026-12-06T02:35:00.123Z\"\n  }\n}\n" {
		t.Errorf("state file:\n%s", b)
	}
	back, err := ccc.LoadState(path)
	if err != nil || !back.Cursors["ccc-a"].Equal(at) {
		t.Fatalf("%v %+v", err, back)
	}
	for name, text := range map[string]string{
		"not JSON":       "cursor=1",
		"unknown fields": `{"cursor": {}}`,
		"bad time":       `{"cursors": {"ccc-a": "yesterday"}}`,
		"bad instance":   `{"cursors": {"a b": "2026-12-06T02:35:00Z"}}`,
	} {
		os.WriteFile(path, []byte(text), 0o600)
		if _, err := ccc.LoadState(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
