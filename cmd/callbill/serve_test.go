package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/demo"
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
		Allow      bool
		Reason     string
		MaxSeconds int64 `json:"max_seconds"`
	}
	var d decision
	// 5.00 at 0.0499 a platform minute: 100 minutes.
	if n.do(t, "GET", q, nil, &d); !d.Allow || d.MaxSeconds != 6000 {
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
	// Back to 5.00 of cash (0.00 would be normal, but pays for no minute).
	follow(true, func() {
		if code := n.doKey(t, "POST", "/api/v1/accounts/3001/topups", `{"amount":"10.00"}`, "t1", nil); code != 201 {
			t.Fatalf("top-up: %d", code)
		}
	})
	// A reservation of 10 minutes (0.499) holds them within a second.
	var r struct {
		Amount   string
		Seconds  int64
		Replayed bool
	}
	if code := n.doKey(t, "POST", "/api/v1/calls/a-payg/call-1/reserve", `{"number":"0100001","direction":"outbound","seconds":600}`, "", &r); code != 201 ||
		r.Amount != "0.499" || r.Seconds != 600 {
		t.Fatalf("reserve: %d %+v", code, r)
	}
	start := time.Now()
	for n.do(t, "GET", q, nil, &d); d.MaxSeconds != 5400; n.do(t, "GET", q, nil, &d) {
		if time.Since(start) > time.Second {
			t.Fatalf("authorization still says %+v a second after a reservation", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The same key again moves nothing; another request under it is refused.
	if code := n.doKey(t, "POST", "/api/v1/accounts/3001/topups", `{"amount":"10.00"}`, "t1", nil); code != 200 {
		t.Errorf("replayed top-up: %d", code)
	}
	if code := n.doKey(t, "POST", "/api/v1/accounts/3001/topups", `{"amount":"6.00"}`, "t1", nil); code != 409 {
		t.Errorf("key reused for another amount: %d", code)
	}
	var acct struct{ Cash, State string }
	n.do(t, "GET", "/api/v1/accounts/3001", nil, &acct)
	if acct.Cash != "5.00" || acct.State != "normal" {
		t.Errorf("account: %+v", acct)
	}
}

// TestExportSurvivesAKilledNode kills the server in the middle of an export:
// another node takes the job over when its lease runs out, and the job
// completes once, with a complete file.
func TestExportSurvivesAKilledNode(t *testing.T) {
	dir := t.TempDir()
	o := demo.Options{Cycle: callbill.NewCycle(2026, time.October), Accounts: 1, Calls: 60_000, Seed: 5}
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), demo.World(o), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(filepath.Join(dir, "calls.csv"))
	demo.WriteCalls(f, o)
	f.Close()
	db := filepath.Join(dir, "x.db")
	for _, args := range [][]string{{"apply", "-f", "world.yaml"}, {"import", "calls.csv"}} {
		if r := runCLI(t, dir, append([]string{"--db", db}, args...)...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	t.Setenv("CALLBILL_FAULT_EXPORT_SLOW", "400ms") // 6 ticks of 10,000 rows: 2.4 s
	a := startNodeArgs(t, dir, db, "a", "--job-lease", "2s")
	t.Setenv("CALLBILL_FAULT_EXPORT_SLOW", "")
	var job struct {
		ID       int64
		Status   string
		Attempts int
		Node     string
		Result   struct {
			Rows int64
			Path string
		}
	}
	if code := a.do(t, "POST", "/api/v1/exports", []byte(`{"account":"1000000000000001","cycle":"2026-10"}`), &job); code != 202 {
		t.Fatalf("export: %d", code)
	}
	path := fmt.Sprintf("/api/v1/exports/%d", job.ID)
	for deadline := time.Now().Add(10 * time.Second); job.Status != "running"; {
		if time.Now().After(deadline) {
			t.Fatalf("the export never started: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
		a.do(t, "GET", path, nil, &job)
	}
	time.Sleep(500 * time.Millisecond)
	a.cmd.Process.Kill()
	a.cmd.Wait()
	b := startNodeArgs(t, dir, db, "b", "--job-lease", "2s")
	for deadline := time.Now().Add(30 * time.Second); job.Status != "done"; {
		if time.Now().After(deadline) || job.Status == "failed" {
			t.Fatalf("the export did not complete after the restart: %+v", job)
		}
		time.Sleep(100 * time.Millisecond)
		b.do(t, "GET", path, nil, &job)
	}
	if job.Attempts != 2 || job.Node != "b" || job.Result.Rows != 60_000 {
		t.Fatalf("job %+v: want done by b on its second attempt with 60,000 rows", job)
	}
	data, err := os.ReadFile(filepath.Join(dir, "exports", filepath.Base(job.Result.Path)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "\ufeff") || strings.Count(string(data), "\n") != 60_001 {
		t.Fatalf("the file is not complete: %d lines", strings.Count(string(data), "\n"))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "exports", "usage-*"))
	if len(files) != 1 {
		t.Fatalf("files %v, want one", files)
	}
}
