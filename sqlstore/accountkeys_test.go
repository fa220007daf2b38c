package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

// Ids and idempotency keys are each account's own: the same key in two
// accounts is two things, and what one account did with a key tells another
// nothing.

const twoAccounts = `
accounts:
  - uid: "5001"
    name: 甲
    instances: [{id: k-a, mode: payg, numbers: []}]
  - uid: "5002"
    name: 乙
    instances: [{id: k-b, mode: payg, numbers: []}]
`

// pkg is a fixed-inbound voice package of 10 000 minutes (290.00).
func pkg(id, uid string) callbill.Purchase {
	return callbill.Purchase{ID: id, Account: uid, Kind: callbill.PurchaseVoicePackage,
		PackageType: callbill.PackageFixedInbound, PackageMinutes: 10_000}
}

func TestSameKeyInTwoAccountsRacing(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, twoAccounts)
		const rounds = 100
		internal := 0
		for i := 0; i < rounds; i++ {
			key := fmt.Sprintf("race-%d", i)
			start := make(chan struct{})
			var wg sync.WaitGroup
			res := map[string]*callbill.MoneyResult{}
			errs := map[string]error{}
			var mu sync.Mutex
			for _, uid := range []string{"5001", "5002"} {
				wg.Add(1)
				go func(uid string) {
					defer wg.Done()
					<-start
					r, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: uid, Amount: dec("1.00"), Key: key})
					mu.Lock()
					res[uid], errs[uid] = r, err
					mu.Unlock()
				}(uid)
			}
			close(start)
			wg.Wait()
			for uid, err := range errs {
				if callbill.ErrorCode(err) == callbill.EINTERNAL {
					internal++
					t.Errorf("round %d, account %s: internal error %v", i, uid, err)
					continue
				}
				if err != nil {
					t.Errorf("round %d, account %s: %v", i, uid, err)
					continue
				}
				if r := res[uid]; r.Replayed || r.Entry.Account != uid || r.Entry.Key != key {
					t.Errorf("round %d, account %s: want its own new top-up, got %+v", i, uid, r.Entry)
				}
			}
		}
		if internal != 0 {
			t.Fatalf("%d internal errors in %d rounds", internal, rounds)
		}
		for _, uid := range []string{"5001", "5002"} {
			st, err := s.Status(ctx, uid)
			if err != nil || !st.Standing.Cash.Equal(dec("100")) {
				t.Fatalf("account %s: cash %v (%v), want 100: one top-up per round", uid, st.Standing.Cash, err)
			}
		}
		verifyClean(t, s)
	})
}

func TestOneAccountRacingItself(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, twoAccounts)
		const racers = 8
		race := func(key string, amount func(i int) string) ([]*callbill.MoneyResult, []error) {
			start := make(chan struct{})
			var wg sync.WaitGroup
			res, errs := make([]*callbill.MoneyResult, racers), make([]error, racers)
			for i := 0; i < racers; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					res[i], errs[i] = money(s).TopUp(ctx, ledger.TopUpInput{Account: "5001", Amount: dec(amount(i)), Key: key})
				}(i)
			}
			close(start)
			wg.Wait()
			return res, errs
		}
		for round := 0; round < 10; round++ {
			// The same request: one movement, every other answer a replay of it.
			key := fmt.Sprintf("same-%d", round)
			res, errs := race(key, func(int) string { return "2.00" })
			moved, seq := 0, int64(-1)
			for i := range res {
				if errs[i] != nil {
					t.Fatalf("same request: %v", errs[i])
				}
				if !res[i].Replayed {
					moved++
				}
				if seq >= 0 && res[i].Entry.Seq != seq {
					t.Fatalf("same request answered with entries %d and %d", seq, res[i].Entry.Seq)
				}
				seq = res[i].Entry.Seq
			}
			if moved != 1 {
				t.Fatalf("same request: %d movements, want 1", moved)
			}
			// Other amounts under one key: one wins, the others conflict.
			key = fmt.Sprintf("diff-%d", round)
			res, errs = race(key, func(i int) string { return fmt.Sprintf("%d.00", i+1) })
			won := 0
			for i := range res {
				switch code := callbill.ErrorCode(errs[i]); {
				case errs[i] == nil && !res[i].Replayed:
					won++
				case code == callbill.ECONFLICT:
					if !strings.Contains(errs[i].Error(), fmt.Sprintf("%q", key)) {
						t.Fatalf("conflict without the key: %v", errs[i])
					}
				default:
					t.Fatalf("other amount under one key: %+v %v", res[i], errs[i])
				}
			}
			if won != 1 {
				t.Fatalf("other amounts: %d won, want 1", won)
			}
		}
		entries, err := s.Ledger(ctx, "5001")
		if err != nil || len(entries) != 20 {
			t.Fatalf("%d ledger entries (%v), want 20", len(entries), err)
		}
		verifyClean(t, s)
	})
}

func TestPurchaseIDsAreTheAccountsOwn(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		// One file per account: a world file refuses an id twice in itself
		// (package world), whatever the accounts.
		w := twoAccounts + `
topups:
  - {id: T1, account: "5001", amount: "1000.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "5001", at: "2026-10-02T09:00:00+08:00", voice_package: {type: fixed_inbound, minutes: 10000}}
`
		if rep := mustApply(t, s, w); rep.TopUps != 1 || rep.Purchases != 1 {
			t.Fatalf("5001's file: %+v", rep)
		}
		// The other account's T1 and P1, with other content: applied, not refused.
		w2 := twoAccounts + `
topups:
  - {id: T1, account: "5002", amount: "1000.00", at: "2026-10-01T09:00:00+08:00"}
purchases:
  - {id: P1, account: "5002", at: "2026-10-03T09:00:00+08:00", voice_package: {type: fixed_inbound, minutes: 10000}}
`
		if rep := mustApply(t, s, w2); rep.TopUps != 1 || rep.Purchases != 1 || rep.Skipped != 0 {
			t.Fatalf("the same ids in another account: %+v", rep)
		}
		if rep := mustApply(t, s, w); rep.Skipped != 2 {
			t.Fatalf("5001's file again: %+v", rep)
		}
		// And through the request: both accounts' P2 are two purchases.
		for _, uid := range []string{"5001", "5002"} {
			skipped, err := money(s).Purchase(ctx, pkg("P2", uid))
			if err != nil || skipped {
				t.Fatalf("account %s, P2: skipped %v, %v", uid, skipped, err)
			}
		}
		for _, uid := range []string{"5001", "5002"} {
			st, err := s.Status(ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			ps, _, err := s.VoicePackages(ctx, uid)
			if err != nil || len(ps) != 2 || !st.Standing.Cash.Equal(dec("420")) {
				t.Fatalf("account %s: %d packages (%v), cash %s; want P1 and P2, 1000 − 2 × 290", uid, len(ps), err, st.Standing.Cash)
			}
		}
		// Replays stay replays, per account.
		if skipped, err := money(s).Purchase(ctx, pkg("P2", "5002")); err != nil || !skipped {
			t.Fatalf("replay of 5002's P2: skipped %v, %v", skipped, err)
		}
		// Another content under an id the account used is a problem naming the
		// id only; the other account is nowhere in it.
		_, err := apply(t, s, strings.Replace(w2, "2026-10-03T09", "2026-10-04T09", 1))
		var ps callbill.Problems
		if !errors.As(err, &ps) || len(ps) != 1 || !strings.Contains(ps[0].Message, "P1") || strings.Contains(err.Error(), "5001") {
			t.Fatalf("want one problem about P1 naming no other account, got %v", err)
		}
		verifyClean(t, s)
	})
}

func TestConflictNamesOnlyTheCallersKey(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, twoAccounts)
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "5001", Amount: dec("77.00"), Key: "shared"}); err != nil {
			t.Fatal(err)
		}
		if _, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "5001", Amount: dec("-3.00"), Reason: "a correction", Key: "adj"}); err != nil {
			t.Fatal(err)
		}
		// The other account's use of the keys is not seen at all.
		r, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "5002", Amount: dec("5.00"), Key: "shared"})
		if err != nil || r.Replayed || r.Entry.Account != "5002" {
			t.Fatalf("5002 top-up under a key 5001 used: %+v %v", r, err)
		}
		r, err = money(s).Adjust(ctx, ledger.AdjustInput{Account: "5002", Amount: dec("1.00"), Reason: "another", Key: "adj"})
		if err != nil || r.Replayed {
			t.Fatalf("5002 adjustment under a key 5001 used: %+v %v", r, err)
		}
		// Its own reuse conflicts, naming its key and nothing of 5001.
		for _, f := range []func() error{
			func() error {
				_, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "5002", Amount: dec("6.00"), Key: "shared"})
				return err
			},
			func() error {
				_, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "5002", Amount: dec("2.00"), Reason: "another", Key: "adj"})
				return err
			},
			func() error {
				_, _, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "exp", Account: "5002", Params: `{"cycle":"2026-10"}`})
				if err != nil {
					return err
				}
				_, _, err = (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "exp", Account: "5002", Params: `{"cycle":"2026-11"}`})
				return err
			},
		} {
			err := f()
			if callbill.ErrorCode(err) != callbill.ECONFLICT {
				t.Fatalf("want ECONFLICT, got %v", err)
			}
			msg := callbill.ErrorMessage(err)
			if !strings.Contains(msg, `"shared"`) && !strings.Contains(msg, `"adj"`) && !strings.Contains(msg, `"exp"`) {
				t.Fatalf("the conflict does not name the key: %s", msg)
			}
			for _, leak := range []string{"5001", "77", "a correction"} {
				if strings.Contains(msg, leak) {
					t.Fatalf("the conflict tells of another account (%q): %s", leak, msg)
				}
			}
		}
		verifyClean(t, s)
	})
}

func TestExportKeysAreTheAccountsOwn(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, twoAccounts)
		params := func(uid string) string { return `{"account":"` + uid + `","cycle":"2026-10"}` }
		a, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "same", Account: "5001", Params: params("5001")})
		if err != nil || !created {
			t.Fatalf("5001: %v %v", created, err)
		}
		b, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "same", Account: "5002", Params: params("5002")})
		if err != nil || !created || b.ID == a.ID || b.Account != "5002" {
			t.Fatalf("5002 under 5001's key: %+v %v %v", b, created, err)
		}
		again, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "same", Account: "5002", Params: params("5002")})
		if err != nil || created || again.ID != b.ID {
			t.Fatalf("5002's retry: %+v %v %v", again, created, err)
		}
		// Two accounts at once under one key: two jobs, no error.
		var wg sync.WaitGroup
		ids := make([]int64, 2)
		for i, uid := range []string{"5001", "5002"} {
			wg.Add(1)
			go func(i int, uid string) {
				defer wg.Done()
				j, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "at-once", Account: uid, Params: params(uid)})
				if err != nil || !created {
					t.Errorf("%s: %v %v", uid, created, err)
					return
				}
				ids[i] = j.ID
			}(i, uid)
		}
		wg.Wait()
		if ids[0] == ids[1] {
			t.Fatalf("one job for two accounts: %v", ids)
		}
		// The operator's jobs keep their own keys; an account's same key is another job.
		c1, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobClose, Key: "close:2026-10", Params: `{"cycle":"2026-10"}`})
		if err != nil || !created {
			t.Fatalf("close job: %v %v", created, err)
		}
		if c2, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobClose, Key: "close:2026-10", Params: `{"cycle":"2026-10"}`}); err != nil || created || c2.ID != c1.ID {
			t.Fatalf("close job again: %+v %v %v", c2, created, err)
		}
		if j, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "close:2026-10", Account: "5001", Params: params("5001")}); err != nil || !created || j.ID == c1.ID {
			t.Fatalf("an account's key equal to an operator job's: %+v %v %v", j, created, err)
		}
		jobs, err := s.Jobs(ctx, callbill.JobQuery{Kind: callbill.JobExport, Account: "5002"})
		if err != nil || len(jobs) != 2 {
			t.Fatalf("5002 sees %d exports (%v), want its 2", len(jobs), err)
		}
	})
}

// TestKeysMigrationKeepsData takes a store back to the schema before the
// keys were per account (global unique keys), fills it, and opens it again:
// the migration keeps every row, and the keys are per account after it.
func TestKeysMigrationKeepsData(t *testing.T) {
	undo := map[string][]string{
		"sqlite": {
			`DROP INDEX ledger_key`,
			`CREATE UNIQUE INDEX ledger_key ON ledger (key) WHERE key <> ''`,
			`DROP TABLE jobs`,
			`CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
				params TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, node TEXT NOT NULL, lease_until INTEGER NOT NULL,
				created_at INTEGER NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, result TEXT NOT NULL, error TEXT NOT NULL)`,
			`CREATE INDEX jobs_claim ON jobs (kind, status, id)`,
			`CREATE INDEX jobs_account ON jobs (account, id)`,
		},
		"postgres": {
			`DROP INDEX ledger_key`,
			`CREATE UNIQUE INDEX ledger_key ON ledger (key) WHERE key <> ''`,
			`DROP INDEX jobs_key`,
			`ALTER TABLE jobs ADD CONSTRAINT jobs_key_key UNIQUE (key)`,
		},
	}
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			s, err := sqlstore.Open(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			mustApply(t, s, twoAccounts)
			db := s.DB()
			for _, q := range undo[name] {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if _, err := db.Exec(`DELETE FROM schema_migrations WHERE name = '0009_account_keys.sql'`); err != nil {
				t.Fatal(err)
			}
			if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "5001", Amount: dec("10.00"), Key: "old"}); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO jobs (id, kind, key, account, params, status, attempts, node, lease_until, created_at, started_at, finished_at, result, error)
					VALUES (7, 'export', 'old', '5001', '{}', 'done', 1, 'n1', 0, 1, 2, 3, '{"rows":1}', '')`,
				`INSERT INTO jobs (id, kind, key, account, params, status, attempts, node, lease_until, created_at, started_at, finished_at, result, error)
					VALUES (9, 'close', 'close:2026-10', '', '{}', 'queued', 0, '', 0, 1, 0, 0, '', '')`,
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()

			s, err = sqlstore.Open(ctx, d)
			if err != nil {
				t.Fatalf("migrating: %v", err)
			}
			defer s.Close()
			if j, err := s.Job(ctx, 7); err != nil || j.Key != "old" || j.Account != "5001" || j.Result != `{"rows":1}` || j.Status != callbill.JobDone {
				t.Fatalf("job 7 after the migration: %+v %v", j, err)
			}
			if j, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobClose, Key: "close:2026-10", Params: `{}`}); err != nil || created || j.ID != 9 {
				t.Fatalf("the operator's job after the migration: %+v %v %v", j, created, err)
			}
			if j, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "old", Account: "5002", Params: `{}`}); err != nil || !created || j.ID == 7 {
				t.Fatalf("5002 under 5001's old key: %+v %v %v", j, created, err)
			}
			if r, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "5001", Amount: dec("10.00"), Key: "old"}); err != nil || !r.Replayed {
				t.Fatalf("5001's old key: %+v %v", r, err)
			}
			if r, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "5002", Amount: dec("10.00"), Key: "old"}); err != nil || r.Replayed {
				t.Fatalf("5002 under 5001's old key: %+v %v", r, err)
			}
			var n int
			if err := s.DB().QueryRow(`SELECT COUNT(*) FROM jobs`).Scan(&n); err != nil || n != 3 {
				t.Fatalf("%d jobs after the migration (%v), want 3", n, err)
			}
		})
	}
}
