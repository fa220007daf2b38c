package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/nice"
	"github.com/callbill/callbill/sqlstore"
	"golang.org/x/term"
)

// input is one file named on the command line.
type input struct {
	name    string // as given; "-" for stdin
	rejects string // FILE.rejects.csv
}

// source chains the decoders of the inputs into one callbill.RawSource,
// read once: the rejects files are written from the rows as they come.
type source struct {
	a      *app
	inputs []input
	cur    int
	f      *os.File
	src    callbill.RawSource

	mu      sync.Mutex
	headers [][]string // the rejects header of each input opened so far
}

func (s *source) Next() (callbill.CDR, callbill.Pos, error) {
	for {
		if s.src == nil {
			if s.cur >= len(s.inputs) {
				return callbill.CDR{}, callbill.Pos{}, io.EOF
			}
			if err := s.open(); err != nil {
				return callbill.CDR{}, callbill.Pos{}, err
			}
		}
		c, pos, err := s.src.Next()
		if err == io.EOF {
			if s.f != nil {
				s.f.Close()
			}
			s.src = nil
			s.cur++
			continue
		}
		if err != nil {
			// Declared here, not per row: errors.As moves its target to the heap.
			var bad *callbill.Reject
			if !errors.As(err, &bad) {
				return c, pos, fmt.Errorf("%s: %w", s.inputs[s.cur].name, err)
			}
		}
		return c, pos, err
	}
}

func (s *source) AppendRaw(dst []byte, c *callbill.CDR) []byte { return s.src.AppendRaw(dst, c) }
func (s *source) RawFields(raw []byte, c *callbill.CDR) []string {
	return cdr.RawFields(raw, c)
}

// header returns the rejects header of input file, which was opened.
func (s *source) header(file int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[file]
}

func (s *source) open() error {
	in := &s.inputs[s.cur]
	var r io.Reader
	s.f = nil
	if in.name == "-" {
		r = s.a.stdin
	} else {
		f, err := os.Open(in.name)
		if err != nil {
			return err
		}
		s.f = f
		r = f
	}
	dec, err := cdr.NewDecoder(r)
	if err != nil {
		if s.f != nil {
			s.f.Close()
		}
		return fmt.Errorf("%s: %w", in.name, err)
	}
	s.mu.Lock()
	s.headers = append(s.headers, dec.RejectHeader())
	s.mu.Unlock()
	s.src = cdr.Source(dec, s.cur)
	return nil
}

func (a *app) importCmd(fs *flag.FlagSet) runner {
	strict := fs.Bool("strict", false, "import nothing when any row is bad")
	quiet := fs.Bool("q", false, "no progress bar")
	batch := fs.Int("batch", 0, "`N` rows read per transaction (default 40,000, at most 1,000,000)")
	priority := fs.String("priority", "background", "CPU priority `LEVEL`: background (yields the cores to a server on this machine) or normal")
	return func(ctx context.Context, files []string) error {
		if *priority != "background" && *priority != "normal" {
			return usagef("--priority is background or normal, not %q", *priority)
		}
		return a.runImport(ctx, files, *strict, *quiet, *batch, *priority == "background")
	}
}

func (a *app) runImport(ctx context.Context, files []string, strict, quiet bool, batch int, background bool) error {
	if len(files) == 0 {
		return usagef("import needs at least one FILE (or - for stdin)")
	}
	// A file import is batch work beside tenants' pages: it takes the cores
	// a serving node on this machine leaves, and all of them on an idle one
	// (docs/decisions.md, "File imports yield the CPU"). Failing to lower
	// it is no reason not to import.
	if background {
		if err := nice.AtLeast(nice.Background); err != nil {
			fmt.Fprintf(a.stderr, "warning: the import keeps its CPU priority: %v\n", err)
		}
	}
	src := &source{a: a}
	for _, f := range files {
		in := input{name: f, rejects: f + ".rejects.csv"}
		if f == "-" {
			in.rejects = "stdin.rejects.csv"
		} else if _, err := os.Stat(f); err != nil {
			return callbill.Errorf(callbill.EINVALID, "cannot read %s: %v", f, errors.Unwrap(err))
		}
		src.inputs = append(src.inputs, in)
	}
	s, err := a.open(ctx, sqlstore.Write)
	if err != nil {
		return err
	}
	defer s.Close()

	rejects := cdr.NewRejectsFiles(func(file int) string { return src.inputs[file].rejects }, src.header)
	defer rejects.Close()
	opts := callbill.ImportOptions{Strict: strict, BatchSize: batch, OnReject: rejects.Add}
	// Keep the Go heap near a bound however large the input (GC works
	// harder as it nears it), so that the whole process stays under 150 MB
	// (docs/benchmarks.md); the operator's GOMEMLIMIT wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importHeapLimit(sqlstore.IsPostgres(a.dsn)))
	}
	if n := importProcs(sqlstore.IsPostgres(a.dsn)); n != runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
	started := time.Now()
	if f, ok := a.stderr.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		opts.Progress = func(rows int64) {
			el := time.Since(started).Seconds()
			fmt.Fprintf(a.stderr, "\r\033[Kimporting: %d rows read, %.0f rows/s", rows, float64(rows)/max(el, 1e-9))
		}
	}
	// Budgets are evaluated once the import is done, for the accounts its
	// batches stored calls of (and whatever an earlier run missed): a
	// failure is a warning, never the import's (docs/budgets.md).
	watch := budget.NewWatcher(budgetService(s, nil), slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	rep, err := (&ingest.Service{Store: s, Committed: watch.Committed}).Import(ctx, ingest.Input{Source: src, ImportOptions: opts, Sources: files, By: cliActor()})
	if opts.Progress != nil {
		fmt.Fprint(a.stderr, "\r\033[K")
	}
	fired := 0
	watch.OnFired = func(n int) { fired += n }
	if werr := watch.Flush(context.WithoutCancel(ctx)); werr == nil && fired > 0 {
		fmt.Fprintf(a.stderr, "budgets: %d threshold(s) crossed (budget.threshold webhooks; callbill budget list)\n", fired)
	}
	if err != nil {
		return err
	}
	if err := a.writeRejects(src.inputs, rep, rejects); err != nil {
		return err
	}
	rate := float64(rep.Imported+rep.Duplicates+rep.Rejected) / max(rep.Elapsed.Seconds(), 1e-9)
	if strict && rep.Rejected > 0 {
		fmt.Fprintf(a.stderr, "strict: nothing was imported because %d row(s) were rejected\n", rep.Rejected)
	}
	// The summary stays the last line (docs/rules.md, "Command line and exit statuses"); the record's id before it.
	fmt.Fprintf(a.stderr, "import %s (callbill import undo %s takes it back)\n", callbill.ImportID(rep.Import), callbill.ImportID(rep.Import))
	fmt.Fprintf(a.stderr, "imported %d, duplicates %d, rejected %d (conflicts %d), %.0f calls/s\n",
		rep.Imported, rep.Duplicates, rep.Rejected, rep.Conflicts, rate)
	if rep.Rejected > 0 {
		return exitCode(exitRejected)
	}
	return nil
}

// importHeapLimit is the Go heap's share of an import's 150 MB. With
// SQLite the process also holds the database's page cache and its file's
// pages, so the heap gets 80 MiB; with PostgreSQL those are the server's,
// and the heap gets 100. A batch's pipeline keeps ~50 MiB live: nearer
// that, the GC runs all the time (docs/decisions.md, "The import's heap
// limit").
func importHeapLimit(postgres bool) int64 {
	if postgres {
		return 100 << 20
	}
	return 80 << 20
}

// defaultProcs is GOMAXPROCS as the runtime chose it (or the operator's).
var defaultProcs = runtime.GOMAXPROCS(0)

// importProcs is how many Ps a file import runs on: one more than the
// cores on PostgreSQL. There its writer mostly waits for the server's
// replies while decoding and rating keep every P busy, and Go then notices
// a reply only at its monitor's 10 ms network poll; a spare P waits in the
// poller instead (docs/decisions.md, "A spare P for PostgreSQL imports").
// The operator's GOMAXPROCS wins.
func importProcs(postgres bool) int {
	if postgres && os.Getenv("GOMAXPROCS") == "" {
		return defaultProcs + 1
	}
	return defaultProcs
}

const maxRejectLines = 20

// writeRejects prints the first rejects and puts each input's
// FILE.rejects.csv in place: the original rows, their lines and the
// reasons, written as the import went.
func (a *app) writeRejects(inputs []input, rep *callbill.ImportReport, files *cdr.RejectsFiles) error {
	for i, r := range rep.Rejects {
		if i == maxRejectLines {
			break
		}
		fmt.Fprintf(a.stderr, "%s:%d: %s\n", inputs[r.Pos.File].name, r.Pos.Line, r.Reason)
	}
	if rep.Rejected > maxRejectLines {
		fmt.Fprintf(a.stderr, "… and %d more rejected rows\n", rep.Rejected-maxRejectLines)
	}
	for fi, in := range inputs {
		written, err := files.Commit(fi)
		if err != nil {
			return err
		}
		if !written {
			os.Remove(in.rejects) // a stale one from an earlier run would mislead
			continue
		}
		fmt.Fprintf(a.stderr, "rejected rows of %s are in %s\n", in.name, in.rejects)
	}
	return nil
}
