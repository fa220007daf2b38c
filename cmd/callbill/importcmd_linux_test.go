package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill/internal/nice"
)

// TestImportRunsInTheBackground watches a running `callbill import -` (its
// stdin held open) until every thread of it is at nice.Background, then
// lets it finish: the calls are imported as at any priority
// (docs/decisions.md, "File imports yield the CPU").
func TestImportRunsInTheBackground(t *testing.T) {
	dir := copyScenario(t)
	if r := runCLI(t, dir, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	calls, err := os.ReadFile(filepath.Join(dir, "calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "import", "-q", "-")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The import starts at this test's nice value (a niced test run's is
	// higher) and lowers itself to nice.Background, never past it.
	want := max(slices.Max(threadNices(t, os.Getpid())), nice.Background)
	var nices []int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		nices = threadNices(t, cmd.Process.Pid)
		if len(nices) > 0 && allAtLeast(nices, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import's threads stay at nice %v, want %d", nices, want)
		}
	}
	if _, err := stdin.Write(calls); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != exitRejected {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "imported ") || strings.Contains(stderr.String(), "imported 0,") {
		t.Fatalf("the import in the background imported nothing:\n%s", stderr.String())
	}
	for _, n := range nices {
		if n != want {
			t.Fatalf("threads at %v: lowered past nice %d", nices, want)
		}
	}

	if r := runCLI(t, dir, "import", "--priority", "idle", "calls.csv"); r.code != exitUsage || !strings.Contains(r.stderr, "--priority is background or normal") {
		t.Fatalf("--priority idle: exit %d\n%s", r.code, r.stderr)
	}
}

// threadNices reads the nice value of every thread of process pid from
// /proc (the 19th field of each thread's stat line).
func threadNices(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var nices []int
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread has exited
		}
		// The command name (field 2) is in parentheses and may hold
		// spaces: count from the last one.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 17 {
			t.Fatalf("%s: %q", p, b)
		}
		n, err := strconv.Atoi(fields[16])
		if err != nil {
			t.Fatalf("%s: %q", p, b)
		}
		nices = append(nices, n)
	}
	return nices
}

func allAtLeast(nices []int, n int) bool {
	for _, v := range nices {
		if v < n {
			return false
		}
	}
	return true
}
