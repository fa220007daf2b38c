package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
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
	rep, err := s.Importer.Import(r.Context(), ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: opts})
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
		Imported    int64        `json:"imported"`
		Duplicates  int64        `json:"duplicates"`
		Rejected    int64        `json:"rejected"`
		Conflicts   int64        `json:"conflicts"`
		Rejects     []rejectJSON `json:"rejects"`
		RejectsFile string       `json:"rejects_file,omitempty"`
	}{rep.Imported, rep.Duplicates, rep.Rejected, rep.Conflicts, []rejectJSON{}, ""}
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
