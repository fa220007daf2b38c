package ingest

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/callbill/callbill"
)

// Group imports the call platform's stream: many small requests at once (a
// hundred CDRs as calls end, from many senders). Importing each alone would
// pay per request what a file import pays once — the world and every
// account's rating state read back, a transaction and its commit — so a
// Group keeps one warm rater for all of them and commits them together:
//
//   - One goroutine owns the rater and the writes. Each round it takes every
//     request waiting (up to MaxRows rows), screens and rates them as one
//     batch in arrival order, and writes it in one transaction; requests that
//     arrive meanwhile wait for the next round, which is how commits group.
//     The next round waits a moment (at most gatherWait) for the senders
//     this one answered to send again (gather).
//   - A request is answered only after the transaction holding its calls has
//     committed, with its own counts and rejects (its lines, in its order).
//   - The rater is rated ahead and checked like the pipeline's batches: under
//     the accounts' locks, the state it started from must still be the
//     database's, else the round is done again the careful way and those
//     accounts' state read back. Another importer, node, world apply or close
//     can therefore never make a group rate from stale state.
//
// Requests larger than MaxRows, and strict ones, are imported on their own
// (Service.Import).
type Group struct {
	svc     *Service
	maxRows int

	mu      sync.Mutex
	queue   []*groupRequest
	rows    int
	wake    chan struct{}
	closed  bool
	stopped chan struct{}

	im *importer // the owner's: the warm rater and its generation, and its session (im.sess, nil when none is open)

	gatherFor time.Duration // gatherWait, or a test's
	arrived   int64         // requests queued so far (under mu)
	answering int64         // arrived when the last round's answers went out (under mu)
}

// DefaultGroupRows is how many rows a Group round takes at most; a request
// of more is imported on its own.
const DefaultGroupRows = 20_000

type groupRequest struct {
	rows []pending
	bad  []rejected
	raw  *rawBatch // its rows as read, when its rejects need their fields
	file int       // the input file its rows come from
	rec  *callbill.ImportRecord
	done chan groupAnswer
}

type groupAnswer struct {
	rep batchReport
	id  int64 // the request's import record
	err error
}

// NewGroup starts a group; Close stops it.
func (s *Service) NewGroup(maxRows int) *Group {
	if maxRows <= 0 || maxRows > MaxBatchRows {
		maxRows = DefaultGroupRows
	}
	g := &Group{svc: s, maxRows: maxRows, wake: make(chan struct{}, 1), stopped: make(chan struct{}), gatherFor: gatherWait,
		im: &importer{calls: s.Store.NewCalls, gen: -1, committed: s.Committed}}
	go g.run()
	return g
}

// Close stops the group after the requests already queued are answered.
func (g *Group) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.wake)
	}
	g.mu.Unlock()
	<-g.stopped
}

// errGroupClosed answers requests that come after Close.
var errGroupClosed = callbill.Errorf(callbill.EUNAVAILABLE, "the server is shutting down; send the CDRs again")

// Import imports in: with the requests of its round when it is small and
// not strict, else on its own. The report is the request's own.
func (g *Group) Import(ctx context.Context, in Input) (*callbill.ImportReport, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Strict {
		return g.svc.Import(ctx, in)
	}
	started := time.Now()
	// Read up to maxRows rows; a longer input goes the file way, replaying
	// what was read.
	req := &groupRequest{file: -1, rec: in.record(callbill.ImportDone), done: make(chan groupAnswer, 1)}
	raw, _ := in.Source.(callbill.RawSource)
	if in.OnReject == nil {
		raw = nil
	}
	if raw != nil {
		req.raw = &rawBatch{}
	}
	var replay []sourceItem
	for {
		c, pos, err := in.Source.Next()
		if err == io.EOF {
			break
		}
		it := sourceItem{c: c, pos: pos, err: err, raw: -1}
		var bad *callbill.Reject
		switch {
		case errors.As(err, &bad):
			r := rejected{Reject: *bad, raw: -1, bad: true}
			if raw != nil {
				r.raw, r.Fields = req.raw.bad.add(raw, nil), nil // kept as read until OnReject
			}
			req.bad, it.raw, it.bad = append(req.bad, r), r.raw, true
		case err != nil:
			return nil, err
		default:
			req.rows = append(req.rows, pending{c, pos})
			if raw != nil {
				it.raw = req.raw.rows.add(raw, &req.rows[len(req.rows)-1].cdr)
			}
		}
		replay = append(replay, it)
		if len(req.rows) > g.maxRows || (req.file >= 0 && pos.File != req.file) {
			in.Source = newReplay(replay, req.raw, in.Source, raw)
			return g.svc.Import(ctx, in)
		}
		req.file = pos.File
	}
	if len(req.rows) == 0 {
		// Nothing to store: the decoder's rejects are the whole report,
		// and the record is written on its own.
		im := &importer{opts: in.ImportOptions, rep: &callbill.ImportReport{}, raw: raw}
		if err := im.merge(&decoded{bad: req.bad, raw: req.raw}, &batchReport{}); err != nil {
			return nil, err
		}
		if err := g.record(ctx, req.rec, im.rep); err != nil {
			return nil, err
		}
		im.rep.Import = req.rec.ID
		im.rep.Elapsed = time.Since(started)
		return im.rep, nil
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, errGroupClosed
	}
	g.queue = append(g.queue, req)
	g.arrived++
	g.rows += len(req.rows)
	select { // under the lock: Close closes wake under it too
	case g.wake <- struct{}{}:
	default:
	}
	g.mu.Unlock()
	// The answer comes once the round commits; the request's context does
	// not cut a round short (others' calls are in it too). Its rows, raw
	// rows included, are the request's own again after that.
	a := <-req.done
	if a.err != nil {
		return nil, a.err
	}
	im := &importer{opts: in.ImportOptions, rep: &callbill.ImportReport{Import: a.id}, raw: raw}
	if err := im.merge(&decoded{rows: req.rows, bad: req.bad, raw: req.raw}, &a.rep); err != nil {
		return nil, err
	}
	im.rep.Elapsed = time.Since(started)
	return im.rep, nil
}

// record writes the record of a request that stores nothing.
func (g *Group) record(ctx context.Context, rec *callbill.ImportRecord, rep *callbill.ImportReport) error {
	sess, err := g.svc.Store.OpenIngest(ctx, ForRounds)
	if err != nil {
		return err
	}
	defer sess.Close()
	rec.Rejected, rec.Conflicts = rep.Rejected, rep.Conflicts
	return sess.Write(ctx, func(tx Tx) error { return tx.AddImports(ctx, []*callbill.ImportRecord{rec}) })
}

// Waiting returns how many rows wait for a round (a gauge for metrics).
func (g *Group) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rows
}

// run is the owner: round after round until closed and drained.
func (g *Group) run() {
	defer close(g.stopped)
	defer g.closeSession()
	ctx := context.Background()
	answered := 0 // the last round's requests
	for {
		if answered > 0 {
			g.gather(answered)
		}
		g.mu.Lock()
		reqs, n := g.take()
		closed := g.closed
		g.mu.Unlock()
		if len(reqs) == 0 {
			if closed {
				return
			}
			<-g.wake
			answered = 0
			continue
		}
		g.round(ctx, reqs, n)
		answered = len(reqs)
	}
}

// gatherWait bounds how long a round waits for the senders of the round
// before to send again (gather).
const gatherWait = 3 * time.Millisecond

// gather waits, at most gatherFor, until as many requests came since the
// last round's answers went out as it answered (or a round's rows wait, or
// the group closes). A sender of the call platform sends its next
// batch as soon as its last is answered; without the wait, the requests
// that waited during a round went alone and the ones just answered waited
// for the round after, so that the senders fell into two halves taking
// turns, each round holding one (docs/decisions.md, "Import": "Group
// commit gathers the senders it just answered").
func (g *Group) gather(answered int) {
	timer := time.NewTimer(g.gatherFor)
	defer timer.Stop()
	for {
		g.mu.Lock()
		enough := g.closed || g.arrived-g.answering >= int64(answered) || g.rows >= g.maxRows
		g.mu.Unlock()
		if enough {
			return
		}
		select {
		case <-g.wake:
		case <-timer.C:
			return
		}
	}
}

// take removes the requests of the next round from the queue: in arrival
// order, as many as fit in maxRows (at least one).
func (g *Group) take() ([]*groupRequest, int) {
	k, n := 0, 0
	for k < len(g.queue) && (k == 0 || n+len(g.queue[k].rows) <= g.maxRows) {
		n += len(g.queue[k].rows)
		k++
	}
	reqs := g.queue[:k:k]
	g.queue = g.queue[k:]
	g.rows -= n
	return reqs, n
}

// round rates and writes the requests as one batch and answers each.
func (g *Group) round(ctx context.Context, reqs []*groupRequest, n int) {
	rows := make([]pending, 0, n)
	first := make([]int32, len(reqs)) // where each request's rows begin in rows
	for k, r := range reqs {
		first[k] = int32(len(rows))
		for _, p := range r.rows {
			p.pos.File = k // whose row it is; given back in the answer
			rows = append(rows, p)
		}
	}
	w, err := g.write(ctx, rows, reqs)
	if err != nil {
		g.markAnswering()
		for _, r := range reqs {
			r.done <- groupAnswer{err: err}
		}
		return
	}
	reps := splitRound(w)
	for _, rj := range w.rep.rejects {
		k := rj.Pos.File
		rj.Pos.File = reqs[k].file
		if rj.raw >= 0 {
			rj.raw -= first[k] // the row among its request's
		}
		reps[k].rejects = append(reps[k].rejects, rj)
	}
	g.markAnswering()
	for k, r := range reqs {
		r.done <- groupAnswer{rep: reps[k], id: r.rec.ID}
	}
	g.im.notify(ctx, w)
}

// markAnswering notes, as a round's answers go out, how many requests had
// come: those that come after are the ones gather waits for.
func (g *Group) markAnswering() {
	g.mu.Lock()
	g.answering = g.arrived
	g.mu.Unlock()
}

// splitRound counts a round's rows per request (without their rejects).
func splitRound(w *work) []batchReport {
	reps := make([]batchReport, len(w.reqs))
	for _, rj := range w.rep.rejects {
		k := rj.Pos.File
		reps[k].rejected++
		if rj.Conflict {
			reps[k].conflicts++
		}
	}
	for k, r := range w.reqs {
		reps[k].duplicates = w.rep.dupByFile[k]
		reps[k].imported = int64(len(r.rows)) - reps[k].duplicates - reps[k].rejected
	}
	return reps
}

// roundRecords are the records of a round's requests as the round stores
// them: what each imported, and its rejects, the decoder's included.
func roundRecords(w *work) []*callbill.ImportRecord {
	reps := splitRound(w)
	recs := make([]*callbill.ImportRecord, len(w.reqs))
	for k, r := range w.reqs {
		rec := r.rec
		rec.Imported, rec.Duplicates = reps[k].imported, reps[k].duplicates
		rec.Rejected, rec.Conflicts = reps[k].rejected+int64(len(r.bad)), reps[k].conflicts
		recs[k] = rec
	}
	return recs
}

// write rates rows on the warm rater and writes them in one transaction;
// when the state they were rated from no longer holds (or a row was stored
// before), it does them again in sequence, reading the state of their
// accounts under the locks.
func (g *Group) write(ctx context.Context, rows []pending, reqs []*groupRequest) (*work, error) {
	im := g.im
	if im.sess == nil {
		// Kept from round to round: the statements a session prepares
		// stay prepared with it (docs/decisions.md, "Import").
		sess, err := g.svc.Store.OpenIngest(ctx, ForRounds)
		if err != nil {
			return nil, err
		}
		im.sess = sess
	}
	sess := im.sess
	w, err := g.writeOn(ctx, sess, rows, reqs)
	if err != nil {
		g.closeSession() // a broken connection, say: the next round opens another
	}
	return w, err
}

// closeSession gives the owner's session back, if one is open.
func (g *Group) closeSession() {
	if g.im.sess != nil {
		g.im.sess.Close()
		g.im.sess = nil
	}
}

// writeOn is write on the owner's session.
func (g *Group) writeOn(ctx context.Context, sess Session, rows []pending, reqs []*groupRequest) (*work, error) {
	im := g.im
	var err error
	if im.rater == nil {
		if err := im.loadAll(ctx); err != nil {
			im.rater = nil
			return nil, err
		}
	}
	w := im.rateAhead(rows, reqs)
	err = im.commitAhead(ctx, w)
	if !errors.Is(err, errReplan) && !errors.Is(err, ErrStoredBefore) {
		if err != nil {
			im.rater = nil // rated but not stored: the warm state is wrong
		}
		return w, err
	}
	careful := errors.Is(err, ErrStoredBefore)
	gen := im.gen
	for tries := 0; ; tries++ {
		w = &work{rows: rows, reqs: reqs}
		err = sess.Write(ctx, func(tx Tx) error { return g.sequential(ctx, tx, w, careful) })
		if errors.Is(err, ErrStoredBefore) && !careful {
			careful = true
			continue
		}
		if errors.Is(err, ErrRetry) && tries < 5 {
			careful = true
			continue
		}
		break
	}
	if err != nil || im.gen != gen {
		im.rater = nil // rolled back, or a new world: read everything next round
	}
	return w, err
}

// sequential is importer.sequential on the warm rater: only the batch's
// accounts' state is read back, every other account's is kept.
func (g *Group) sequential(ctx context.Context, tx Tx, w *work, careful bool) error {
	im := g.im
	if err := im.prepareRater(ctx, tx); err != nil {
		return err
	}
	im.screen(w)
	if len(w.cand) == 0 {
		return im.store(ctx, tx, w) // the requests' records
	}
	if err := tx.LockAccounts(ctx, w.accounts); err != nil {
		return err
	}
	st, err := tx.RatingState(ctx, w.accounts, im.rater.ClosedThrough)
	if err != nil {
		return err
	}
	im.rater.LoadAccounts(w.accounts, st)
	if careful {
		if err := im.filterStored(ctx, tx, w); err != nil {
			return err
		}
	}
	im.rate(w)
	return im.store(ctx, tx, w)
}

// sourceItem is one Next of a source, kept to replay it.
type sourceItem struct {
	c   callbill.CDR
	pos callbill.Pos
	err error
	raw int32 // its row among the rows (or bad rows) read as read; -1 when not kept
	bad bool
}

// replaySource gives items again, then the rest of a source.
type replaySource struct {
	items []sourceItem
	rows  *rawBatch
	rest  callbill.CDRSource
	last  *sourceItem // the item Next gave last; nil: the rest's
}

// newReplay returns a source giving items again, then the rest of src; it
// is a RawSource when raw (src as a RawSource) is set.
func newReplay(items []sourceItem, rows *rawBatch, src callbill.CDRSource, raw callbill.RawSource) callbill.CDRSource {
	s := &replaySource{items: items, rows: rows, rest: src}
	if raw != nil {
		return &rawReplay{s, raw}
	}
	return s
}

func (s *replaySource) Next() (callbill.CDR, callbill.Pos, error) {
	if len(s.items) > 0 {
		s.last = &s.items[0]
		s.items = s.items[1:]
		return s.last.c, s.last.pos, s.last.err
	}
	s.last = nil
	return s.rest.Next()
}

type rawReplay struct {
	*replaySource
	raw callbill.RawSource
}

// AppendRaw gives a replayed row as it was kept (for the same CDR, so that
// RawFields reads it the same way), else asks the rest.
func (s *rawReplay) AppendRaw(dst []byte, c *callbill.CDR) []byte {
	if it := s.last; it != nil && it.raw >= 0 {
		if it.bad {
			return append(dst, s.rows.bad.row(it.raw)...)
		}
		return append(dst, s.rows.rows.row(it.raw)...)
	}
	return s.raw.AppendRaw(dst, c)
}

func (s *rawReplay) RawFields(raw []byte, c *callbill.CDR) []string { return s.raw.RawFields(raw, c) }
