package api

import (
	"crypto/rand"
	"encoding/hex"
	"io"
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
// a rejects file the operator downloads from rejects_file (kept like export
// files, callbill.ExportKeepDays). The body is spooled to disk as it is read,
// so that the rejected rows can be read again without holding any of them.
func (s *Server) importCDRs(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, maxImportBytes)
	spool, err := os.CreateTemp("", "callbill-import-*.cdr")
	if err != nil {
		return err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	dec, err := cdr.NewDecoder(io.TeeReader(body, spool))
	if err != nil {
		return err
	}
	rejects, err := cdr.NewRejectLog("")
	if err != nil {
		return err
	}
	defer rejects.Close()
	started := time.Now()
	rep, err := (&ingest.Service{Store: s.Store}).Import(r.Context(), ingest.Input{Source: cdr.Source(dec, 0),
		ImportOptions: callbill.ImportOptions{Strict: r.URL.Query().Get("strict") == "true", OnReject: rejects.Add}})
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
	if rep.Rejected > 0 && s.ExportDir != "" {
		// The spool may lack a tail the decoder never read (a fatal error
		// ends the import early); WriteFile then keeps the reasons anyway.
		if err := spool.Sync(); err != nil {
			return err
		}
		id, err := newRejectsID()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(s.ExportDir, cdr.StoredRejectsDir), 0o700); err != nil {
			return err
		}
		if _, err := rejects.WriteFileAt(0, spool.Name(), filepath.Join(s.ExportDir, cdr.StoredRejectsName(id))); err != nil {
			return err
		}
		out.RejectsFile = "/api/v1/imports/rejects/" + id
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
		return callbill.Errorf(callbill.ENOTFOUND, "no rejects file %s (they are kept %d days)", id, callbill.ExportKeepDays)
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
