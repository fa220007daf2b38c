package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/ingest"
)

type rejectJSON struct {
	Line     int    `json:"line"`
	Reason   string `json:"reason"`
	Conflict bool   `json:"conflict,omitempty"`
}

// importCDRs imports the CSV or CCC JSON body, with the CLI's rules. The
// answer lists the first callbill.MaxReportedRejects rejects; when rows were
// rejected, all of them — the original row, its line and the reason — are in
// a rejects file the operator downloads from rejects_file (kept
// Retention.Rejects() days, like export files). The body is read once: the rejects file
// is written from the rows as they come, and none of them is held.
func (s *Server) importCDRs(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, s.Limits.OrDefault().Import)
	dec, err := cdr.NewDecoder(body)
	if err != nil {
		return err
	}
	opts := callbill.ImportOptions{Strict: r.URL.Query().Get("strict") == "true"}
	source := r.URL.Query().Get("source")
	if len(source) > callbill.MaxImportSourceName {
		return callbill.Errorf(callbill.EINVALID, "source names the posted CDRs in at most %d bytes", callbill.MaxImportSourceName)
	}
	if source == "" {
		source = "POST /api/v1/imports"
	}
	var id string
	var rejects *cdr.RejectsFiles
	if s.ExportDir != "" {
		if id, err = newRejectsID(); err != nil {
			return err
		}
		path, header := filepath.Join(s.ExportDir, cdr.StoredRejectsName(id)), dec.RejectHeader()
		rejects = cdr.NewRejectsFiles(func(int) string { return path }, func(int) []string { return header })
		defer rejects.Close()
		opts.OnReject = rejects.Add
	}
	started := time.Now()
	rep, err := s.Importer.Import(r.Context(), ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: opts,
		Sources: []string{source}, By: apiActor})
	if err != nil {
		return err
	}
	if m := s.Metrics; m != nil {
		m.Imported.Add(float64(rep.Imported))
		m.Duplicates.Add(float64(rep.Duplicates))
		m.Rejected.Add(float64(rep.Rejected))
		m.ImportTime.Observe(time.Since(started).Seconds())
	}
	out := struct {
		Import      string       `json:"import"`
		Imported    int64        `json:"imported"`
		Duplicates  int64        `json:"duplicates"`
		Rejected    int64        `json:"rejected"`
		Conflicts   int64        `json:"conflicts"`
		Rejects     []rejectJSON `json:"rejects"`
		RejectsFile string       `json:"rejects_file,omitempty"`
	}{callbill.ImportID(rep.Import), rep.Imported, rep.Duplicates, rep.Rejected, rep.Conflicts, []rejectJSON{}, ""}
	for _, rj := range rep.Rejects {
		out.Rejects = append(out.Rejects, rejectJSON{rj.Pos.Line, rj.Reason, rj.Conflict})
	}
	if rejects != nil {
		written, err := rejects.Commit(0)
		if err != nil {
			return err
		}
		if written {
			out.RejectsFile = "/api/v1/imports/rejects/" + id
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// newRejectsID names a rejects file: 128 random bits, so that the names of
// other imports cannot be guessed.
func newRejectsID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// importRejects sends the rejects file of an API import.
func (s *Server) importRejects(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return callbill.Errorf(callbill.ENOTFOUND, "no rejects file %q", id)
	}
	root, err := os.OpenRoot(s.ExportDir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.Open(cdr.StoredRejectsName(id))
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "no rejects file %s (they are kept %d days)", id, s.Retention.Rejects())
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="rejects-`+id+`.csv"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}

// apiActor is who imports and undoes through the API: the operator key is
// the only key these routes take.
const apiActor = "api:operator-key"

// ImportJSON is an import record as the API and `callbill import list
// --json` show it.
type ImportJSON struct {
	ID         string          `json:"id"`
	Sources    []string        `json:"sources"`
	By         string          `json:"by"`
	At         string          `json:"at"`
	FinishedAt string          `json:"finished_at,omitempty"`
	Status     string          `json:"status"`
	Imported   int64           `json:"imported"`
	Duplicates int64           `json:"duplicates"`
	Rejected   int64           `json:"rejected"`
	Conflicts  int64           `json:"conflicts"`
	UndoneBy   string          `json:"undone_by,omitempty"`
	UndoneAt   string          `json:"undone_at,omitempty"`
	Undo       *UndoReportJSON `json:"undo,omitempty"`
}

// UndoReportJSON is what an undo did.
type UndoReportJSON struct {
	Removed  int64    `json:"removed"`
	Rerated  int64    `json:"rerated"`
	Accounts []string `json:"accounts"` // the first 100
	Touched  int      `json:"account_count"`
	Cycles   []string `json:"cycles"`
	Already  bool     `json:"already_undone,omitempty"`
}

// ToImportJSON converts a record (times in UTC, RFC 3339).
func ToImportJSON(r *callbill.ImportRecord) ImportJSON {
	out := ImportJSON{ID: callbill.ImportID(r.ID), Sources: r.Sources, By: r.By, At: r.At.UTC().Format(time.RFC3339), Status: r.Status,
		Imported: r.Imported, Duplicates: r.Duplicates, Rejected: r.Rejected, Conflicts: r.Conflicts, UndoneBy: r.UndoneBy}
	if out.Sources == nil {
		out.Sources = []string{}
	}
	if !r.Finished.IsZero() {
		out.FinishedAt = r.Finished.UTC().Format(time.RFC3339)
	}
	if !r.UndoneAt.IsZero() {
		out.UndoneAt = r.UndoneAt.UTC().Format(time.RFC3339)
	}
	if u := r.Undo; u != nil {
		out.Undo = &UndoReportJSON{Removed: u.Removed, Rerated: u.Rerated, Accounts: u.Accounts, Touched: u.Touched, Cycles: []string{}, Already: u.Already}
		if out.Undo.Accounts == nil {
			out.Undo.Accounts = []string{}
		}
		for _, c := range u.Cycles {
			out.Undo.Cycles = append(out.Undo.Cycles, c.String())
		}
	}
	return out
}

// listImports lists import records, newest first: ?limit= (default 50, at
// most 1,000) and ?before=imp-N for the next page, which next names.
func (s *Server) listImports(w http.ResponseWriter, r *http.Request) error {
	q := callbill.ImportQuery{}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > callbill.MaxImportList {
			return callbill.Errorf(callbill.EINVALID, "limit must be 1…%d", callbill.MaxImportList)
		}
		q.Limit = n
	}
	if v := r.URL.Query().Get("before"); v != "" {
		id, err := callbill.ParseImportID(v)
		if err != nil {
			return err
		}
		q.Before = id
	}
	recs, err := (&ingest.Imports{Store: s.Store}).List(r.Context(), q)
	if err != nil {
		return err
	}
	out := struct {
		Imports []ImportJSON `json:"imports"`
		Next    string       `json:"next,omitempty"`
	}{Imports: []ImportJSON{}}
	for i := range recs {
		out.Imports = append(out.Imports, ToImportJSON(&recs[i]))
	}
	if len(recs) == q.Limit && len(recs) > 0 {
		out.Next = callbill.ImportID(recs[len(recs)-1].ID)
	}
	return writeJSON(w, http.StatusOK, out)
}

// undoImport undoes an import (docs/imports.md); undoing it again answers
// the same record with undo.already_undone.
func (s *Server) undoImport(w http.ResponseWriter, r *http.Request) error {
	id, err := callbill.ParseImportID(r.PathValue("id"))
	if err != nil {
		return err
	}
	rec, err := (&ingest.Imports{Store: s.Store}).Undo(r.Context(), ingest.UndoInput{ID: id, By: apiActor})
	if err != nil {
		return err
	}
	if rec.Undo != nil && !rec.Undo.Already {
		s.Log.Info("import undone", "import", callbill.ImportID(id), "removed", rec.Undo.Removed, "rerated", rec.Undo.Rerated)
	}
	return writeJSON(w, http.StatusOK, ToImportJSON(rec))
}
