package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// The operator's 导入记录 (docs/imports.md): every import with its files,
// counts, who and when; an import not undone has 撤销…, which opens a page
// saying what undoing it does, with a confirmation box.

func (s *Server) imports() *ingest.Imports { return &ingest.Imports{Store: s.Store} }

type opImportsData struct {
	Table table
	Next  string // the next (older) page's link, when there may be one
}

// opImports lists the imports, newest first, 50 a page (?before=imp-N).
func (s *Server) opImports(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "op.imports"
	q := callbill.ImportQuery{Limit: callbill.DefaultImportList}
	if b := r.URL.Query().Get("before"); b != "" {
		id, err := callbill.ParseImportID(b)
		if err != nil {
			return err
		}
		q.Before = id
	}
	recs, err := s.imports().List(ctx, q)
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	d := opImportsData{Table: table{ID: "imports-table", Empty: v.T("empty.imports"), Cols: []col{
		{Key: "id", Label: v.T("col.import")}, {Key: "at", Label: v.T("col.time")}, {Key: "status", Label: v.T("col.status")},
		{Key: "imported", Label: v.T("imp.imported"), Num: true}, {Key: "duplicates", Label: v.T("imp.duplicates"), Num: true},
		{Key: "rejected", Label: v.T("imp.rejected"), Num: true}, {Key: "sources", Label: v.T("imp.sources"), Wrap: true},
		{Key: "by", Label: v.T("imp.by"), Wrap: true}, {Key: "undo", Label: v.T("imp.undo_info"), Wrap: true},
		{Key: "action", Label: v.T("col.action")}}}}
	for i := range recs {
		rec := &recs[i]
		id := callbill.ImportID(rec.ID)
		action := cell{}
		if rec.Status != callbill.ImportUndone {
			action = cell{Text: v.T("imp.undo"), V: "undo", Href: "/console/op/imports/" + url.PathEscape(id) + "/undo"}
		}
		d.Table.Rows = append(d.Table.Rows, []cell{txt(id), code(rec.At.UTC().Format(time.RFC3339), dateTime(rec.At, loc)),
			code(rec.Status, v.T("impstate."+rec.Status)), code(fmt.Sprint(rec.Imported), fmt.Sprint(rec.Imported)),
			code(fmt.Sprint(rec.Duplicates), fmt.Sprint(rec.Duplicates)), code(fmt.Sprint(rec.Rejected), fmt.Sprint(rec.Rejected)),
			orDash(strings.Join(rec.Sources, ", ")), orDash(rec.By), txt(undoText(v, rec, loc)), action})
	}
	if len(recs) == q.Limit {
		d.Next = "/console/op/imports?before=" + url.QueryEscape(callbill.ImportID(recs[len(recs)-1].ID))
	}
	return s.render(w, r, v, "op_imports", d)
}

// undoText says who undid an import, when, and what it did.
func undoText(v *view, rec *callbill.ImportRecord, loc *time.Location) string {
	if rec.Status != callbill.ImportUndone {
		return ""
	}
	out := dateTime(rec.UndoneAt, loc) + " " + rec.UndoneBy
	if u := rec.Undo; u != nil {
		out += " · " + fmt.Sprintf(v.T("imp.undo_summary"), u.Removed, u.Rerated)
	}
	return out
}

type opUndoData struct {
	Import *callbill.ImportRecord
	ID     string
	Facts  []fact
	Undone bool
	Key    string
}

// opUndoPage shows an import and what undoing it does, with the form.
func (s *Server) opUndoPage(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "op.imports"
	id, err := callbill.ParseImportID(r.PathValue("id"))
	if err != nil {
		return err
	}
	rec, err := s.Store.Import(ctx, id)
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	v.Title = v.T("title.op_import_undo") + " " + callbill.ImportID(id)
	v.shown("undo")
	d := opUndoData{Import: rec, ID: callbill.ImportID(id), Undone: rec.Status == callbill.ImportUndone, Key: newToken(), Facts: []fact{
		{Key: "at", Label: v.T("col.time"), Value: dateTime(rec.At, loc)},
		{Key: "status", Label: v.T("col.status"), Value: v.T("impstate." + rec.Status)},
		{Key: "sources", Label: v.T("imp.sources"), Value: strings.Join(rec.Sources, ", ")},
		{Key: "by", Label: v.T("imp.by"), Value: rec.By},
		{Key: "counts", Label: v.T("imp.counts"), Value: fmt.Sprintf(v.T("imp.counts_text"), rec.Imported, rec.Duplicates, rec.Rejected)},
		{Key: "undo", Label: v.T("imp.undo_info"), Value: undoText(v, rec, loc)},
	}}
	return s.render(w, r, v, "op_import_undo", d)
}

// consoleActor says who acts from the console on an import record.
func consoleActor(sess *callbill.ConsoleSession) string {
	if sess.User != "" {
		return "console:" + sess.User
	}
	return "console:" + sess.Via
}

// opUndo undoes an import once its box is ticked, and goes back to the
// list saying what it did; a refusal (a closed cycle) stays on the
// import's page, saying why and that an adjustment is the way.
func (s *Server) opUndo(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		id, err := callbill.ParseImportID(r.PathValue("id"))
		if err != nil {
			return outcome{}, err
		}
		page := "/console/op/imports/" + url.PathEscape(callbill.ImportID(id)) + "/undo"
		out := outcome{To: page, For: "undo"}
		if r.PostFormValue("confirm") != "yes" {
			return out, v.errf(callbill.EINVALID, "imp.confirm_needed")
		}
		rec, err := s.imports().Undo(r.Context(), ingest.UndoInput{ID: id, By: consoleActor(v.Sess)})
		if err != nil {
			return out, err
		}
		u := rec.Undo
		if u.Already {
			out.OK = fmt.Sprintf(v.T("imp.already"), callbill.ImportID(id))
			return outcome{To: page, OK: out.OK}, nil
		}
		s.Log.Info("console undid an import", "import", callbill.ImportID(id), "removed", u.Removed, "rerated", u.Rerated, "by", rec.UndoneBy)
		cycles := make([]string, len(u.Cycles))
		for i, c := range u.Cycles {
			cycles[i] = c.String()
		}
		return outcome{To: "/console/op/imports", OK: fmt.Sprintf(v.T("imp.undone"), callbill.ImportID(id), u.Removed, u.Rerated,
			u.AccountsText(10), strings.Join(cycles, ", "))}, nil
	})
}

// orDash is a cell of s, shown "—" when s is empty (an import whose record
// names no file or actor, such as one made before records named them).
func orDash(s string) cell {
	if s == "" {
		return cell{Text: "—"}
	}
	return txt(s)
}
