package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/export"
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
	res, err := export.UsageCSV(ctx, s, *acct, c, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "exported %d calls to %s\n", res.Rows, res.Path)
	return nil
}
