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
	ctx   context.Context
	opts  callbill.ImportOptions
	rep   *callbill.ImportReport
	br    *batchReport // the batch being imported
	rater *callbill.Rater
	gen   int64     // the generation of the world the rater was built from
	seq   int64     // the last ingest sequence number given out
	conn  *sql.Conn // one connection for the whole import (COPY needs it)
	tx    *Tx       // the transaction of the current batch (strict: of the whole import)

	stmts   map[string]*sql.Stmt // prepared in the current transaction
	sqlText map[string]string    // multi-row statements by shape

	minCycle callbill.Cycle // the earliest cycle the batch bills in

	// reused buffers
	agg  map[callbill.AggKey]*callbill.AggValue
	rec  map[callbill.RecKey]int64
	args []any
	rbuf []byte
}

// Import rates and stores CDRs (DESIGN §4.2, §5): each batch is decoded,
// checked, deduplicated, rated and written with its aggregates in one
// transaction, so a crash loses nothing reported as imported and re-running
// the same import converges (what was stored comes back as duplicates).
func (s *Store) Import(ctx context.Context, src callbill.CDRSource, opts callbill.ImportOptions) (*callbill.ImportReport, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 50_000
	}
	started := time.Now()
	im := &importer{s: s, ctx: ctx, opts: opts, rep: &callbill.ImportReport{}, gen: -1, sqlText: map[string]string{},
		agg: map[callbill.AggKey]*callbill.AggValue{}, rec: map[callbill.RecKey]int64{}}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	im.conn = conn
	if opts.Strict {
		tx, err := im.begin(ctx)
		if err != nil {
			return nil, err
		}
		im.tx = tx
		defer func() {
			if im.tx != nil {
				im.tx.Rollback()
			}
		}()
	}
	// Decoding runs one batch ahead of rating and writing, on another core.
	batches := make(chan decoded) // one batch decoded ahead, no more: memory stays flat
	stop := make(chan struct{})
	defer close(stop)
	go decodeBatches(src, opts.BatchSize, batches, stop)
	var read int64
	for d := range batches {
		if d.err != nil {
			return nil, d.err
		}
		read += d.read
		im.rep.Rejected += int64(len(d.bad))
		im.rep.Rejects = append(im.rep.Rejects, d.bad...)
		if len(d.rows) > 0 {
			if err := im.batch(d.rows); err != nil {
				return nil, err
			}
		}
		if opts.Progress != nil {
			opts.Progress(read)
		}
	}
	if opts.Strict {
		im.closeStmts()
		tx := im.tx
		im.tx = nil
		if im.rep.Rejected > 0 {
			if err := tx.Rollback(); err != nil {
				return nil, err
			}
			im.rep.Imported = 0
		} else if err := tx.Commit(); err != nil {
			return nil, err
		}
	}
	im.rep.Elapsed = time.Since(started)
	return im.rep, nil
}

// reject records a rejected row in the current batch's report.
func (im *importer) reject(pos callbill.Pos, reason string, conflict bool) {
	im.br.rejected++
	if conflict {
		im.br.conflicts++
	}
	im.br.rejects = append(im.br.rejects, callbill.Reject{Pos: pos, Reason: reason, Conflict: conflict})
}

// errStoredBefore says an optimistic batch met a call stored before.
var errStoredBefore = errors.New("a call of the batch was stored before")

// batch imports one batch in its own transaction (strict: in the import's
// one transaction). It first tries the fast path, which rates every row as
// new; if the database already holds one of them, the transaction is rolled
// back and the batch is done again the careful way, looking up every row.
func (im *importer) batch(rows []pending) error {
	if err := im.ctx.Err(); err != nil {
		return err
	}
	// Statements run to the end once started: a cancellable context would
	// make the driver watch each one from a goroutine of its own.
	ctx := context.WithoutCancel(im.ctx)
	if im.opts.Strict {
		im.br = &batchReport{}
		if err := im.process(ctx, im.tx, rows, true); err != nil {
			return err
		}
		im.merge()
		return nil
	}
	tries := 0
	for careful := false; ; careful = true {
		tx, err := im.begin(ctx)
		if err != nil {
			return err
		}
		im.tx, im.br = tx, &batchReport{}
		err = im.process(ctx, tx, rows, careful)
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		im.closeStmts()
		if err != nil {
			im.rater = nil // its cache holds the rolled-back batch: reload
		}
		if errors.Is(err, errStoredBefore) && !careful {
			continue
		}
		if isRetryable(err) && tries < 5 { // lost a race with another writer: again, carefully
			tries++
			continue
		}
		if err != nil {
			return err
		}
		im.merge()
		return nil
	}
}

// begin starts a transaction on the import's connection.
func (im *importer) begin(ctx context.Context) (*Tx, error) {
	tx, err := im.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{tx, im.s}, nil
}

// batchReport counts one batch until it is committed.
type batchReport struct {
	imported, duplicates, rejected, conflicts int64
	rejects                                   []callbill.Reject
}

func (im *importer) merge() {
	b := im.br
	im.rep.Imported += b.imported
	im.rep.Duplicates += b.duplicates
	im.rep.Rejected += b.rejected
	im.rep.Conflicts += b.conflicts
	im.rep.Rejects = append(im.rep.Rejects, b.rejects...)
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
	im.rater, im.gen = callbill.NewRater(loc, book, closed, instanceDirectory(accts)), gen
	return nil
}

// loadRatingState loads, for the accounts a batch touches, what rating
// consumes: voice packages with minutes left and the platform minutes used
// in the open cycles. It is read inside the batch's transaction after the
// accounts are locked, so several importers never rate from stale state.
func (im *importer) loadRatingState(ctx context.Context, tx *Tx, accounts []string) error {
	r := im.rater
	r.Forget()
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
			return err
		}
		byAcct := map[string][]*callbill.VoicePackage{}
		for rows.Next() {
			p := &callbill.VoicePackage{}
			var from, until int64
			if err := rows.Scan(&p.Account, &p.ID, &p.Type, &p.Minutes, &p.Remaining, &from, &until); err != nil {
				rows.Close()
				return err
			}
			p.From, p.Until = time.Unix(from, 0), time.Unix(until, 0)
			byAcct[p.Account] = append(byAcct[p.Account], p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for a, ps := range byAcct {
			r.SetPackages(a, ps)
		}
		rows, err = tx.QueryContext(ctx, `SELECT account, cycle, platform_minutes FROM account_cycles
			WHERE cycle > ? AND account IN `+in, append([]any{int(r.ClosedThrough)}, args...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k callbill.AccountCycle
			var used int64
			if err := rows.Scan(&k.Account, &k.Cycle, &used); err != nil {
				rows.Close()
				return err
			}
			r.PlatformUsed[k] = used
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
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

// process dedupes, rates and writes one batch inside tx. careful looks every
// row up before rating; otherwise a row stored before fails the insert with
// errStoredBefore.
func (im *importer) process(ctx context.Context, tx *Tx, rows []pending, careful bool) error {
	if im.stmts == nil {
		im.stmts = map[string]*sql.Stmt{}
	}
	if err := im.s.lockWriter(ctx, tx); err != nil {
		return err
	}
	if err := im.prepareRater(ctx, tx); err != nil {
		return err
	}
	r := im.rater
	// Duplicates within the batch, and rows rating can never take.
	seen := make(map[identity]int, len(rows))
	cand := make([]int, 0, len(rows))
	for i := range rows {
		c := &rows[i].cdr
		id := identity{c.InstanceID, c.ContactID}
		if j, ok := seen[id]; ok {
			im.dupOrConflict(rows[i].pos, &rows[j].cdr, c)
			continue
		}
		seen[id] = i
		if _, _, err := r.Lookup(c); err != nil {
			im.reject(rows[i].pos, callbill.ErrorMessage(err), false)
			continue
		}
		cand = append(cand, i)
	}
	if len(cand) == 0 {
		return nil
	}
	touched := map[string]bool{}
	for _, i := range cand {
		touched[r.Instances[rows[i].cdr.InstanceID].Account] = true
	}
	accounts := make([]string, 0, len(touched))
	for a := range touched {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	if err := im.s.lockAccounts(ctx, tx, accounts); err != nil {
		return err
	}
	if err := im.loadRatingState(ctx, tx, accounts); err != nil {
		return err
	}
	// Under the accounts' locks nobody else stores their calls, so what the
	// careful path looks up stays true until the batch commits.
	if careful {
		var err error
		if cand, err = im.filterStored(ctx, tx, rows, cand); err != nil {
			return err
		}
		if len(cand) == 0 {
			return nil
		}
	}
	batchID, err := im.s.nextBatchID(ctx, tx)
	if err != nil {
		return err
	}
	inserted, err := im.rateAndInsert(ctx, tx, rows, cand, batchID)
	if err != nil {
		return err
	}
	im.br.imported += inserted
	return im.writeState(ctx, tx)
}

func (im *importer) dupOrConflict(pos callbill.Pos, first, again *callbill.CDR) {
	if first.SameContent(again) {
		im.br.duplicates++
		return
	}
	im.reject(pos, fmt.Sprintf("conflict: contact %s on instance %s was imported before with different content; the first stays",
		again.ContactID, again.InstanceID), true)
}

// filterStored drops the candidates already stored: duplicates, or
// conflicts when the content differs (the stored call is read back from its
// block to compare).
func (im *importer) filterStored(ctx context.Context, tx *Tx, rows []pending, cand []int) ([]int, error) {
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
			im.dupOrConflict(rows[i].pos, &old, c)
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
	account string
	cycle   callbill.Cycle
	seq     int64 // ingest sequence of its first call
	calls   int
	data    []byte
}

// keyRow says where a stored call is: the row of the batch, its block, and
// its position there.
type keyRow struct {
	row   int
	block *block
	pos   int
}

// rateAndInsert rates the candidates in input order, adds them to the
// aggregates, packs them into one block per account and billed cycle, and
// stores the blocks and the calls' identities; it returns how many calls
// were stored. An identity stored before fails the insert with
// errStoredBefore. Nothing per call outlives the loop but its packed bytes
// and its identity row, so a batch costs little memory.
func (im *importer) rateAndInsert(ctx context.Context, tx *Tx, rows []pending, cand []int, batchID int64) (int64, error) {
	r := im.rater
	clear(im.agg)
	clear(im.rec)
	im.minCycle = 0
	type blockKey struct {
		account string
		cycle   callbill.Cycle
	}
	var blocks []*block
	byKey := map[blockKey]*block{}
	keys := make([]keyRow, 0, len(cand))
	for _, i := range cand {
		call, err := r.Rate(&rows[i].cdr)
		if err != nil {
			if callbill.ErrorCode(err) == callbill.EINVALID { // Lookup let it through; rating did not
				im.reject(rows[i].pos, callbill.ErrorMessage(err), false)
				continue
			}
			return 0, err
		}
		call.Aggregate(im.agg)
		if b := call.StoredBytes(); b > 0 {
			im.rec[callbill.RecKey{Account: call.Account, StartCycle: call.StartCycle, Instance: call.InstanceID}] += b
		}
		if im.minCycle == 0 || call.Cycle < im.minCycle {
			im.minCycle = call.Cycle
		}
		bk := blockKey{call.Account, call.Cycle}
		blk := byKey[bk]
		if blk == nil {
			blk = &block{account: bk.account, cycle: bk.cycle}
			byKey[bk] = blk
			blocks = append(blocks, blk)
		}
		keys = append(keys, keyRow{row: i, block: blk, pos: blk.calls})
		blk.data = appendCall(blk.data, &call)
		blk.calls++
	}
	// Ingest sequence: the batch id, then the position of the call among the
	// batch's calls grouped by block. Batches of an account are serialized by
	// its lock, so an account's sequence grows in rating order.
	next := batchID << 20
	for _, blk := range blocks {
		blk.seq = next
		next += int64(blk.calls)
	}
	// Identities go in grouped by instance, in input order within one (its
	// contact ids mostly grow): each lands next to the last one of its
	// instance, which keeps the pages a batch dirties, and so its commit, few.
	byInst := map[string][]keyRow{}
	for _, k := range keys {
		inst := rows[k.row].cdr.InstanceID
		byInst[inst] = append(byInst[inst], k)
	}
	insts := make([]string, 0, len(byInst))
	for inst := range byInst {
		insts = append(insts, inst)
	}
	sort.Strings(insts)
	keys = keys[:0]
	for _, inst := range insts {
		keys = append(keys, byInst[inst]...)
	}
	err := im.storeRows(ctx, tx, "call_keys", []string{"instance", "contact_id", "seq"}, len(keys),
		func(n int, dst []any) []any {
			k := &keys[n]
			c := &rows[k.row].cdr
			return append(dst, c.InstanceID, c.ContactID, k.block.seq+int64(k.pos))
		})
	if err != nil {
		if im.s.isUniqueViolation(err) {
			return 0, errStoredBefore
		}
		return 0, err
	}
	err = im.storeRows(ctx, tx, "call_blocks", []string{"seq", "account", "cycle", "calls", "data"}, len(blocks),
		func(n int, dst []any) []any {
			b := blocks[n]
			return append(dst, b.seq, b.account, int(b.cycle), b.calls, b.data)
		})
	if err != nil {
		return 0, err
	}
	return int64(len(keys)), nil
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
	for start := 0; start < n; start += per {
		args := im.args[:0]
		for i := start; i < min(start+per, n); i++ {
			args = row(i, args)
		}
		im.args = args
		if err := im.execRows(ctx, tx, head, "", len(cols), args); err != nil {
			return err
		}
	}
	return nil
}

// writeState writes the batch's aggregates and the rater's changed state.
func (im *importer) writeState(ctx context.Context, tx *Tx) error {
	if err := im.upsertAggregates(ctx, tx); err != nil {
		return err
	}
	if im.minCycle != 0 {
		return noteActivity(ctx, tx, im.minCycle)
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

// upsertAggregates adds the batch's aggregates and writes the rater's changed
// state, many rows per statement.
func (im *importer) upsertAggregates(ctx context.Context, tx *Tx) error {
	r := im.rater
	args := im.args[:0]
	for k, v := range im.agg {
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
	for k, b := range im.rec {
		args = append(args, k.Account, int(k.StartCycle), k.Instance, b)
	}
	err = im.execRows(ctx, tx, `INSERT INTO recording_agg (account, start_cycle, instance, bytes) VALUES `,
		` ON CONFLICT (account, start_cycle, instance) DO UPDATE SET bytes = recording_agg.bytes + excluded.bytes`, 4, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for k := range r.DirtyCycles {
		args = append(args, k.Account, int(k.Cycle), r.PlatformUsed[k])
	}
	err = im.execRows(ctx, tx, `INSERT INTO account_cycles (account, cycle, platform_minutes) VALUES `,
		` ON CONFLICT (account, cycle) DO UPDATE SET platform_minutes = excluded.platform_minutes`, 3, args)
	if err != nil {
		return err
	}
	clear(r.DirtyCycles)
	args = args[:0]
	for _, p := range r.DirtyPackages {
		args = append(args, p.Account, p.ID, string(p.Type), p.Minutes, p.Remaining, p.From.Unix(), p.Until.Unix())
	}
	err = im.execRows(ctx, tx, `INSERT INTO packages (account, id, type, minutes, remaining, from_unix, until_unix) VALUES `,
		` ON CONFLICT (account, id) DO UPDATE SET remaining = excluded.remaining`, 7, args)
	clear(r.DirtyPackages)
	im.args = args
	return err
}

// bumpGen marks that the rating state changed, so that importers reload it.
func bumpGen(ctx context.Context, q querier) error {
	g, err := getMetaInt(ctx, q, "gen")
	if err != nil {
		return err
	}
	return setMeta(ctx, q, "gen", strconv.FormatInt(g+1, 10))
}
