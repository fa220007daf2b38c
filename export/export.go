// Package export writes usage-detail files (DESIGN §3.13): streamed from the
// store into a temporary file in the target's folder, synced, then renamed,
// so that memory stays flat whatever the size and no reader ever sees half a
// file.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"time"

	"github.com/callbill/callbill"
)

// CallSource streams an account's rated calls of a cycle (sqlstore.Store).
type CallSource interface {
	Calls(ctx context.Context, uid string, c callbill.Cycle, fn func(loc *time.Location, call *callbill.Call) error) error
}

// Result describes a written file.
type Result struct {
	Path  string `json:"path"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// UsageCSV writes account's usage detail of cycle to path as UTF-8 CSV with a
// BOM (so Excel reads the Chinese header) and the standard columns.
func UsageCSV(ctx context.Context, src CallSource, account string, cycle callbill.Cycle, path string) (*Result, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*.csv")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	bw := bufio.NewWriterSize(tmp, 1<<16)
	bw.WriteString("\ufeff")
	w := csv.NewWriter(bw)
	w.Write(callbill.UsageCSVHeader)
	var row []string
	var n int64
	err = src.Calls(ctx, account, cycle, func(loc *time.Location, call *callbill.Call) error {
		row = callbill.UsageCSVRow(call, loc, row)
		n++
		return w.Write(row)
	})
	if err == nil {
		w.Flush()
		err = w.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(tmp.Name())
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	return &Result{Path: path, Rows: n, Bytes: st.Size()}, nil
}
