// Command export measures `callbill usage export` end to end, through the
// real binary: one account holding every generated call, all of it exported
// in one file. Run it with `go run ./bench/export` (see docs/benchmarks.md);
// it prints its figures.
//
//	go run ./bench/export -calls 1000000,5000000            # SQLite
//	go run ./bench/export -calls 1000000,5000000 -db postgres://…   # PostgreSQL: a schema of its own, dropped afterwards
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/demo"
)

func main() {
	calls := flag.String("calls", "1000000", "calls in the export, comma-separated for several sizes")
	dir := flag.String("dir", "", "work folder (default: a new temporary folder, removed afterwards)")
	db := flag.String("db", "", "PostgreSQL DSN (default: a fresh SQLite file in the work folder)")
	formats := flag.String("format", "csv", "formats to measure, comma-separated: csv, xlsx")
	runs := flag.Int("runs", 3, "exports measured per size and format")
	extra := flag.String("extra", "", "extra columns for the export (e.g. contact_id,charge)")
	profile := flag.Bool("cpuprofile", false, "write export-N.prof (CPU profile of the last run) to the work folder and keep it")
	flag.Parse()
	var sizes []int
	for _, s := range strings.Split(*calls, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bench/export: -calls takes positive numbers")
			os.Exit(2)
		}
		sizes = append(sizes, n)
	}
	if err := run(sizes, strings.Split(*formats, ","), *runs, *dir, *db, *extra, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "bench/export:", err)
		os.Exit(1)
	}
}

func run(sizes []int, formats []string, runs int, dir, pg, extra string, profile bool) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "callbill-bench-export-")
		if err != nil {
			return err
		}
		if !profile {
			defer os.RemoveAll(d)
		}
		dir = d
	}
	bin := filepath.Join(dir, "callbill")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/callbill").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	fmt.Printf("machine: %d cores; store: %s\n", numCPU(), map[bool]string{true: "postgres", false: "sqlite"}[pg != ""])
	for _, n := range sizes {
		dsn, cleanup, err := store(dir, pg, n)
		if err != nil {
			return err
		}
		err = size(bin, dir, dsn, n, formats, runs, extra, profile)
		cleanup()
		if err != nil {
			return err
		}
	}
	return nil
}

// store gives a fresh, empty store for one size: a SQLite file, or a new
// schema on the PostgreSQL server.
func store(dir, pg string, n int) (string, func(), error) {
	if pg == "" {
		path := filepath.Join(dir, "export-"+strconv.Itoa(n)+".db")
		return path, func() { os.Remove(path); os.Remove(path + "-wal"); os.Remove(path + "-shm") }, nil
	}
	schema := fmt.Sprintf("bench_export_%d_%d", os.Getpid(), n)
	if out, err := exec.Command("psql", pg, "-q", "-c", "CREATE SCHEMA "+schema).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("psql: %v\n%s", err, out)
	}
	u, err := url.Parse(pg)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { exec.Command("psql", pg, "-q", "-c", "DROP SCHEMA "+schema+" CASCADE").Run() }, nil
}

func size(bin, dir, dsn string, n int, formats []string, runs int, extra string, profile bool) error {
	// One account: every call is its.
	o := demo.Options{Cycle: callbill.NewCycle(2026, time.October), Accounts: 1, Calls: n, Seed: 7}
	world := demo.World(o)
	uid := firstUID(world)
	worldPath := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(worldPath, world, 0o644); err != nil {
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
	defer os.Remove(csvPath)
	if _, _, _, err := runCmd(bin, "--db", dsn, "apply", "-f", worldPath); err != nil {
		return err
	}
	el, _, _, err := runCmd(bin, "--db", dsn, "import", "-q", csvPath)
	if err != nil {
		return err
	}
	fmt.Printf("\n%d calls of account %s imported in %.1f s\n", n, uid, el.Seconds())
	for _, format := range formats {
		format = strings.TrimSpace(format)
		out := filepath.Join(dir, "usage."+format)
		for i := range runs {
			args := []string{"--db", dsn}
			if profile && i == runs-1 {
				args = append(args, "--cpuprofile", filepath.Join(dir, fmt.Sprintf("export-%d-%s.prof", n, format)))
			}
			args = append(args, "usage", "export", "--account", uid, "--cycle", o.Cycle.String(), "--format", format, "-q", "-o", out)
			if extra != "" {
				args = append(args, "--extra", extra)
			}
			el, rss, stdout, err := runCmd(bin, args...)
			if err != nil {
				return err
			}
			want := fmt.Sprintf("exported %d calls to %s\n", n, out)
			if stdout != want {
				return fmt.Errorf("export said %q, want %q", stdout, want)
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Printf("usage export %s, %d rows: %.2f s, %.0f rows/s, peak RSS %.0f MB, file %.0f MB\n",
				format, n, el.Seconds(), float64(n)/el.Seconds(), rss, float64(st.Size())/1e6)
		}
		os.Remove(out)
	}
	return nil
}

func firstUID(world []byte) string {
	_, rest, _ := bytes.Cut(world, []byte(`uid: "`))
	uid, _, _ := bytes.Cut(rest, []byte(`"`))
	return string(uid)
}

// runCmd runs a command and returns its wall time, peak RSS in MB (wait4)
// and standard output.
func runCmd(name string, args ...string) (time.Duration, float64, string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	el := time.Since(start)
	if err != nil {
		return 0, 0, "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	rss := 0.0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024
	}
	return el, rss, string(out), nil
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
