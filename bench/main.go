// Command bench measures callbill's import and bill close end to end, through
// the real binary, and compares the import with sqlite3's own .import of the
// same file into a bare table. Run it with `go run ./bench` (see
// docs/benchmarks.md); it prints its figures.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
	runs := flag.Int("runs", 1, "imports into a fresh SQLite store, each beside its reference (SQLite only)")
	bin := flag.String("bin", "", "callbill binary (default: go build ./cmd/callbill)")
	budgets := flag.Int("budgets", 0, "accounts given a budget (total, 50/80/100 %) and a usage trigger before the import, "+
		"so that it pays for their evaluation (docs/budgets.md); 0: none")
	flag.Parse()
	if *runs < 1 || (*runs > 1 && *db != "") {
		fmt.Fprintln(os.Stderr, "bench: -runs needs the default SQLite store")
		os.Exit(2)
	}
	if *budgets < 0 || *budgets > *accounts {
		fmt.Fprintln(os.Stderr, "bench: -budgets must be 0 … -accounts")
		os.Exit(2)
	}
	budgetAccounts = *budgets
	if err := run(*calls, *accounts, *runs, *dir, *db, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(calls, accounts, runs int, dir, dsn, bin string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "callbill-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if bin == "" {
		bin = filepath.Join(dir, "callbill")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/callbill").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
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

	if storeKind(dsn) == "sqlite" {
		var own, refs []float64
		for i := range runs {
			if i > 0 {
				for _, f := range []string{dsn, dsn + "-wal", dsn + "-shm"} {
					os.Remove(f)
				}
			}
			el, rss, err := importOnce(bin, dsn, world, csvPath, calls)
			if err != nil {
				return err
			}
			ref, err := sqliteReference(dir, csvPath)
			if err != nil {
				return err
			}
			own, refs = append(own, el.Seconds()), append(refs, ref.Seconds())
			fmt.Printf("  sqlite3 .import into a table keyed (instance_id, contact_id) WITHOUT ROWID: %.2f s; callbill/sqlite3 = %.2f (peak RSS %.0f MB)\n",
				ref.Seconds(), el.Seconds()/ref.Seconds(), rss)
		}
		if runs > 1 {
			fmt.Printf("%d runs: callbill import min %.2f s (%.0f calls/s), median %.2f s (%.0f calls/s); reference min %.2f s, median %.2f s; ratio of medians %.2f\n",
				runs, minOf(own), float64(calls)/minOf(own), median(own), float64(calls)/median(own), minOf(refs), median(refs), median(own)/median(refs))
		}
	} else {
		el, _, err := importOnce(bin, dsn, world, csvPath, calls)
		if err != nil {
			return err
		}
		for _, keyed := range []bool{false, true} {
			ref, err := postgresReference(dsn, csvPath, keyed)
			if err != nil {
				return err
			}
			what := "a bare table"
			if keyed {
				what = "a table keyed (instance_id, contact_id)"
			}
			fmt.Printf("psql \\copy into %s: %.2f s; callbill/psql = %.2f\n", what, ref.Seconds(), el.Seconds()/ref.Seconds())
		}
	}

	el, rss, err := runCmd(bin, "--db", dsn, "bill", "close", o.Cycle.String())
	if err != nil {
		return err
	}
	fmt.Printf("bill close %s (%d accounts): %.3f s (whole process), peak RSS %.0f MB\n", o.Cycle, accounts, el.Seconds(), rss)
	return nil
}

// importOnce applies the world to dsn and imports the file, printing the
// import's figures.
func importOnce(bin, dsn, world, csvPath string, calls int) (time.Duration, float64, error) {
	if _, _, err := runCmd(bin, "--db", dsn, "apply", "-f", world); err != nil {
		return 0, 0, err
	}
	if err := setBudgets(dsn, budgetAccounts); err != nil {
		return 0, 0, err
	}
	server, local := postgresCPU(dsn)
	el, rss, err := runCmd(bin, "--db", dsn, "import", "-q", csvPath)
	if err != nil {
		return 0, 0, err
	}
	fmt.Printf("callbill import: %.2f s, %.0f calls/s, peak RSS %.0f MB\n", el.Seconds(), float64(calls)/el.Seconds(), rss)
	if after, ok := postgresCPU(dsn); local && ok {
		printCPU(lastCPU, after-server, el)
	}
	if err := timeBudgets(dsn, budgetAccounts); err != nil {
		return 0, 0, err
	}
	return el, rss, nil
}

// sqliteReference times sqlite3's .import of the CSV into a fresh table
// keyed as callbill keys calls, (instance, contact id).
func sqliteReference(dir, csvPath string) (time.Duration, error) {
	ref := filepath.Join(dir, "reference.db")
	for _, f := range []string{ref, ref + "-journal"} {
		os.Remove(f)
	}
	defer os.Remove(ref)
	cmd := exec.Command("sqlite3", ref)
	cmd.Stdin = strings.NewReader("CREATE TABLE calls (contact_id TEXT, instance_id TEXT, direction TEXT, caller TEXT, callee TEXT, start_time TEXT, end_time TEXT, recording_seconds TEXT, PRIMARY KEY (instance_id, contact_id)) WITHOUT ROWID;\n" +
		".mode csv\n.import --skip 1 " + csvPath + " calls\n")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		return 0, fmt.Errorf("sqlite3 .import: %v\n%s", err, out)
	}
	return time.Since(start), nil
}

// postgresReference times psql's \copy of the CSV into a fresh table, bare
// or keyed as callbill keys calls.
func postgresReference(dsn, csvPath string, keyed bool) (time.Duration, error) {
	key := ""
	if keyed {
		key = ", PRIMARY KEY (instance_id, contact_id)"
	}
	cmd := exec.Command("psql", dsn, "-q", "-c", "DROP TABLE IF EXISTS bench_reference",
		"-c", "CREATE TABLE bench_reference (contact_id text, instance_id text, direction text, caller text, callee text, start_time text, end_time text, recording_seconds text"+key+")")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("psql: %v\n%s", err, out)
	}
	defer exec.Command("psql", dsn, "-q", "-c", "DROP TABLE bench_reference").Run()
	start := time.Now()
	cmd = exec.Command("psql", dsn, "-q", "-c", `\copy bench_reference FROM '`+csvPath+`' WITH (FORMAT csv, HEADER true)`)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("psql \\copy: %v\n%s", err, out)
	}
	return time.Since(start), nil
}

func minOf(xs []float64) float64 { return slices.Min(xs) }

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
	lastCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return el, rss, nil
}

// lastCPU is the CPU time (user and system) of runCmd's last command.
var lastCPU time.Duration

// printCPU prints where a PostgreSQL import's CPU went: callbill's, the
// server's, and their sum against what the machine's cores offered in the
// import's wall time. Both sides share the cores, so their sum bounds the
// import from below (docs/benchmarks.md, "Ingest at the limit (issue 13)").
func printCPU(client, server, wall time.Duration) {
	offered := wall.Seconds() * float64(numCPU())
	fmt.Printf("  CPU: callbill %.2f s, PostgreSQL %.2f s; together %.2f s of the %.2f s that %d cores offered (%.0f %%)\n",
		client.Seconds(), server.Seconds(), (client + server).Seconds(), offered, numCPU(), 100*(client+server).Seconds()/max(offered, 1e-9))
}

// postgresCPU is the CPU time every PostgreSQL process on this machine has
// used so far, read from /proc: each server process's own and, in the
// postmaster's children's counts, the time of the backends that have
// exited. It answers false for a SQLite store, a server on another host,
// or without /proc.
func postgresCPU(dsn string) (time.Duration, bool) {
	if storeKind(dsn) != "postgres" || !localHost(dsn) {
		return 0, false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var ticks int64
	found := false
	for _, p := range procs {
		b, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue // not a process, or it has exited
		}
		if t, ok := postgresTicks(string(b)); ok {
			ticks, found = ticks+t, true
		}
	}
	// /proc counts in USER_HZ, 100 per second on every Linux.
	return time.Duration(ticks) * (time.Second / 100), found
}

// postgresTicks reads a /proc/PID/stat line: the clock ticks its process
// and its waited-for children used, if the process is PostgreSQL's.
func postgresTicks(stat string) (int64, bool) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open || stat[open+1:end] != "postgres" {
		return 0, false
	}
	// After the name: state, ppid, … utime (14th field of the line), stime,
	// cutime, cstime.
	f := strings.Fields(stat[end+1:])
	if len(f) < 15 {
		return 0, false
	}
	var sum int64
	for _, v := range f[11:15] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		sum += n
	}
	return sum, true
}

// localHost reports whether a PostgreSQL URL's server is on this machine.
func localHost(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "" || h == "localhost" || h == "127.0.0.1" || h == "::1"
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
