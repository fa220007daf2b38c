package cdr_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
)

// TestRejectsFilesWantInputOrder: each input's file is whole at Commit,
// a reject out of input order is an error, and Close removes what was not
// committed.
func TestRejectsFilesWantInputOrder(t *testing.T) {
	dir := t.TempDir()
	path := func(file int) string { return filepath.Join(dir, "sub", strconv.Itoa(file)+".csv") }
	files := cdr.NewRejectsFiles(path, func(int) []string { return []string{"a", "b", "line", "reason"} })
	defer files.Close()
	for _, r := range []callbill.Reject{
		{Pos: callbill.Pos{File: 0, Line: 2}, Reason: "r1", Fields: []string{"x", "y"}},
		{Pos: callbill.Pos{File: 2, Line: 3}, Reason: "r2"},
		{Pos: callbill.Pos{File: 2, Line: 4}, Reason: "r3", Fields: []string{"nul\x00"}},
		{Pos: callbill.Pos{File: 3, Line: 5}, Reason: "r4", Fields: []string{"p", "q"}},
	} {
		if err := files.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := files.Add(callbill.Reject{Pos: callbill.Pos{File: 1, Line: 9}}); err == nil {
		t.Fatal("a reject of input 1 after those of input 3 was taken")
	}
	if _, err := os.Stat(path(0)); !os.IsNotExist(err) {
		t.Fatalf("a rejects file in place before Commit: %v", err)
	}
	for file, want := range []string{"a,b,line,reason\nx,y,2,r1\n", "", "a,b,line,reason\n,,3,r2\nnul\\x00,,4,r3\n"} {
		written, err := files.Commit(file)
		if err != nil || written != (want != "") {
			t.Fatalf("input %d: written %v, %v", file, written, err)
		}
		if b, _ := os.ReadFile(path(file)); string(b) != want {
			t.Errorf("input %d: %q, want %q", file, b, want)
		}
	}
	files.Close() // input 3 was not committed
	if entries, _ := os.ReadDir(filepath.Join(dir, "sub")); len(entries) != 2 {
		t.Errorf("after Close: %v, want the two committed files", entries)
	}
}
