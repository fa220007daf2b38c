package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestImportRejectsFileFromTheStream: the body of an import is read once,
// as it streams (nothing spooled to the temporary folder), and the rejects
// file holds every rejected record as sent — the decoder's, screening's and
// conflicts — each as its compact JSON, with its line and reason.
func TestImportRejectsFileFromTheStream(t *testing.T) {
	srv, _, _ := setup(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	rec := func(id, caller string, end int) string {
		return fmt.Sprintf(`{"ContactId": "%s", "InstanceId": "inst-p", "ContactType": "Outbound", "CallingNumber": "%s", "CalledNumber": "138", "StartTime": 1791424800000, "ReleaseTime": %d, "Skill": {"Name": "售后"}}`,
			id, caller, end)
	}
	var lines []string
	for i := range 300 {
		switch i % 6 {
		case 1:
			lines = append(lines, rec(fmt.Sprint("u", i), "0571999", 1791424860000)) // unknown number
		case 2:
			lines = append(lines, `{"ContactId": "b`+fmt.Sprint(i)+`", "StartTime": "soon"}`) // the decoder's
		case 3:
			lines = append(lines, rec(fmt.Sprint("g", i-3), "0571001", 1791424920000)) // a conflict
		default:
			lines = append(lines, rec(fmt.Sprint("g", i), "0571001", 1791424860000))
		}
	}
	pr, pw := io.Pipe()
	go func() {
		for _, l := range lines {
			io.WriteString(pw, l+"\n") // a chunked body, as it comes
		}
		pw.Close()
	}()
	// Watch the temporary folder while the import runs (SQLite's own
	// files, unlinked as soon as opened, do not count).
	done, spooled := make(chan struct{}), make(chan []string, 1)
	go func() {
		var seen []string
		defer func() { spooled <- slices.Compact(slices.Sorted(slices.Values(seen))) }()
		for {
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), "etilqs_") {
					seen = append(seen, e.Name())
				}
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/imports", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rep struct {
		Imported, Rejected, Conflicts int64
		RejectsFile                   string `json:"rejects_file"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || resp.StatusCode != 200 {
		t.Fatalf("import: %d %s", resp.StatusCode, body)
	}
	if rep.Imported != 150 || rep.Rejected != 150 || rep.Conflicts != 50 {
		t.Errorf("imported %d, rejected %d, conflicts %d; want 150, 150, 50", rep.Imported, rep.Rejected, rep.Conflicts)
	}
	if seen := <-spooled; len(seen) != 0 {
		t.Errorf("the import wrote to the temporary folder: %v", seen)
	}
	code, file := call(t, srv, "GET", rep.RejectsFile, key, "")
	if code != 200 {
		t.Fatalf("download: %d %s", code, file)
	}
	rows, err := csv.NewReader(strings.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 151 || strings.Join(rows[0], ",") != "record,line,reason" {
		t.Fatalf("rejects file of %d rows, header %q", len(rows), rows[0])
	}
	for n, row := range rows[1:] {
		line := (n/3)*6 + n%3 + 2 // the lines of i%6 = 1, 2, 3, from 1
		var compact bytes.Buffer
		json.Compact(&compact, []byte(lines[line-1]))
		if row[0] != compact.String() || row[1] != fmt.Sprint(line) {
			t.Fatalf("rejects row %d: %q, want line %d: %s", n+1, row, line, compact.String())
		}
	}
}

// TestImportListAndUndo: each post is an import, listed newest first with
// its source and counts; undoing one takes its calls out of the bill,
// undoing it again changes nothing, its calls can be posted again, and an
// import in a closed cycle is refused with 422 naming the adjustment.
func TestImportListAndUndo(t *testing.T) {
	srv, _, _ := setup(t)
	row := func(id string, minutes int) string {
		return fmt.Sprintf("%s,inst-p,outbound,0571001,138,2026-10-08T10:00:00+08:00,2026-10-08T%02d:%02d:00+08:00\n", id, 10+minutes/60, minutes%60)
	}
	head := "contact_id,instance_id,direction,caller,callee,start_time,end_time\n"
	var ids []string
	for i, body := range []string{head + row("c1", 10), head + row("c2", 20) + row("c3", 30), head + row("c4", 40)} {
		code, out := call(t, srv, "POST", fmt.Sprintf("/api/v1/imports?source=batch-%d.csv", i+1), key, body)
		var rep struct{ Import string }
		if code != 200 || json.Unmarshal([]byte(out), &rep) != nil || !strings.HasPrefix(rep.Import, "imp-") {
			t.Fatalf("post %d: %d %s", i, code, out)
		}
		ids = append(ids, rep.Import)
	}
	payable := func() string {
		_, out := call(t, srv, "GET", "/api/v1/accounts/1001/bills/2026-10", key, "")
		var b struct{ Totals struct{ Payable string } }
		json.Unmarshal([]byte(out), &b)
		return b.Totals.Payable
	}
	if got := payable(); got != "15.00" { // 100 minutes at 0.15
		t.Fatalf("payable %s", got)
	}
	code, out := call(t, srv, "GET", "/api/v1/imports?limit=2", key, "")
	var list struct {
		Imports []struct {
			ID, Status, By string
			Sources        []string
			Imported       int
		}
		Next string
	}
	if code != 200 || json.Unmarshal([]byte(out), &list) != nil || len(list.Imports) != 2 || list.Imports[0].ID != ids[2] ||
		list.Imports[1].ID != ids[1] || list.Imports[1].Imported != 2 || fmt.Sprint(list.Imports[1].Sources) != "[batch-2.csv]" ||
		list.Imports[1].By != "api:operator-key" || list.Imports[1].Status != "done" || list.Next != ids[1] {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, out := call(t, srv, "GET", "/api/v1/imports?before="+list.Next, key, ""); code != 200 || !strings.Contains(out, `"id":"`+ids[0]+`"`) ||
		strings.Contains(out, ids[1]) {
		t.Errorf("next page: %d %s", code, out)
	}
	code, out = call(t, srv, "POST", "/api/v1/imports/"+ids[1]+"/undo", key, "")
	if code != 200 || !strings.Contains(out, `"status":"undone"`) || !strings.Contains(out, `"removed":2`) || !strings.Contains(out, `"cycles":["2026-10"]`) {
		t.Fatalf("undo: %d %s", code, out)
	}
	if got := payable(); got != "7.50" {
		t.Errorf("payable after the undo %s, want 7.50", got)
	}
	if code, out := call(t, srv, "POST", "/api/v1/imports/"+ids[1]+"/undo", key, ""); code != 200 || !strings.Contains(out, `"already_undone":true`) {
		t.Errorf("undo again: %d %s", code, out)
	}
	if code, out := call(t, srv, "POST", "/api/v1/imports", key, head+row("c2", 20)+row("c3", 30)); code != 200 || !strings.Contains(out, `"imported":2`) {
		t.Errorf("post the undone calls again: %d %s", code, out)
	}
	for path, want := range map[string]int{"/api/v1/imports/imp-999/undo": 404, "/api/v1/imports/nonsense/undo": 400} {
		if code, out := call(t, srv, "POST", path, key, ""); code != want {
			t.Errorf("%s: %d %s", path, code, out)
		}
	}
	if code, out := call(t, srv, "POST", "/api/v1/cycles/2026-10/close", key, ""); code != 200 {
		t.Fatalf("close: %d %s", code, out)
	}
	code, out = call(t, srv, "POST", "/api/v1/imports/"+ids[0]+"/undo", key, "")
	if code != 422 || !strings.Contains(out, "closed cycles (2026-10)") || !strings.Contains(out, "adjustment") {
		t.Errorf("undo in a closed cycle: %d %s", code, out)
	}
}
