// Package ingest is the import pipeline (docs/rules.md, "CDR input";
// docs/architecture.md, "The path of a CDR"): CDRs are decoded
// in batches, screened (duplicates and conflicts by instance and contact id,
// rows rating can never take), rated with callbill.Rater and handed to the
// store one batch per transaction; rejects go out in input order. The
// decisions live here; Store persists and decides nothing.
package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/callbill/callbill"
)

// Store opens the sessions an import works in.
type Store interface {
	// OpenIngest opens a session on one connection of its own, kept for
	// the whole import (or a group's rounds), used as use says.
	OpenIngest(ctx context.Context, use SessionUse) (Session, error)
	// NewCalls returns an empty set of rated calls, packed as the store
	// keeps them, with room for size; it is filled outside any transaction.
	NewCalls(size int) Calls
}

// SessionUse says what a session is opened for, so that the store can suit
// its connection to it.
type SessionUse int

const (
	// ForFile: one import's batches, large, one after another.
	ForFile SessionUse = iota
	// ForRounds: a group's rounds of the call platform's requests, small,
	// the session kept from round to round.
	ForRounds
)

// Session runs the transactions of one import, one at a time.
type Session interface {
	// Read runs fn in a transaction that is then rolled back.
	Read(ctx context.Context, fn func(tx Tx) error) error
	// Write runs fn in a transaction that waits for a close in progress
	// (and keeps one from starting), and commits it if fn returns nil.
	// Returns an error matching ErrRetry if the database aborted it to
	// resolve a conflict with another writer (serialization, deadlock).
	Write(ctx context.Context, fn func(tx Tx) error) error
	// Close gives the connection back.
	Close() error
}

// Tx is what the pipeline reads and writes inside a transaction.
type Tx interface {
	// Generation returns the generation of what rating reads of the world
	// (directory, price book, closed cycle): a world apply or a close
	// changes it, an import does not.
	Generation(ctx context.Context) (int64, error)
	// Rater returns a rater of the world as it is, with empty state.
	Rater(ctx context.Context) (*callbill.Rater, error)
	// LockAccounts locks the accounts (sorted) until the transaction ends:
	// nobody else stores their calls or changes their rating state.
	LockAccounts(ctx context.Context, accounts []string) error
	// RatingState reads the accounts' voice packages with minutes left and
	// their platform minutes used in the cycles after closed.
	RatingState(ctx context.Context, accounts []string, closed callbill.Cycle) (callbill.RaterState, error)
	// Stored returns the calls stored under ids, as stored; an id not
	// stored is absent. Returns an error if an id is indexed but its call
	// is not in its block.
	Stored(ctx context.Context, ids []Identity) (map[Identity]callbill.CDR, error)
	// StoreBatch writes a rated batch: its calls under a fresh batch id,
	// its aggregates and the rating state it changed. Returns
	// ErrStoredBefore if one of its calls was stored before; the
	// transaction must then not commit. Each call is recorded as its
	// import's (b.Imports); for a running import (b.Running) the batch's
	// calls are added to its count, and ErrImportUndone is returned if it
	// was undone meanwhile.
	StoreBatch(ctx context.Context, b *Rated) error
	ReservationTx
	// AddImports records new imports as they are (their status and
	// counts), stamped with the store's time, and sets their IDs.
	AddImports(ctx context.Context, recs []*callbill.ImportRecord) error
	// FinishImport records how a running import ended: its status, counts
	// and the store's time. An import undone meanwhile stays undone.
	FinishImport(ctx context.Context, rec *callbill.ImportRecord) error
}

// Calls is a batch's rated calls, packed as they are added.
type Calls interface {
	// Add packs a rated call of the batch's import Rated.Imports[part];
	// calls are added in rating order. It keeps nothing of c (c is reused).
	Add(c *callbill.Call, part int)
	// Len returns how many calls were added.
	Len() int
	// Seal ends the batch: nothing is added after it. It is called where
	// the batch was rated, so that what the packing still has to do
	// outside the database is not done in the writer's transaction.
	Seal()
}

// Identity is what makes a call unique (docs/rules.md, "Duplicates and conflicts").
type Identity struct{ Instance, Contact string }

// Rated is a batch rated and ready to store.
type Rated struct {
	Calls    Calls
	Agg      map[callbill.AggKey]*callbill.AggValue
	Rec      map[callbill.RecKey]int64 // recording bytes
	Changes  callbill.RaterChanges     // the rating state after the batch, where it changed
	MinCycle callbill.Cycle            // the earliest cycle the batch bills in, 0 with no call
	Accounts []string                  // the accounts it has calls of, sorted
	// Imports are the imports the calls came with: the one running import
	// of a file's batch, or a Group round's requests, each its own import.
	Imports []int64
	Running bool // Imports[0] is a running import that counts the batch's calls
}

// ErrStoredBefore says a batch met a call stored before.
var ErrStoredBefore = errors.New("a call of the batch was stored before")

// ErrRetry says a transaction lost a race with another writer and may be
// run again.
var ErrRetry = errors.New("the transaction may be run again")

// ErrImportUndone stops an import that was undone while it ran: what it
// stored before was removed, and it stores nothing more.
var ErrImportUndone = callbill.Errorf(callbill.ECONFLICT, "the import was undone while it ran; it stopped, and nothing of it is kept")

// Service runs imports.
type Service struct {
	Store Store
	// Committed, when set, is called after each transaction that stored
	// calls has committed — outside it, in the importing goroutine — with
	// the accounts it stored calls for (sorted). It is how budgets are
	// evaluated at import time (budget.Watcher): it must not block, and
	// nothing it does can fail or undo the import.
	Committed func(ctx context.Context, accounts []string)
}

// Input is one import: where the CDRs come from and how to import them.
type Input struct {
	Source callbill.CDRSource
	callbill.ImportOptions
	// Sources names the inputs on the import's record (file names, or what
	// an API request says it sends); By says who imports (cli:user@host,
	// api:operator-key). Both are bounded when recorded.
	Sources []string
	By      string
}

// record returns the import's record as it starts.
func (in *Input) record(status string) *callbill.ImportRecord {
	return &callbill.ImportRecord{Sources: callbill.ImportSources(in.Sources), By: callbill.Truncate(in.By, callbill.MaxImportActor), Status: status}
}

// Validate reports what is wrong with the input.
func (in *Input) Validate() error {
	if in.Source == nil {
		return callbill.Errorf(callbill.EINVALID, "an import needs a source of CDRs")
	}
	if in.BatchSize > MaxBatchRows {
		return callbill.Errorf(callbill.EINVALID, "a batch of %d rows is more than the %d a batch may hold", in.BatchSize, MaxBatchRows)
	}
	return nil
}

// MaxBatchRows bounds the rows of one batch: a call's ingest sequence is
// its batch's id shifted left 20 bits plus its place in the batch
// (sqlstore), so a batch holds fewer than 1,048,576 calls.
const MaxBatchRows = 1_000_000

// Import rates and stores CDRs. Each batch is decoded, checked,
// deduplicated, rated and written with its aggregates in one transaction,
// so a crash loses nothing reported as imported and re-running the same
// import converges (what was stored comes back as duplicates).
//
// Three stages overlap: decoding batch N+2, rating N+1 and writing N. Rating
// runs ahead on the state it keeps in memory; before N+1 is written, its
// accounts are locked and their state read back, and if anyone else changed
// it meanwhile (another importer, a world apply, a close), N+1 is rated
// again from the database. A batch that meets a call stored before is done
// again the careful way, looking every row up.
func (s *Service) Import(ctx context.Context, in Input) (*callbill.ImportReport, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	opts := in.ImportOptions
	if opts.BatchSize <= 0 {
		opts.BatchSize = 40_000
	}
	started := time.Now()
	sess, err := s.Store.OpenIngest(ctx, ForFile)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	// The record comes first, in a transaction of its own: every batch
	// names it, and it says "running" until the import ends.
	rec := in.record(callbill.ImportRunning)
	if err := sess.Write(ctx, func(tx Tx) error { return tx.AddImports(ctx, []*callbill.ImportRecord{rec}) }); err != nil {
		return nil, err
	}
	im := &importer{calls: s.Store.NewCalls, sess: sess, opts: opts, rep: &callbill.ImportReport{Import: rec.ID}, gen: -1, rec: rec,
		committed: s.Committed}
	if opts.OnReject != nil {
		// Rejects go out with their rows as read: keep each batch's rows.
		im.raw, _ = in.Source.(callbill.RawSource)
		im.free = make(chan *rawBatch, rowsInFlight) // the batch written and the next
	}
	if !opts.Strict {
		im.freeRows = make(chan []pending, rowsInFlight) // a strict import keeps its batches' work to the end
	}
	batches := make(chan decoded) // the batches in flight are bounded by freeRows (decodeBatches)
	stop := make(chan struct{})
	defer close(stop)
	go decodeBatches(in.Source, im.raw, opts.BatchSize, batches, im.free, im.freeRows, stop)
	if opts.Strict {
		err = im.strict(ctx, batches)
	} else {
		err = im.pipeline(ctx, batches)
	}
	if ferr := im.finish(ctx, err); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	im.rep.Elapsed = time.Since(started)
	return im.rep, nil
}

// finish records how the import ended: done, or failed by err, with the
// counts of what it committed. It is written even when ctx was cancelled.
func (im *importer) finish(ctx context.Context, err error) error {
	rec := im.rec
	rec.Status = callbill.ImportDone
	if err != nil {
		rec.Status = callbill.ImportFailed
	}
	rec.Imported, rec.Duplicates, rec.Rejected, rec.Conflicts = im.rep.Imported, im.rep.Duplicates, im.rep.Rejected, im.rep.Conflicts
	ctx = context.WithoutCancel(ctx)
	return im.sess.Write(ctx, func(tx Tx) error { return tx.FinishImport(ctx, rec) })
}

// importer holds what an import keeps across batches.
type importer struct {
	calls    func(size int) Calls
	sess     Session
	opts     callbill.ImportOptions
	rep      *callbill.ImportReport
	rater    *callbill.Rater        // the rating state; in the pipeline, every account's
	gen      int64                  // the generation of the world the rater was built from
	raw      callbill.RawSource     // the source, when batches keep their rows as read
	free     chan *rawBatch         // the raw rows of batches done, for the next ones
	freeRows chan []pending         // the rows of batches done, likewise
	seen     map[Identity]int       // screen's, reused batch after batch
	rec      *callbill.ImportRecord // the import's record; nil for a Group's owner, whose rounds carry their requests'

	committed func(ctx context.Context, accounts []string) // Service.Committed
}

// errRollback ends a strict import that rejected rows: nothing is kept.
var errRollback = errors.New("strict import rejected rows")

// strict imports everything in one transaction, batch after batch, looking
// every row up, and rolls it all back if any row is rejected.
func (im *importer) strict(ctx context.Context, batches <-chan decoded) error {
	var done []*work
	err := im.sess.Write(ctx, func(tx Tx) error {
		var read int64
		done = done[:0]
		for d := range batches {
			if d.err != nil {
				return d.err
			}
			read += d.read
			w := &work{rows: d.rows}
			if err := im.sequential(context.WithoutCancel(ctx), tx, w, true); err != nil {
				return err
			}
			done = append(done, w)
			if err := im.merge(&d, &w.rep); err != nil {
				return err
			}
			if im.opts.Progress != nil {
				im.opts.Progress(read)
			}
		}
		if im.rep.Rejected > 0 {
			im.rep.Imported = 0
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		return nil
	}
	if err == nil {
		im.notify(ctx, done...)
	}
	return err
}
