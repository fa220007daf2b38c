package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callbill/callbill/internal/testccc"
	"github.com/callbill/callbill/internal/testpg"
)

const pullUID = "2000000000000001"

// pullWorld is a deployment with two CCC instances, a number each.
const pullWorld = `billing:
  timezone: Asia/Shanghai
accounts:
  - uid: "` + pullUID + `"
    name: 拉取测试有限公司
    kind: enterprise
    instances:
      - id: ccc-pull-1
        mode: payg
        numbers:
          - {number: "057100000001", kind: fixed, source: ccc}
      - id: ccc-pull-2
        mode: payg
        numbers:
          - {number: "057100000002", kind: fixed, source: ccc}
`

// pullRecords makes n calls of instance (1 or 2) on its number, the ith
// starting at start + i·step; tag makes their contact ids unique.
func pullRecords(tag string, instance int, start time.Time, step time.Duration, n int) []testccc.Record {
	number := fmt.Sprintf("05710000000%d", instance)
	out := make([]testccc.Record, n)
	for i := range out {
		s := start.Add(time.Duration(i) * step)
		r := testccc.Record{ContactID: fmt.Sprintf("%s-%d-%d", tag, instance, i), Instance: fmt.Sprintf("ccc-pull-%d", instance),
			Inbound: i%3 != 0, Caller: "13800000001", Callee: number, Start: s, End: s.Add(time.Duration(30+i%200) * time.Second)}
		if !r.Inbound {
			r.Caller, r.Callee = number, "13900000002"
		}
		out[i] = r
	}
	return out
}

// pullDir is a folder with the world applied to dsn ("" for its
// callbill.db).
func pullDir(t *testing.T, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "world.yaml"), []byte(pullWorld), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"apply", "-f", "world.yaml"}
	if dsn != "" {
		args = append([]string{"--db", dsn}, args...)
	}
	if r := runCLI(t, dir, args...); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	return dir
}

// runPull runs the binary's pull in dir with the fake's AccessKey in its
// environment.
func runPull(t *testing.T, dir string, fake *testccc.Server, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=", "ALIBABA_CLOUD_ACCESS_KEY_ID="+fake.KeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+fake.Secret,
		"CALLBILL_OPERATOR_KEY="+operatorKey)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

// storedContacts counts the stored calls of the account by contact id,
// through usage export.
func storedContacts(t *testing.T, dir, dsn string) map[string]int {
	t.Helper()
	args := []string{"usage", "export", "--account", pullUID, "--from", time.Now().AddDate(0, 0, -20).Format(time.RFC3339),
		"--to", time.Now().Add(time.Hour).Format(time.RFC3339), "--extra", "contact_id", "-o", "calls.csv", "-q"}
	if dsn != "" {
		args = append([]string{"--db", dsn}, args...)
	}
	if r := runCLI(t, dir, args...); r.code != 0 {
		t.Fatalf("usage export: %s", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, row := range rows[1:] {
		out[row[len(row)-1]]++
	}
	return out
}

// sameCalls says whether every record is stored exactly once, and nothing
// else.
func sameCalls(t *testing.T, got map[string]int, want []testccc.Record) {
	t.Helper()
	for _, r := range want {
		if got[r.ContactID] != 1 {
			t.Errorf("%s stored %d times", r.ContactID, got[r.ContactID])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d contacts stored, want %d", len(got), len(want))
	}
}

// cursors reads the state file.
func cursors(t *testing.T, path string) map[string]time.Time {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Cursors map[string]time.Time }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Cursors
}

var summaryRE = regexp.MustCompile(`(?m)^pulled \d+ instance\(s\) up to \S+: \d+ window\(s\), \d+ page\(s\), read (\d+), imported (\d+), duplicates (\d+), rejected (\d+) \(conflicts \d+\)$`)

// summary returns read, imported, duplicates and rejected of the pass.
func summary(t *testing.T, r result) [4]int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no summary (exit %d):\n%s", r.code, r.stderr)
	}
	var out [4]int
	for i := range out {
		fmt.Sscan(m[i+1], &out[i])
	}
	return out
}

// TestPullToAServer: passes posting to a callbill server import every
// record once; a second pass imports nothing new; a record CCC wrote late
// is picked up when it lies in the overlap, and otherwise by reading again
// from an earlier time with a state file of its own.
func TestPullToAServer(t *testing.T) {
	dir := pullDir(t, "")
	n := startNode(t, dir, filepath.Join(dir, "callbill.db"), "n1")
	fake := testccc.New()
	defer fake.Close()
	now := time.Now()
	want := append(pullRecords("a", 1, now.Add(-30*time.Hour), 17*time.Minute, 100), pullRecords("a", 2, now.Add(-3*time.Hour), 4*time.Minute, 40)...)
	fake.Add(want...)
	since := now.Add(-36 * time.Hour).Format(time.RFC3339)
	pull := func(state string, args ...string) result {
		return runPull(t, dir, fake, append([]string{"pull", "--instance", "ccc-pull-1", "--instance", "ccc-pull-2", "--state", state,
			"--to", n.url, "--endpoint", fake.URL, "--page-size", "10"}, args...)...)
	}

	r := pull("state.json", "--since", since)
	if r.code != 0 || summary(t, r) != [4]int{140, 140, 0, 0} {
		t.Fatalf("first pass: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "ccc-pull-1 ") || !strings.Contains(r.stderr, " record(s): imported ") {
		t.Errorf("no line per window:\n%s", r.stderr)
	}
	sameCalls(t, storedContacts(t, dir, ""), want)
	cur := cursors(t, filepath.Join(dir, "state.json"))
	for _, id := range []string{"ccc-pull-1", "ccc-pull-2"} {
		if d := time.Since(cur[id]); d < 5*time.Minute || d > 7*time.Minute {
			t.Errorf("cursor of %s is %s ago, want the lag (5m)", id, d)
		}
	}

	// Again: the overlap (an hour, where ccc-pull-2 has calls) is read
	// again, nothing is new.
	r = pull("state.json", "-q")
	if s := summary(t, r); r.code != 0 || s[1] != 0 || s[2] != s[0] || s[0] == 0 {
		t.Fatalf("second pass: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, " record(s): ") {
		t.Errorf("-q printed windows:\n%s", r.stderr)
	}

	// Records CCC writes late: one that started within the overlap before
	// the cursor, one before it.
	c1 := cursors(t, filepath.Join(dir, "state.json"))["ccc-pull-1"]
	inside := pullRecords("late-in", 1, c1.Add(-30*time.Minute), 0, 1)
	outside := pullRecords("late-out", 1, c1.Add(-3*time.Hour), 0, 1)
	fake.Add(inside...)
	fake.Add(outside...)
	r = pull("state.json")
	if r.code != 0 || summary(t, r)[1] != 1 {
		t.Fatalf("pass after late records: exit %d\n%s", r.code, r.stderr)
	}
	got := storedContacts(t, dir, "")
	if got[inside[0].ContactID] != 1 || got[outside[0].ContactID] != 0 {
		t.Fatalf("late records: inside the overlap %d, before it %d", got[inside[0].ContactID], got[outside[0].ContactID])
	}
	// Reading again from further back, with a state file of its own, picks
	// up the rest; the records read again are duplicates.
	r = pull("reread.json", "--since", c1.Add(-4*time.Hour).Format(time.RFC3339))
	if s := summary(t, r); r.code != 0 || s[1] != 1 || s[2] == 0 {
		t.Fatalf("reading again: exit %d\n%s", r.code, r.stderr)
	}
	sameCalls(t, storedContacts(t, dir, ""), append(append(want, inside...), outside...))
}

// flakyServer stands before a callbill server and breaks some posts:
// refused ones never reach it (503), lost ones are imported but their
// answer is lost (502).
type flakyServer struct {
	*httptest.Server
	mu      sync.Mutex
	posts   int
	refuse  map[int]bool
	lose    map[int]bool
	backend string
}

func newFlaky(backend string) *flakyServer {
	f := &flakyServer{backend: backend, refuse: map[int]bool{}, lose: map[int]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.posts++
		n := f.posts
		refuse, lose := f.refuse[n], f.lose[n]
		f.mu.Unlock()
		if refuse {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":503,"code":"unavailable","detail":"the node is shutting down; send it again"}`))
			return
		}
		req, _ := http.NewRequest(r.Method, f.backend+r.URL.RequestURI(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if lose {
			http.Error(w, "upstream answer lost", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	return f
}

// TestPullFailuresLeaveTheCursor: a CCC error, a post the server never
// got and a post whose answer was lost each stop the pass, exit 1 and
// leave the cursor where the last window imported whole put it; running
// again converges with every call stored once.
func TestPullFailuresLeaveTheCursor(t *testing.T) {
	dir := pullDir(t, "")
	n := startNode(t, dir, filepath.Join(dir, "callbill.db"), "n1")
	flaky := newFlaky(n.url)
	defer flaky.Close()
	fake := testccc.New()
	defer fake.Close()
	now := time.Now()
	want := pullRecords("f", 1, now.Add(-40*time.Hour), 13*time.Minute, 180)
	fake.Add(want...)
	state := filepath.Join(dir, "state.json")
	pull := func() result {
		return runPull(t, dir, fake, "pull", "--instance", "ccc-pull-1", "--state", state, "--since", now.Add(-48*time.Hour).Format(time.RFC3339),
			"--to", flaky.URL, "--endpoint", fake.URL, "--page-size", "10")
	}
	// The first day's window (now−48h … now−24h) holds 74 records: 8 posts.
	var ccc sync.Once
	fake.SetFail(func(q testccc.Query) *testccc.Failure {
		var f *testccc.Failure
		if q.Page == 3 {
			ccc.Do(func() {
				f = &testccc.Failure{Status: 429, Code: "Throttling.User", Message: "Request was denied due to user flow control."}
			})
		}
		return f
	})
	r := pull()
	if r.code != 1 || !strings.Contains(r.stderr, "callbill: CCC ListCallDetailRecords for instance ccc-pull-1 failed: Throttling.User: Request was denied due to user flow control. (HTTP 429") {
		t.Fatalf("CCC error: exit %d\n%s", r.code, r.stderr)
	}
	if c := cursors(t, state); c != nil {
		t.Fatalf("the cursor moved: %v", c)
	}

	flaky.mu.Lock()
	first := flaky.posts
	// The next run's 3rd post is refused; the run after posts the first
	// window's 8, and the answer to the second window's first is lost.
	flaky.refuse[first+3] = true
	flaky.lose[first+3+8+1] = true
	flaky.mu.Unlock()
	r = pull()
	if r.code != 1 || !strings.Contains(r.stderr, "answered 503 Service Unavailable: the node is shutting down; send it again (unavailable)") {
		t.Fatalf("refused post: exit %d\n%s", r.code, r.stderr)
	}
	if c := cursors(t, state); c != nil {
		t.Fatalf("the cursor moved past a refused post: %v", c)
	}
	r = pull()
	if r.code != 1 || !strings.Contains(r.stderr, "answered 502 Bad Gateway") {
		t.Fatalf("lost answer: exit %d\n%s", r.code, r.stderr)
	}
	c := cursors(t, state)["ccc-pull-1"]
	if since := now.Add(-48 * time.Hour).Truncate(time.Second); !c.Equal(since.Add(24 * time.Hour)) {
		t.Errorf("cursor %s, want the end of the first window %s", c, since.Add(24*time.Hour))
	}
	r = pull()
	if s := summary(t, r); r.code != 0 || s[2] == 0 {
		t.Fatalf("rerun: exit %d\n%s", r.code, r.stderr)
	}
	sameCalls(t, storedContacts(t, dir, ""), want)
}

// TestPullIntoTheDatabase imports straight into SQLite (no --to), more
// records in one window than CCC pages through (split in halves), with a
// record callbill rejects (exit 3, named on stderr).
func TestPullIntoTheDatabase(t *testing.T) { pullIntoTheDatabase(t, "", 10_050) }

// TestPullIntoTheDatabasePostgres does the same on PostgreSQL.
func TestPullIntoTheDatabasePostgres(t *testing.T) { pullIntoTheDatabase(t, testpg.DSN(t), 10_050) }

func pullIntoTheDatabase(t *testing.T, dsn string, n int) {
	dir := pullDir(t, dsn)
	fake := testccc.New()
	defer fake.Close()
	now := time.Now()
	want := pullRecords("d", 2, now.Add(-4*time.Hour), 1100*time.Millisecond, n)
	fake.Add(want...)
	bad := pullRecords("bad", 2, now.Add(-2*time.Hour), 0, 1)
	bad[0].Inbound, bad[0].Caller, bad[0].Callee = true, "13800000001", "057199999999"
	fake.Add(bad...)
	args := []string{"pull", "--instance", "ccc-pull-2", "--state", "state.json", "--since", now.Add(-5 * time.Hour).Format(time.RFC3339),
		"--endpoint", fake.URL, "-q"}
	if dsn != "" {
		args = append([]string{"--db", dsn}, args...)
	}
	r := runPull(t, dir, fake, args...)
	// A record at the very millisecond where a window was halved is read
	// in both halves: a duplicate.
	if s := summary(t, r); r.code != 3 || s[1] != n || s[3] != 1 || s[0] != n+1+s[2] {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `ccc-pull-2: record ContactId "bad-2-0" (StartTime `+strconv.FormatInt(bad[0].Start.UnixMilli(), 10)+", "+bad[0].Start.UTC().Format("2006-01-02T15:04:05.000Z")+")") ||
		!strings.Contains(r.stderr, `rejected: unknown service number "057199999999" on instance ccc-pull-2`) {
		t.Errorf("the rejected record is not named:\n%s", r.stderr)
	}
	split := false
	for _, q := range fake.Queries() {
		if q.PageSize != 100 || q.Page > 100 {
			t.Fatalf("query %+v", q)
		}
		split = split || q.To.Sub(q.From) < 4*time.Hour
	}
	if !split {
		t.Error("the window was not split")
	}
	sameCalls(t, storedContacts(t, dir, dsn), want)
	// A rejected record does not hold the cursor: the pass is done.
	if c := cursors(t, filepath.Join(dir, "state.json"))["ccc-pull-2"]; time.Since(c) > 7*time.Minute {
		t.Errorf("cursor %s", c)
	}
}

// TestPullLoop runs pull --interval until SIGTERM: it retries a failed pass
// and picks up records as they come.
func TestPullLoop(t *testing.T) {
	dir := pullDir(t, "")
	fake := testccc.New()
	defer fake.Close()
	now := time.Now()
	first := pullRecords("l", 1, now.Add(-2*time.Hour), time.Minute, 30)
	fake.Add(first...)
	var once sync.Once
	fake.SetFail(func(testccc.Query) *testccc.Failure {
		var f *testccc.Failure
		once.Do(func() {
			f = &testccc.Failure{Status: 503, Code: "ServiceUnavailable", Message: "The request has failed due to a temporary failure of the server."}
		})
		return f
	})
	cmd := exec.Command(binary(t), "pull", "--instance", "ccc-pull-1", "--state", "state.json", "--since", now.Add(-3*time.Hour).Format(time.RFC3339),
		"--endpoint", fake.URL, "--interval", "1s", "--lag", "2s", "--overlap", "1m")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_DB=", "ALIBABA_CLOUD_ACCESS_KEY_ID="+fake.KeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+fake.Secret)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("%s did not happen:\n%s", what, stderr.String())
	}
	waitFor("a pass after the failure", func() bool { return strings.Contains(stderr.String(), "imported 30") })
	if !strings.Contains(stderr.String(), "ServiceUnavailable: The request has failed due to a temporary failure of the server. (HTTP 503, RequestId req-fail); trying again") {
		t.Errorf("the failure was not logged:\n%s", stderr.String())
	}
	// A call that ends now comes on a later pass.
	next := pullRecords("l2", 1, time.Now(), 0, 1)
	fake.Add(next...)
	waitFor("the new record", func() bool { return strings.Contains(stderr.String(), "imported 1,") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pull stopped with %v:\n%s", err, stderr.String())
	}
	if !strings.HasSuffix(stderr.String(), "pull stopped\n") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	sameCalls(t, storedContacts(t, dir, ""), append(first, next...))
}

// TestPullUsage: what pull refuses before reading anything.
func TestPullUsage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pull", "--state", "s.json"}, exitUsage, "pull needs --instance ID (one or more)"},
		{[]string{"pull", "--instance", "ccc-1"}, exitUsage, "pull needs --state FILE"},
		{[]string{"pull", "--instance", "ccc 1", "--state", "s.json"}, exitUsage, `instance id "ccc 1" is not a CCC instance id`},
		{[]string{"pull", "--instance", "ccc-1", "--state", "s.json", "--page-size", "101"}, exitUsage, "--page-size 101 outside 1–100"},
		{[]string{"pull", "--instance", "ccc-1", "--state", "s.json", "--overlap", "-1m"}, exitUsage, "--overlap -1m0s outside 0–168h0m0s"},
		{[]string{"pull", "--instance", "ccc-1", "--state", "s.json", "--interval", "10ms"}, exitUsage, "--interval 10ms is shorter than a second"},
		{[]string{"pull", "--instance", "ccc-1", "--state", "s.json", "--endpoint", "ccc.example.com"}, exitUsage, `endpoint "ccc.example.com" is not an http(s) URL`},
		{[]string{"pull", "--instance", "ccc-1", "--state", "s.json", "--since", "yesterday"}, exitUsage, `"yesterday" is not an RFC 3339 time`},
		{[]string{"pull", "--instance", "ccc-1", "--state", "s.json"}, exitError, "or ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET"},
	} {
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
		r := runIn(t, append([]string{"--db", db}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, r.code, c.code, c.want, r.stderr)
		}
	}
	// Without a database, and with --to but no operator key.
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "k")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s")
	t.Setenv("CALLBILL_OPERATOR_KEY", "")
	r := runIn(t, "--db", db, "pull", "--instance", "ccc-1", "--state", filepath.Join(dir, "s.json"), "--since", "2026-12-01T00:00:00+08:00")
	if r.code != exitError || !strings.Contains(r.stderr, "there is no callbill database at") {
		t.Errorf("no database: exit %d %s", r.code, r.stderr)
	}
	r = runIn(t, "pull", "--instance", "ccc-1", "--state", filepath.Join(dir, "s.json"), "--to", "http://127.0.0.1:1")
	if r.code != exitError || !strings.Contains(r.stderr, "operator_key_file in the configuration, or $CALLBILL_OPERATOR_KEY") {
		t.Errorf("--to without a key: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("pull created the database")
	}
}
