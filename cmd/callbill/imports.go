package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"runtime/debug"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/sqlstore"
)

// The import records: import list and import undo (docs/imports.md).

// cliActor says who runs this command on an import record: cli:user@host.
func cliActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "cli:" + name + "@" + host
}

func (a *app) importList(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", callbill.DefaultImportList, fmt.Sprintf("at most `N` imports, newest first (1…%d)", callbill.MaxImportList))
	before := fs.String("before", "", "only imports older than `ID` (imp-N): the next page")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("import list takes no arguments")
		}
		if *limit < 1 || *limit > callbill.MaxImportList {
			return usagef("--limit must be 1…%d", callbill.MaxImportList)
		}
		q := callbill.ImportQuery{Limit: *limit}
		if *before != "" {
			id, err := callbill.ParseImportID(*before)
			if err != nil {
				return usagef("--before: %s", callbill.ErrorMessage(err))
			}
			q.Before = id
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		recs, err := (&ingest.Imports{Store: s}).List(ctx, q)
		if err != nil {
			return err
		}
		if len(recs) == q.Limit {
			defer fmt.Fprintf(a.stderr, "more may be older: callbill import list --before %s\n", callbill.ImportID(recs[len(recs)-1].ID))
		}
		if *asJSON {
			out := []api.ImportJSON{}
			for i := range recs {
				out = append(out, api.ToImportJSON(&recs[i]))
			}
			return a.webhookJSON(out)
		}
		loc, err := s.Location(ctx)
		if err != nil {
			return err
		}
		t := newTable(left("导入ID"), left("时间"), left("状态"), right("导入"), right("重复"), right("拒绝"), left("来源"), left("操作人"), left("撤销"))
		for i := range recs {
			r := &recs[i]
			undo := ""
			if r.Status == callbill.ImportUndone {
				undo = r.UndoneAt.In(loc).Format("2006-01-02 15:04:05") + " " + r.UndoneBy
				if u := r.Undo; u != nil {
					undo += fmt.Sprintf("（移除 %d，重算 %d）", u.Removed, u.Rerated)
				}
			}
			t.row(callbill.ImportID(r.ID), r.At.In(loc).Format("2006-01-02 15:04:05"), zh(callbill.ImportStatusLabel, r.Status),
				fmt.Sprint(r.Imported), fmt.Sprint(r.Duplicates), fmt.Sprint(r.Rejected), strings.Join(r.Sources, ", "), r.By, undo)
		}
		return t.write(a.stdout)
	}
}

func (a *app) importUndo(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("import undo needs one import ID (imp-N, as import list shows it)")
		}
		id, err := callbill.ParseImportID(pos[0])
		if err != nil {
			return usagef("%s", callbill.ErrorMessage(err))
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(80 << 20) // as import: the heap stays near it whatever the import's size
		}
		started := time.Now()
		rec, err := (&ingest.Imports{Store: s}).Undo(ctx, ingest.UndoInput{ID: id, By: cliActor()})
		if err != nil {
			return err
		}
		if *asJSON {
			return a.webhookJSON(api.ToImportJSON(rec))
		}
		u := rec.Undo
		if u.Already {
			loc, err := s.Location(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s was undone already (%s by %s): nothing changed\n", callbill.ImportID(id), rec.UndoneAt.In(loc).Format("2006-01-02 15:04:05"), rec.UndoneBy)
			return nil
		}
		if u.Removed == 0 {
			fmt.Fprintf(a.stdout, "undid %s: it had no stored calls\n", callbill.ImportID(id))
			return nil
		}
		cycles := make([]string, len(u.Cycles))
		for i, c := range u.Cycles {
			cycles[i] = c.String()
		}
		fmt.Fprintf(a.stdout, "undid %s: removed %d calls, rated %d later calls again; accounts %s; open cycles %s (%.1f s)\n",
			callbill.ImportID(id), u.Removed, u.Rerated, u.AccountsText(10), strings.Join(cycles, ", "), time.Since(started).Seconds())
		return nil
	}
}
