// Command load measures the HTTP API under load on loopback: it starts a
// `callbill serve` on a store that already holds calls, then runs N
// concurrent clients for a fixed time on bill-detail queries of random
// accounts, and prints the latency percentiles and the errors. It only ever
// talks to 127.0.0.1. See docs/benchmarks.md.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"time"
)

func main() {
	bin := flag.String("bin", "", "callbill binary (default: go build ./cmd/callbill)")
	db := flag.String("db", "", "store DSN holding the calls (required)")
	clients := flag.Int("clients", 50, "concurrent clients")
	dur := flag.Duration("duration", 30*time.Second, "how long")
	accounts := flag.Int("accounts", 1000, "accounts 1000000000000001 … to ask for")
	cycle := flag.String("cycle", "2026-10", "billing cycle")
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
	srv := exec.Command(*bin, "--db", *db, "serve", "--addr", "127.0.0.1:0", "--auto-close=false", "--exports", os.TempDir())
	srv.Env = append(os.Environ(), "CALLBILL_OPERATOR_KEY="+key)
	out, _ := srv.StdoutPipe()
	srv.Stderr = io.Discard
	if err := srv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	var base string
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`serving on (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	go io.Copy(io.Discard, out)
	if base == "" {
		fmt.Fprintln(os.Stderr, "load: the server did not start")
		os.Exit(1)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}, Timeout: 10 * time.Second}
	deadline := time.Now().Add(*dur)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				uid := fmt.Sprintf("1%015d", 1+rng.IntN(*accounts))
				by := []string{"item", "instance"}[rng.IntN(2)]
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/accounts/%s/bills/%s?by=%s", base, uid, *cycle, by), nil)
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
				mine = append(mine, time.Since(start))
				if err != nil {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(float64(len(lat)-1)*q)] }
	fmt.Printf("%d clients, %v, %d requests (%.0f/s), %d errors; latency p50 %v, p90 %v, p99 %v, max %v\n",
		*clients, *dur, len(lat), float64(len(lat))/dur.Seconds(), errs,
		p(0.50).Round(10*time.Microsecond), p(0.90).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
}
