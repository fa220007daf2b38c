package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/sqlstore"
	"golang.org/x/crypto/bcrypt"
)

func TestConsoleUsersAndSessions(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.MasterKey = []byte("0123456789abcdef0123456789abcdef")
		if _, err := apply(t, s, baseWorld); err != nil {
			t.Fatal(err)
		}
		// Users: a tenant's and the operator's; bad names, short passwords,
		// unknown accounts and taken names are refused.
		if err := s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: "alice", Account: "1001", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: "root", Account: "", Password: "operator pass"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, account, pass, code string }{
			{"alice", "1001", "another one", callbill.ECONFLICT},
			{"bob", "9999", "long enough", callbill.ENOTFOUND},
			{"bob", "1001", "short", callbill.EINVALID},
			{"bad name", "1001", "long enough", callbill.EINVALID},
			{"", "1001", "long enough", callbill.EINVALID},
			{"bob", "1001", strings.Repeat("x", 73), callbill.EINVALID},
		} {
			if err := s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: tc.name, Account: tc.account, Password: tc.pass}); callbill.ErrorCode(err) != tc.code {
				t.Errorf("%+v: %v", tc, err)
			}
		}
		u, err := s.ConsoleUser(ctx, "alice")
		if err != nil || u.Account != "1001" || u.Operator() || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("correct horse")) != nil {
			t.Fatalf("alice: %+v %v", u, err)
		}
		if strings.Contains(u.PasswordHash, "correct horse") || !strings.HasPrefix(u.PasswordHash, "$2") {
			t.Fatalf("the password is not stored as a bcrypt hash: %q", u.PasswordHash)
		}
		if r, err := s.ConsoleUser(ctx, "root"); err != nil || !r.Operator() {
			t.Fatalf("root: %+v %v", r, err)
		}
		if _, err := s.ConsoleUser(ctx, "nobody"); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("nobody: %v", err)
		}
		if us, err := s.ConsoleUsers(ctx); err != nil || len(us) != 2 || us[0].Name != "alice" || us[0].PasswordHash != "" {
			t.Fatalf("users: %+v %v", us, err)
		}

		// Sessions: found while fresh, gone when idle too long, signed out,
		// or when their user or key goes.
		now := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		key, err := s.CreateAccessKey(ctx, "1001")
		if err != nil {
			t.Fatal(err)
		}
		mk := func(id string, sess callbill.ConsoleSession) {
			sess.IDHash, sess.CSRF, sess.CreatedAt, sess.LastSeen = id, "tok-"+id, now, now
			if err := s.CreateConsoleSession(ctx, &sess); err != nil {
				t.Fatal(err)
			}
		}
		mk("s-user", callbill.ConsoleSession{Via: callbill.SessionViaPassword, User: "alice", Account: "1001"})
		mk("s-key", callbill.ConsoleSession{Via: callbill.SessionViaAccessKey, KeyID: key.ID, Account: "1001"})
		mk("s-op", callbill.ConsoleSession{Via: callbill.SessionViaOperatorKey, OperatorFP: "fp", Operator: true})
		got, err := s.ConsoleSession(ctx, "s-op", 12*time.Hour)
		if err != nil || !got.Operator || got.CSRF != "tok-s-op" || got.OperatorFP != "fp" || got.Account != "" {
			t.Fatalf("operator session: %+v %v", got, err)
		}
		// Seen 11 hours later: still there, and touched.
		now = now.Add(11 * time.Hour)
		if got, err := s.ConsoleSession(ctx, "s-user", 12*time.Hour); err != nil || got.User != "alice" || !got.LastSeen.Equal(now) {
			t.Fatalf("user session after 11 h: %+v %v", got, err)
		}
		// 12 h 30 min after sign-in: the touched one lives, the others are idle.
		now = now.Add(90 * time.Minute)
		if _, err := s.ConsoleSession(ctx, "s-user", 12*time.Hour); err != nil {
			t.Fatalf("touched session: %v", err)
		}
		if _, err := s.ConsoleSession(ctx, "s-op", 12*time.Hour); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("idle session: %v", err)
		}
		if n, err := s.PurgeConsoleSessions(ctx, now.Add(-12*time.Hour)); err != nil || n != 2 {
			t.Fatalf("purged %d %v", n, err)
		}
		// A revoked key and a removed user end their sessions.
		mk("s-key2", callbill.ConsoleSession{Via: callbill.SessionViaAccessKey, KeyID: key.ID, Account: "1001"})
		if _, err := s.ConsoleSession(ctx, "s-key2", 12*time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAccessKey(ctx, key.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsoleSession(ctx, "s-key2", 12*time.Hour); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("session of a revoked key: %v", err)
		}
		if err := s.SetConsolePassword(ctx, "alice", "a new password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsoleSession(ctx, "s-user", 12*time.Hour); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("session after a new password: %v", err)
		}
		mk("s-user2", callbill.ConsoleSession{Via: callbill.SessionViaPassword, User: "alice", Account: "1001"})
		if err := s.RemoveConsoleUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsoleSession(ctx, "s-user2", 12*time.Hour); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("session of a removed user: %v", err)
		}
		if err := s.RemoveConsoleUser(ctx, "alice"); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("removing twice: %v", err)
		}
		// Signing out.
		mk("s-out", callbill.ConsoleSession{Via: callbill.SessionViaOperatorKey, OperatorFP: "fp", Operator: true})
		if err := s.DeleteConsoleSession(ctx, "s-out"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsoleSession(ctx, "s-out", 12*time.Hour); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("signed-out session: %v", err)
		}

		// AccessKeys are listed without secrets, revoked ones marked.
		k2, _ := s.CreateAccessKey(ctx, "1001")
		keys, err := s.AccessKeys(ctx, "1001")
		if err != nil || len(keys) != 2 || keys[0].ID != key.ID || keys[0].RevokedAt.IsZero() || keys[1].ID != k2.ID || !keys[1].RevokedAt.IsZero() {
			t.Fatalf("keys: %+v %v", keys, err)
		}
		if _, err := s.AccessKeys(ctx, "9999"); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("keys of an unknown account: %v", err)
		}
	})
}

func TestAccountStandingsAndBillCycles(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if _, err := apply(t, s, baseWorld+`
  - uid: "1002"
    name: 乙
    credit_line: "50"
    instances:
      - id: inst-q
        mode: payg
        numbers: [{number: "0572001", kind: fixed, source: ccc}]
topups:
  - {id: T-1, account: "1001", amount: "1.00", at: "2026-10-01T08:00:00+08:00"}
`); err != nil {
			t.Fatal(err)
		}
		importCalls(t, s, callbill.ImportOptions{},
			call("c1", "inst-p", callbill.Outbound, "0571001", "2026-10-08T10:00:00+08:00", 20*60),
			call("c2", "inst-q", callbill.Outbound, "0572001", "2026-11-08T10:00:00+08:00", 60))
		if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: callbill.NewCycle(2026, 10)}); err != nil {
			t.Fatal(err)
		}
		sts, err := s.AccountStandings(ctx)
		if err != nil || len(sts) != 2 {
			t.Fatalf("%+v %v", sts, err)
		}
		for _, st := range sts {
			want, err := s.Status(ctx, st.UID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Name != want.Name || st.State != want.State || !st.Standing.Cash.Equal(want.Standing.Cash) ||
				!st.Standing.Outstanding.Equal(want.Standing.Outstanding) || !st.Standing.Available().Equal(want.Standing.Available()) ||
				!st.Standing.CreditLine.Equal(want.Standing.CreditLine) {
				t.Errorf("%s: standings %+v, status %+v", st.UID, st, want)
			}
		}
		if sts[0].State != callbill.StateStopped || !sts[0].Standing.Outstanding.Equal(callbill.MustDecimal("377.00")) {
			t.Errorf("1001 owes 3.00 + the 400 minimum 375 − 1.00: %+v", sts[0].Standing)
		}
		cs, err := s.BillCycles(ctx, "1001")
		if err != nil || len(cs) != 1 || cs[0] != callbill.NewCycle(2026, 10) {
			t.Errorf("1001 cycles %v %v", cs, err)
		}
		cs, err = s.BillCycles(ctx, "1002")
		if err != nil || len(cs) != 2 || cs[0] != callbill.NewCycle(2026, 10) || cs[1] != callbill.NewCycle(2026, 11) {
			t.Errorf("1002 cycles %v %v", cs, err)
		}
		if _, err := s.BillCycles(ctx, "9999"); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("unknown account: %v", err)
		}
	})
}
