package main

import (
	"bufio"
	"database/sql"
	_ "github.com/mattn/go-sqlite3"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/demo"
)

const crashCalls = 150_000

// demoFiles writes a demo world and crashCalls calls into dir.
func demoFiles(t *testing.T, dir string) demo.Options {
	t.Helper()
	o := demo.Options{Cycle: callbill.NewCycle(2026, time.October), Accounts: 6, Calls: crashCalls, Seed: 3}
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), demo.World(o), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if _, err := demo.WriteCalls(w, o); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return o
}

// bills shows every account's bill of the cycle as JSON, concatenated.
func bills(t *testing.T, dir string, c callbill.Cycle) string {
	t.Helper()
	var sb strings.Builder
	for i := 1; i <= 6; i++ {
		uid := "100000000000000" + string(rune('0'+i))
		r := runCLI(t, dir, "bill", "show", "--account", uid, "--cycle", c.String(), "--json")
		if r.code != 0 {
			t.Fatalf("show %s: %s", uid, r.stderr)
		}
		sb.WriteString(r.stdout)
	}
	return sb.String()
}

func storedCalls(t *testing.T, db string) int {
	t.Helper()
	h, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var n int
	if err := h.QueryRow(`SELECT COALESCE(SUM(calls), 0) FROM call_blocks`).Scan(&n); err != nil {
		return -1 // not created yet
	}
	return n
}

// TestCrashConverges SIGKILLs an import and a bill close midway and shows
// that re-running them gives exactly the bills of a clean run.
func TestCrashConverges(t *testing.T) {
	clean := t.TempDir()
	o := demoFiles(t, clean)
	for _, args := range [][]string{{"apply", "-f", "world.yaml"}, {"import", "calls.csv"}, {"bill", "close", o.Cycle.String()}} {
		if r := runCLI(t, clean, args...); r.code != 0 {
			t.Fatalf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
	want := bills(t, clean, o.Cycle)

	dir := t.TempDir()
	demoFiles(t, dir)
	if r := runCLI(t, dir, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatal(r.stderr)
	}

	// Kill the import once some batches are committed.
	cmd := exec.Command(binary(t), "import", "--batch", "2000", "calls.csv")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "callbill.db")
	deadline := time.Now().Add(60 * time.Second)
	for storedCalls(t, db) < 10_000 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	n := storedCalls(t, db)
	if n <= 0 || n >= crashCalls {
		t.Fatalf("the import was not killed midway: %d of %d calls stored", n, crashCalls)
	}
	if n%2000 != 0 {
		t.Errorf("%d calls stored: a batch was stored in part", n)
	}
	t.Logf("import killed after %d calls", n)
	r := runCLI(t, dir, "import", "calls.csv")
	if r.code != 0 {
		t.Fatalf("re-import: exit %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "duplicates ") || storedCalls(t, db) != crashCalls {
		t.Fatalf("re-import did not converge: %s, %d stored", r.stderr, storedCalls(t, db))
	}

	// Kill a close while it is freezing the accounts.
	cmd = exec.Command(binary(t), "bill", "close", o.Cycle.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=", "CALLBILL_FAULT_CLOSE_PAUSE=300ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the close finished before it was killed")
	}
	if got := runCLI(t, dir, "bill", "show", "--account", "1000000000000001", "--cycle", o.Cycle.String(), "--json"); !strings.Contains(got.stdout, `"status":"open"`) {
		t.Fatalf("after a killed close the cycle must still be open: %s", got.stdout)
	}
	if r := runCLI(t, dir, "ledger", "verify"); r.code != 0 {
		t.Fatalf("ledger verify after a killed close: %s %s", r.stdout, r.stderr)
	}
	if r := runCLI(t, dir, "bill", "close", o.Cycle.String()); r.code != 0 {
		t.Fatalf("close: %s", r.stderr)
	}
	if r := runCLI(t, dir, "ledger", "verify"); r.code != 0 {
		t.Fatalf("ledger verify after the close: %s %s", r.stdout, r.stderr)
	}
	if got := bills(t, dir, o.Cycle); got != want {
		t.Errorf("bills after crashes differ from a clean run:\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestCrashDuringTopUpMovesMoneyOnce kills a top-up after it moved the money
// but before it committed, then retries it with the same key: the money moves
// exactly once and the ledger reconciles.
func TestCrashDuringTopUpMovesMoneyOnce(t *testing.T) {
	dir := t.TempDir()
	demoFiles(t, dir)
	if r := runCLI(t, dir, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	before := runCLI(t, dir, "account", "show", "1000000000000003", "--json")
	cmd := exec.Command(binary(t), "topup", "--account", "1000000000000003", "--amount", "123.45", "--key", "crash-1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=", "CALLBILL_FAULT_MONEY_PAUSE=5s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the top-up finished before it was killed")
	}
	if got := runCLI(t, dir, "account", "show", "1000000000000003", "--json"); got.stdout != before.stdout {
		t.Fatalf("a killed top-up moved money:\n%s\n%s", before.stdout, got.stdout)
	}
	if r := runCLI(t, dir, "ledger", "verify"); r.code != 0 {
		t.Fatalf("ledger verify after the kill: %s %s", r.stdout, r.stderr)
	}
	for i := 0; i < 2; i++ { // the retry, and a retry of the retry
		if r := runCLI(t, dir, "topup", "--account", "1000000000000003", "--amount", "123.45", "--key", "crash-1"); r.code != 0 {
			t.Fatalf("retry: %s", r.stderr)
		}
	}
	r := runCLI(t, dir, "ledger", "--account", "1000000000000003")
	if n := strings.Count(r.stdout, "123.45"); n != 1 {
		t.Fatalf("the top-up is in the ledger %d times:\n%s", n, r.stdout)
	}
	if r := runCLI(t, dir, "ledger", "verify"); r.code != 0 {
		t.Fatalf("ledger verify: %s %s", r.stdout, r.stderr)
	}
}
