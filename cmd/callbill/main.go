// Command callbill is the CLI of callbill: apply a world file, import call
// detail records, close and show bills, export usage, run the demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
	_ "time/tzdata" // the billing time zone must load on a machine without a zoneinfo database

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/config"
	"github.com/callbill/callbill/sqlstore"
)

// Exit statuses (docs/rules.md, "Command line and exit statuses").
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitRejected = 3
	exitDenied   = 4 // authorize: the call is refused
)

// usageError is a mistake in the command line: one line naming it, and
// where the usage is (cmd's help, or the list of commands).
type usageError struct{ cmd, msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// exitCode lets a command choose a non-error exit status (import's 3).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

type app struct {
	dsn    string         // the database: the db setting (demo sets its own)
	cfg    *config.Config // loaded once, before the first command runs
	cfgErr error          // why it could not be
	// The global flags that make the configuration: --config, and --db
	// when given (it overrides the file and $CALLBILL_DB).
	configFile, dbFlag string
	dbSet              bool
	stdin              io.Reader
	stdout             io.Writer
	stderr             io.Writer
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
	fs.StringVar(&a.dbFlag, "db", "", "database DSN")
	fs.StringVar(&a.configFile, "config", "", "the configuration file")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	memprofile := fs.String("memprofile", "", "write an allocation profile to this file at the end")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageText())
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "callbill: %v\nrun 'callbill --help' for usage\n", err)
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
	if *memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			f, err := os.Create(*memprofile)
			if err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	fs.Visit(func(f *flag.Flag) { a.dbSet = a.dbSet || f.Name == "db" })
	rest := fs.Args()
	if len(rest) == 0 {
		// No command: the list of them, as a usage error.
		fmt.Fprint(stderr, usageText())
		return exitUsage
	}
	err = a.dispatch(ctx, rest)
	var ue *usageError
	var ec exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return int(ec)
	case errors.As(err, &ue):
		where := "callbill --help"
		if ue.cmd != "" {
			where = "callbill " + ue.cmd + " --help"
		}
		fmt.Fprintf(stderr, "callbill: %s\nrun '%s' for usage\n", ue.msg, where)
		return exitUsage
	default:
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "callbill: %s\n", ce.Error())
			return exitError
		}
		var ps callbill.Problems
		if errors.As(err, &ps) {
			fmt.Fprintf(stderr, "callbill: %d problem(s), nothing was applied:\n", ps.Count())
			for _, p := range ps {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
			return exitError
		}
		fmt.Fprintf(stderr, "callbill: %s\n", a.errorText(err))
		return exitError
	}
}

// errorText shows domain errors as they are; anything else is shown in full
// here, since the CLI's user is the operator on their own machine. A
// missing database says how to make one, and a write refused by a
// read-only database says so in those words.
func (a *app) errorText(err error) string {
	var nd *sqlstore.NoDatabaseError
	if errors.As(err, &nd) {
		return nd.Error() + "; create a deployment with 'callbill apply -f world.yaml' (or try 'callbill demo'), " +
			"or name an existing database with --db DSN, $CALLBILL_DB or db in the configuration file"
	}
	var ro *sqlstore.ReadOnlyError
	if !errors.As(err, &ro) && sqlstore.IsReadOnly(err) {
		return (&sqlstore.ReadOnlyError{Where: a.where()}).Error()
	}
	return errorText(err)
}

// where names the database in messages.
func (a *app) where() string {
	if strings.Contains(a.dsn, "://") {
		return "named by --db"
	}
	if abs, err := filepath.Abs(strings.TrimPrefix(a.dsn, "file:")); err == nil {
		return abs
	}
	return a.dsn
}

func errorText(err error) string {
	var e *callbill.Error
	if errors.As(err, &e) {
		return e.Error() // the operator's hint too: the CLI is the operator's
	}
	return err.Error()
}

// open opens the database as the command needs it: Create only for the
// commands that start a deployment (apply, serve, demo), Write for those
// that change one, Read for those that only read (they work on a read-only
// database too).
func (a *app) open(ctx context.Context, access sqlstore.Access) (*sqlstore.Store, error) {
	s, err := sqlstore.OpenFor(ctx, a.dsn, access)
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
	if d, err := time.ParseDuration(os.Getenv("CALLBILL_FAULT_UNDO_PAUSE")); err == nil {
		s.UndoPause = d
	}
	s.LoadMasterKey = func() ([]byte, error) { return a.cfg.LoadMasterKey(a.dsn) }
	return s, nil
}

// loadConfig reads the configuration once (config.Load: the file, then the
// environment) and puts --db over it. A command runs only with a usable
// configuration; config check reports why it is not.
func (a *app) loadConfig() error {
	if a.cfg != nil || a.cfgErr != nil {
		return a.cfgErr
	}
	cfg, err := config.Load(config.Options{File: a.configFile})
	if err == nil && a.dbSet {
		if err = cfg.Set("db", a.dbFlag, config.FromFlag("--db")); err != nil {
			err = usagef("--db: %v", err)
		}
	}
	a.cfg, a.cfgErr, a.dsn = cfg, err, cfg.DB.Value
	return err
}

// applyFlags puts the flags given on the command line over the
// configuration; a flag left out, even one with a default, changes nothing.
func (a *app) applyFlags(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if key := config.FlagFor(f.Name); key != "" && err == nil {
			if e := a.cfg.Set(key, f.Value.String(), config.FromFlag(flagName(f.Name))); e != nil {
				err = usagef("%s: %v", flagName(f.Name), e)
			}
		}
	})
	return err
}
