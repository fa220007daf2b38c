package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/callbill/callbill/internal/atomicfile"
)

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	if err := atomicfile.Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "first"); return err }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := atomicfile.Write(path, func(w io.Writer) error { io.WriteString(w, "half"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("a failed fill: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "first" {
		t.Fatalf("after a failed write the file holds %q (%v), want the first version", b, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

// TestFileCommitOrAbort: a File written over time replaces the destination
// only at Commit; Abort, or a failed Commit, leaves it as it was and no
// temporary file behind.
func TestFileCommitOrAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(path, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "aborted")
	f.Abort()
	f.Abort()
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("after Abort the file holds %q", b)
	}
	if err := f.Commit(); err == nil {
		t.Fatalf("Commit after Abort succeeded")
	}

	f, err = atomicfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "sec")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("before Commit the file holds %q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // a no-op now
	if b, err := os.ReadFile(path); err != nil || string(b) != "sec" {
		t.Fatalf("after Commit the file holds %q (%v)", b, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", st.Mode().Perm(), err)
	}

	f, err = atomicfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "third")
	os.Remove(dir + "/" + mustOne(t, dir, ".out.csv.tmp-*")) // the rename fails
	if err := f.Commit(); err == nil {
		t.Fatal("Commit of a vanished temporary file succeeded")
	}
	if b, _ := os.ReadFile(path); string(b) != "sec" {
		t.Fatalf("after a failed Commit the file holds %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func mustOne(t *testing.T, dir, glob string) string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, glob))
	if len(names) != 1 {
		t.Fatalf("%s: %v", glob, names)
	}
	return filepath.Base(names[0])
}
