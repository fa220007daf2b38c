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
