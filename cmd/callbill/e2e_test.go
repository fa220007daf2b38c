package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/callbill/callbill/internal/testpg"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real callbill binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "callbill-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "callbill")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v\n%s", buildErr, binPath)
	}
	return binPath
}

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary in dir with args.
func runCLI(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func copyScenario(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"world.yaml", "calls.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenario", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "scenario", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/callbill -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestGoldenScenario runs apply → import → close → show through the built
// binary on testdata/scenario and compares every output with its golden file.
func TestGoldenScenario(t *testing.T) { goldenScenario(t, "") }

// TestGoldenScenarioPostgres does the same on PostgreSQL: the output must be
// byte-identical to SQLite's.
func TestGoldenScenarioPostgres(t *testing.T) { goldenScenario(t, testpg.DSN(t)) }

func goldenScenario(t *testing.T, dsn string) {
	dir := copyScenario(t)
	runCLI := func(t *testing.T, dir string, args ...string) result {
		t.Helper()
		if dsn != "" {
			args = append([]string{"--db", dsn}, args...)
		}
		return runCLI(t, dir, args...)
	}
	r := runCLI(t, dir, "apply", "-f", "world.yaml")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, dir, "import", "calls.csv")
	if r.code != exitRejected {
		t.Fatalf("import: exit %d, want %d\n%s", r.code, exitRejected, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	summary := lines[len(lines)-1]
	if !strings.HasPrefix(summary, "imported 11, duplicates 1, rejected 8 (conflicts 1), ") || !strings.HasSuffix(summary, " calls/s") {
		t.Errorf("summary line = %q", summary)
	}
	rejects, err := os.ReadFile(filepath.Join(dir, "calls.csv.rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rejects.golden.csv", string(rejects))

	// Importing again changes nothing: everything accepted is a duplicate.
	r = runCLI(t, dir, "import", "calls.csv")
	if !strings.Contains(r.stderr, "imported 0, duplicates 12, rejected 8 (conflicts 1)") {
		t.Errorf("second import: %s", r.stderr)
	}
	// Applying the world again changes nothing either.
	r = runCLI(t, dir, "apply", "-f", "world.yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "0 top-ups and 0 purchases new, 6 applied before") {
		t.Errorf("second apply: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	open := runCLI(t, dir, "bill", "show", "--account", "1000000000000001", "--cycle", "2026-10", "--json")
	golden(t, "open-1000000000000001.golden.json", open.stdout)
	// The open cycle's table: an estimate, nothing owed before the close.
	open = runCLI(t, dir, "bill", "show", "--account", "1000000000000001", "--cycle", "2026-10")
	golden(t, "open-1000000000000001.golden.txt", open.stdout)
	// The statement and an account as tables: Chinese headings and labels
	// beside ASCII, padded by display width (before the close, whose
	// deductions are dated by the clock).
	for _, uid := range []string{"1000000000000001", "1000000000000002"} {
		r := runCLI(t, dir, "ledger", "--account", uid)
		if r.code != 0 {
			t.Fatalf("ledger: exit %d %s", r.code, r.stderr)
		}
		golden(t, "ledger-"+uid+".golden.txt", r.stdout)
	}
	// (Account 1's voice package would leave the list when it expires.)
	r = runCLI(t, dir, "account", "show", "1000000000000002")
	golden(t, "account-1000000000000002.golden.txt", r.stdout)
	r = runCLI(t, dir, "account", "show", "1000000000000001", "--json")
	if !strings.Contains(r.stdout, `"state":"normal"`) || !strings.Contains(r.stdout, `"source":"third_party"`) || strings.Contains(r.stdout, "正常") {
		t.Errorf("account show --json must keep the codes: %s", r.stdout)
	}

	r = runCLI(t, dir, "bill", "close", "2026-10")
	if r.code != 0 || r.stdout != "closed 2026-09, 2026-10\n" {
		t.Fatalf("close: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, dir, "bill", "close", "2026-10")
	if r.code != 0 || !strings.Contains(r.stdout, "already closed") {
		t.Errorf("second close: exit %d %q", r.code, r.stdout)
	}
	for _, uid := range []string{"1000000000000001", "1000000000000002"} {
		for _, v := range []struct{ name, by, period string }{
			{"", "item", "cycle"}, {"-instance", "instance", "cycle"}, {"-day", "item", "day"},
		} {
			r := runCLI(t, dir, "bill", "show", "--account", uid, "--cycle", "2026-10", "--by", v.by, "--period", v.period, "--json")
			if r.code != 0 {
				t.Fatalf("show: exit %d %s", r.code, r.stderr)
			}
			golden(t, "bill-"+uid+v.name+".golden.json", r.stdout)
		}
	}
	r = runCLI(t, dir, "bill", "show", "--account", "1000000000000001", "--cycle", "2026-10")
	golden(t, "bill-1000000000000001.golden.txt", r.stdout)
}

// TestDemo runs the demo (without serving the console): a world, a month of
// calls, a close and the bills.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "demo", "--calls", "3000", "--no-serve", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"imported 3000, duplicates 0, rejected 0", "closed ", "账单 ", "合计", "已出账", "总费用, 1000.00 per cycle"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("demo output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}
