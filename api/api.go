// Package api is callbill's HTTP interface. This first version serves the
// operator (imports, closing, bills, export jobs) behind an operator key; the
// tenant API with access keys and the BSS-compatible endpoint build on it.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/worker"
)

// Store is what the API needs of the store (sqlstore.Store).
type Store interface {
	Import(ctx context.Context, src callbill.CDRSource, opts callbill.ImportOptions) (*callbill.ImportReport, error)
	CloseCycle(ctx context.Context, c callbill.Cycle) (*callbill.CloseReport, error)
	Bill(ctx context.Context, uid string, c callbill.Cycle, daily bool) (*callbill.Bill, error)
	EnqueueJob(ctx context.Context, kind, key, account, params string) (*callbill.Job, bool, error)
	Job(ctx context.Context, id int64) (*callbill.Job, error)
}

// Limits on request bodies.
const (
	maxImportBytes = 1 << 30
	maxJSONBytes   = 1 << 20
)

// Server serves the API.
type Server struct {
	Store       Store
	Money       MoneyStore
	Authorize   func(instance, number string, dir callbill.Direction) callbill.Decision
	OperatorKey string
	ExportDir   string
	Log         *slog.Logger
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("POST /api/v1/imports", s.operator(s.importCDRs))
	mux.Handle("POST /api/v1/cycles/{cycle}/close", s.operator(s.closeCycle))
	mux.Handle("GET /api/v1/accounts/{uid}/bills/{cycle}", s.operator(s.bill))
	mux.Handle("POST /api/v1/exports", s.operator(s.createExport))
	mux.Handle("GET /api/v1/exports/{id}", s.operator(s.exportJob))
	mux.Handle("GET /api/v1/exports/{id}/file", s.operator(s.exportFile))
	if s.Money != nil {
		s.moneyRoutes(mux)
	}
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request) error

// operator lets only requests carrying the operator key through.
func (s *Server) operator(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if s.OperatorKey == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.OperatorKey)) != 1 {
			s.fail(w, r, callbill.Errorf(callbill.EUNAUTHORIZED, "a valid operator key is required (Authorization: Bearer KEY)"))
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// status maps error codes to HTTP statuses.
var status = map[string]int{
	callbill.EINVALID:      http.StatusBadRequest,
	callbill.ENOTFOUND:     http.StatusNotFound,
	callbill.ECONFLICT:     http.StatusConflict,
	callbill.EREFUSED:      http.StatusUnprocessableEntity,
	callbill.EUNAUTHORIZED: http.StatusUnauthorized,
	callbill.EINTERNAL:     http.StatusInternalServerError,
}

// fail writes an error as JSON; anything unexpected is logged and shown only
// as "internal error".
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := callbill.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = callbill.EINVALID, callbill.Errorf(callbill.EINVALID, "request body larger than %d bytes", mbe.Limit)
	}
	if code == callbill.EINTERNAL {
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status[code], map[string]string{"code": code, "message": callbill.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

type rejectJSON struct {
	Line     int    `json:"line"`
	Reason   string `json:"reason"`
	Conflict bool   `json:"conflict,omitempty"`
}

// importCDRs imports the CSV or CCC JSON body, with the CLI's rules.
func (s *Server) importCDRs(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, maxImportBytes)
	dec, err := cdr.NewDecoder(body)
	if err != nil {
		return err
	}
	rep, err := s.Store.Import(r.Context(), cdr.Source(dec, 0), callbill.ImportOptions{Strict: r.URL.Query().Get("strict") == "true"})
	if err != nil {
		return err
	}
	out := struct {
		Imported   int64        `json:"imported"`
		Duplicates int64        `json:"duplicates"`
		Rejected   int64        `json:"rejected"`
		Conflicts  int64        `json:"conflicts"`
		Rejects    []rejectJSON `json:"rejects"`
	}{rep.Imported, rep.Duplicates, rep.Rejected, rep.Conflicts, []rejectJSON{}}
	for _, rj := range rep.Rejects {
		out.Rejects = append(out.Rejects, rejectJSON{rj.Pos.Line, rj.Reason, rj.Conflict})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) closeCycle(w http.ResponseWriter, r *http.Request) error {
	c, err := callbill.ParseCycle(r.PathValue("cycle"))
	if err != nil {
		return err
	}
	rep, err := s.Store.CloseCycle(r.Context(), c)
	if err != nil {
		return err
	}
	closed := []string{}
	for _, cy := range rep.Closed {
		closed = append(closed, cy.String())
	}
	return writeJSON(w, http.StatusOK, map[string]any{"closed": closed, "already_closed": rep.AlreadyClosed})
}

func (s *Server) bill(w http.ResponseWriter, r *http.Request) error {
	c, err := callbill.ParseCycle(r.PathValue("cycle"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := callbill.View{ByInstance: q.Get("by") == "instance", Daily: q.Get("period") == "day"}
	b, err := s.Store.Bill(r.Context(), r.PathValue("uid"), c, v.Daily)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b.JSON(v))
}

// jobJSON is an export record (导出记录).
type jobJSON struct {
	ID         int64           `json:"id"`
	Kind       string          `json:"kind"`
	Account    string          `json:"account"`
	Status     string          `json:"status"`
	Attempts   int             `json:"attempts"`
	Node       string          `json:"node,omitempty"`
	CreatedAt  string          `json:"created_at"`
	FinishedAt string          `json:"finished_at,omitempty"`
	Params     json.RawMessage `json:"params"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
}

func toJobJSON(j *callbill.Job) jobJSON {
	out := jobJSON{ID: j.ID, Kind: j.Kind, Account: j.Account, Status: string(j.Status), Attempts: j.Attempts,
		Node: j.Node, CreatedAt: j.CreatedAt.UTC().Format(time.RFC3339), Params: json.RawMessage(j.Params), Error: j.Error}
	if !j.FinishedAt.IsZero() {
		out.FinishedAt = j.FinishedAt.UTC().Format(time.RFC3339)
	}
	if j.Result != "" {
		out.Result = json.RawMessage(j.Result)
	}
	return out
}

// createExport queues a usage export; an Idempotency-Key header makes
// repeating the request return the same job.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request) error {
	var p worker.ExportParams
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes)).Decode(&p); err != nil {
		return callbill.Errorf(callbill.EINVALID, "the body must be JSON {\"account\": UID, \"cycle\": \"YYYY-MM\"}: %v", err)
	}
	if _, err := callbill.ParseCycle(p.Cycle); err != nil {
		return err
	}
	if p.Account == "" {
		return callbill.Errorf(callbill.EINVALID, "account is required")
	}
	if _, err := s.Store.Bill(r.Context(), p.Account, mustCycle(p.Cycle), false); err != nil {
		return err // unknown account
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = newKey()
	}
	params, _ := json.Marshal(p)
	job, created, err := s.Store.EnqueueJob(r.Context(), callbill.JobExport, "export:"+p.Account+":"+key, p.Account, string(params))
	if err != nil {
		return err
	}
	code := http.StatusAccepted
	if !created {
		code = http.StatusOK
	}
	return writeJSON(w, code, toJobJSON(job))
}

func mustCycle(s string) callbill.Cycle {
	c, _ := callbill.ParseCycle(s)
	return c
}

func (s *Server) job(r *http.Request) (*callbill.Job, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "export %q not found", r.PathValue("id"))
	}
	j, err := s.Store.Job(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if j.Kind != callbill.JobExport {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "export %d not found", id)
	}
	return j, nil
}

func (s *Server) exportJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toJobJSON(j))
}

// exportFile sends a finished export. Files live in the export folder and are
// opened through os.Root, so no path can lead outside it.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	if j.Status != callbill.JobDone {
		return callbill.Errorf(callbill.ECONFLICT, "export %d is %s, not done", j.ID, j.Status)
	}
	root, err := os.OpenRoot(s.ExportDir)
	if err != nil {
		return err
	}
	defer root.Close()
	var res struct{ Path string }
	json.Unmarshal([]byte(j.Result), &res)
	f, err := root.Open(filepath.Base(res.Path))
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "the file of export %d is gone", j.ID)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="usage-`+j.Account+`-`+strconv.FormatInt(j.ID, 10)+`.csv"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}
