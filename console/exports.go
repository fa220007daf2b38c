package console

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/export"
	"github.com/callbill/callbill/jobs"
)

var formKey = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// createExport is 导出CSV: it queues an export job of the filter, as the
// API does, and goes to the export records. The form's key (new with every
// page) makes a double click one job.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	u := parseUsageQuery(r.PostForm)
	_, p, err := u.filter(v, v.UID, loc)
	if err != nil {
		return err
	}
	if p.Cycle == "" && p.From == "" {
		return v.errf(callbill.EINVALID, "err.export_range")
	}
	key := r.PostFormValue("key")
	if !formKey.MatchString(key) {
		return v.errf(callbill.EINVALID, "err.form_key")
	}
	job, _, err := (jobs.Service{Store: s.Store}).RequestExport(ctx, jobs.ExportInput{Key: "console-" + key, Params: p})
	if err != nil {
		return err
	}
	http.Redirect(w, r, v.A("exports")+"?job="+strconv.FormatInt(job.ID, 10), http.StatusSeeOther)
	return nil
}

type exportsData struct {
	Table   table
	Running bool
	New     int64
	More    int
}

// maxExportRows is how many export records the page lists.
const maxExportRows = 100

// exports is 导出记录: the account's export jobs, newest first; the page
// reloads itself while any is queued or running.
func (s *Server) exports(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "exports"
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	list, err := (jobs.Service{Store: s.Store}).List(ctx, callbill.JobQuery{Kind: callbill.JobExport, Account: v.UID})
	if err != nil {
		return err
	}
	d := exportsData{}
	d.New, _ = strconv.ParseInt(r.URL.Query().Get("job"), 10, 64)
	if len(list) > maxExportRows {
		d.More = len(list) - maxExportRows
		list = list[:maxExportRows]
	}
	t := table{ID: "exports-table", Empty: v.T("empty.exports"), Cols: []col{
		{Key: "id", Label: v.T("col.job"), Num: true}, {Key: "created_at", Label: v.T("col.created")},
		{Key: "params", Label: v.T("col.params")}, {Key: "status", Label: v.T("col.status")},
		{Key: "rows", Label: v.T("col.rows"), Num: true}, {Key: "bytes", Label: v.T("col.size"), Num: true},
		{Key: "finished_at", Label: v.T("col.finished")}, {Key: "expires_at", Label: v.T("col.expires")},
		{Key: "file", Label: v.T("col.action")}}}
	for _, j := range list {
		var p callbill.ExportParams
		json.Unmarshal([]byte(j.Params), &p)
		var res export.Result
		json.Unmarshal([]byte(j.Result), &res)
		if j.Status == callbill.JobQueued || j.Status == callbill.JobRunning {
			d.Running = true
		}
		st := v.T("job." + string(j.Status))
		if j.Status == callbill.JobFailed && j.Error != "" {
			st += ": " + j.Error
		}
		expires, file := "", txt("")
		if j.Status == callbill.JobDone || j.Status == callbill.JobExpired {
			expires = dateTime(j.FinishedAt.AddDate(0, 0, s.Retention.Exports()), loc)
		}
		if j.Status == callbill.JobDone {
			file = cell{Text: v.T("download"), V: "file", Href: v.A("exports/" + strconv.FormatInt(j.ID, 10) + "/file")}
		}
		rows, size := cell{}, cell{}
		if j.Status == callbill.JobDone || j.Status == callbill.JobExpired {
			rows = code(strconv.FormatInt(res.Rows, 10), Int(res.Rows))
			size = code(strconv.FormatInt(res.Bytes, 10), byteSize(res.Bytes))
		}
		t.Rows = append(t.Rows, []cell{code(strconv.FormatInt(j.ID, 10), strconv.FormatInt(j.ID, 10)), txt(dateTime(j.CreatedAt, loc)),
			txt(describeExport(v, &p, loc)), code(string(j.Status), st), rows, size, txt(dateTime(j.FinishedAt, loc)), txt(expires), file})
	}
	d.Table = t
	if d.Running {
		v.Refresh = 2
	}
	return s.render(w, r, v, "exports", d)
}

func describeExport(v *view, p *callbill.ExportParams, loc *time.Location) string {
	var parts []string
	if p.Cycle != "" {
		parts = append(parts, v.T("label.cycle")+" "+p.Cycle)
	} else {
		from, _ := time.Parse(time.RFC3339, p.From)
		to, _ := time.Parse(time.RFC3339, p.To)
		parts = append(parts, from.In(loc).Format("2006-01-02")+" ~ "+to.In(loc).Add(-time.Second).Format("2006-01-02"))
	}
	if p.Instance != "" {
		parts = append(parts, p.Instance)
	}
	if p.Item == "none" {
		parts = append(parts, v.T("item.none"))
	} else if p.Item != "" {
		parts = append(parts, v.ItemName(callbill.Item(p.Item)))
	}
	if p.Number != "" {
		parts = append(parts, p.Number)
	}
	if p.Direction != "" {
		parts = append(parts, v.T("dir."+p.Direction))
	}
	if p.Format != "" && p.Format != "csv" {
		parts = append(parts, strings.ToUpper(p.Format))
	}
	return strings.Join(parts, " · ")
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// exportFile sends a finished export of the account. Files are opened
// through os.Root on the export folder, so no stored name leads outside it.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "export not found")
	}
	j, err := s.Store.Job(r.Context(), id)
	if err != nil {
		return err
	}
	if j.Kind != callbill.JobExport || j.Account != v.UID {
		return callbill.Errorf(callbill.ENOTFOUND, "export %d not found", id)
	}
	if j.Status != callbill.JobDone {
		return v.errf(callbill.ECONFLICT, "err.export_not_done", j.ID, v.T("job."+string(j.Status)))
	}
	root, err := os.OpenRoot(s.ExportDir)
	if err != nil {
		return err
	}
	defer root.Close()
	var res export.Result
	json.Unmarshal([]byte(j.Result), &res)
	name := filepath.Base(res.Path)
	f, err := root.Open(name)
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "the file of export %d is gone", j.ID)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ext, kind := ".csv", "text/csv; charset=utf-8"
	if strings.HasSuffix(name, ".xlsx") {
		ext, kind = ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", kind)
	w.Header().Set("Content-Disposition", `attachment; filename="usage-`+j.Account+`-`+strconv.FormatInt(j.ID, 10)+ext+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}
