package cdr

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/atomicfile"
)

// StoredRejectsDir is the folder, inside a server's export folder, that
// keeps the rejects files of its API imports (StoredRejectsName); the worker
// deletes them when they are as old as expired exports.
const StoredRejectsDir = "rejects"

// StoredRejectsName is the path, inside the export folder, of the rejects
// file of API import id.
func StoredRejectsName(id string) string { return StoredRejectsDir + "/" + id + ".csv" }

// RejectsFiles writes the rejects files of an import as its rejects come:
// give Add to callbill.ImportOptions.OnReject, which hands them over in
// input order, each with its fields (the source being a callbill.RawSource).
// An input's file is created at its first reject (as a temporary file beside
// it, creating its folder if need be) and streamed there, so that however
// many rows are rejected none is held; after the import Commit puts each in
// place whole, and Close removes whatever was not committed.
type RejectsFiles struct {
	path   func(file int) string   // where the rejects of input file go
	header func(file int) []string // their header (Decoder.RejectHeader)
	cur    int                     // the input being written, -1 before the first
	f      *atomicfile.File        // its file, nil when none is open
	buf    *bufio.Writer
	w      *RejectsWriter
	done   map[int]*atomicfile.File // written and closed, waiting for Commit
}

// NewRejectsFiles returns a writer of rejects files: path names the file of
// an input (by its index in the import) and header gives its header, the
// RejectHeader of the input's decoder. Both are called at the input's first
// reject, on the goroutine that calls Add.
func NewRejectsFiles(path func(file int) string, header func(file int) []string) *RejectsFiles {
	return &RejectsFiles{path: path, header: header, cur: -1, done: map[int]*atomicfile.File{}}
}

// Add writes a reject to its input's rejects file. Rejects must come in
// input order, as OnReject gives them.
func (r *RejectsFiles) Add(rej callbill.Reject) error {
	if r.f == nil || rej.File != r.cur {
		if rej.File < r.cur || rej.File == r.cur && r.f == nil {
			return fmt.Errorf("rejects file: a reject of input %d after those of input %d", rej.File, r.cur)
		}
		if err := r.finish(); err != nil {
			return err
		}
		if err := r.start(rej.File); err != nil {
			return err
		}
	}
	return r.w.Write(&rej)
}

func (r *RejectsFiles) start(file int) error {
	path := r.path(file)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	r.cur, r.f = file, f
	if r.buf == nil {
		r.buf = bufio.NewWriterSize(f, 64<<10)
	} else {
		r.buf.Reset(f)
	}
	r.w = NewRejectsWriter(r.buf, r.header(file))
	return nil
}

// finish writes out the open file and closes it, synced, until Commit.
func (r *RejectsFiles) finish() error {
	if r.f == nil {
		return nil
	}
	f := r.f
	r.f = nil
	r.done[r.cur] = f
	err := r.w.Flush()
	if err == nil {
		err = r.buf.Flush()
	}
	if err == nil {
		err = f.Close()
	}
	return err
}

// Commit puts the rejects file of input file in place, replacing any file
// there, and reports whether the input had rejects: one without has no file.
func (r *RejectsFiles) Commit(file int) (bool, error) {
	if file == r.cur {
		if err := r.finish(); err != nil {
			return false, err
		}
	}
	f := r.done[file]
	if f == nil {
		return false, nil
	}
	delete(r.done, file)
	return true, f.Commit()
}

// Close removes the rejects files not committed (an import that failed
// leaves none behind). It may be called after Commit.
func (r *RejectsFiles) Close() {
	if r.f != nil {
		r.f.Abort()
		r.f = nil
	}
	for file, f := range r.done {
		f.Abort()
		delete(r.done, file)
	}
}
