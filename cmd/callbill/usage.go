package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/export"
	"github.com/callbill/callbill/sqlstore"
	"golang.org/x/term"
)

// exportFlags are usage export's flags.
type exportFlags struct {
	acct, cycle, from, to, instance, item, number, direction, format, extra, out string
	quiet                                                                        bool
}

func (a *app) usageExport(fs *flag.FlagSet) runner {
	var o exportFlags
	fs.StringVar(&o.acct, "account", "", "the account's `UID`")
	fs.StringVar(&o.cycle, "cycle", "", "the cycle `YYYY-MM` the calls are billed in (a late call in its later cycle)")
	fs.StringVar(&o.from, "from", "", "instead of --cycle: calls that started at or after `RFC3339` (a time)")
	fs.StringVar(&o.to, "to", "", "with --from: calls that started before `RFC3339` (a time)")
	fs.StringVar(&o.instance, "instance", "", "only the instance `ID`")
	fs.StringVar(&o.item, "item", "", "only the telecom billing `ITEM` (FixedLineInbound, FixedLineOutbound, Inbound_400), or none: calls without one")
	fs.StringVar(&o.number, "number", "", "only the service `NUMBER`")
	fs.StringVar(&o.direction, "direction", "", "only one direction, `inbound|outbound`")
	fs.StringVar(&o.format, "format", "csv", "the file format, `csv|xlsx`")
	fs.StringVar(&o.extra, "extra", "", "extra columns (`COL,…`) after the standard ones")
	fs.StringVar(&o.out, "o", "", "the output `FILE` (default usage-UID-CYCLE.csv, or .xlsx)")
	fs.BoolVar(&o.quiet, "q", false, "no progress line")
	return func(ctx context.Context, pos []string) error { return a.runUsageExport(ctx, pos, &o) }
}

func (a *app) runUsageExport(ctx context.Context, pos []string, o *exportFlags) error {
	var err error
	if len(pos) > 0 {
		return usagef("usage export takes no arguments (got %q)", pos[0])
	}
	if o.acct == "" {
		return usagef("usage export needs --account UID")
	}
	f := callbill.UsageFilter{Instance: o.instance, Item: callbill.Item(o.item), Number: callbill.Digits(o.number),
		Direction: callbill.Direction(strings.ToLower(o.direction))}
	if o.number != "" && f.Number == "" {
		return usagef("--number %q has no digits", o.number)
	}
	name := ""
	switch {
	case o.cycle != "" && (o.from != "" || o.to != ""):
		return usagef("usage export takes --cycle or --from/--to, not both")
	case o.cycle != "":
		if f.Cycle, err = callbill.ParseCycle(o.cycle); err != nil {
			return usagef("%s", errorText(err))
		}
		name = f.Cycle.String()
	case o.from != "" && o.to != "":
		if f.From, err = time.Parse(time.RFC3339, o.from); err != nil {
			return usagef("--from %q must be RFC 3339, e.g. 2026-10-01T00:00:00+08:00", o.from)
		}
		if f.To, err = time.Parse(time.RFC3339, o.to); err != nil {
			return usagef("--to %q must be RFC 3339, e.g. 2026-11-01T00:00:00+08:00", o.to)
		}
		if !f.From.Before(f.To) {
			return usagef("--from must be before --to")
		}
		name = f.From.Format("20060102T150405") + "-" + f.To.Format("20060102T150405")
	default:
		return usagef("usage export needs --cycle YYYY-MM, or --from and --to")
	}
	switch f.Item {
	case "", "none", callbill.ItemFixedLineInbound, callbill.ItemFixedLineOutbound, callbill.ItemInbound400:
	default:
		return usagef("--item must be FixedLineInbound, FixedLineOutbound, Inbound_400 or none")
	}
	if f.CheckDirection() != nil {
		return usagef("--direction must be inbound or outbound")
	}
	fm, err := export.ParseFormat(strings.ToLower(o.format))
	if err != nil {
		return usagef("--format must be csv or xlsx")
	}
	eo := export.Options{Format: fm}
	if o.extra != "" {
		eo.Extra = strings.Split(o.extra, ",")
	}
	if err := export.Check(f, eo); err != nil {
		return usagef("%s", errorText(err))
	}
	if o.out == "" {
		o.out = "usage-" + o.acct + "-" + name + fm.Ext()
	}
	s, err := a.open(ctx, sqlstore.Read)
	if err != nil {
		return err
	}
	defer s.Close()

	// An export streams; keep the Go heap small whatever its size (the
	// operator's GOMEMLIMIT wins).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
	started := time.Now()
	if f, ok := a.stderr.(*os.File); ok && !o.quiet && term.IsTerminal(int(f.Fd())) {
		eo.Progress = func(rows int64) {
			el := time.Since(started).Seconds()
			fmt.Fprintf(a.stderr, "\r\033[Kexporting: %d rows, %.0f rows/s", rows, float64(rows)/max(el, 1e-9))
		}
	}
	res, err := export.Write(ctx, s, o.acct, f, o.out, eo)
	if eo.Progress != nil {
		fmt.Fprint(a.stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "exported %d calls to %s\n", res.Rows, res.Path)
	return nil
}
