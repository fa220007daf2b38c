package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthorizeAndReserveCommands: authorize answers max_seconds (exit 0) or
// denies (exit 4); --reserve holds a started call's price, which the next
// answer and the list show, until it is released.
func TestAuthorizeAndReserveCommands(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), []byte(authWorld), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "auth.db")
	run := func(code int, args ...string) result {
		t.Helper()
		r := runCLI(t, dir, append([]string{"--db", db}, args...)...)
		if r.code != code {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, code, r.stdout, r.stderr)
		}
		return r
	}
	run(0, "apply", "-f", "world.yaml")
	ask := []string{"authorize", "--instance", "a-payg", "--number", "0100001", "--direction", "outbound"}
	// 5.00 at 0.0499 a platform minute: 100 minutes.
	if r := run(0, ask...); r.stdout != "allow, max_seconds 6000\n" {
		t.Errorf("authorize: %q", r.stdout)
	}
	r := run(0, append(ask, "--reserve", "call-1", "--seconds", "1200", "--json")...)
	var out struct {
		Allow       bool
		MaxSeconds  int64 `json:"max_seconds"`
		Reservation struct {
			Amount    string
			Seconds   int64
			ExpiresAt string `json:"expires_at"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !out.Allow || out.MaxSeconds != 1200 || out.Reservation.Amount != "0.998" {
		t.Fatalf("reserve: %v %s", err, r.stdout)
	}
	if r := run(0, ask...); r.stdout != "allow, max_seconds 4800\n" { // 5.00 − 0.998: 80 minutes
		t.Errorf("with 20 minutes held: %q", r.stdout)
	}
	if r := run(0, append(ask, "--reserve", "call-1")...); !strings.Contains(r.stdout, "reserved 1200 s of call call-1: 0.998 yuan held until ") ||
		!strings.Contains(r.stdout, "(held before)") {
		t.Errorf("the same call again: %q", r.stdout)
	}
	expires := strings.Replace(out.Reservation.ExpiresAt[:19], "T", " ", 1) // in the billing time zone
	if r := run(0, "reservation", "list"); !strings.Contains(r.stdout, "3001  a-payg  call-1  0100001  outbound  1200     0.998  "+expires+"  cli") {
		t.Errorf("list:\n%s", r.stdout)
	}
	if r := run(0, "reservation", "release", "--instance", "a-payg", "call-1"); !strings.Contains(r.stdout, "released") {
		t.Errorf("release: %q", r.stdout)
	}
	if r := run(0, "reservation", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list after the release: %q", r.stdout)
	}
	// A debit leaves nothing to pay with: denied, exit 4.
	run(0, "adjust", "--account", "3001", "--amount", "-5.00", "--reason", "test", "--key", "d1")
	if r := run(4, ask...); !strings.HasPrefix(r.stdout, "deny: account 3001 cannot pay for one minute of this call") {
		t.Errorf("denied: %q", r.stdout)
	}
	if r := run(4, append(ask, "--reserve", "call-2")...); !strings.HasPrefix(r.stdout, "deny: ") {
		t.Errorf("reserve denied: %q", r.stdout)
	}
	run(2, append(ask, "--seconds", "60")...)
}
