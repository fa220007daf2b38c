package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/demo"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/callbill/callbill/sqlstore"
)

const operatorKey = "multinode-test-key"

// node is a running `callbill serve` process.
type node struct {
	url string
	cmd *exec.Cmd
}

func startNode(t *testing.T, dir, dsn, name string) *node {
	t.Helper()
	return startNodeArgs(t, dir, dsn, name)
}

// startNodeArgs starts a node with more serve flags.
func startNodeArgs(t *testing.T, dir, dsn, name string, extra ...string) *node {
	t.Helper()
	// The automatic close is off: the test's cycle has ended, so it would
	// close before the imports and make every call late.
	args := append([]string{"--db", dsn, "serve", "--addr", "127.0.0.1:0", "--node", name,
		"--exports", filepath.Join(dir, "exports"), "--auto-close=false"}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_OPERATOR_KEY="+operatorKey, "CALLBILL_DB=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		logf.Close()
	})
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`serving on (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, out)
			return &node{url: m[1], cmd: cmd}
		}
	}
	t.Fatalf("node %s did not start; see %s.log", name, name)
	return nil
}

func (n *node) do(t *testing.T, method, path string, body []byte, out any) int {
	t.Helper()
	return n.doKey(t, method, path, string(body), "", out)
}

// doKey sends a request with an Idempotency-Key (when key is set).
func (n *node) doKey(t *testing.T, method, path, body, key string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.Header.Set("Authorization", "Bearer "+operatorKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Errorf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// TestThreeNodesOneDatabase runs three `callbill serve` processes on one
// PostgreSQL database: they import overlapping files, close the same cycle
// and run exports at the same time. Every call must be counted once, each
// bill closed once, each export produced once.
func TestThreeNodesOneDatabase(t *testing.T) {
	dsn := testpg.DSN(t)
	dir := t.TempDir()
	o := demo.Options{Cycle: callbill.NewCycle(2026, time.October), Accounts: 6, Calls: 60_000, Seed: 11}
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), demo.World(o), 0o644); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	if _, err := demo.WriteCalls(&all, o); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(all.String(), "\n"), "\n")
	header, rows := lines[0], lines[1:]
	// Three files, each row in two of them; sent in chunks so that the
	// nodes' batches interleave.
	third := len(rows) / 3
	parts := [][]string{rows[:2*third], rows[third:], append(append([]string{}, rows[2*third:]...), rows[:third]...)}
	if r := runCLI(t, dir, "--db", dsn, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	nodes := []*node{startNode(t, dir, dsn, "n1"), startNode(t, dir, dsn, "n2"), startNode(t, dir, dsn, "n3")}

	type report struct{ Imported, Duplicates, Rejected int64 }
	var mu sync.Mutex
	var total report
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Add(1)
		go func(n *node, part []string) {
			defer wg.Done()
			for start := 0; start < len(part); start += 5000 {
				body := header + strings.Join(part[start:min(start+5000, len(part))], "")
				var rep report
				if code := n.do(t, "POST", "/api/v1/imports", []byte(body), &rep); code != 200 {
					t.Errorf("import: status %d", code)
				}
				mu.Lock()
				total.Imported += rep.Imported
				total.Duplicates += rep.Duplicates
				total.Rejected += rep.Rejected
				mu.Unlock()
			}
		}(nodes[i], part)
	}
	wg.Wait()
	if total.Imported != int64(len(rows)) || total.Duplicates != int64(len(rows)) || total.Rejected != 0 {
		t.Fatalf("imports: %+v, want %d imported and %d duplicates", total, len(rows), len(rows))
	}

	// Close the same cycle on every node at once. Meanwhile, ask every node
	// for exports (of the open preview or the closed cycle: the same calls).
	type closeReply struct {
		Closed        []string `json:"closed"`
		AlreadyClosed bool     `json:"already_closed"`
	}
	replies := make([]closeReply, 3)
	var exportIDs []int64
	for i, n := range nodes {
		wg.Add(2)
		go func(i int, n *node) {
			defer wg.Done()
			if code := n.do(t, "POST", "/api/v1/cycles/2026-10/close", nil, &replies[i]); code != 200 {
				t.Errorf("close on node %d: status %d", i+1, code)
			}
		}(i, n)
		go func(i int, n *node) {
			defer wg.Done()
			for a := 1; a <= 6; a++ {
				var job struct{ ID int64 }
				body := fmt.Sprintf(`{"account":"100000000000000%d","cycle":"2026-10"}`, a)
				if code := n.do(t, "POST", "/api/v1/exports", []byte(body), &job); code != 202 {
					t.Errorf("export: status %d", code)
				}
				mu.Lock()
				exportIDs = append(exportIDs, job.ID)
				mu.Unlock()
			}
		}(i, n)
	}
	wg.Wait()
	closedBy := 0
	for _, r := range replies {
		if len(r.Closed) > 0 {
			closedBy++
		}
	}
	if closedBy != 1 {
		t.Errorf("the cycle was closed %d times, want once: %+v", closedBy, replies)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var calls, bills, deducts, closeJobs int
	var aggMinutes int64
	db.QueryRowContext(ctx, `SELECT COALESCE(SUM(calls), 0) FROM call_blocks`).Scan(&calls)
	db.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(usage + covered), 0) AS BIGINT) FROM usage_agg a JOIN usage_lines l ON l.id = a.line WHERE l.item <> 'CallCenterSoftware'`).Scan(&aggMinutes)
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM bills`).Scan(&bills)
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger WHERE kind = 'deduct'`).Scan(&deducts)
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = 'close'`).Scan(&closeJobs)
	if calls != len(rows) {
		t.Errorf("%d calls stored, want %d", calls, len(rows))
	}
	var telecomMinutes int64
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for a := 1; a <= 6; a++ {
		err := st.Calls(ctx, fmt.Sprintf("100000000000000%d", a), o.Cycle, func(_ *time.Location, c *callbill.Call) error {
			telecomMinutes += c.TelecomMinutes
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if aggMinutes != telecomMinutes || telecomMinutes == 0 {
		t.Errorf("aggregates hold %d telecom minutes, the calls %d", aggMinutes, telecomMinutes)
	}
	if bills != 6 {
		t.Errorf("%d bills, want one per account (6)", bills)
	}
	if deducts > 6 || deducts == 0 {
		t.Errorf("%d deductions at close, want one per account with cash", deducts)
	}
	if closeJobs != 0 {
		t.Errorf("%d automatic close jobs with the automatic close off", closeJobs)
	}

	// Every export is produced once, by one node, and is complete.
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range exportIDs {
		var job struct {
			Status   string
			Attempts int
			Account  string
			Result   struct{ Rows int64 }
		}
		for {
			nodes[int(id)%3].do(t, "GET", fmt.Sprintf("/api/v1/exports/%d", id), nil, &job)
			if job.Status == "done" || job.Status == "failed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		var want int64
		db.QueryRowContext(ctx, `SELECT COALESCE(SUM(calls), 0) FROM call_blocks WHERE account = $1 AND cycle = $2`, job.Account, int(o.Cycle)).Scan(&want)
		if job.Status != "done" || job.Attempts != 1 || job.Result.Rows != want || want == 0 {
			t.Errorf("export %d: %+v, want done once with %d rows", id, job, want)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "exports", "usage-*.csv"))
	if len(files) != len(exportIDs) {
		t.Errorf("%d export files for %d exports", len(files), len(exportIDs))
	}
}
