// Command stream measures the call platform's workload: CDRs posted as calls
// end, in small batches, by many senders at once. It starts the real
// `callbill serve` on a fresh store holding the demo world, then runs N
// senders on loopback for a fixed time, each posting `POST /api/v1/imports`
// with the next batch of B CDRs (CSV) as fast as the server answers, and
// prints the calls imported per second and the request latency percentiles.
// It only ever talks to 127.0.0.1. See docs/benchmarks.md.
//
//	go run ./bench/stream                                   # SQLite, 20 senders × 100 CDRs, 20 s
//	go run ./bench/stream -db postgres://…                  # PostgreSQL: a schema of its own, dropped afterwards
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/bench/internal/server"
	"github.com/callbill/callbill/demo"
)

func main() {
	senders := flag.Int("senders", 20, "concurrent senders")
	batch := flag.Int("batch", 100, "CDRs per request")
	dur := flag.Duration("duration", 20*time.Second, "how long")
	calls := flag.Int("calls", 2_000_000, "CDRs generated (more than the run can send)")
	accounts := flag.Int("accounts", 1000, "tenant accounts")
	pg := flag.String("db", "", "PostgreSQL DSN (default: a fresh SQLite file)")
	flag.StringVar(&binary, "bin", "", "callbill binary (default: go build ./cmd/callbill), to compare builds")
	flag.StringVar(&cpuprofile, "cpuprofile", "", "write the server's CPU profile to this file")
	flag.DurationVar(&window, "window", 0, "also print calls/s and p99 for each window of this length (a tail's when)")
	flag.Parse()
	if err := run(*senders, *batch, *dur, *calls, *accounts, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
}

var cpuprofile, binary string

// window is -window: calls/s and p99 per window of the run.
var window time.Duration

func run(senders, batch int, dur time.Duration, calls, accounts int, pg string) error {
	dir, err := os.MkdirTemp("", "callbill-stream-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := binary
	if bin == "" {
		bin = filepath.Join(dir, "callbill")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/callbill").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	dsn := filepath.Join(dir, "callbill.db")
	if pg != "" {
		var drop func()
		if dsn, drop, err = schema(pg); err != nil {
			return err
		}
		defer drop()
	}
	o := demo.Options{Cycle: callbill.NewCycle(2026, time.October), Accounts: accounts, Calls: calls, Seed: 7}
	world := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(world, demo.World(o), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(bin, "--db", dsn, "apply", "-f", world).CombinedOutput(); err != nil {
		return fmt.Errorf("apply: %v\n%s", err, out)
	}
	var csv bytes.Buffer
	if _, err := demo.WriteCalls(&csv, o); err != nil {
		return err
	}
	bodies := split(csv.Bytes(), batch)

	const key = "stream-bench-operator-key"
	base, stopServer, err := server.Start(server.Options{Bin: bin, DSN: dsn, Exports: dir, OperatorKey: key, CPUProfile: cpuprofile, Stderr: os.Stderr})
	if err != nil {
		return err
	}
	defer stopServer()
	fmt.Printf("machine: %d cores; store: %s; %d senders × %d CDRs per request, %v\n",
		runtime.NumCPU(), map[bool]string{true: "postgres", false: "sqlite"}[pg != ""], senders, batch, dur)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 60 * time.Second}
	var next atomic.Int64
	var imported, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var sent []timedPost // -window: each post's start and latency
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var mineTimed []timedPost
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					break // every batch is sent; keep what was measured
				}
				req, _ := http.NewRequest("POST", base+"/api/v1/imports", bytes.NewReader(bodies[i]))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "text/csv")
				t0 := time.Now()
				n, err := post(client, req)
				mine = append(mine, time.Since(t0))
				mineTimed = append(mineTimed, timedPost{at: t0.Sub(start), took: time.Since(t0), calls: n})
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				imported.Add(n)
			}
			mu.Lock()
			lat = append(lat, mine...)
			sent = append(sent, mineTimed...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if len(lat) == 0 {
		return fmt.Errorf("no request was sent")
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(float64(len(lat)-1)*q)].Round(100 * time.Microsecond) }
	fmt.Printf("%d requests (%.0f/s), %d errors; %d calls imported, %.0f calls/s; latency p50 %v, p90 %v, p99 %v, max %v\n",
		len(lat), float64(len(lat))/el.Seconds(), errs.Load(), imported.Load(), float64(imported.Load())/el.Seconds(),
		p(0.5), p(0.9), p(0.99), lat[len(lat)-1].Round(100*time.Microsecond))
	if e := firstErr.Load(); e != nil {
		fmt.Printf("first error: %s\n", e)
	}
	if window > 0 {
		printWindows(sent, window)
	}
	return nil
}

// timedPost is one post: when it started (since the run's start), how long
// it took and the calls it imported.
type timedPost struct {
	at, took time.Duration
	calls    int64
}

// printWindows prints, for each window of the run by start time, the calls
// imported per second and the posts' p99.
func printWindows(sent []timedPost, window time.Duration) {
	byWindow := map[int][]timedPost{}
	for _, t := range sent {
		byWindow[int(t.at/window)] = append(byWindow[int(t.at/window)], t)
	}
	for _, w := range slices.Sorted(maps.Keys(byWindow)) {
		posts := byWindow[w]
		took := make([]time.Duration, len(posts))
		var calls int64
		for i, t := range posts {
			took[i], calls = t.took, calls+t.calls
		}
		slices.Sort(took)
		fmt.Printf("  %v–%v: %d posts, %.0f calls/s, p99 %v\n", time.Duration(w)*window, time.Duration(w+1)*window,
			len(posts), float64(calls)/window.Seconds(), took[int(float64(len(took)-1)*0.99)].Round(100*time.Microsecond))
	}
}

// post sends one batch and returns the calls the server imported.
func post(c *http.Client, req *http.Request) (int64, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	var rep struct {
		Imported, Duplicates, Rejected int64
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		return 0, err
	}
	if rep.Rejected != 0 || rep.Duplicates != 0 {
		return rep.Imported, fmt.Errorf("batch: %d rejected, %d duplicates", rep.Rejected, rep.Duplicates)
	}
	return rep.Imported, nil
}

// split cuts a CSV file (header first) into bodies of n rows, each with the
// header.
func split(csv []byte, n int) [][]byte {
	nl := bytes.IndexByte(csv, '\n')
	header, rest := csv[:nl+1], csv[nl+1:]
	var bodies [][]byte
	for len(rest) > 0 {
		end, rows := 0, 0
		for rows < n && end < len(rest) {
			i := bytes.IndexByte(rest[end:], '\n')
			if i < 0 {
				end = len(rest)
			} else {
				end += i + 1
			}
			rows++
		}
		b := make([]byte, 0, len(header)+end)
		bodies = append(bodies, append(append(b, header...), rest[:end]...))
		rest = rest[end:]
	}
	return bodies
}

// schema makes a schema of its own on the PostgreSQL server.
func schema(pg string) (string, func(), error) {
	name := fmt.Sprintf("bench_stream_%d", os.Getpid())
	if out, err := exec.Command("psql", pg, "-q", "-c", "CREATE SCHEMA "+name).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("psql: %v\n%s", err, out)
	}
	u, err := url.Parse(pg)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), func() { exec.Command("psql", pg, "-q", "-c", "DROP SCHEMA "+name+" CASCADE").Run() }, nil
}
