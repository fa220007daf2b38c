package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
)

// An open cycle's live bill is served from memory while neither the store's
// change counter nor the account's calls version moves, and computed afresh
// as soon as an import adds calls.
func TestOpenBillCachedUntilCallsChange(t *testing.T) {
	srv, _, frozen, post := cachedServer(t)
	bill := func() string {
		t.Helper()
		code, body := call(t, srv, "GET", "/api/v1/accounts/1001/bills/2026-10", key, "")
		if code != http.StatusOK {
			t.Fatalf("bill: %d %s", code, body)
		}
		return body
	}
	post("c1")
	one := bill()
	if again := bill(); again != one {
		t.Fatalf("the same bill twice differs:\n%s\n%s", one, again)
	}
	post("c2")
	two := bill()
	if two == one {
		t.Fatal("the live bill did not change with a new call")
	}
	// With the calls version held, the bill comes from memory: a new call
	// does not show — which is what proves the cache is used.
	*frozen = true
	bill()
	post("c3")
	if got := bill(); got != bill() {
		t.Fatal("cached answers differ")
	}
	held := bill()
	*frozen = false
	if now := bill(); now == held {
		t.Error("the bill did not change once the calls version moved")
	}
}

// Live bills computed concurrently while imports add calls share their
// frame (closing.Frames) without racing on it, and once the imports stop
// every answer is the bill a server without caches computes.
func TestLiveBillsConcurrentWithImports(t *testing.T) {
	srv, s, _, as := setupServer(t)
	as.Changes = func(context.Context) (string, error) { return "v1", nil }
	as.CallsVersion = s.CallsVersion
	const path = "/api/v1/accounts/1001/bills/2026-10"
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				if resp.StatusCode != http.StatusOK {
					errs <- resp.Status
				}
				resp.Body.Close()
			}
		}()
	}
	for i := range 10 {
		csv := "contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
			fmt.Sprintf("cc%d,inst-p,outbound,0571001,138,2026-10-08T10:%02d:00+08:00,2026-10-08T10:%02d:30+08:00\n", i, i, i)
		if code, body := call(t, srv, "POST", "/api/v1/imports", key, csv); code != http.StatusOK {
			t.Fatalf("import: %d %s", code, body)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	_, cached := call(t, srv, "GET", path, key, "")
	as.Changes, as.CallsVersion = nil, nil
	if _, fresh := call(t, srv, "GET", path, key, ""); cached != fresh {
		t.Errorf("the cached live bill differs from a fresh one:\n%s\n%s", cached, fresh)
	}
}

// A usage page of one cycle is served from memory while neither the change
// counter nor the account's calls version of that cycle moves; a page by
// start time is read every time.
func TestUsagePageCachedUntilCallsChange(t *testing.T) {
	srv, as, frozen, post := cachedServer(t)
	page := func(q string) string {
		t.Helper()
		code, body := call(t, srv, "GET", "/api/v1/accounts/1001/usage?"+q, key, "")
		if code != http.StatusOK {
			t.Fatalf("usage: %d %s", code, body)
		}
		return body
	}
	const byCycle, byTime = "cycle=2026-10", "from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z"
	post("u1")
	one := page(byCycle)
	if !strings.Contains(one, `"u1"`) || page(byCycle) != one {
		t.Fatalf("first page: %s", one)
	}
	post("u2")
	if two := page(byCycle); !strings.Contains(two, `"u2"`) {
		t.Fatalf("the page did not change with a new call: %s", two)
	}
	// With the calls version held, the page comes from memory: a new call
	// does not show on it, but does on the page by start time.
	*frozen = true
	held := page(byCycle)
	page(byTime) // asked before u3 too: a cache of it would hold it back
	post("u3")
	if got := page(byCycle); got != held || strings.Contains(got, `"u3"`) {
		t.Fatalf("the held page changed: %s", got)
	}
	if got := page(byTime); !strings.Contains(got, `"u3"`) {
		t.Fatalf("the page by start time was served from memory: %s", got)
	}
	*frozen = false
	if got := page(byCycle); !strings.Contains(got, `"u3"`) {
		t.Fatalf("the page did not change once the calls version moved: %s", got)
	}
	// The cached page is the page a server without caches renders.
	cached := page(byCycle)
	as.Changes, as.CallsVersion = nil, nil
	if fresh := page(byCycle); fresh != cached {
		t.Errorf("the cached page differs from a fresh one:\n%s\n%s", cached, fresh)
	}
}

// cachedServer is a server whose change counter holds still and whose
// calls versions are the store's until *frozen is set; post imports one
// call of account 1001 with the contact id given.
func cachedServer(t *testing.T) (*httptest.Server, *api.Server, *bool, func(contact string)) {
	srv, s, _, as := setupServer(t)
	as.Changes = func(context.Context) (string, error) { return "v1", nil }
	frozen := new(bool)
	as.CallsVersion = func(ctx context.Context, uid string, c callbill.Cycle) (string, error) {
		if *frozen {
			return "frozen", nil
		}
		return s.CallsVersion(ctx, uid, c)
	}
	post := func(contact string) {
		t.Helper()
		csv := "contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
			contact + ",inst-p,outbound,0571001,138,2026-10-08T10:00:00+08:00,2026-10-08T10:01:30+08:00\n"
		if code, body := call(t, srv, "POST", "/api/v1/imports", key, csv); code != http.StatusOK {
			t.Fatalf("import: %d %s", code, body)
		}
	}
	return srv, as, frozen, post
}

// With the store's own change counter and calls versions, a live bill that
// kept its frame (closing.Frames) through an import shows an adjustment made
// after it at once: money moved moves the counter the frame is kept by.
func TestLiveBillShowsMoneyMovedAfterItsFrame(t *testing.T) {
	srv, s, _, as := setupServer(t)
	s.Now = func() time.Time { return time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC) }
	as.Changes, as.CallsVersion = s.Changes, s.CallsVersion
	const path = "/api/v1/accounts/1001/bills/2026-10"
	bill := func() string {
		t.Helper()
		code, body := call(t, srv, "GET", path, key, "")
		if code != http.StatusOK {
			t.Fatalf("bill: %d %s", code, body)
		}
		return body
	}
	before := bill()
	csv := "contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
		"m1,inst-p,outbound,0571001,138,2026-10-08T10:00:00+08:00,2026-10-08T10:01:30+08:00\n"
	if code, body := call(t, srv, "POST", "/api/v1/imports", key, csv); code != http.StatusOK {
		t.Fatalf("import: %d %s", code, body)
	}
	withCall := bill()
	if withCall == before {
		t.Fatal("the live bill did not show the imported call")
	}
	if r := send(t, srv, who{}, "POST", "/api/v1/accounts/1001/adjustments", "frame-check", `{"amount":"-3.00","reason":"frame check"}`); r.code != http.StatusOK && r.code != http.StatusCreated {
		t.Fatalf("adjust: %d %s", r.code, r.body)
	}
	if got := bill(); !strings.Contains(got, "frame check") {
		t.Fatalf("the live bill does not show the adjustment made after its frame:\n%s", got)
	}
}
