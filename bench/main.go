// Command bench measures callbill's import and bill close end to end, through
// the real binary, and compares the import with sqlite3's own .import of the
// same file into a bare table. Run it with `go run ./bench` (see
// docs/benchmarks.md); it prints its figures.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/demo"
)

func main() {
	calls := flag.Int("calls", 1_000_000, "CDRs to import")
	accounts := flag.Int("accounts", 1000, "tenant accounts")
	dir := flag.String("dir", "", "work folder (default: a new temporary folder, removed afterwards)")
	db := flag.String("db", "", "DSN to import into (default: a fresh SQLite file in the work folder)")
	flag.Parse()
	if err := run(*calls, *accounts, *dir, *db); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(calls, accounts int, dir, dsn string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "callbill-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	bin := filepath.Join(dir, "callbill")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/callbill").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	o := demo.Options{Cycle: callbill.NewCycle(2026, time.October), Accounts: accounts, Calls: calls, Seed: 7}
	world := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(world, demo.World(o), 0o644); err != nil {
		return err
	}
	csvPath := filepath.Join(dir, "calls.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := demo.WriteCalls(w, o); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	f.Close()
	st, _ := os.Stat(csvPath)
	if dsn == "" {
		dsn = filepath.Join(dir, "callbill.db")
	}
	fmt.Printf("machine: %d cores; input: %d CDRs, %d accounts, %.1f MB CSV; store: %s\n",
		numCPU(), calls, accounts, float64(st.Size())/1e6, storeKind(dsn))

	if _, _, err := runCmd(bin, "--db", dsn, "apply", "-f", world); err != nil {
		return err
	}
	el, rss, err := runCmd(bin, "--db", dsn, "import", "-q", csvPath)
	if err != nil {
		return err
	}
	fmt.Printf("callbill import: %.2f s, %.0f calls/s, peak RSS %.0f MB\n", el.Seconds(), float64(calls)/el.Seconds(), rss)

	if storeKind(dsn) == "sqlite" {
		bare := filepath.Join(dir, "bare.db")
		cmd := exec.Command("sqlite3", bare)
		cmd.Stdin = strings.NewReader(".mode csv\n.import " + csvPath + " calls\n")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sqlite3 .import: %v\n%s", err, out)
		}
		ref := time.Since(start)
		fmt.Printf("sqlite3 .import into a bare table: %.2f s; callbill/sqlite3 = %.2f\n", ref.Seconds(), el.Seconds()/ref.Seconds())
	} else {
		cmd := exec.Command("psql", dsn, "-q", "-c", "DROP TABLE IF EXISTS bench_bare",
			"-c", "CREATE TABLE bench_bare (contact_id text, instance_id text, direction text, caller text, callee text, start_time text, end_time text, recording_seconds text)")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("psql: %v\n%s", err, out)
		}
		start := time.Now()
		cmd = exec.Command("psql", dsn, "-q", "-c", `\copy bench_bare FROM '`+csvPath+`' WITH (FORMAT csv, HEADER true)`)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("psql \\copy: %v\n%s", err, out)
		}
		ref := time.Since(start)
		exec.Command("psql", dsn, "-q", "-c", "DROP TABLE bench_bare").Run()
		fmt.Printf("psql \\copy into a bare table: %.2f s; callbill/psql = %.2f\n", ref.Seconds(), el.Seconds()/ref.Seconds())
	}

	el, rss, err = runCmd(bin, "--db", dsn, "bill", "close", o.Cycle.String())
	if err != nil {
		return err
	}
	fmt.Printf("bill close %s (%d accounts): %.3f s (whole process), peak RSS %.0f MB\n", o.Cycle, accounts, el.Seconds(), rss)
	return nil
}

// runCmd runs a command and returns its wall time and peak RSS in MB.
func runCmd(name string, args ...string) (time.Duration, float64, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	el := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	rss := 0.0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024
	}
	return el, rss, nil
}

func storeKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return "postgres"
	}
	return "sqlite"
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
