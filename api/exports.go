package api

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/export"
	"github.com/callbill/callbill/jobs"
)

// jobJSON is an export record (导出记录).
type jobJSON struct {
	ID         int64           `json:"id"`
	Kind       string          `json:"kind"`
	Account    string          `json:"account"`
	Status     string          `json:"status"`
	Attempts   int             `json:"attempts"`
	Node       string          `json:"node,omitempty"` // the operator's view only
	CreatedAt  string          `json:"created_at"`
	FinishedAt string          `json:"finished_at,omitempty"`
	ExpiresAt  string          `json:"expires_at,omitempty"`
	Params     json.RawMessage `json:"params"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// toJobJSON is a job as the request's principal may see it. The node's
// name (by default the host name and pid) and the file's path on the
// server are the operator's business: a tenant sees neither, only how many
// rows and bytes its file has.
func (s *Server) toJobJSON(r *http.Request, j *callbill.Job) jobJSON {
	operator := principal(r).Operator
	out := jobJSON{ID: j.ID, Kind: j.Kind, Account: j.Account, Status: string(j.Status), Attempts: j.Attempts,
		CreatedAt: j.CreatedAt.UTC().Format(time.RFC3339), Params: json.RawMessage(j.Params), Error: j.Error}
	if operator {
		out.Node = j.Node
	}
	if !j.FinishedAt.IsZero() {
		out.FinishedAt = j.FinishedAt.UTC().Format(time.RFC3339)
		if j.Kind == callbill.JobExport && (j.Status == callbill.JobDone || j.Status == callbill.JobExpired) {
			out.ExpiresAt = j.FinishedAt.AddDate(0, 0, s.Retention.Exports()).UTC().Format(time.RFC3339)
		}
	}
	switch {
	case j.Result == "":
	case operator:
		out.Result = json.RawMessage(j.Result)
	default:
		// Named fields only, so that nothing added to the stored result
		// later reaches tenants unless it is put here.
		var res export.Result
		if json.Unmarshal([]byte(j.Result), &res) == nil {
			b, _ := json.Marshal(struct {
				Rows  int64 `json:"rows"`
				Bytes int64 `json:"bytes"`
			}{res.Rows, res.Bytes})
			out.Result = b
		}
	}
	return out
}

// createExport queues a usage export; an Idempotency-Key header makes
// repeating the request return the same job.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request) error {
	var p callbill.ExportParams
	if err := json.NewDecoder(s.jsonBody(w, r)).Decode(&p); err != nil {
		return callbill.Errorf(callbill.EINVALID, "the body must be JSON {\"account\": UID, \"cycle\": \"YYYY-MM\", …}: %v", err)
	}
	if _, err := p.Filter(); err != nil {
		return err
	}
	for _, x := range p.Extra {
		if !slices.Contains(export.ExtraColumns(), x) {
			return callbill.Errorf(callbill.EINVALID, "unknown extra column %q (known: %s)", x, strings.Join(export.ExtraColumns(), ", "))
		}
	}
	if p.Account == "" {
		p.Account = principal(r).Account
	}
	if p.Account == "" {
		return callbill.Errorf(callbill.EINVALID, "account is required")
	}
	if err := canSee(r, p.Account); err != nil {
		return err
	}
	if err := s.Store.AccountExists(r.Context(), p.Account); err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = newKey()
	}
	job, created, err := (jobs.Service{Store: s.Store}).RequestExport(r.Context(), jobs.ExportInput{Key: key, Params: p})
	if err != nil {
		return err
	}
	code := http.StatusAccepted
	if !created {
		code = http.StatusOK
	}
	return writeJSON(w, code, s.toJobJSON(r, job))
}

// listExports lists export records (导出记录), newest first: a tenant's
// own, or for the operator every account's (or ?account=).
func (s *Server) listExports(w http.ResponseWriter, r *http.Request) error {
	q := callbill.JobQuery{Kind: callbill.JobExport, Account: principal(r).Account}
	if q.Account == "" {
		q.Account = r.URL.Query().Get("account")
	}
	q.AllAccounts = q.Account == ""
	list, err := (jobs.Service{Store: s.Store}).List(r.Context(), q)
	if err != nil {
		return err
	}
	out := []jobJSON{}
	for _, j := range list {
		out = append(out, s.toJobJSON(r, j))
	}
	return writeJSON(w, http.StatusOK, out)
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
	if j.Kind != callbill.JobExport || canSee(r, j.Account) != nil {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "export %d not found", id)
	}
	return j, nil
}

func (s *Server) exportJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.job(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toJobJSON(r, j))
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
