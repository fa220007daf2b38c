package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/callbill/callbill"
)

func (a *app) usageExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("usage export", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	cycle := fs.String("cycle", "", "billing cycle YYYY-MM")
	out := fs.String("o", "", "output file (default usage-UID-CYCLE.csv)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || *cycle == "" || len(pos) > 0 {
		return usagef("usage export needs --account UID and --cycle YYYY-MM")
	}
	c, err := callbill.ParseCycle(*cycle)
	if err != nil {
		return usagef("%s", err)
	}
	if *out == "" {
		*out = fmt.Sprintf("usage-%s-%s.csv", *acct, c)
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	// Write to a temporary file beside the target, sync, rename: a reader
	// never sees half a file.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".usage-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<16)
	bw.WriteString("\ufeff")
	w := csv.NewWriter(bw)
	w.Write(callbill.UsageCSVHeader)
	var row []string
	n := 0
	err = s.Calls(ctx, *acct, c, func(loc *time.Location, call *callbill.Call) error {
		row = callbill.UsageCSVRow(call, loc, row)
		n++
		return w.Write(row)
	})
	if err != nil {
		tmp.Close()
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "exported %d calls to %s\n", n, *out)
	return nil
}
