package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callbill/callbill/internal/testpg"
)

// TestImportReadsEachInputOnce imports the golden scenario's calls as three
// inputs — a named pipe, stdin (a pipe too) and a file — in batches of
// three: each rejects file holds the golden rows of its input, in order,
// though neither pipe can be read twice and nothing is spooled to the
// temporary folder; an input without rejects gets none (a stale one goes).
func TestImportReadsEachInputOnce(t *testing.T) {
	dir := copyScenario(t)
	if r := runCLI(t, dir, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	header := lines[0]
	const split = 16 // lines 2-16 in the pipe, the rest on stdin
	piped := header + strings.Join(lines[1:split], "")
	stdin := header + strings.Join(lines[split:], "")
	again := header + lines[1] // c1 again: a duplicate, no reject

	fifo := filepath.Join(dir, "a.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.csv"), []byte(again), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.csv.rejects.csv"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Write the pipe once; one who opens it again waits for a writer
		// that never comes (and the import times out).
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.WriteString(piped)
		f.Close()
	}()
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "import", "--batch", "3", "a.csv", "-", "c.csv")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=", "TMPDIR="+tmp)
	cmd.Stdin = strings.NewReader(stdin) // through a pipe
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("import did not end (reading an input twice?):\n%s", stderr.String())
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitRejected {
		t.Fatalf("import: %v, want exit %d\n%s", err, exitRejected, stderr.String())
	}
	if !strings.Contains(stderr.String(), "imported 11, duplicates 2, rejected 8 (conflicts 1), ") ||
		!strings.Contains(stderr.String(), "a.csv:14: conflict: contact c2") || !strings.Contains(stderr.String(), "-:4: direction \"sideways\"") ||
		!strings.Contains(stderr.String(), "rejected rows of a.csv are in a.csv.rejects.csv\nrejected rows of - are in stdin.rejects.csv\n") {
		t.Errorf("import said:\n%s", stderr.String())
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the import left %d files in the temporary folder: %v", len(entries), entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "c.csv.rejects.csv")); !os.IsNotExist(err) {
		t.Errorf("the stale rejects file of c.csv is still there: %v", err)
	}

	// The golden rejects file, cut where the input was and renumbered.
	golden, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenario", "rejects.golden.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(golden)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var wantA, wantStdin bytes.Buffer
	wa, ws := csv.NewWriter(&wantA), csv.NewWriter(&wantStdin)
	wa.Write(rows[0])
	ws.Write(rows[0])
	for _, row := range rows[1:] {
		line, _ := strconv.Atoi(row[len(row)-2])
		if line <= split {
			wa.Write(row)
			continue
		}
		row[len(row)-2] = strconv.Itoa(line - split + 1)
		ws.Write(row)
	}
	wa.Flush()
	ws.Flush()
	for name, want := range map[string]string{"a.csv.rejects.csv": wantA.String(), "stdin.rejects.csv": wantStdin.String()} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// TestPostgresImportsSpareAP: a file import on PostgreSQL runs on one P
// more than the runtime chose, one on SQLite on as many, and with the
// operator's GOMAXPROCS set it is kept on either (importProcs).
func TestPostgresImportsSpareAP(t *testing.T) {
	dsn := testpg.DSN(t)
	dir := copyScenario(t)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(defaultProcs)
		debug.SetMemoryLimit(math.MaxInt64) // as runImport set it
	})
	for _, c := range []struct {
		db, env string
		want    int
	}{
		{filepath.Join(dir, "s.db"), "", defaultProcs},
		{dsn, "", defaultProcs + 1},
		{dsn, strconv.Itoa(defaultProcs), defaultProcs},
	} {
		runtime.GOMAXPROCS(defaultProcs)
		t.Setenv("GOMAXPROCS", c.env)
		if r := runIn(t, "--db", c.db, "apply", "-f", filepath.Join(dir, "world.yaml")); r.code != 0 {
			t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
		}
		r := runIn(t, "--db", c.db, "import", "-q", "--priority", "normal", filepath.Join(dir, "calls.csv"))
		if !strings.Contains(r.stderr, "imported ") {
			t.Fatalf("import: exit %d\n%s", r.code, r.stderr)
		}
		if got := runtime.GOMAXPROCS(0); got != c.want {
			t.Errorf("%s, GOMAXPROCS=%q: the import ran on %d Ps, want %d", c.db, c.env, got, c.want)
		}
	}
}
