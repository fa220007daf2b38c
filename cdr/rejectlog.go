package cdr

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/atomicfile"
)

// RejectLog keeps an import's rejects on disk, in input order, until the
// rejects files are written: an input of millions of bad rows holds no
// reasons in memory. The rejects files are then written by reading each
// input again beside the log (WriteFile), so the hot path of the import
// never keeps a raw row.
type RejectLog struct {
	f *os.File
	w *bufio.Writer
	c *csv.Writer
	n map[int]int64 // rejects per input file
}

// StoredRejectsDir is the folder, inside a server's export folder, that
// keeps the rejects files of its API imports (StoredRejectsName); the worker
// deletes them when they are as old as expired exports.
const StoredRejectsDir = "rejects"

// StoredRejectsName is the path, inside the export folder, of the rejects
// file of API import id.
func StoredRejectsName(id string) string { return StoredRejectsDir + "/" + id + ".csv" }

// NewRejectLog creates the log as a private temporary file in dir ("" for
// the system's temporary folder).
func NewRejectLog(dir string) (*RejectLog, error) {
	f, err := os.CreateTemp(dir, ".callbill-rejects-*.log")
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	return &RejectLog{f: f, w: w, c: csv.NewWriter(w), n: map[int]int64{}}, nil
}

// Add appends a reject; give them in input order (callbill.ImportOptions.OnReject does).
func (l *RejectLog) Add(r callbill.Reject) error {
	l.n[r.Pos.File]++
	return l.c.Write([]string{strconv.Itoa(r.Pos.File), strconv.Itoa(r.Pos.Line), r.Reason})
}

// Count returns how many rejects the log holds for input file.
func (l *RejectLog) Count(file int) int64 { return l.n[file] }

// Close removes the log.
func (l *RejectLog) Close() error {
	l.f.Close()
	return os.Remove(l.f.Name())
}

// WriteFileAt writes the rejects file of input number file, read again from
// inputPath, to outPath (mode 0600), whole or not at all. It returns the rows
// written.
func (l *RejectLog) WriteFileAt(file int, inputPath, outPath string) (int64, error) {
	in, err := os.Open(inputPath)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	var n int64
	err = atomicfile.Write(outPath, func(w io.Writer) error {
		n, err = l.WriteFile(file, in, w)
		return err
	})
	return n, err
}

// WriteFile writes the rejects file of input number file: input is read
// again, and each row whose line the log names is written with its original
// fields, its line and the reason. A logged reason whose row the second
// reading does not meet (the input changed in between) is still written,
// with empty fields: a reject is never lost. It returns the rows written.
func (l *RejectLog) WriteFile(file int, input io.Reader, out io.Writer) (int64, error) {
	l.c.Flush()
	if err := l.c.Error(); err != nil {
		return 0, err
	}
	log, err := os.Open(l.f.Name())
	if err != nil {
		return 0, err
	}
	defer log.Close()
	reasons := csv.NewReader(bufio.NewReaderSize(log, 64<<10))
	reasons.FieldsPerRecord = 3
	reasons.ReuseRecord = true
	next := func() (line int, reason string, ok bool, err error) {
		for {
			rec, err := reasons.Read()
			if err == io.EOF {
				return 0, "", false, nil
			}
			if err != nil {
				return 0, "", false, fmt.Errorf("rejects log: %w", err)
			}
			if f, _ := strconv.Atoi(rec[0]); f != file {
				continue
			}
			line, _ := strconv.Atoi(rec[1])
			return line, rec[2], true, nil
		}
	}

	dec, err := NewDecoder(input)
	if err != nil {
		return 0, err
	}
	w := NewRejectsWriter(out, dec.RejectHeader())
	var written int64
	write := func(line int, fields []string, reason string) error {
		written++
		return w.Write(&callbill.Reject{Pos: callbill.Pos{Line: line}, Reason: reason, Fields: fields})
	}
	line, reason, ok, err := next()
	for ok && err == nil {
		rec, derr := dec.Next()
		var at int
		var fields []string
		var re *callbill.Reject
		switch {
		case errors.As(derr, &re):
			at, fields = re.Line, re.Fields
		case derr != nil: // the end, or a fatal error: the rest goes out without fields
			at = int(^uint(0) >> 1)
		default:
			at, fields = rec.Line, RawFields(dec.AppendRaw(nil))
		}
		for ok && err == nil && line < at { // not met: the input changed since
			if err = write(line, nil, reason); err == nil {
				line, reason, ok, err = next()
			}
		}
		if ok && err == nil && line == at {
			if err = write(line, fields, reason); err == nil {
				line, reason, ok, err = next()
			}
		}
	}
	if err != nil {
		return written, err
	}
	return written, w.Flush()
}
