package export_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/export"
)

// TestFilesArePrivate: a usage file is the tenant's private data: it is
// created 0600, whatever the format and the umask, and nothing but the
// file is left in the folder.
func TestFilesArePrivate(t *testing.T) {
	loc := shanghai(t)
	cycle := callbill.CycleOf(time.Date(2026, 10, 5, 0, 0, 0, 0, loc), loc)
	src := &fakeSource{loc: loc, calls: []callbill.Call{{Account: "1001", Cycle: cycle, CDR: callbill.CDR{ContactID: "c1", Start: 1791000000, End: 1791000061}}}}
	dir := t.TempDir()
	for _, format := range []export.Format{export.CSV, export.XLSX} {
		path := filepath.Join(dir, "usage"+format.Ext())
		if _, err := export.Write(context.Background(), src, "1001", callbill.UsageFilter{Cycle: cycle}, path, export.Options{Format: format}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", format, st.Mode().Perm())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the folder holds %v", entries)
	}
}
