package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/worker"
	"github.com/callbill/callbill/world"
)

const key = "test-operator-key"

func setup(t *testing.T) (*httptest.Server, *sqlstore.Store, string) {
	srv, s, exports, _ := setupServer(t)
	return srv, s, exports
}

// setupServer serves two accounts, 1001 and 1002, with every route.
func setupServer(t testing.TB) (*httptest.Server, *sqlstore.Store, string, *api.Server) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.MasterKey = []byte("0123456789abcdef0123456789abcdef")
	t.Cleanup(func() { s.Close() })
	w, ps := world.Parse([]byte(`
accounts:
  - uid: "1001"
    name: 甲
    instances:
      - id: inst-p
        mode: payg
        numbers: [{number: "0571001", kind: fixed, source: ccc}]
  - uid: "1002"
    name: 乙
    instances:
      - id: inst-q
        mode: payg
        numbers: [{number: "0571002", kind: fixed, source: ccc}]
`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	exports := t.TempDir()
	as := &api.Server{Store: s, Money: s, Rest: s, Keys: s, Webhooks: s, Invoices: &invoice.Service{Store: s}, Contracts: &contract.Service{Store: s}, OperatorKey: key, ExportDir: exports, Metrics: api.NewMetrics(),
		Budgets:      &budget.Service{Store: s, Spend: &closing.Service{Store: s}},
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authorize:    func(string, string, callbill.Direction) callbill.Decision { return callbill.Decision{Allow: true} },
		Reservations: &authz.Service{Store: s}}
	srv := httptest.NewServer(as.Handler())
	t.Cleanup(srv.Close)
	return srv, s, exports, as
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperatorKeyIsRequired(t *testing.T) {
	srv, _, _ := setup(t)
	for _, auth := range []string{"", "wrong"} {
		code, body := call(t, srv, "GET", "/api/v1/accounts/1001/bills/2026-10", auth, "")
		if code != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthorized"`) || !strings.Contains(body, `"status":401`) {
			t.Errorf("auth %q: %d %s", auth, code, body)
		}
	}
	if code, _ := call(t, srv, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

func TestImportBillAndExport(t *testing.T) {
	srv, s, exports := setup(t)
	csv := "contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
		"c1,inst-p,outbound,0571001,138,2026-10-08T10:00:00+08:00,2026-10-08T10:01:30+08:00\n" +
		"c2,inst-p,outbound,4000,138,2026-10-08T10:00:00+08:00,2026-10-08T10:01:30+08:00\n"
	code, body := call(t, srv, "POST", "/api/v1/imports", key, csv)
	if code != 200 || !strings.Contains(body, `"imported":1`) || !strings.Contains(body, `"line":3`) {
		t.Fatalf("import: %d %s", code, body)
	}
	code, body = call(t, srv, "GET", "/api/v1/accounts/1001/bills/2026-10", key, "")
	if code != 200 || !strings.Contains(body, `"item":"FixedLineOutbound"`) || !strings.Contains(body, `"payable":"0.30"`) {
		t.Fatalf("bill: %d %s", code, body)
	}
	if code, body := call(t, srv, "GET", "/api/v1/accounts/9999/bills/2026-10", key, ""); code != 404 {
		t.Errorf("unknown account: %d %s", code, body)
	}
	code, body = call(t, srv, "POST", "/api/v1/exports", key, `{"account":"1001","cycle":"2026-10"}`)
	if code != http.StatusAccepted {
		t.Fatalf("export: %d %s", code, body)
	}
	var job struct{ ID int64 }
	json.Unmarshal([]byte(body), &job)
	if code, _ := call(t, srv, "GET", "/api/v1/exports/"+itoa(job.ID)+"/file", key, ""); code != http.StatusConflict {
		t.Errorf("file of a queued export: %d", code)
	}
	// One worker pass runs it.
	ctx, cancel := context.WithCancel(context.Background())
	n := &worker.Node{Store: s, Name: "t", ExportDir: exports, Poll: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go n.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = call(t, srv, "GET", "/api/v1/exports/"+itoa(job.ID), key, "")
		if strings.Contains(body, `"status":"done"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if !strings.Contains(body, `"rows":1`) {
		t.Fatalf("export job: %s", body)
	}
	code, body = call(t, srv, "GET", "/api/v1/exports/"+itoa(job.ID)+"/file", key, "")
	if code != 200 || !strings.HasPrefix(body, "\ufeff阿里云账户ID（UID）,") || !strings.Contains(body, "1001,2026-10-08 10:00:00,0,2,0,inst-p,0,0,") {
		t.Fatalf("file: %d %q", code, body)
	}
	files, _ := os.ReadDir(exports)
	if len(files) != 2 || !files[0].IsDir() || files[0].Name() != cdr.StoredRejectsDir {
		t.Errorf("the export folder holds %v; want the export and the folder of the rejected row's file", files)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestUsagePagesBothWays(t *testing.T) {
	srv, s, _, _ := setupServer(t)
	ctx := context.Background()
	var rows []callbill.CDR
	for i := 0; i < 25; i++ {
		st := time.Date(2026, 10, 5, 2, i, 0, 0, time.UTC).Unix()
		rows = append(rows, callbill.CDR{ContactID: "c" + strconv.Itoa(i), InstanceID: "inst-p", Direction: callbill.Outbound,
			Caller: "0571001", Callee: "138", Start: st, End: st + 61})
	}
	if _, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: &sliceSource{rows: rows}, ImportOptions: callbill.ImportOptions{BatchSize: 7}}); err != nil {
		t.Fatal(err)
	}
	collect := func(q string) []string {
		var ids []string
		after := ""
		for page := 0; page < 10; page++ {
			code, body := request(t, srv.URL, "GET", "/api/v1/accounts/1001/usage?limit=10&"+q+after, "", "", "")
			if code != 200 {
				t.Fatalf("%s: %d %s", q, code, body)
			}
			var out struct {
				Calls []struct {
					ContactID string `json:"contact_id"`
				}
				Next string
			}
			json.Unmarshal([]byte(body), &out)
			for _, c := range out.Calls {
				ids = append(ids, c.ContactID)
			}
			if out.Next == "" {
				return ids
			}
			after = "&after=" + out.Next
		}
		t.Fatal("no last page")
		return nil
	}
	asc := collect("cycle=2026-10")
	desc := collect("cycle=2026-10&order=desc")
	if len(asc) != 25 || len(desc) != 25 || asc[0] != "c0" || desc[0] != "c24" || asc[24] != desc[0] {
		t.Fatalf("asc %v\ndesc %v", asc, desc)
	}
	ranged := collect("from=2026-10-05T02:10:00Z&to=2026-10-05T02:20:00Z")
	if len(ranged) != 10 || ranged[0] != "c10" {
		t.Fatalf("range %v", ranged)
	}
	// No calls: an empty page for the account, not found for no account
	// (the store asks for the account only when it found no calls).
	for _, q := range []string{"cycle=2026-08", "cycle=2026-08&order=desc", "from=2026-09-01T00:00:00Z&to=2026-09-02T00:00:00Z"} {
		if code, body := request(t, srv.URL, "GET", "/api/v1/accounts/1001/usage?"+q, "", "", ""); code != 200 || !strings.Contains(body, `"calls":[]`) {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		if code, body := request(t, srv.URL, "GET", "/api/v1/accounts/9999/usage?"+q, "", "", ""); code != 404 {
			t.Fatalf("unknown account, %s: %d %s", q, code, body)
		}
	}
}

type sliceSource struct {
	rows []callbill.CDR
	i    int
}

func (s *sliceSource) Next() (callbill.CDR, callbill.Pos, error) {
	if s.i >= len(s.rows) {
		return callbill.CDR{}, callbill.Pos{}, io.EOF
	}
	s.i++
	return s.rows[s.i-1], callbill.Pos{Line: s.i + 1}, nil
}

// TestImportRejectsAreBoundedAndDownloadable: an import of many bad rows
// answers with the first callbill.MaxReportedRejects of them and the full
// count, and every rejected row, as sent, is in a rejects file only the
// operator can download; the worker deletes it with the expired exports.
func TestImportRejectsAreBoundedAndDownloadable(t *testing.T) {
	srv, s, exports := setup(t)
	var csv strings.Builder
	csv.WriteString("contact_id,instance_id,direction,caller,callee,start_time,end_time\n")
	const good, bad = 100, 2400
	for i := 0; i < good+bad; i++ {
		switch {
		case i%25 == 0: // good
			fmt.Fprintf(&csv, "g%d,inst-p,outbound,0571001,138,2026-10-08T10:00:00+08:00,2026-10-08T10:01:30+08:00\n", i)
		case i%2 == 0: // a service number the instance lacks
			fmt.Fprintf(&csv, "u%d,inst-p,outbound,0571999,138,2026-10-08T10:00:00+08:00,2026-10-08T10:01:30+08:00\n", i)
		default: // undecodable
			fmt.Fprintf(&csv, "b%d,inst-p,sideways,0571001,138,2026-10-08T10:00:00+08:00,x\n", i)
		}
	}
	code, body := call(t, srv, "POST", "/api/v1/imports", key, csv.String())
	if code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	var rep struct {
		Imported, Rejected int64
		Rejects            []struct{ Line int }
		RejectsFile        string `json:"rejects_file"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Imported != good || rep.Rejected != bad || len(rep.Rejects) != callbill.MaxReportedRejects {
		t.Fatalf("imported %d rejected %d, %d rejects listed; want %d, %d, %d", rep.Imported, rep.Rejected, len(rep.Rejects),
			good, bad, callbill.MaxReportedRejects)
	}
	if rep.Rejects[0].Line != 3 || rep.Rejects[len(rep.Rejects)-1].Line <= rep.Rejects[0].Line {
		t.Errorf("rejects not the first ones in input order: first line %d, last %d", rep.Rejects[0].Line, rep.Rejects[len(rep.Rejects)-1].Line)
	}
	if !strings.HasPrefix(rep.RejectsFile, "/api/v1/imports/rejects/") {
		t.Fatalf("rejects_file %q", rep.RejectsFile)
	}
	code, file := call(t, srv, "GET", rep.RejectsFile, key, "")
	if code != 200 {
		t.Fatalf("download: %d %s", code, file)
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(file, "\ufeff"), "\n"), "\n")
	if len(lines) != bad+1 {
		t.Fatalf("rejects file has %d lines, want a header and %d rows", len(lines), bad)
	}
	if !strings.Contains(lines[1], "u1") && !strings.Contains(lines[1], "b1") {
		t.Errorf("first reject row %q does not hold the original row", lines[1])
	}
	if !strings.Contains(lines[len(lines)-1], "b2499") || !strings.Contains(lines[len(lines)-1], ",2501,") {
		t.Errorf("last reject row %q: want the row of b2499 with its line 2501", lines[len(lines)-1])
	}
	// A tenant never reaches it; a made-up id is not found.
	k, err := s.CreateAccessKey(context.Background(), "1001")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := request(t, srv.URL, "GET", rep.RejectsFile, k.ID, k.Secret, ""); code != http.StatusNotFound {
		t.Errorf("a tenant downloading the rejects file: %d", code)
	}
	for _, bogus := range []string{"0123", "../../etc/passwd", strings.Repeat("0", 32)} {
		if code, _ := call(t, srv, "GET", "/api/v1/imports/rejects/"+bogus, key, ""); code != http.StatusNotFound {
			t.Errorf("rejects file %q: %d", bogus, code)
		}
	}
	// Eight days later the worker deletes it, and the temporary rejects file
	// of an import whose node died midway.
	stale := filepath.Join(exports, cdr.StoredRejectsDir, ".0123456789abcdef0123456789abcdef.csv.tmp-42")
	if err := os.WriteFile(stale, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	later := time.Now().AddDate(0, 0, callbill.DefaultRejectsKeepDays+1)
	n := &worker.Node{Store: s, Name: "t", ExportDir: exports, Poll: 10 * time.Millisecond, NoAutoClose: true,
		Now: func() time.Time { return later }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for code == 200 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		code, _ = call(t, srv, "GET", rep.RejectsFile, key, "")
	}
	cancel()
	<-done
	if code != http.StatusNotFound {
		t.Errorf("rejects file after %d days: %d", callbill.DefaultRejectsKeepDays+1, code)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a temporary rejects file after %d days: %v", callbill.DefaultRejectsKeepDays+1, err)
	}
}

// A world file with problems of form and a reference to nothing is
// answered 422 with both, each with its path, line and column, by line;
// nothing is applied.
func TestWorldProblemsInOneAnswer(t *testing.T) {
	srv, _, _ := setup(t)
	file := "accounts:\n  - uid: \"1003\"\n    name: 丙\n    kind: company\n" +
		"topups:\n  - {id: T-1, account: \"9\", amount: \"1.00\", at: \"2026-10-01T08:00:00+08:00\"}\n"
	code, body := call(t, srv, "POST", "/api/v1/world", key, file)
	var got struct {
		Problems []struct {
			Path, Message string
			Line, Column  int
		}
	}
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusUnprocessableEntity || err != nil || len(got.Problems) != 2 {
		t.Fatalf("%d %s", code, body)
	}
	if p := got.Problems[0]; p.Path != "accounts[0].kind" || p.Line != 4 || p.Column != 11 {
		t.Errorf("first problem %+v", p)
	}
	if p := got.Problems[1]; p.Path != "topups[0].account" || p.Line != 6 || p.Column != 24 || !strings.Contains(p.Message, "account 9 is neither") {
		t.Errorf("second problem %+v", p)
	}
	code, body = call(t, srv, "POST", "/api/v1/world", key, "accounts:\n  - uid: \"1\"\n   name: n\n")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"line":3`) || !strings.Contains(body, "not valid YAML") {
		t.Errorf("syntax: %d %s", code, body)
	}
	if code, body := call(t, srv, "GET", "/api/v1/accounts/1003", key, ""); code != http.StatusNotFound {
		t.Errorf("account 1003 after a refused apply: %d %s", code, body)
	}
}

// /readyz answers 200 while the store is reachable with this release's
// schema, and 503 once a newer release has migrated it; /healthz stays 200.
func TestReadyz(t *testing.T) {
	srv, s, _, as := setupServer(t)
	as.Ready = s.Ready
	if code, body := call(t, srv, "GET", "/readyz", "", ""); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("readyz: %d %q", code, body)
	}
	if _, err := s.DB().ExecContext(context.Background(), `INSERT INTO schema_migrations (name) VALUES ('9999_from_the_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, srv, "GET", "/readyz", "", ""); code != http.StatusServiceUnavailable || strings.Contains(body, "9999") {
		t.Errorf("readyz with a newer schema: %d %q", code, body)
	}
	if code, _ := call(t, srv, "GET", "/healthz", "", ""); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
}
