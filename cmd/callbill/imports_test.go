package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	headCSV = "contact_id,instance_id,direction,caller,callee,start_time,end_time\n"
	undoB   = headCSV +
		"b1,ccc-hz-001,outbound,057188880001,13800000011,2026-10-20T10:00:00+08:00,2026-10-20T11:00:00+08:00\n" +
		"b2,ccc-hz-001,inbound,13800000012,02066660001,2026-10-20T10:00:00+08:00,2026-10-20T12:00:00+08:00\n"
	undoC = headCSV +
		"x1,ccc-hz-001,outbound,057188880001,13800000013,2026-10-21T10:00:00+08:00,2026-10-21T10:30:00+08:00\n" +
		"x2,ccc-hz-001,inbound,13800000014,02066660001,2026-10-21T10:00:00+08:00,2026-10-21T10:30:00+08:00\n"
)

// scenarioBills is the scenario account's October bill as JSON.
func scenarioBill(t *testing.T, dir string) string {
	t.Helper()
	r := runCLI(t, dir, "bill", "show", "--account", "1000000000000001", "--cycle", "2026-10", "--json")
	if r.code != 0 {
		t.Fatalf("bill show: %s", r.stderr)
	}
	return r.stdout
}

// TestImportListAndUndoCLI: import list shows each import with its files
// and counts; import undo gives the bill of a world without it, survives
// being killed before it commits, says so when run twice, frees the calls
// for another import, and is refused once the cycle is closed.
func TestImportListAndUndoCLI(t *testing.T) {
	never := copyScenario(t)
	dir := copyScenario(t)
	for _, d := range []string{never, dir} {
		os.WriteFile(filepath.Join(d, "b.csv"), []byte(undoB), 0o644)
		os.WriteFile(filepath.Join(d, "c.csv"), []byte(undoC), 0o644)
		if r := runCLI(t, d, "apply", "-f", "world.yaml"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		if r := runCLI(t, d, "import", "calls.csv"); r.code != exitRejected || !strings.Contains(r.stderr, "import imp-1 ") {
			t.Fatalf("import: %d %s", r.code, r.stderr)
		}
	}
	for _, f := range []string{"b.csv", "c.csv"} {
		if r := runCLI(t, dir, "import", f); r.code != 0 {
			t.Fatalf("import %s: %s", f, r.stderr)
		}
	}
	if r := runCLI(t, never, "import", "c.csv"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	want := scenarioBill(t, never)
	with := scenarioBill(t, dir)

	r := runCLI(t, dir, "import", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[1], "imp-3 ") || !strings.Contains(lines[1], "c.csv") ||
		!strings.Contains(lines[2], "b.csv") || !strings.Contains(lines[3], "calls.csv") || !strings.Contains(lines[3], "已完成") ||
		!strings.Contains(lines[3], "cli:") {
		t.Fatalf("import list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, "import", "list", "--json", "--limit", "1")
	var recs []struct {
		ID                             string
		Sources                        []string
		Status                         string
		Imported, Duplicates, Rejected int
	}
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || len(recs) != 1 || recs[0].ID != "imp-3" || recs[0].Imported != 2 ||
		recs[0].Sources[0] != "c.csv" || !strings.Contains(r.stderr, "--before imp-3") {
		t.Fatalf("import list --json: %v %s %s", err, r.stdout, r.stderr)
	}

	// Killed before it commits: nothing changed.
	cmd := exec.Command(binary(t), "import", "undo", "imp-2")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=", "CALLBILL_FAULT_UNDO_PAUSE=5s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the undo finished before it was killed")
	}
	if got := scenarioBill(t, dir); got != with {
		t.Fatalf("a killed undo changed the bill:\n%s\nbefore:\n%s", got, with)
	}
	if r := runCLI(t, dir, "import", "list"); !strings.Contains(r.stdout, "已完成") || strings.Contains(r.stdout, "已撤销") {
		t.Fatalf("a killed undo changed the record:\n%s", r.stdout)
	}

	r = runCLI(t, dir, "import", "undo", "imp-2")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "undid imp-2: removed 2 calls") || !strings.Contains(r.stdout, "1000000000000001") {
		t.Fatalf("undo: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := scenarioBill(t, dir); got != want {
		t.Errorf("after the undo:\n%s\nnever imported:\n%s", got, want)
	}
	if r := runCLI(t, dir, "import", "undo", "imp-2"); r.code != 0 || !strings.Contains(r.stdout, "imp-2 was undone already") {
		t.Errorf("undo again: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, dir, "import", "list"); !strings.Contains(r.stdout, "已撤销") || !strings.Contains(r.stdout, "移除 2") {
		t.Errorf("list after the undo:\n%s", r.stdout)
	}
	if r := runCLI(t, dir, "import", "undo", "imp-9"); r.code != 1 || !strings.Contains(r.stderr, "no import imp-9") {
		t.Errorf("undo of no import: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "import", "undo", "x"); r.code != 2 {
		t.Errorf("undo of a bad id: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "import", "b.csv"); r.code != 0 || !strings.Contains(r.stderr, "imported 2, duplicates 0") {
		t.Errorf("import the undone file again: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "bill", "close", "2026-10"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = runCLI(t, dir, "import", "undo", "imp-3")
	if r.code != 1 || !strings.Contains(r.stderr, "closed cycles (2026-10)") || !strings.Contains(r.stderr, "callbill adjust") {
		t.Errorf("undo in a closed cycle: %d %s", r.code, r.stderr)
	}
}
