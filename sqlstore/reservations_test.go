package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

// authNow is when the authorization tests ask: 2027-06-20 08:00 in Shanghai,
// in the open cycle 2027-06.
var authNow = time.Date(2027, 6, 20, 0, 0, 0, 0, time.UTC)

// authzWorld has an account per edge of docs/authorization.md.
const authzWorld = `
billing: {first_cycle: "2027-01"}
accounts:
  - {uid: "5001", name: 整, instances: [{id: e-p, mode: payg, numbers: [{number: "0571500", kind: fixed, source: ccc}]}]}
  - {uid: "5002", name: 档, instances: [{id: b-p, mode: payg, numbers: [{number: "0571600", kind: fixed, source: third_party}]}]}
  - {uid: "5003", name: 包, instances: [{id: k-p, mode: payg, numbers: [{number: "0571700", kind: fixed, source: ccc}]}]}
  - {uid: "5004", name: 席, instances: [{id: s-s, mode: subscription, numbers: [{number: "0571800", kind: fixed, source: ccc}]}]}
  - {uid: "5005", name: 停, instances: [{id: t-p, mode: payg, numbers: [{number: "0571900", kind: fixed, source: third_party}]}]}
  - {uid: "5006", name: 四, instances: [{id: f-p, mode: payg, numbers: [{number: "4005006", kind: "400", source: ccc, tier: 普通}]}]}
topups:
  - {id: T1, account: "5001", amount: "1.50", at: "2027-06-01T08:00:00+08:00"}
  - {id: T2, account: "5002", amount: "10000.40", at: "2027-06-01T08:00:00+08:00"}
  - {id: T3, account: "5003", amount: "1450.30", at: "2027-06-01T08:00:00+08:00"}
  - {id: T6, account: "5006", amount: "376.00", at: "2027-06-01T08:00:00+08:00"}
purchases:
  - {id: PK, account: "5003", at: "2027-06-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
`

// authzCalls: 199,998 platform minutes of 5002 (two short of the second
// band) and 9,995 package minutes of 5003 (five left).
func authzCalls() []callbill.CDR {
	var out []callbill.CDR
	for i := 0; i < 139; i++ {
		minutes := int64(1440)
		if i == 138 {
			minutes = 199_998 - 138*1440
		}
		out = append(out, call(fmt.Sprintf("b%d", i), "b-p", callbill.Outbound, "0571600", "2027-06-02T00:00:00+08:00", minutes*60))
	}
	for i := 0; i < 7; i++ {
		minutes := int64(1440)
		if i == 6 {
			minutes = 9_995 - 6*1440
		}
		out = append(out, call(fmt.Sprintf("k%d", i), "k-p", callbill.Outbound, "0571700", "2027-06-02T00:00:00+08:00", minutes*60))
	}
	return out
}

func authzStore(t *testing.T, s *sqlstore.Store) *authz.Service {
	t.Helper()
	s.Now = func() time.Time { return authNow }
	mustApply(t, s, authzWorld)
	if _, err := money(s).Adjust(context.Background(), ledger.AdjustInput{Account: "5005", Amount: dec("-1.00"), Reason: "arrears", Key: "a1"}); err != nil {
		t.Fatal(err)
	}
	if rep := importCalls(t, s, callbill.ImportOptions{}, authzCalls()...); rep.Imported != 146 || rep.Rejected != 0 {
		t.Fatalf("import: %+v", rep)
	}
	return &authz.Service{Store: s, Node: "n1"}
}

// TestMaxSecondsAtTheEdges: max_seconds from the store, fresh and from a
// node's live snapshot, at the edges the issue names; the figures are those
// of docs/authorization.md.
func TestMaxSecondsAtTheEdges(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := authzStore(t, s)
		live := &authz.Live{Service: svc, Now: func() time.Time { return authNow }}
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, inst, num string
			dir             callbill.Direction
			max             int64
			reason          string
		}{
			// 1.50 at 0.15 a minute: exactly 10 minutes.
			{"balance exactly 10 minutes", "e-p", "0571500", callbill.Outbound, 600, ""},
			// 10,000.40 − 199,998 × 0.0499 = 20.4998: 2 minutes at 0.0499,
			// then 454 at 0.0449 (20.3846).
			{"a call crossing a band", "b-p", "0571600", callbill.Outbound, 456 * 60, ""},
			// 5 package minutes left, then 0.30 pays 2 at 0.15.
			{"package minutes partly left", "k-p", "0571700", callbill.Outbound, 7 * 60, ""},
			{"subscription", "s-s", "0571800", callbill.Outbound, 86_400, ""},
			{"stopped account", "t-p", "0571900", callbill.Outbound, 0, "stopped for arrears"},
			// The open bill's 400 minimum (375) is spend: 1.00 is left, 5
			// minutes at 0.20.
			{"400 minimum in the spend", "f-p", "4005006", callbill.Inbound, 300, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				fresh, err := svc.Authorize(ctx, authz.AuthorizeInput{Instance: c.inst, Number: c.num, Direction: c.dir})
				if err != nil {
					t.Fatal(err)
				}
				mem := live.Snapshot().Authorize(c.inst, c.num, c.dir, authNow)
				if fresh != mem {
					t.Errorf("fresh %+v, live %+v", fresh, mem)
				}
				if fresh.MaxSeconds != c.max || fresh.Allow != (c.max > 0) || !strings.Contains(fresh.Reason, c.reason) {
					t.Errorf("%+v, want max_seconds %d", fresh, c.max)
				}
			})
		}
	})
}

// TestConcurrentReservesNeverExceedTheHeadroom: 100 calls of one account
// reserve at once, half through each of two stores on one database (two
// nodes): together they hold exactly what the account can pay, never more.
func TestConcurrentReservesNeverExceedTheHeadroom(t *testing.T) {
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			var svcs []*authz.Service
			for i := 0; i < 2; i++ {
				s, err := sqlstore.Open(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				s.Now = func() time.Time { return authNow }
				svcs = append(svcs, &authz.Service{Store: s, Node: fmt.Sprintf("n%d", i)})
			}
			mustApply(t, svcs[0].Store.(*sqlstore.Store), `
accounts:
  - {uid: "6001", name: 并, instances: [{id: c-p, mode: payg, numbers: [{number: "0571001", kind: fixed, source: ccc}]}]}
topups:
  - {id: T1, account: "6001", amount: "15.00", at: "2027-06-01T08:00:00+08:00"}
`)
			// 15.00 pays for 100 minutes at 0.15; each call asks for 3.
			var mu sync.Mutex
			var held []callbill.Reservation
			refused := 0
			var wg sync.WaitGroup
			for i := 0; i < 100; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, _, err := svcs[i%2].Reserve(ctx, callbill.ReserveRequest{Instance: "c-p", ContactID: fmt.Sprintf("c%d", i),
						Number: "0571001", Direction: callbill.Outbound, Seconds: 180})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case callbill.ErrorCode(err) == callbill.EREFUSED:
						refused++
					case err != nil:
						t.Error(err)
					default:
						held = append(held, *r)
					}
				}()
			}
			wg.Wait()
			sum := dec("0")
			for _, r := range held {
				sum = sum.Add(r.Amount)
			}
			if len(held) != 33+1 || refused != 66 || !sum.Equal(dec("15")) {
				// 33 calls of 3 minutes (14.85), one of the last minute (0.15).
				t.Fatalf("%d held %s, %d refused", len(held), sum, refused)
			}
			list, err := svcs[1].List(ctx, authz.ListInput{Account: "6001"})
			if err != nil || len(list) != len(held) {
				t.Fatalf("list: %d %v", len(list), err)
			}
			d2, err := svcs[1].Authorize(ctx, authz.AuthorizeInput{Instance: "c-p", Number: "0571001", Direction: callbill.Outbound})
			if err != nil || d2.Allow || !strings.Contains(d2.Reason, "is 0 yuan") {
				t.Errorf("after: %+v %v", d2, err)
			}
		})
	}
}

// TestReservationLifecycle: the same call twice is one reservation; its CDR
// releases it in the import's transaction (the spend takes over); a call
// whose CDR is in is refused; a release is harmless twice; an expired one
// holds nothing at once and the sweep deletes it; a new store (a restarted
// node) sees what is held.
func TestReservationLifecycle(t *testing.T) {
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			now := authNow
			open := func() *sqlstore.Store {
				s, err := sqlstore.Open(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				s.Now = func() time.Time { return now }
				return s
			}
			s := open()
			defer func() { s.Close() }()
			svc := authzStore(t, s)
			ask := func(svc *authz.Service) int64 {
				t.Helper()
				d, err := svc.Authorize(ctx, authz.AuthorizeInput{Instance: "e-p", Number: "0571500", Direction: callbill.Outbound})
				if err != nil {
					t.Fatal(err)
				}
				return d.MaxSeconds
			}
			req := callbill.ReserveRequest{Instance: "e-p", ContactID: "r1", Number: "0571500", Direction: callbill.Outbound, Seconds: 130}
			r, replayed, err := svc.Reserve(ctx, req)
			if err != nil || replayed || r.Seconds != 130 || !r.Amount.Equal(dec("0.45")) || r.Node != "n1" ||
				!r.ExpiresAt.Equal(now.Add(130*time.Second+callbill.ReservationMargin)) {
				t.Fatalf("reserve: %+v %v %v", r, replayed, err)
			}
			if again, replayed, err := svc.Reserve(ctx, req); err != nil || !replayed || !again.Amount.Equal(r.Amount) {
				t.Fatalf("the same call again: %+v %v %v", again, replayed, err)
			}
			if got := ask(svc); got != 420 { // 1.05 left: 7 minutes
				t.Fatalf("with 0.45 held: %d", got)
			}
			// A node that starts now reads what is held from the store.
			s.Close()
			s = open()
			svc = &authz.Service{Store: s, Node: "n2"}
			live := &authz.Live{Service: svc, Now: func() time.Time { return now }}
			if err := live.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if d := live.Snapshot().Authorize("e-p", "0571500", callbill.Outbound, now); d.MaxSeconds != 420 {
				t.Fatalf("after a restart: %+v", d)
			}
			// The CDR: 2 minutes (0.30) in the spend, the 0.45 held released.
			importCalls(t, s, callbill.ImportOptions{}, call("r1", "e-p", callbill.Outbound, "0571500", "2027-06-19T10:00:00+08:00", 90))
			if got := ask(svc); got != 480 {
				t.Fatalf("after the CDR: %d", got)
			}
			if err := live.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if d := live.Snapshot().Authorize("e-p", "0571500", callbill.Outbound, now); d.MaxSeconds != 480 {
				t.Fatalf("live, after the CDR: %+v", d)
			}
			if list, _ := svc.List(ctx, authz.ListInput{AllAccounts: true}); len(list) != 0 {
				t.Fatalf("left: %+v", list)
			}
			if _, _, err := svc.Reserve(ctx, req); callbill.ErrorCode(err) != callbill.ECONFLICT {
				t.Fatalf("a call whose CDR is in: %v", err)
			}
			// Release, twice.
			req.ContactID = "r2"
			if _, _, err := svc.Reserve(ctx, req); err != nil {
				t.Fatal(err)
			}
			for i, want := range []bool{true, false} {
				if released, err := svc.Release(ctx, authz.ReleaseInput{Instance: "e-p", ContactID: "r2"}); err != nil || released != want {
					t.Fatalf("release %d: %v %v", i, released, err)
				}
			}
			if _, err := svc.Release(ctx, authz.ReleaseInput{Instance: "nope", ContactID: "r2"}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
				t.Fatalf("unknown instance: %v", err)
			}
			// Expiry: held until 130 s + the margin, nothing from then.
			req.ContactID = "r3"
			if _, _, err := svc.Reserve(ctx, req); err != nil {
				t.Fatal(err)
			}
			if got := ask(svc); got != 300 { // 1.20 − 0.45 held: 5 minutes
				t.Fatalf("r3 held: %d", got)
			}
			now = now.Add(130*time.Second + callbill.ReservationMargin - time.Second)
			if got := ask(svc); got != 300 {
				t.Fatalf("a second before expiry: %d", got)
			}
			now = now.Add(time.Second)
			if got := ask(svc); got != 480 {
				t.Fatalf("at expiry: %d", got)
			}
			if d := live.Snapshot().Authorize("e-p", "0571500", callbill.Outbound, now); d.MaxSeconds != 480 {
				t.Fatalf("live, at expiry, before a refresh: %+v", d)
			}
			if n, err := svc.Sweep(ctx); err != nil || n != 1 {
				t.Fatalf("sweep: %d %v", n, err)
			}
			// An expired call asks again: a new reservation.
			if r, replayed, err := svc.Reserve(ctx, req); err != nil || replayed || r.Seconds != 130 {
				t.Fatalf("again after expiry: %+v %v %v", r, replayed, err)
			}
		})
	}
}

// TestLiveFollowsImportsAndReservations: a node's snapshot follows an
// import (reading only that account's spend again) and a reservation taken
// on another node, at its next refresh.
func TestLiveFollowsImportsAndReservations(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := authzStore(t, s)
		live := &authz.Live{Service: &authz.Service{Store: s}, Now: func() time.Time { return authNow }}
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		snap := live.Snapshot()
		ask := func() int64 {
			return live.Snapshot().Authorize("e-p", "0571500", callbill.Outbound, authNow).MaxSeconds
		}
		importCalls(t, s, callbill.ImportOptions{}, call("x1", "e-p", callbill.Outbound, "0571500", "2027-06-19T10:00:00+08:00", 60))
		if _, _, err := svc.Reserve(ctx, callbill.ReserveRequest{Instance: "e-p", ContactID: "x2", Number: "0571500",
			Direction: callbill.Outbound, Seconds: 120}); err != nil {
			t.Fatal(err)
		}
		if got := ask(); got != 600 {
			t.Fatalf("before a refresh: %d", got)
		}
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ask(); got != 420 { // 1.50 − 0.15 spent − 0.30 held: 7 minutes
			t.Fatalf("after a refresh: %d", got)
		}
		if live.Snapshot() != snap {
			t.Error("an import and a reservation rebuilt the whole snapshot")
		}
		// Money moves the change counter: the whole snapshot is read again.
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "5001", Amount: dec("0.15"), Key: "t9"}); err != nil {
			t.Fatal(err)
		}
		if err := live.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ask(); got != 480 || live.Snapshot() == snap {
			t.Fatalf("after a top-up: %d", got)
		}
	})
}
