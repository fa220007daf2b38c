package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// hookLog records Service.Committed calls: the accounts, and how many calls
// the store held committed when it came.
type hookLog struct {
	mu    sync.Mutex
	f     *fakeStore
	calls []string
}

func (h *hookLog) committed(_ context.Context, accounts []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, fmt.Sprintf("%v after %d", accounts, len(h.f.db.calls)))
}

// TestCommittedHook: Committed comes after each batch's transaction has
// committed, with the accounts it stored calls for — for a file's batches,
// a strict import (once, after its one transaction) and a group's rounds —
// and not for a batch that stored nothing or a strict import rolled back.
func TestCommittedHook(t *testing.T) {
	f := newFakeStore()
	h := &hookLog{f: f}
	svc := &ingest.Service{Store: f, Committed: h.committed}
	var cdrs []callbill.CDR
	for i := 0; i < 5; i++ {
		cdrs = append(cdrs, call(fmt.Sprint("c", i), numTP, int64(i), 60))
	}
	imp := func(opts callbill.ImportOptions, in ...callbill.CDR) {
		t.Helper()
		if _, err := svc.Import(context.Background(), ingest.Input{Source: &rows{cdrs: in}, ImportOptions: opts}); err != nil {
			t.Fatal(err)
		}
	}
	imp(callbill.ImportOptions{BatchSize: 2}, cdrs...)
	want := "[A1] after 2; [A1] after 4; [A1] after 5"
	if got := strings.Join(h.calls, "; "); got != want {
		t.Errorf("file import: %s, want %s", got, want)
	}
	h.calls = nil
	imp(callbill.ImportOptions{BatchSize: 2}, cdrs...) // duplicates only
	imp(callbill.ImportOptions{Strict: true}, call("s1", numTP, 9, 60), callbill.CDR{})
	if h.calls != nil {
		t.Errorf("nothing stored, yet: %v", h.calls)
	}
	imp(callbill.ImportOptions{Strict: true, BatchSize: 1}, call("s1", numTP, 9, 60), call("s2", numTP, 10, 60))
	if got := strings.Join(h.calls, "; "); got != "[A1] after 7" {
		t.Errorf("strict import: %s", got)
	}
	h.calls = nil
	g := svc.NewGroup(0)
	send(t, g, call("g1", numTP, 11, 60))
	send(t, g, call("g1", numTP, 11, 60)) // a duplicate: nothing stored
	g.Close()
	if got := strings.Join(h.calls, "; "); got != "[A1] after 8" {
		t.Errorf("group: %s", got)
	}
}
