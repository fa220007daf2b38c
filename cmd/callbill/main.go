// Command callbill is the CLI of callbill: apply a world file, import call
// detail records, close and show bills, export usage, run the demo.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/sqlstore"
)

// Exit statuses (DESIGN §4.3).
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitRejected = 3
	exitDenied   = 4 // authorize: the call is refused
)

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitCode lets a command choose a non-error exit status (import's 3).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

const usageText = `usage: callbill [--db DSN] COMMAND [ARGS]

commands:
  apply -f world.yaml                   apply a world file (idempotent upsert)
  import [--strict] FILE...             import CDRs (CSV or CCC JSON; - for stdin)
  bill close YYYY-MM                    close a cycle (and every earlier open one)
  bill show --account UID --cycle YYYY-MM [--by item|instance] [--period cycle|day] [--json]
  usage export --account UID (--cycle YYYY-MM | --from T --to T) [--instance ID] [--item I] [--number N]
               [--direction D] [--format csv|xlsx] [--extra a,b] [-o FILE]
  serve [--addr 127.0.0.1:8080] [--exports DIR] [--node NAME] [--auto-close=false]
  topup --account UID --amount 100.00 --key KEY
  adjust --account UID --amount ±AMOUNT --reason TEXT --key KEY [--corrects bill:YYYY-MM]
  account show UID [--json]             cash, credit, outstanding, available, state, packages, numbers, alerts
  ledger --account UID                  the statement, with running balance
  ledger verify [--account UID]         prove that balances and bills reconcile with the ledger
  authorize --instance ID --number N --direction inbound|outbound   (exit 4 when denied)
  accesskey create --account UID [--json] | accesskey revoke ID
  webhook add --url URL [--account UID] [--events KIND,…] [--json]   (prints the signing secret once)
  webhook list [--json] | webhook log ID [--limit N] [--json] | webhook replay ID [--event EVENT_ID] | webhook disable ID
  invoice title add --account UID --kind company|person --name N [--type general|special] [--tax-id …] [--bank …]
                    [--bank-account …] [--address …] [--phone …] | invoice title list|delete --account UID [ID]
  invoice apply --account UID --title ID --amount 12.34 [--type T] [--remark R] [--key K]
  invoice list [--account UID] [--status S] [--json]   (with the invoiceable amount when --account is given)
  invoice withdraw --account UID ID | invoice issue ID --number N [--date YYYY-MM-DD] | invoice reject ID --reason R
  contract create --account UID (--purchase ID | --from YYYY-MM --to YYYY-MM) [--address …] [--contact …] [--phone …] …
  contract list [--account UID] [--status S] | contract show|confirm|void|pdf --account UID ID [--reason R] [-o FILE]
  contract edit --account UID ID [--address …] … | contract provider [--name … --address … --tax-id … --bank … …]
  user add NAME (--account UID | --operator) [--password-stdin] | user passwd NAME | user remove NAME | user list
  demo [--addr A] [--no-serve]          a demo world, a month of calls, a closed bill, then the console

--db defaults to $CALLBILL_DB, else ./callbill.db (SQLite).
`

type app struct {
	dsn    string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("callbill", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.dsn, "db", "", "database DSN")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "callbill: %v\n", err)
			return exitError
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if a.dsn == "" {
		a.dsn = os.Getenv("CALLBILL_DB")
	}
	if a.dsn == "" {
		a.dsn = "callbill.db"
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	err := a.dispatch(ctx, rest[0], rest[1:])
	var ue *usageError
	var ec exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return int(ec)
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "callbill: %s\n\n%s", ue.msg, usageText)
		return exitUsage
	default:
		var ps callbill.Problems
		if errors.As(err, &ps) {
			fmt.Fprintf(stderr, "callbill: %d problem(s), nothing was applied:\n", ps.Count())
			for _, p := range ps {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
			return exitError
		}
		fmt.Fprintf(stderr, "callbill: %s\n", errorText(err))
		return exitError
	}
}

// errorText shows domain errors as they are; anything else is shown in full
// here, since the CLI's user is the operator on their own machine.
func errorText(err error) string {
	var e *callbill.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func (a *app) dispatch(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "apply":
		return a.apply(ctx, args)
	case "import":
		return a.importCmd(ctx, args)
	case "bill":
		if len(args) == 0 {
			return usagef("bill needs a subcommand: close or show")
		}
		switch args[0] {
		case "close":
			return a.billClose(ctx, args[1:])
		case "show":
			return a.billShow(ctx, args[1:])
		}
		return usagef("unknown bill subcommand %q", args[0])
	case "usage":
		if len(args) == 0 || args[0] != "export" {
			return usagef("usage needs a subcommand: export")
		}
		return a.usageExport(ctx, args[1:])
	case "serve":
		return a.serve(ctx, args)
	case "topup":
		return a.topup(ctx, args)
	case "adjust":
		return a.adjust(ctx, args)
	case "account":
		if len(args) == 0 || args[0] != "show" {
			return usagef("account needs a subcommand: show")
		}
		return a.accountShow(ctx, args[1:])
	case "ledger":
		return a.ledger(ctx, args)
	case "authorize":
		return a.authorize(ctx, args)
	case "accesskey":
		return a.accessKey(ctx, args)
	case "user":
		return a.user(ctx, args)
	case "webhook":
		return a.webhook(ctx, args)
	case "invoice":
		return a.invoice(ctx, args)
	case "contract":
		return a.contract(ctx, args)
	case "demo":
		return a.demo(ctx, args)
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usageText)
		return nil
	}
	return usagef("unknown command %q", cmd)
}

func (a *app) open(ctx context.Context) (*sqlstore.Store, error) {
	s, err := sqlstore.Open(ctx, a.dsn)
	if err != nil {
		return nil, err
	}
	// For crash tests: pause after each account a close freezes.
	if d, err := time.ParseDuration(os.Getenv("CALLBILL_FAULT_CLOSE_PAUSE")); err == nil {
		s.ClosePause = d
	}
	if d, err := time.ParseDuration(os.Getenv("CALLBILL_FAULT_MONEY_PAUSE")); err == nil {
		s.MoneyPause = d
	}
	s.LoadMasterKey = func() ([]byte, error) { return masterKey(a.dsn) }
	return s, nil
}

// masterKey returns the key that seals access key secrets: base64 in
// $CALLBILL_MASTER_KEY, else the file named by $CALLBILL_MASTER_KEY_FILE,
// else DB.key beside a SQLite file (callbill.key for PostgreSQL), created
// with a random key (mode 0600) the first time one is needed.
func masterKey(dsn string) ([]byte, error) {
	if v := os.Getenv("CALLBILL_MASTER_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(k) != 32 {
			return nil, callbill.Errorf(callbill.EINVALID, "CALLBILL_MASTER_KEY must be 32 bytes in base64 (head -c 32 /dev/urandom | base64)")
		}
		return k, nil
	}
	path := os.Getenv("CALLBILL_MASTER_KEY_FILE")
	if path == "" {
		path = "callbill.key"
		if !strings.Contains(dsn, "://") {
			path = strings.TrimPrefix(strings.SplitN(dsn, "?", 2)[0], "file:") + ".key"
		}
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
			return nil, err
		}
		return k, f.Sync()
	}
	if err != nil {
		return nil, err
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, callbill.Errorf(callbill.EINVALID, "master key file %s must hold 32 bytes in base64", path)
	}
	return k, nil
}

// parseFlags parses a subcommand's flags; extra positional arguments are
// returned, mistakes are usage errors.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	// Allow flags after positional arguments, as people type them.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "-" || !strings.HasPrefix(args[0], "-") {
			pos = append(pos, args[0])
			args = args[1:]
			if len(args) == 0 {
				break
			}
			continue
		}
		pos = append(pos, args...) // after "--"
		break
	}
	return pos, nil
}
