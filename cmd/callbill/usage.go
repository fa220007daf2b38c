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
	"golang.org/x/term"
)

// usageExportText is `usage export`'s own help.
const usageExportText = `usage: callbill usage export --account UID (--cycle YYYY-MM | --from RFC3339 --to RFC3339)
         [--instance ID] [--item ITEM|none] [--number N] [--direction inbound|outbound]
         [--format csv|xlsx] [--extra COL,…] [-o FILE] [-q]

  --cycle      the cycle the calls are billed in (a late call in its later cycle)
  --from/--to  instead: calls that started in [from, to)
  --item       FixedLineInbound, FixedLineOutbound, Inbound_400, or none (no telecom item)
  --extra      extra columns after the standard ones: %s
  -o           output file (default usage-UID-CYCLE.csv, or .xlsx)
  -q           no progress line
`

func (a *app) usageExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("usage export", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	cycle := fs.String("cycle", "", "billing cycle YYYY-MM")
	from := fs.String("from", "", "calls started at or after (RFC 3339)")
	to := fs.String("to", "", "calls started before (RFC 3339)")
	instance := fs.String("instance", "", "instance id")
	item := fs.String("item", "", "telecom billing item, or none")
	number := fs.String("number", "", "service number")
	direction := fs.String("direction", "", "inbound or outbound")
	format := fs.String("format", "csv", "csv or xlsx")
	extra := fs.String("extra", "", "extra columns, comma-separated")
	out := fs.String("o", "", "output file")
	quiet := fs.Bool("q", false, "no progress line")
	help := fs.Bool("h", false, "help")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *help {
		fmt.Fprintf(a.stdout, usageExportText, strings.Join(export.ExtraColumns(), ","))
		return nil
	}
	if len(pos) > 0 {
		return usagef("usage export takes no arguments (got %q)", pos[0])
	}
	if *acct == "" {
		return usagef("usage export needs --account UID")
	}
	f := callbill.UsageFilter{Instance: *instance, Item: callbill.Item(*item), Number: callbill.Digits(*number),
		Direction: callbill.Direction(strings.ToLower(*direction))}
	if *number != "" && f.Number == "" {
		return usagef("--number %q has no digits", *number)
	}
	name := ""
	switch {
	case *cycle != "" && (*from != "" || *to != ""):
		return usagef("usage export takes --cycle or --from/--to, not both")
	case *cycle != "":
		if f.Cycle, err = callbill.ParseCycle(*cycle); err != nil {
			return usagef("%s", errorText(err))
		}
		name = f.Cycle.String()
	case *from != "" && *to != "":
		if f.From, err = time.Parse(time.RFC3339, *from); err != nil {
			return usagef("--from %q must be RFC 3339, e.g. 2026-10-01T00:00:00+08:00", *from)
		}
		if f.To, err = time.Parse(time.RFC3339, *to); err != nil {
			return usagef("--to %q must be RFC 3339, e.g. 2026-11-01T00:00:00+08:00", *to)
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
	fm, err := export.ParseFormat(strings.ToLower(*format))
	if err != nil {
		return usagef("--format must be csv or xlsx")
	}
	o := export.Options{Format: fm}
	if *extra != "" {
		o.Extra = strings.Split(*extra, ",")
	}
	if err := export.Check(f, o); err != nil {
		return usagef("%s", errorText(err))
	}
	if *out == "" {
		*out = "usage-" + *acct + "-" + name + fm.Ext()
	}
	s, err := a.open(ctx)
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
	if f, ok := a.stderr.(*os.File); ok && !*quiet && term.IsTerminal(int(f.Fd())) {
		o.Progress = func(rows int64) {
			el := time.Since(started).Seconds()
			fmt.Fprintf(a.stderr, "\r\033[Kexporting: %d rows, %.0f rows/s", rows, float64(rows)/max(el, 1e-9))
		}
	}
	res, err := export.Write(ctx, s, *acct, f, *out, o)
	if o.Progress != nil {
		fmt.Fprint(a.stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "exported %d calls to %s\n", res.Rows, res.Path)
	return nil
}
