package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

const authWorld = `
accounts:
  - uid: "3001"
    name: 丙
    instances:
      - id: a-payg
        mode: payg
        numbers: [{number: "0100001", kind: fixed, source: third_party}]
topups:
  - {id: T1, account: "3001", amount: "5.00", at: "2026-10-01T08:00:00+08:00"}
`

// TestAuthorizationFollowsMoneyWithinASecond serves, then stops the account
// with a debit and restores it with a top-up through the API: call
// authorization must follow each change within a second.
func TestAuthorizationFollowsMoneyWithinASecond(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), []byte(authWorld), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "auth.db")
	if r := runCLI(t, dir, "--db", db, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	n := startNode(t, dir, db, "auth")
	const q = "/api/v1/authorize?instance=a-payg&number=0100001&direction=outbound"
	type decision struct {
		Allow  bool
		Reason string
	}
	var d decision
	if n.do(t, "GET", q, nil, &d); !d.Allow {
		t.Fatalf("a paid-up account is refused: %+v", d)
	}
	follow := func(want bool, change func()) {
		t.Helper()
		change()
		start := time.Now()
		for {
			n.do(t, "GET", q, nil, &d)
			if d.Allow == want {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("authorization still says %+v after a second", d)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("authorization followed in %v", time.Since(start))
	}
	follow(false, func() {
		var e struct{ Balance string }
		if code := n.doKey(t, "POST", "/api/v1/accounts/3001/adjustments", `{"amount":"-10.00","reason":"test debit"}`, "d1", &e); code != 201 || e.Balance != "-5.00" {
			t.Fatalf("debit: %d %+v", code, e)
		}
	})
	follow(true, func() {
		if code := n.doKey(t, "POST", "/api/v1/accounts/3001/topups", `{"amount":"5.00"}`, "t1", nil); code != 201 {
			t.Fatalf("top-up: %d", code)
		}
	})
	// The same key again moves nothing; another request under it is refused.
	if code := n.doKey(t, "POST", "/api/v1/accounts/3001/topups", `{"amount":"5.00"}`, "t1", nil); code != 200 {
		t.Errorf("replayed top-up: %d", code)
	}
	if code := n.doKey(t, "POST", "/api/v1/accounts/3001/topups", `{"amount":"6.00"}`, "t1", nil); code != 409 {
		t.Errorf("key reused for another amount: %d", code)
	}
	var acct struct{ Cash, State string }
	n.do(t, "GET", "/api/v1/accounts/3001", nil, &acct)
	if acct.Cash != "0.00" || acct.State != "normal" {
		t.Errorf("account: %+v", acct)
	}
}
