package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// decoded is one batch as the decoder goroutine hands it over.
type decoded struct {
	rows []pending
	bad  []callbill.Reject
	read int64
	err  error
}

// decodeBatches reads src into batches until EOF, an error, or stop.
func decodeBatches(src callbill.CDRSource, size int, out chan<- decoded, stop <-chan struct{}) {
	defer close(out)
	for {
		d := decoded{rows: make([]pending, 0, size)}
		eof := false
		for len(d.rows) < size {
			c, pos, err := src.Next()
			if err == io.EOF {
				eof = true
				break
			}
			d.read++
			var bad *callbill.BadRow
			if errors.As(err, &bad) {
				d.bad = append(d.bad, callbill.Reject{Pos: bad.Pos, Reason: bad.Reason})
				continue
			}
			if err != nil {
				d.err = err
				eof = true
				break
			}
			d.rows = append(d.rows, pending{c, pos})
		}
		select {
		case out <- d:
		case <-stop:
			return
		}
		if eof {
			return
		}
	}
}

type pending struct {
	cdr callbill.CDR
	pos callbill.Pos
}

type identity struct{ instance, contact string }

// importer holds what an import keeps across batches.
type importer struct {
	s     *Store
	opts  callbill.ImportOptions
	rep   *callbill.ImportReport
	rater *callbill.Rater // the rating state; in the pipeline, every account's
	gen   int64           // the generation of the world the rater was built from
	conn  *sql.Conn       // one connection for the whole import (COPY needs it)

	stmts   map[string]*sql.Stmt // prepared in the current transaction
	sqlText map[string]string    // multi-row statements by shape
	args    []any                // reused
}

// work is one batch on its way: the rows, what rating made of them, and
// what storing them must write.
type work struct {
	rows     []pending
	gen      int64          // the world it was rated against
	closed   callbill.Cycle // the last closed cycle in that world
	accounts []string       // the accounts it touches, sorted
	rep      batchReport

	// The touched accounts' rating state before the batch, to check under
	// their locks that nobody else changed it meanwhile (pipeline only).
	startUsed map[callbill.AccountCycle]int64
	startPkgs map[string]int64 // package id → minutes left

	keys     []keyRow
	blocks   []*block
	agg      map[callbill.AggKey]*callbill.AggValue
	rec      map[callbill.RecKey]int64
	used     map[callbill.AccountCycle]int64 // platform minutes used after the batch, where it changed
	pkgs     []callbill.VoicePackage         // packages after the batch, where they changed
	minCycle callbill.Cycle                  // the earliest cycle the batch bills in
}

// batchReport counts one batch until it is committed.
type batchReport struct {
	imported, duplicates, rejected, conflicts int64
	rejects                                   []callbill.Reject
}

func (w *work) reject(pos callbill.Pos, reason string, conflict bool) {
	w.rep.rejected++
	if conflict {
		w.rep.conflicts++
	}
	w.rep.rejects = append(w.rep.rejects, callbill.Reject{Pos: pos, Reason: reason, Conflict: conflict})
}

func (w *work) dupOrConflict(pos callbill.Pos, first, again *callbill.CDR) {
	if first.SameContent(again) {
		w.rep.duplicates++
		return
	}
	w.reject(pos, fmt.Sprintf("conflict: contact %s on instance %s was imported before with different content; the first stays",
		again.ContactID, again.InstanceID), true)
}

// merge records a batch that is done: its counts, and its rejects — the
// decoder's (bad) and the later stages' together, in input order, so that
// OnReject sees every reject of the import in order and the report keeps the
// first MaxReportedRejects.
func (im *importer) merge(bad []callbill.Reject, b *batchReport) error {
	im.rep.Imported += b.imported
	im.rep.Duplicates += b.duplicates
	im.rep.Rejected += b.rejected + int64(len(bad))
	im.rep.Conflicts += b.conflicts
	rejects := b.rejects
	if len(bad) > 0 {
		rejects = append(bad[:len(bad):len(bad)], b.rejects...)
	}
	sort.SliceStable(rejects, func(i, j int) bool {
		x, y := rejects[i].Pos, rejects[j].Pos
		return x.File < y.File || (x.File == y.File && x.Line < y.Line)
	})
	for _, r := range rejects {
		if im.opts.OnReject != nil {
			if err := im.opts.OnReject(r); err != nil {
				return err
			}
		}
		if len(im.rep.Rejects) < callbill.MaxReportedRejects {
			im.rep.Rejects = append(im.rep.Rejects, r)
		}
	}
	return nil
}

// Import rates and stores CDRs (DESIGN §4.2, §5). Each batch is decoded,
// checked, deduplicated, rated and written with its aggregates in one
// transaction, so a crash loses nothing reported as imported and re-running
// the same import converges (what was stored comes back as duplicates).
//
// Three stages overlap: decoding batch N+2, rating N+1 and writing N. Rating
// runs ahead on the state it keeps in memory; before N+1 is written, its
// accounts are locked and their state read back, and if anyone else changed
// it meanwhile (another importer, a world apply, a close), N+1 is rated
// again from the database. A batch that meets a call stored before is done
// again the careful way, looking every row up.
func (s *Store) Import(ctx context.Context, src callbill.CDRSource, opts callbill.ImportOptions) (*callbill.ImportReport, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 40_000
	}
	started := time.Now()
	im := &importer{s: s, opts: opts, rep: &callbill.ImportReport{}, gen: -1, sqlText: map[string]string{},
		stmts: map[string]*sql.Stmt{}}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	im.conn = conn
	batches := make(chan decoded) // one batch decoded ahead, no more: memory stays flat
	stop := make(chan struct{})
	defer close(stop)
	go decodeBatches(src, opts.BatchSize, batches, stop)
	if opts.Strict {
		err = im.strict(ctx, batches)
	} else {
		err = im.pipeline(ctx, batches)
	}
	if err != nil {
		return nil, err
	}
	im.rep.Elapsed = time.Since(started)
	return im.rep, nil
}

// strict imports everything in one transaction, batch after batch, looking
// every row up, and rolls it all back if any row is rejected.
func (im *importer) strict(ctx context.Context, batches <-chan decoded) error {
	tx, err := im.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var read int64
	for d := range batches {
		if d.err != nil {
			return d.err
		}
		read += d.read
		w := &work{rows: d.rows}
		if err := im.sequential(context.WithoutCancel(ctx), tx, w, true); err != nil {
			return err
		}
		if err := im.merge(d.bad, &w.rep); err != nil {
			return err
		}
		if im.opts.Progress != nil {
			im.opts.Progress(read)
		}
	}
	im.closeStmts()
	if im.rep.Rejected > 0 {
		im.rep.Imported = 0
		return tx.Rollback()
	}
	return tx.Commit()
}

// errReplan says a batch rated ahead cannot be written as it is: the state
// it was rated from changed (another writer, a world apply, a close).
var errReplan = errors.New("the batch must be rated again")

// errStoredBefore says a batch met a call stored before.
var errStoredBefore = errors.New("a call of the batch was stored before")

func (im *importer) pipeline(ctx context.Context, batches <-chan decoded) error {
	// Statements run to the end once started: a cancellable context would
	// make the driver watch each one from a goroutine of its own.
	wctx := context.WithoutCancel(ctx)
	type flight struct {
		w    *work
		bad  []callbill.Reject // the decoder's rejects of the batch's rows
		read int64
		done chan error
	}
	var prev *flight
	var read int64
	// land waits for the batch in flight and records it; a batch that could
	// not be written as rated is done again in sequence.
	land := func() error {
		if prev == nil {
			return nil
		}
		err := <-prev.done
		if errors.Is(err, errReplan) || errors.Is(err, errStoredBefore) {
			// Rated ahead of state that no longer holds, or it holds calls
			// stored before (then look every row up straight away).
			im.rater = nil
			w := &work{rows: prev.w.rows}
			err = im.batch(wctx, w, errors.Is(err, errStoredBefore))
			prev.w = w
		}
		if err != nil {
			return err
		}
		if err := im.merge(prev.bad, &prev.w.rep); err != nil {
			return err
		}
		if im.opts.Progress != nil {
			im.opts.Progress(prev.read)
		}
		prev = nil
		return nil
	}
	for d := range batches {
		if err := ctx.Err(); err != nil {
			land()
			return err
		}
		if d.err != nil {
			land()
			return d.err
		}
		read += d.read
		if len(d.rows) == 0 {
			// Only bad rows: they follow the batch in flight.
			if err := land(); err != nil {
				return err
			}
			if err := im.merge(d.bad, &batchReport{}); err != nil {
				return err
			}
			continue
		}
		// Rate batch N+1 while batch N is being written.
		var w *work
		if im.rater != nil {
			w = &work{rows: d.rows, gen: im.gen, closed: im.rater.ClosedThrough}
			im.screen(w)
			im.rateAhead(w)
		}
		if err := land(); err != nil {
			return err
		}
		if im.rater == nil || (w != nil && w.gen != im.gen) {
			// No trusted state (first batch, or the last one was redone):
			// read everything once, then rate.
			if err := im.loadAll(wctx); err != nil {
				return err
			}
			w = &work{rows: d.rows, gen: im.gen, closed: im.rater.ClosedThrough}
			im.screen(w)
			im.rateAhead(w)
		}
		f := &flight{w: w, bad: d.bad, read: read, done: make(chan error, 1)}
		go func() { f.done <- im.commitAhead(wctx, f.w) }()
		prev = f
	}
	return land()
}

// loadAll reads the world and every account's rating state.
func (im *importer) loadAll(ctx context.Context) error {
	tx, err := im.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	im.rater = nil
	if err := im.prepareRater(ctx, tx); err != nil {
		return err
	}
	all := make([]string, 0, len(im.rater.Instances))
	seen := map[string]bool{}
	for _, inst := range im.rater.Instances {
		if !seen[inst.Account] {
			seen[inst.Account] = true
			all = append(all, inst.Account)
		}
	}
	sort.Strings(all)
	return im.loadRatingState(ctx, tx, all)
}

// screen drops duplicates within the batch and the rows rating can never
// take, and finds the accounts the rest touch.
func (im *importer) screen(w *work) []int {
	r := im.rater
	seen := make(map[identity]int, len(w.rows))
	cand := make([]int, 0, len(w.rows))
	touched := map[string]bool{}
	for i := range w.rows {
		c := &w.rows[i].cdr
		id := identity{c.InstanceID, c.ContactID}
		if j, ok := seen[id]; ok {
			w.dupOrConflict(w.rows[i].pos, &w.rows[j].cdr, c)
			continue
		}
		seen[id] = i
		inst, _, err := r.Lookup(c)
		if err != nil {
			w.reject(w.rows[i].pos, callbill.ErrorMessage(err), false)
			continue
		}
		touched[inst.Account] = true
		cand = append(cand, i)
	}
	w.accounts = make([]string, 0, len(touched))
	for a := range touched {
		w.accounts = append(w.accounts, a)
	}
	sort.Strings(w.accounts)
	w.keys = make([]keyRow, 0, len(cand))
	for _, i := range cand {
		w.keys = append(w.keys, keyRow{row: i})
	}
	return cand
}

// rateAhead notes the touched accounts' state, then rates the batch on the
// in-memory state.
func (im *importer) rateAhead(w *work) {
	r := im.rater
	touched := make(map[string]bool, len(w.accounts))
	for _, a := range w.accounts {
		touched[a] = true
	}
	w.startUsed = map[callbill.AccountCycle]int64{}
	for k, v := range r.PlatformUsed {
		if touched[k.Account] && v != 0 {
			w.startUsed[k] = v
		}
	}
	w.startPkgs = map[string]int64{}
	for _, a := range w.accounts {
		for _, p := range r.Packages[a] {
			if p.Remaining > 0 {
				w.startPkgs[p.ID] = p.Remaining
			}
		}
	}
	im.rate(w)
}

// commitAhead writes a batch rated ahead, if the state it was rated from
// still holds under the accounts' locks; otherwise it rolls back with
// errReplan and leaves the batch to be done again.
func (im *importer) commitAhead(ctx context.Context, w *work) error {
	tx, err := im.begin(ctx)
	if err != nil {
		return err
	}
	defer im.closeStmts()
	err = im.commitAheadTx(ctx, tx, w)
	if err != nil {
		tx.Rollback()
		if isRetryable(err) {
			return errReplan
		}
		return err // errReplan, errStoredBefore or a failure
	}
	return tx.Commit()
}

func (im *importer) commitAheadTx(ctx context.Context, tx *Tx, w *work) error {
	if err := im.s.lockWriter(ctx, tx); err != nil {
		return err
	}
	gen, err := getMetaInt(ctx, tx, "gen")
	if err != nil {
		return err
	}
	if gen != w.gen {
		return errReplan // a world apply or a close came in between
	}
	if err := im.s.lockAccounts(ctx, tx, w.accounts); err != nil {
		return err
	}
	used, pkgs, err := im.readState(ctx, tx, w.accounts, w.closed)
	if err != nil {
		return err
	}
	if !sameUsed(used, w.startUsed) || len(pkgs) != len(w.startPkgs) {
		return errReplan
	}
	for _, p := range pkgs {
		if w.startPkgs[p.ID] != p.Remaining {
			return errReplan
		}
	}
	return im.store(ctx, tx, w)
}

func sameUsed(a, b map[callbill.AccountCycle]int64) bool {
	for k, v := range a {
		if v != 0 && b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if v != 0 && a[k] != v {
			return false
		}
	}
	return true
}

// batch imports one batch in sequence, in its own transaction: unless
// careful, first rating every row as new, and if the database already holds
// one of them, again the careful way, looking every row up.
func (im *importer) batch(ctx context.Context, w *work, careful bool) error {
	tries := 0
	rows := w.rows
	for ; ; careful = true {
		tx, err := im.begin(ctx)
		if err != nil {
			return err
		}
		*w = work{rows: rows}
		err = im.sequential(ctx, tx, w, careful)
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		im.closeStmts()
		im.rater = nil // it holds only this batch's accounts now (or a rolled-back batch)
		if errors.Is(err, errStoredBefore) && !careful {
			continue
		}
		if isRetryable(err) && tries < 5 { // lost a race with another writer: again, carefully
			tries++
			continue
		}
		return err
	}
}

// sequential dedupes, rates and writes one batch inside tx, reading the
// state of its accounts under their locks. careful looks every row up before
// rating; otherwise a row stored before fails the insert with errStoredBefore.
func (im *importer) sequential(ctx context.Context, tx *Tx, w *work, careful bool) error {
	if err := im.s.lockWriter(ctx, tx); err != nil {
		return err
	}
	if err := im.prepareRater(ctx, tx); err != nil {
		return err
	}
	cand := im.screen(w)
	if len(cand) == 0 {
		return nil
	}
	if err := im.s.lockAccounts(ctx, tx, w.accounts); err != nil {
		return err
	}
	if err := im.loadRatingState(ctx, tx, w.accounts); err != nil {
		return err
	}
	// Under the accounts' locks nobody else stores their calls, so what the
	// careful path looks up stays true until the batch commits.
	if careful {
		fresh, err := im.filterStored(ctx, tx, w, cand)
		if err != nil {
			return err
		}
		w.keys = w.keys[:0]
		for _, i := range fresh {
			w.keys = append(w.keys, keyRow{row: i})
		}
	}
	im.rate(w)
	return im.store(ctx, tx, w)
}

// begin starts a transaction on the import's connection.
func (im *importer) begin(ctx context.Context) (*Tx, error) {
	tx, err := im.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{tx, im.s}, nil
}

// prepareRater (re)loads the directory, the price book and the closed
// cycle when a world apply or a close changed them since (the generation
// differs); imports do not change them.
func (im *importer) prepareRater(ctx context.Context, tx *Tx) error {
	gen, err := getMetaInt(ctx, tx, "gen")
	if err != nil {
		return err
	}
	if im.rater != nil && gen == im.gen {
		return nil
	}
	loc, _, err := location(ctx, tx)
	if err != nil {
		return err
	}
	book, err := loadPriceBook(ctx, tx)
	if err != nil {
		return err
	}
	closed, err := closedThrough(ctx, tx)
	if err != nil {
		return err
	}
	accts, err := loadAccounts(ctx, tx, "")
	if err != nil {
		return err
	}
	window, err := billingWindow(ctx, tx, im.s.Now(), loc)
	if err != nil {
		return err
	}
	im.rater, im.gen = callbill.NewRater(window, book, closed, instanceDirectory(accts)), gen
	return nil
}

// loadRatingState loads, for the accounts a batch touches, what rating
// consumes: voice packages with minutes left and the platform minutes used
// in the open cycles. It is read inside the batch's transaction after the
// accounts are locked, so several importers never rate from stale state.
func (im *importer) loadRatingState(ctx context.Context, tx *Tx, accounts []string) error {
	r := im.rater
	r.Forget()
	used, pkgs, err := im.readState(ctx, tx, accounts, r.ClosedThrough)
	if err != nil {
		return err
	}
	byAcct := map[string][]*callbill.VoicePackage{}
	for _, p := range pkgs {
		byAcct[p.Account] = append(byAcct[p.Account], p)
	}
	for a, ps := range byAcct {
		r.SetPackages(a, ps)
	}
	r.PlatformUsed = used
	return nil
}

// readState reads the accounts' voice packages with minutes left and their
// platform minutes used in open cycles.
func (im *importer) readState(ctx context.Context, tx *Tx, accounts []string, closed callbill.Cycle) (map[callbill.AccountCycle]int64, []*callbill.VoicePackage, error) {
	used := map[callbill.AccountCycle]int64{}
	var pkgs []*callbill.VoicePackage
	for start := 0; start < len(accounts); start += 500 {
		part := accounts[start:min(start+500, len(accounts))]
		in := "(?" + strings.Repeat(",?", len(part)-1) + ")"
		args := make([]any, 0, len(part)+1)
		for _, a := range part {
			args = append(args, a)
		}
		rows, err := tx.QueryContext(ctx, `SELECT account, id, type, minutes, remaining, from_unix, until_unix FROM packages
			WHERE remaining > 0 AND account IN `+in, args...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			p := &callbill.VoicePackage{}
			var from, until int64
			if err := rows.Scan(&p.Account, &p.ID, &p.Type, &p.Minutes, &p.Remaining, &from, &until); err != nil {
				rows.Close()
				return nil, nil, err
			}
			p.From, p.Until = time.Unix(from, 0), time.Unix(until, 0)
			pkgs = append(pkgs, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
		rows, err = tx.QueryContext(ctx, `SELECT account, cycle, platform_minutes FROM account_cycles
			WHERE cycle > ? AND account IN `+in, append([]any{int(closed)}, args...)...)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var k callbill.AccountCycle
			var n int64
			if err := rows.Scan(&k.Account, &k.Cycle, &n); err != nil {
				rows.Close()
				return nil, nil, err
			}
			used[k] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	return used, pkgs, nil
}

// stmt returns q prepared in tx, preparing it once per transaction.
func (im *importer) stmt(ctx context.Context, tx *Tx, q string) (*sql.Stmt, error) {
	if st, ok := im.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	im.stmts[q] = st
	return st, nil
}

func (im *importer) closeStmts() {
	for q, st := range im.stmts {
		st.Close()
		delete(im.stmts, q)
	}
}

// filterStored drops the candidates already stored: duplicates, or
// conflicts when the content differs (the stored call is read back from its
// block to compare).
func (im *importer) filterStored(ctx context.Context, tx *Tx, w *work, cand []int) ([]int, error) {
	rows := w.rows
	byInst := map[string][]int{}
	for _, i := range cand {
		byInst[rows[i].cdr.InstanceID] = append(byInst[rows[i].cdr.InstanceID], i)
	}
	found := map[identity]int64{} // identity → sequence
	for inst, idx := range byInst {
		for start := 0; start < len(idx); start += 500 {
			part := idx[start:min(start+500, len(idx))]
			args := []any{inst}
			for _, i := range part {
				args = append(args, rows[i].cdr.ContactID)
			}
			rs, err := tx.QueryContext(ctx, `SELECT contact_id, seq FROM call_keys
				WHERE instance = ? AND contact_id IN (?`+strings.Repeat(",?", len(part)-1)+`)`, args...)
			if err != nil {
				return nil, err
			}
			for rs.Next() {
				var contact string
				var seq int64
				if err := rs.Scan(&contact, &seq); err != nil {
					rs.Close()
					return nil, err
				}
				found[identity{inst, contact}] = seq
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return nil, err
			}
		}
	}
	stored := map[identity]callbill.CDR{}
	bySeq := map[int64]identity{}
	for id, seq := range found {
		bySeq[seq] = id
	}
	seqs := make([]int64, 0, len(bySeq))
	for seq := range bySeq {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	// Read each block once: the block of the lowest unresolved sequence is
	// the last one starting at or before it, and it holds every sequence
	// below its end.
	for len(seqs) > 0 {
		var blockSeq int64
		var acct string
		var cycle, n int
		var data []byte
		if err := tx.QueryRowContext(ctx, `SELECT seq, account, cycle, calls, data FROM call_blocks
			WHERE seq <= ? ORDER BY seq DESC LIMIT 1`, seqs[0]).Scan(&blockSeq, &acct, &cycle, &n, &data); err != nil {
			return nil, fmt.Errorf("the block of call %d: %w", seqs[0], err)
		}
		end := blockSeq + int64(n)
		for len(seqs) > 0 && seqs[0] < end {
			seqs = seqs[1:]
		}
		err := decodeBlock(data, acct, callbill.Cycle(cycle), blockSeq, func(c *callbill.Call) error {
			if id, ok := bySeq[c.Seq]; ok && id == (identity{c.InstanceID, c.ContactID}) {
				stored[id] = c.CDR
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	fresh := cand[:0:0]
	for _, i := range cand {
		c := &rows[i].cdr
		if old, ok := stored[identity{c.InstanceID, c.ContactID}]; ok {
			w.dupOrConflict(rows[i].pos, &old, c)
			continue
		}
		if _, ok := found[identity{c.InstanceID, c.ContactID}]; ok {
			return nil, fmt.Errorf("call %s on %s is indexed but not in its block", c.ContactID, c.InstanceID)
		}
		fresh = append(fresh, i)
	}
	return fresh, nil
}

// block is the calls of one account and billed cycle in a batch, packed.
type block struct {
	account     string
	cycle       callbill.Cycle
	seq         int64 // ingest sequence of its first call
	calls       int
	data        []byte
	first, last int64 // earliest and latest start of its calls
}

// keyRow says where a stored call is: the row of the batch, its block, and
// its position there.
type keyRow struct {
	row   int
	block *block
	pos   int
}

// rate rates the batch's rows in input order on the rater's state, adds
// them to the batch's aggregates, packs them into one block per account and
// billed cycle, and takes the state the batch changed. Nothing per call
// outlives it but its packed bytes and its identity row.
func (im *importer) rate(w *work) {
	r := im.rater
	w.agg = map[callbill.AggKey]*callbill.AggValue{}
	w.rec = map[callbill.RecKey]int64{}
	type blockKey struct {
		account string
		cycle   callbill.Cycle
	}
	byKey := map[blockKey]*block{}
	keys := w.keys[:0]
	for _, k := range w.keys {
		i := k.row
		call, err := r.Rate(&w.rows[i].cdr)
		if err != nil { // screen let it through, so this does not happen; still, never lose a row
			w.reject(w.rows[i].pos, callbill.ErrorMessage(err), false)
			continue
		}
		call.Aggregate(w.agg)
		if b := call.StoredBytes(); b > 0 {
			w.rec[callbill.RecKey{Account: call.Account, StartCycle: call.StartCycle, Instance: call.InstanceID}] += b
		}
		if w.minCycle == 0 || call.Cycle < w.minCycle {
			w.minCycle = call.Cycle
		}
		bk := blockKey{call.Account, call.Cycle}
		blk := byKey[bk]
		if blk == nil {
			blk = &block{account: bk.account, cycle: bk.cycle}
			byKey[bk] = blk
			w.blocks = append(w.blocks, blk)
		}
		keys = append(keys, keyRow{row: i, block: blk, pos: blk.calls})
		blk.data = appendCall(blk.data, &call)
		if blk.calls == 0 || call.Start < blk.first {
			blk.first = call.Start
		}
		if call.Start > blk.last {
			blk.last = call.Start
		}
		blk.calls++
	}
	// Identities go in grouped by instance, in input order within one (its
	// contact ids mostly grow): each lands next to the last one of its
	// instance, which keeps the pages a batch dirties, and so its commit, few.
	byInst := map[string][]keyRow{}
	for _, k := range keys {
		inst := w.rows[k.row].cdr.InstanceID
		byInst[inst] = append(byInst[inst], k)
	}
	insts := make([]string, 0, len(byInst))
	for inst := range byInst {
		insts = append(insts, inst)
	}
	sort.Strings(insts)
	w.keys = keys[:0]
	for _, inst := range insts {
		w.keys = append(w.keys, byInst[inst]...)
	}
	w.used = make(map[callbill.AccountCycle]int64, len(r.DirtyCycles))
	for k := range r.DirtyCycles {
		w.used[k] = r.PlatformUsed[k]
	}
	clear(r.DirtyCycles)
	for _, p := range r.DirtyPackages {
		w.pkgs = append(w.pkgs, *p)
	}
	clear(r.DirtyPackages)
}

// store writes a rated batch in tx: the identities (a call stored before
// fails them with errStoredBefore), the blocks under a fresh batch id, the
// aggregates and the state the batch changed.
func (im *importer) store(ctx context.Context, tx *Tx, w *work) error {
	if len(w.keys) == 0 {
		return nil
	}
	batchID, err := im.s.nextBatchID(ctx, tx)
	if err != nil {
		return err
	}
	// Ingest sequence: the batch id, then the position of the call among the
	// batch's calls grouped by block. Batches of an account are serialized by
	// its lock, so an account's sequence grows in rating order.
	next := batchID << 20
	for _, blk := range w.blocks {
		blk.seq = next
		next += int64(blk.calls)
	}
	err = im.storeRows(ctx, tx, "call_keys", []string{"instance", "contact_id", "seq"}, len(w.keys),
		func(n int, dst []any) []any {
			k := &w.keys[n]
			c := &w.rows[k.row].cdr
			return append(dst, c.InstanceID, c.ContactID, k.block.seq+int64(k.pos))
		})
	if err != nil {
		if im.s.isUniqueViolation(err) {
			return errStoredBefore
		}
		return err
	}
	err = im.storeRows(ctx, tx, "call_blocks", []string{"seq", "account", "cycle", "calls", "data", "first_start", "last_start"}, len(w.blocks),
		func(n int, dst []any) []any {
			b := w.blocks[n]
			return append(dst, b.seq, b.account, int(b.cycle), b.calls, b.data, b.first, b.last)
		})
	if err != nil {
		return err
	}
	if err := im.writeState(ctx, tx, w); err != nil {
		return err
	}
	w.rep.imported = int64(len(w.keys))
	return nil
}

// storeRows inserts n rows, row(i, dst) appending row i's values to dst:
// with COPY on PostgreSQL, with multi-row INSERTs on SQLite. A plain insert:
// a key stored before fails it.
func (im *importer) storeRows(ctx context.Context, tx *Tx, table string, cols []string, n int, row func(i int, dst []any) []any) error {
	if n == 0 {
		return nil
	}
	if im.s.dialect == dialectPostgres {
		return im.copyRows(ctx, table, cols, n, row)
	}
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	per := maxParams / len(cols)
	args := im.args[:0]
	defer func() { im.args = args[:0] }()
	for start := 0; start < n; start += per {
		args = args[:0]
		for i := start; i < min(start+per, n); i++ {
			args = row(i, args)
		}
		if err := im.execRows(ctx, tx, head, "", len(cols), args); err != nil {
			return err
		}
	}
	return nil
}

// writeState adds the batch's aggregates and writes the rating state it
// changed, many rows per statement.
func (im *importer) writeState(ctx context.Context, tx *Tx, w *work) error {
	args := im.args[:0]
	defer func() { im.args = args[:0] }()
	for k, v := range w.agg {
		args = append(args, k.Account, int(k.Cycle), k.Day, string(k.PD), k.Instance, string(k.Item), k.Number, k.Micro,
			k.PriceFrom, k.Band, v.Usage, v.Covered, v.Calls)
	}
	err := im.execRows(ctx, tx, `INSERT INTO usage_agg (account, cycle, day, pd, instance, item, number, micro, price_from, band, usage, covered, calls) VALUES `,
		` ON CONFLICT (account, cycle, day, pd, instance, item, number, micro, price_from, band)
		DO UPDATE SET usage = usage_agg.usage + excluded.usage, covered = usage_agg.covered + excluded.covered,
		calls = usage_agg.calls + excluded.calls`, 13, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for k, b := range w.rec {
		args = append(args, k.Account, int(k.StartCycle), k.Instance, b)
	}
	err = im.execRows(ctx, tx, `INSERT INTO recording_agg (account, start_cycle, instance, bytes) VALUES `,
		` ON CONFLICT (account, start_cycle, instance) DO UPDATE SET bytes = recording_agg.bytes + excluded.bytes`, 4, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for k, n := range w.used {
		args = append(args, k.Account, int(k.Cycle), n)
	}
	err = im.execRows(ctx, tx, `INSERT INTO account_cycles (account, cycle, platform_minutes) VALUES `,
		` ON CONFLICT (account, cycle) DO UPDATE SET platform_minutes = excluded.platform_minutes`, 3, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for _, p := range w.pkgs {
		args = append(args, p.Account, p.ID, string(p.Type), p.Minutes, p.Remaining, p.From.Unix(), p.Until.Unix())
	}
	err = im.execRows(ctx, tx, `INSERT INTO packages (account, id, type, minutes, remaining, from_unix, until_unix) VALUES `,
		` ON CONFLICT (account, id) DO UPDATE SET remaining = excluded.remaining`, 7, args)
	if err != nil {
		return err
	}
	if w.minCycle != 0 {
		return noteActivity(ctx, tx, w.minCycle)
	}
	return nil
}

// maxParams bounds the parameters of one multi-row statement (SQLite allows
// 32766, PostgreSQL 65535).
const maxParams = 8000

// execRows runs head + "(?,…),(?,…)…" + tail over rows of width values each
// (args holds them flat), as few statements as the parameter limit allows:
// one round trip per chunk instead of one per row.
func (im *importer) execRows(ctx context.Context, tx *Tx, head, tail string, width int, args []any) error {
	per := maxParams / width
	for start := 0; start < len(args); start += per * width {
		part := args[start:min(start+per*width, len(args))]
		n := len(part) / width
		key := head + "\x00" + strconv.Itoa(n) + tail
		q, ok := im.sqlText[key]
		if !ok {
			q = rowsSQL(head, tail, width, n)
			im.sqlText[key] = q
		}
		st, err := im.stmt(ctx, tx, q)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, part...); err != nil {
			return err
		}
	}
	return nil
}

// bumpGen marks that the rating state changed, so that importers reload it.
func bumpGen(ctx context.Context, q querier) error {
	g, err := getMetaInt(ctx, q, "gen")
	if err != nil {
		return err
	}
	return setMeta(ctx, q, "gen", strconv.FormatInt(g+1, 10))
}
