// Package atomicfile writes a file so that a reader sees the whole of it or
// nothing: into a temporary file in the same folder, synced, renamed over
// the destination, and the folder synced so the rename survives a crash.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// TempGlob matches the temporary files Write and Create make
// (".NAME.tmp-RANDOM"): one left by a process that died midway can be
// removed once no live process can still be writing it.
const TempGlob = ".*.tmp-*"

// Write creates path with mode 0600 from what fill writes, unbuffered (fill
// buffers as it needs). On any error the destination is left as it was and
// the temporary file is removed.
func Write(path string, fill func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort() // a no-op after Commit
	if err := fill(f); err != nil {
		return err
	}
	return f.Commit()
}

// File is a file being written whole or not at all, for writers that cannot
// hand Write a single fill function (they write as something else goes on):
// Create it, write it, then Commit it into place or Abort it.
type File struct {
	f      *os.File
	path   string
	closed bool
	done   bool // committed or aborted
	err    error
}

// Create starts path (mode 0600) as a temporary file in its folder; the
// destination is untouched until Commit.
func Create(path string) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &File{f: tmp, path: path}, nil
}

// Write writes to the temporary file, unbuffered.
func (f *File) Write(b []byte) (int, error) { return f.f.Write(b) }

// Close syncs and closes the temporary file, so that a writer of many files
// keeps one open at a time; Commit still has to rename it. Calling it again
// returns the first result.
func (f *File) Close() error {
	if !f.closed {
		f.closed = true
		f.err = f.f.Sync()
		if err := f.f.Close(); f.err == nil {
			f.err = err
		}
	}
	return f.err
}

// Commit closes the file (Close) and renames it over the destination; on an
// error the destination is left as it was and the temporary file removed.
func (f *File) Commit() error {
	if f.done {
		return os.ErrClosed
	}
	err := f.Close()
	if err == nil {
		err = os.Rename(f.f.Name(), f.path)
	}
	if err != nil {
		f.Abort()
		return err
	}
	f.done = true
	SyncDir(filepath.Dir(f.path))
	return nil
}

// Abort removes the temporary file; the destination is left as it was. It
// does nothing after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.f.Name())
}

// SyncDir makes a rename in dir durable, where the system allows it.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
