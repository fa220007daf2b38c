package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/sqlstore"
)

// TestTailFoldsWithoutChangingAnything imports, reads and undoes the same
// calls in a store whose small blocks stay in the tail and in one that
// folds its tail into the index by account every five blocks (after the
// second and third imports, not the fourth), so that its reads and its
// undo meet blocks in both places: bills, usage in both orders and the undo
// come out the same.
func TestTailFoldsWithoutChangingAnything(t *testing.T) {
	pair(t, func(t *testing.T, folding, tailed *sqlstore.Store) {
		sqlstore.SetFoldTailAt(folding, 5)
		sqlstore.SetFoldTailAt(tailed, 1<<40)
		a, b, c, d := undoImports()
		var repB [2]*callbill.ImportReport
		for i, s := range []*sqlstore.Store{folding, tailed} {
			mustApply(t, s, undoWorld)
			importCalls(t, s, callbill.ImportOptions{}, a...)
			repB[i] = importCalls(t, s, callbill.ImportOptions{}, b...)
			importCalls(t, s, callbill.ImportOptions{}, c...)
			importCalls(t, s, callbill.ImportOptions{}, d...)
		}
		fi, ft, err := sqlstore.BlocksByPlace(folding)
		if err != nil {
			t.Fatal(err)
		}
		ti, tt, err := sqlstore.BlocksByPlace(tailed)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(t.Name(), "TestTailFoldsWithoutChangingAnything/sqlite") {
			if fi == 0 || ft == 0 || ti != 0 || tt == 0 {
				t.Fatalf("blocks indexed/in the tail: folding %d/%d, tailed %d/%d; want both places in the first, the tail only in the second", fi, ft, ti, tt)
			}
		}
		same := func(when string) {
			t.Helper()
			if got, want := snapshot(t, folding)+newestFirst(t, folding), snapshot(t, tailed)+newestFirst(t, tailed); got != want {
				t.Errorf("%s: folding:\n%s\ntail only:\n%s", when, got, want)
			}
		}
		same("after four imports")
		for i, s := range []*sqlstore.Store{folding, tailed} {
			undoImport(t, s, repB[i].Import)
		}
		same("after an undo")
	})
}

// newestFirst lists each account's calls of October, newest first.
func newestFirst(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	var sb strings.Builder
	for _, uid := range []string{"3001", "3002", "3003"} {
		c, _ := callbill.ParseCycle("2026-10")
		err := s.StreamUsage(context.Background(), uid, callbill.UsageFilter{Cycle: c, Desc: true}, func(_ *time.Location, c *callbill.Call) error {
			fmt.Fprintf(&sb, "%s %s %d\n", uid, c.ContactID, c.Seq)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return sb.String()
}
