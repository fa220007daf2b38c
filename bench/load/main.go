// Command load measures the HTTP API under load on loopback: it starts a
// `callbill serve` on a store that already holds calls, then runs N
// concurrent clients for a fixed time on bill-detail queries of random
// accounts (-routes mixed: also account pages, usage pages and the open
// cycle's live bill), and prints the latency percentiles and the errors.
// With -import-calls N, imports of N fresh calls in the open cycle run back
// to back beside the clients, as the call platform's would. It only ever
// talks to 127.0.0.1. See docs/benchmarks.md.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/bench/internal/server"
	"github.com/callbill/callbill/demo"
)

func main() {
	bin := flag.String("bin", "", "callbill binary (default: go build ./cmd/callbill)")
	db := flag.String("db", "", "store DSN holding the calls (required)")
	clients := flag.Int("clients", 50, "concurrent clients")
	dur := flag.Duration("duration", 30*time.Second, "how long")
	warmup := flag.Duration("warmup", 0, "run this long first without counting latencies (errors count): the server's caches fill, each (account, view) computed once")
	accounts := flag.Int("accounts", 1000, "accounts 1000000000000001 … to ask for")
	cycle := flag.String("cycle", "2026-10", "billing cycle")
	routes := flag.String("routes", "bills", "bills, or mixed: bills, the open cycle's live bill, account and usage pages")
	open := flag.String("open", "2026-11", "the open cycle (-routes mixed)")
	cpuprofile := flag.String("cpuprofile", "", "write the server's CPU profile to this file")
	importProcs := flag.Int("import-procs", 0, "GOMAXPROCS of the importing process (0: the machine's)")
	importNice := flag.Int("import-nice", 0, "run the importing process under nice -n N (0: not niced), as docs/operations.md advises beside a serving node")
	importCalls := flag.Int("import-calls", 0, "when > 0, import files of this many fresh calls back to back while the clients run")
	flag.Parse()
	if *db == "" {
		fmt.Fprintln(os.Stderr, "load: -db is required")
		os.Exit(2)
	}
	if *bin == "" {
		*bin = "/tmp/callbill-load"
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/callbill").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	const key = "load-test-operator-key"
	base, stopServer, err := server.Start(server.Options{Bin: *bin, DSN: *db, Exports: os.TempDir(), OperatorKey: key, CPUProfile: *cpuprofile})
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	defer stopServer()
	stopImports := make(chan struct{})
	importsDone := make(chan string, 1)
	if *importCalls > 0 {
		go importLoop(*bin, *db, *cycle, *accounts, *importCalls, *importProcs, *importNice, stopImports, importsDone)
	} else {
		importsDone <- ""
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}, Timeout: 10 * time.Second}
	measureFrom := time.Now().Add(*warmup)
	deadline := measureFrom.Add(*dur)
	var mu sync.Mutex
	var lat []time.Duration
	byRoute := map[string][]time.Duration{} // -routes mixed: each route's own
	errs := 0
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			var mine []time.Duration
			mineBy := map[string][]time.Duration{}
			bad := 0
			for time.Now().Before(deadline) {
				uid := fmt.Sprintf("1%015d", 1+rng.IntN(*accounts))
				by := []string{"item", "instance"}[rng.IntN(2)]
				path := fmt.Sprintf("/api/v1/accounts/%s/bills/%s?by=%s", uid, *cycle, by)
				route := "closed bill"
				if *routes == "mixed" {
					switch rng.IntN(4) {
					case 1:
						path, route = fmt.Sprintf("/api/v1/accounts/%s/bills/%s?by=%s", uid, *open, by), "live bill"
					case 2:
						path, route = "/api/v1/accounts/"+uid, "account"
					case 3:
						path, route = fmt.Sprintf("/api/v1/accounts/%s/usage?cycle=%s", uid, *cycle), "usage"
					}
				}
				req, _ := http.NewRequest("GET", base+path, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				start := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				took := time.Since(start)
				if err != nil {
					bad++
				}
				if start.Before(measureFrom) {
					continue
				}
				mine = append(mine, took)
				mineBy[route] = append(mineBy[route], took)
			}
			mu.Lock()
			lat = append(lat, mine...)
			for r, l := range mineBy {
				byRoute[r] = append(byRoute[r], l...)
			}
			errs += bad
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	close(stopImports)
	imports := <-importsDone
	if len(lat) == 0 {
		fmt.Fprintf(os.Stderr, "load: no request finished inside the %v measured (%d errors)\n", *dur, errs)
		os.Exit(1)
	}
	slices.Sort(lat)
	p := func(lat []time.Duration, q float64) time.Duration {
		return lat[int(float64(len(lat)-1)*q)].Round(10 * time.Microsecond)
	}
	if *warmup > 0 {
		fmt.Printf("after a %v warm-up, not counted but for its errors: ", *warmup)
	}
	fmt.Printf("%d clients, %v, %d requests (%.0f/s), %d errors; latency p50 %v, p90 %v, p99 %v, max %v\n",
		*clients, *dur, len(lat), float64(len(lat))/dur.Seconds(), errs,
		p(lat, 0.50), p(lat, 0.90), p(lat, 0.99), p(lat, 1))
	if len(byRoute) > 1 {
		for _, r := range slices.Sorted(maps.Keys(byRoute)) {
			l := byRoute[r]
			slices.Sort(l)
			fmt.Printf("  %-11s %6d requests, p50 %v, p99 %v\n", r, len(l), p(l, 0.50), p(l, 0.99))
		}
	}
	if imports != "" {
		fmt.Println(imports)
	}
}

// importLoop imports files of n fresh calls into db, one after another,
// until stop, and reports how many and how fast. The calls are the
// benchmark world's, in its cycle (the world's numbers are the cycle's):
// once that cycle is closed they are late calls, billed in the open one.
var imported = regexp.MustCompile(`imported (\d+)`)

func importLoop(bin, db, cycle string, accounts, n, procs, nice int, stop <-chan struct{}, done chan<- string) {
	c, err := callbill.ParseCycle(cycle)
	if err != nil {
		done <- "imports: " + err.Error()
		return
	}
	var csv bytes.Buffer
	if _, err := demo.WriteCalls(&csv, demo.Options{Cycle: c, Accounts: accounts, Calls: n, Seed: 7}); err != nil {
		done <- "imports: " + err.Error()
		return
	}
	dir, err := os.MkdirTemp("", "callbill-load-imports-")
	if err != nil {
		done <- "imports: " + err.Error()
		return
	}
	defer os.RemoveAll(dir)
	rounds, calls := 0, 0
	var busy time.Duration
	for k := 0; ; k++ {
		select {
		case <-stop:
			done <- fmt.Sprintf("imports beside: %d files of %d calls, %d imported (%.0f calls/s while importing)", rounds, n, calls, float64(calls)/busy.Seconds())
			return
		default:
		}
		// Fresh contact ids each round: "c0000000001" becomes "L3-0000000001".
		file := filepath.Join(dir, "calls.csv")
		body := bytes.ReplaceAll(csv.Bytes(), []byte("\nc"), []byte(fmt.Sprintf("\nL%d-", k)))
		if err := os.WriteFile(file, body, 0o600); err != nil {
			done <- "imports: " + err.Error()
			return
		}
		start := time.Now()
		cmd := exec.Command(bin, "--db", db, "import", "-q", file)
		if nice > 0 {
			cmd = exec.Command("nice", "-n", strconv.Itoa(nice), bin, "--db", db, "import", "-q", file)
		}
		if procs > 0 {
			cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			done <- fmt.Sprintf("imports: %v\n%s", err, out)
			return
		}
		busy += time.Since(start)
		rounds++
		if m := imported.FindSubmatch(out); m != nil {
			k, _ := strconv.Atoi(string(m[1]))
			calls += k
		}
	}
}
