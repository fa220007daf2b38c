// Package export writes usage-detail files (docs/rules.md, "Usage detail and export"): streamed from the
// store into a temporary file in the target's folder, synced, then renamed,
// so that memory stays flat whatever the size and no reader ever sees half a
// file. It is the only writer of usage files: the CLI, the API's export jobs
// and the worker all come through Write. docs/export.md describes the files.
package export

import (
	"bufio"
	"context"
	"io"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/atomicfile"
)

// Source streams an account's calls that pass a filter, in ingest order,
// with the billing time zone (sqlstore.Store). The call passed to fn may
// be reused for the next one.
type Source interface {
	StreamUsage(ctx context.Context, uid string, f callbill.UsageFilter, fn func(loc *time.Location, c *callbill.Call) error) error
}

// Format is a usage file's format.
type Format string

const (
	CSV  Format = "csv" // UTF-8 with a BOM, the default
	XLSX Format = "xlsx"
)

// Ext is the file-name extension of the format, with its dot.
func (f Format) Ext() string {
	if f == XLSX {
		return ".xlsx"
	}
	return ".csv"
}

// ParseFormat checks a format name; "" is CSV.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", CSV:
		return CSV, nil
	case XLSX:
		return XLSX, nil
	}
	return "", callbill.Errorf(callbill.EINVALID, "format %q must be csv or xlsx", s)
}

// Options shape a usage file.
type Options struct {
	Format Format   // CSV when empty
	Extra  []string // extra columns after the standard ones, by name (ExtraColumns)
	// Progress, when set, is called with the rows written so far every
	// 10,000 rows, and once with the total at the end.
	Progress func(rows int64)
}

// ProgressEvery is how many rows go between two Progress calls.
const ProgressEvery = 10_000

// Result describes a written file.
type Result struct {
	Path  string `json:"path"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// rowWriter is a format.
type rowWriter interface {
	header(names []string) error
	row(loc *time.Location, c *callbill.Call) error
	finish() error // the rest of the file, once the rows are done
}

// Write writes the usage detail of account's calls that pass f to path: the
// standard columns (docs/rules.md, "Usage detail and export"), then o.Extra, one row per call in
// ingest order. f needs a cycle (the cycle calls are billed in) or a
// start-time range From ≤ start < To; its paging fields (Desc, After,
// Limit) are ignored. Invalid options or filters are EINVALID; an unknown
// account is ENOTFOUND (from src). The file appears at path complete or
// not at all.
func Write(ctx context.Context, src Source, account string, f callbill.UsageFilter, path string, o Options) (*Result, error) {
	format, err := ParseFormat(string(o.Format))
	if err != nil {
		return nil, err
	}
	cols, header, err := columns(o.Extra)
	if err != nil {
		return nil, err
	}
	if err := checkFilter(f); err != nil {
		return nil, err
	}
	f.Desc, f.After, f.Limit = false, 0, 0

	var n int64
	var size countingWriter
	err = atomicfile.Write(path, func(file io.Writer) error {
		size.w = file
		out := bufio.NewWriterSize(&size, 256<<10)
		var w rowWriter
		if format == XLSX {
			w = newXLSXWriter(out, cols)
		} else {
			w = newCSVWriter(out, cols)
		}
		if err := w.header(header); err != nil {
			return err
		}
		err := src.StreamUsage(ctx, account, f, func(loc *time.Location, c *callbill.Call) error {
			if err := w.row(loc, c); err != nil {
				return err
			}
			n++
			if n%ProgressEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if o.Progress != nil {
					o.Progress(n)
				}
			}
			return nil
		})
		if err == nil {
			err = w.finish()
		}
		if err == nil {
			err = out.Flush()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if o.Progress != nil {
		o.Progress(n)
	}
	return &Result{Path: path, Rows: n, Bytes: size.n}, nil
}

// Check reports, as Write would (EINVALID), whether f and o make an export:
// so that an API can refuse a bad request before queueing a job.
func Check(f callbill.UsageFilter, o Options) error {
	if _, err := ParseFormat(string(o.Format)); err != nil {
		return err
	}
	if _, _, err := columns(o.Extra); err != nil {
		return err
	}
	return checkFilter(f)
}

func checkFilter(f callbill.UsageFilter) error {
	switch {
	case f.Cycle != 0 && (!f.From.IsZero() || !f.To.IsZero()):
		return callbill.Errorf(callbill.EINVALID, "an export takes a cycle or a start-time range, not both")
	case f.Cycle == 0 && (f.From.IsZero() || f.To.IsZero()):
		return callbill.Errorf(callbill.EINVALID, "an export needs a cycle or a start-time range (from and to)")
	case f.Cycle == 0 && !f.From.Before(f.To):
		return callbill.Errorf(callbill.EINVALID, "the range's from must be before its to")
	}
	return f.CheckDirection()
}

// UsageCSV writes account's usage detail of cycle to path as CSV with the
// standard columns: Write with a cycle filter and default options.
func UsageCSV(ctx context.Context, src Source, account string, cycle callbill.Cycle, path string) (*Result, error) {
	return Write(ctx, src, account, callbill.UsageFilter{Cycle: cycle}, path, Options{})
}

// countingWriter counts the bytes of the file as they are written.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	return k, err
}
