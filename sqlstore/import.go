package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
	"github.com/mattn/go-sqlite3"
)

// importer is an import's session (ingest.Session; the pipeline is
// ingest.Service): one connection for the whole import (COPY needs it).
type importer struct {
	s    *Store
	conn *sql.Conn

	stmts     map[string]*sql.Stmt           // prepared in the current transaction
	queued    []queuedStmt                   // PostgreSQL: a batch's writes waiting to go as one pipeline (flush)
	queue     bool                           // execRows queues instead of running
	direct    map[string]*sqlite3.SQLiteStmt // SQLite: prepared on the connection (execDirect)
	named     []driver.NamedValue            // execDirect's, reused
	sqlText   map[string]string              // multi-row statements by shape
	args      []any                          // reused
	memJrnl   bool                           // SQLite: statement journals kept in memory (OpenIngest)
	aggRows   []aggRow                       // addUsage's, reused
	lines     map[lineKey]int64              // usage_lines' ids the session knows, committed
	linesRead map[string]struct{}            // the accounts whose lines it read
	newLines  map[lineKey]int64              // the lines the current transaction added
	copyBuf   []byte                         // PostgreSQL: a COPY's data, reused (copyEncoded)
	copyTypes map[string][]uint32            // PostgreSQL: the column types of a COPY, by table and columns
}

// OpenIngest opens an import session (see ingest.Store).
func (s *Store) OpenIngest(ctx context.Context, use ingest.SessionUse) (ingest.Session, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// A multi-row statement inside a transaction keeps the pages it changes
	// in a statement journal, to undo just itself on an error; past 64 KiB
	// SQLite spills it to a temporary file of its own. A group's rounds keep
	// theirs in memory: their statements are small, and a round that spilled
	// opened and wrote a file. A file import's spill too (half of its
	// writes), but held in memory its journals left the C heap fragmented,
	// 28 MB more at 10,000,000 calls (docs/decisions.md, "SQLite statements
	// bound in one call").
	memJrnl := s.dialect == dialectSQLite && use == ingest.ForRounds
	if memJrnl {
		if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return &importer{s: s, conn: conn, stmts: map[string]*sql.Stmt{}, sqlText: map[string]string{},
		direct: map[string]*sqlite3.SQLiteStmt{}, memJrnl: memJrnl}, nil
}

// Close gives the connection back, as the pool made it: other writers'
// statements (a close's sorts) are not bounded like a round's.
func (im *importer) Close() error {
	if len(im.direct) > 0 {
		im.conn.Raw(func(any) error { im.closeDirect(); return nil })
	}
	if im.memJrnl {
		if _, err := im.conn.ExecContext(context.Background(), "PRAGMA temp_store = DEFAULT"); err != nil {
			// A connection that cannot be reset is not given back.
			im.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	return im.conn.Close()
}

// begin starts a transaction on the import's connection.
func (im *importer) begin(ctx context.Context) (*Tx, error) {
	tx, err := im.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{tx, im.s}, nil
}

// Read runs fn in a transaction that is rolled back (see ingest.Session).
func (im *importer) Read(ctx context.Context, fn func(tx ingest.Tx) error) error {
	tx, err := im.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	defer im.closeStmts()
	return fn(ingestTx{tx, im})
}

// Write runs fn in a writer's transaction (see ingest.Session).
func (im *importer) Write(ctx context.Context, fn func(tx ingest.Tx) error) error {
	tx, err := im.begin(ctx)
	if err != nil {
		return err
	}
	defer im.closeStmts()
	err = im.s.lockWriter(ctx, tx)
	if err == nil {
		err = fn(ingestTx{tx, im})
	}
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	im.committed(err == nil)
	if isRetryable(err) {
		return retryable{err}
	}
	return err
}

// retryable is a driver's error that ingest may retry: it says what the
// driver said and matches ingest.ErrRetry.
type retryable struct{ error }

func (e retryable) Is(target error) bool { return target == ingest.ErrRetry }
func (e retryable) Unwrap() error        { return e.error }

// ingestTx is an import's transaction (ingest.Tx).
type ingestTx struct {
	tx *Tx
	im *importer
}

// Generation is bumped by world applies and closes (bumpGen).
func (t ingestTx) Generation(ctx context.Context) (int64, error) { return getMetaInt(ctx, t.tx, "gen") }

func (t ingestTx) Rater(ctx context.Context) (*callbill.Rater, error) {
	loc, _, err := location(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	book, err := loadPriceBook(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	closed, err := closedThrough(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	accts, err := loadAllAccounts(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	window, err := billingWindow(ctx, t.tx, t.im.s.Now(), loc)
	if err != nil {
		return nil, err
	}
	return callbill.NewRater(window, book, closed, instanceDirectory(accts)), nil
}

func (t ingestTx) LockAccounts(ctx context.Context, accounts []string) error {
	return t.im.s.lockAccounts(ctx, t.tx, accounts)
}

// RatingState reads the accounts' voice packages with minutes left and
// their platform minutes used in open cycles.
func (t ingestTx) RatingState(ctx context.Context, accounts []string, closed callbill.Cycle) (callbill.RaterState, error) {
	tx := t.tx
	st := callbill.RaterState{PlatformUsed: map[callbill.AccountCycle]int64{}}
	err := t.im.s.accountsIn("account", accounts, func(in string, args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT account, id, type, minutes, remaining, from_unix, until_unix FROM packages
			WHERE remaining > 0 AND `+in, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			p := &callbill.VoicePackage{}
			var from, until int64
			if err := rows.Scan(&p.Account, &p.ID, &p.Type, &p.Minutes, &p.Remaining, &from, &until); err != nil {
				rows.Close()
				return err
			}
			p.From, p.Until = time.Unix(from, 0), time.Unix(until, 0)
			st.Packages = append(st.Packages, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT account, cycle, platform_minutes FROM account_cycles
			WHERE cycle > ? AND `+in, append([]any{int(closed)}, args...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k callbill.AccountCycle
			var n int64
			if err := rows.Scan(&k.Account, &k.Cycle, &n); err != nil {
				rows.Close()
				return err
			}
			st.PlatformUsed[k] = n
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return st, err
	}
	return st, nil
}

// StoreBatch writes a rated batch (see ingest.Tx): the identities, the
// blocks under a fresh batch id, the aggregates and the state it changed.
func (t ingestTx) StoreBatch(ctx context.Context, b *ingest.Rated) error {
	im, tx, p := t.im, t.tx, b.Calls.(*packed)
	p.Seal() // the pipeline sealed it already; a batch stored otherwise is sealed here
	if im.s.dialect == dialectPostgres {
		// The writes after the COPYs go to the server as one pipeline:
		// a round of the call platform's stream waited for each of them.
		im.queue = true
		defer func() { im.queue, im.queued = false, im.queued[:0] }()
	}
	batchID, err := im.s.nextBatchID(ctx, tx)
	if err != nil {
		return err
	}
	// Ingest sequence: the batch id, then the position of the call among the
	// batch's calls grouped by block. Batches of an account are serialized by
	// its lock, so an account's sequence grows in rating order.
	next := batchID << 20
	for _, blk := range p.blocks {
		blk.seq = next
		next += int64(blk.calls)
	}
	// Identities go in in the index's order: the pages a batch dirties, and
	// so its commit, stay few.
	order := p.order
	insts := make([]any, len(p.insts)) // boxed once: a batch's calls share a few instances
	for i, inst := range p.insts {
		insts[i] = inst
	}
	err = im.storeRows(ctx, tx, "call_keys", []string{"instance", "contact_id", "seq"}, len(p.keys),
		func(n int, dst []any) []any {
			k := &p.keys[order[n]]
			return append(dst, insts[k.inst], k.contact, p.blocks[k.blk].seq+int64(k.pos))
		})
	if err != nil {
		if im.s.isUniqueViolation(err) {
			return ingest.ErrStoredBefore
		}
		return err
	}
	cols := []string{"seq", "account", "cycle", "calls", "data", "first_start", "last_start"}
	tailed, withTail := 0, im.s.dialect == dialectSQLite
	if withTail {
		cols = append(cols, "tail")
		for _, blk := range p.blocks {
			if toTail(blk.calls) {
				tailed++
			}
		}
	}
	err = im.storeRows(ctx, tx, "call_blocks", cols, len(p.blocks),
		func(n int, dst []any) []any {
			b := p.blocks[n]
			dst = append(dst, b.seq, b.account, int(b.cycle), b.calls, b.data, b.first, b.last)
			if withTail {
				dst = append(dst, boolInt(toTail(b.calls)))
			}
			return dst
		})
	if err != nil {
		return err
	}
	if tailed > 0 {
		if err := im.s.tail.added(ctx, tx, tailed); err != nil {
			return err
		}
	}
	// One more version for each (account, cycle) the batch stored calls of:
	// the live bill's cache key (Store.CallsVersion).
	args := im.args[:0]
	seen := make(map[blockOwner]bool, len(p.blocks))
	for _, blk := range p.blocks {
		o := blockOwner{blk.account, blk.cycle}
		if !seen[o] {
			seen[o] = true
			args = append(args, o.account, int(o.cycle), 1)
		}
	}
	err = im.execRows(ctx, tx, `INSERT INTO call_versions (account, cycle, version) VALUES `,
		` ON CONFLICT (account, cycle) DO UPDATE SET version = call_versions.version + 1`, 3, args)
	im.args = args[:0]
	if err != nil {
		return err
	}
	if err := im.attribute(ctx, tx, b, p, batchID); err != nil {
		return err
	}
	if err := im.writeState(ctx, tx, b); err != nil {
		return err
	}
	if err := im.flush(ctx); err != nil {
		return err
	}
	return countRunning(ctx, tx, b, p)
}

// blockOwner is whose calls a block holds.
type blockOwner struct {
	account string
	cycle   callbill.Cycle
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
func (im *importer) writeState(ctx context.Context, tx *Tx, w *ingest.Rated) error {
	err := im.addUsage(ctx, tx, w.Agg)
	if err != nil {
		return err
	}
	args := im.args[:0]
	defer func() { im.args = args[:0] }()
	for k, b := range w.Rec {
		args = append(args, k.Account, int(k.StartCycle), k.Instance, b)
	}
	err = im.execRows(ctx, tx, `INSERT INTO recording_agg (account, start_cycle, instance, bytes) VALUES `,
		` ON CONFLICT (account, start_cycle, instance) DO UPDATE SET bytes = recording_agg.bytes + excluded.bytes`, 4, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for k, n := range w.Changes.PlatformUsed {
		args = append(args, k.Account, int(k.Cycle), n)
	}
	err = im.execRows(ctx, tx, `INSERT INTO account_cycles (account, cycle, platform_minutes) VALUES `,
		` ON CONFLICT (account, cycle) DO UPDATE SET platform_minutes = excluded.platform_minutes`, 3, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for _, p := range w.Changes.Packages {
		args = append(args, p.Account, p.ID, string(p.Type), p.Minutes, p.Remaining, p.From.Unix(), p.Until.Unix())
	}
	err = im.execRows(ctx, tx, `INSERT INTO packages (account, id, type, minutes, remaining, from_unix, until_unix) VALUES `,
		` ON CONFLICT (account, id) DO UPDATE SET remaining = excluded.remaining`, 7, args)
	if err != nil {
		return err
	}
	if w.MinCycle != 0 {
		return noteActivity(ctx, tx, w.MinCycle)
	}
	return nil
}

// everyDay is the condition that lets a query of some accounts' aggregates
// seek them day by day: usage_agg is kept by cycle, day, account
// (migration 0014), and days run from 1 to 31 (a late call is on day 1).
const everyDay = "day IN (1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31)"

// addUsage adds aggregate deltas to usage_agg, each under its line's id
// (resolveLines); a delta of nothing is left out. Its integers go as int64,
// which the driver takes as they are. The rows go in the table key's
// order: a statement's rows then change a run of neighbouring pages, where
// in the map's order they changed a page each and SQLite journaled every
// one of them to a file of its own (docs/decisions.md, "SQLite statements
// bound in one call").
func (im *importer) addUsage(ctx context.Context, tx *Tx, agg map[callbill.AggKey]*callbill.AggValue) error {
	args := im.args[:0]
	defer func() { im.args = args[:0] }()
	rows := im.aggRows[:0]
	defer func() { clear(rows); im.aggRows = rows[:0] }()
	for k, v := range agg {
		if v.Usage == 0 && v.Covered == 0 && v.Calls == 0 {
			continue
		}
		// A row outside days 1–31 would be in a close's bill but not in one
		// account's (everyDay): refuse it rather than bill two amounts.
		if k.Day < 1 || k.Day > 31 {
			return callbill.Errorf(callbill.EINTERNAL, "aggregate of day %d: days run from 1 to 31", k.Day)
		}
		rows = append(rows, aggRow{key: k, value: v})
	}
	if err := im.resolveLines(ctx, tx, rows); err != nil {
		return err
	}
	slices.SortFunc(rows, aggRowOrder)
	for _, r := range rows {
		k, v := r.key, r.value
		args = append(args, int64(k.Cycle), int64(k.Day), k.Account, r.line, v.Usage, v.Covered, v.Calls)
	}
	return im.execRows(ctx, tx, `INSERT INTO usage_agg (cycle, day, account, line, usage, covered, calls) VALUES `,
		` ON CONFLICT (cycle, day, account, line)
		DO UPDATE SET usage = usage_agg.usage + excluded.usage, covered = usage_agg.covered + excluded.covered,
		calls = usage_agg.calls + excluded.calls`, 7, args)
}

// aggRow is an aggregate of a batch: its value is taken with its key, so
// that the key is not hashed again to find it, and its line's id.
type aggRow struct {
	key   callbill.AggKey
	value *callbill.AggValue
	line  int64
}

// aggRowOrder orders a batch's aggregates as usage_agg's primary key does
// (migration 0016): cycle, day, account, line. Texts compare as bytes, as
// SQLite's default collation and PostgreSQL's "C" do.
func aggRowOrder(a, b aggRow) int {
	if c := cmp.Compare(a.key.Cycle, b.key.Cycle); c != 0 {
		return c
	}
	if c := cmp.Compare(a.key.Day, b.key.Day); c != 0 {
		return c
	}
	if c := strings.Compare(a.key.Account, b.key.Account); c != 0 {
		return c
	}
	return cmp.Compare(a.line, b.line)
}

// lineKey is a line of usage_lines: an account's bill-line key, an
// aggregate's key but for its cycle and day.
type lineKey struct {
	account   string
	pd        callbill.ProductDetail
	instance  string
	item      callbill.Item
	number    string
	micro     int64
	priceFrom int64
	band      int
}

func lineOf(k callbill.AggKey) lineKey {
	return lineKey{k.Account, k.PD, k.Instance, k.Item, k.Number, k.Micro, k.PriceFrom, k.Band}
}

// lineKeyOrder orders lines as usage_lines_key does.
func lineKeyOrder(a, b lineKey) int {
	if c := strings.Compare(a.account, b.account); c != 0 {
		return c
	}
	if c := cmp.Compare(a.pd, b.pd); c != 0 {
		return c
	}
	if c := strings.Compare(a.instance, b.instance); c != 0 {
		return c
	}
	if c := cmp.Compare(a.item, b.item); c != 0 {
		return c
	}
	if c := strings.Compare(a.number, b.number); c != 0 {
		return c
	}
	if c := cmp.Compare(a.micro, b.micro); c != 0 {
		return c
	}
	if c := cmp.Compare(a.priceFrom, b.priceFrom); c != 0 {
		return c
	}
	return cmp.Compare(a.band, b.band)
}

// maxKnownLines bounds the line ids a session keeps; past it, it forgets
// them and reads again the ones it meets.
const maxKnownLines = 1 << 20

// lineID returns the id of line k, if the session knows it.
func (im *importer) lineID(k lineKey) (int64, bool) {
	if id, ok := im.lines[k]; ok {
		return id, true
	}
	id, ok := im.newLines[k]
	return id, ok
}

// resolveLines sets each row's line id: from what the session knows, else
// read from usage_lines, else added there. A line added in this
// transaction is known only to it until it commits (Write): were it rolled
// back, its id would name nothing.
func (im *importer) resolveLines(ctx context.Context, tx *Tx, rows []aggRow) error {
	var missing []lineKey
	for i := range rows {
		k := lineOf(rows[i].key)
		if id, ok := im.lineID(k); ok {
			rows[i].line = id
		} else {
			rows[i].line = 0
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.SortFunc(missing, lineKeyOrder)
	missing = slices.Compact(missing)
	accountsOf := func(ks []lineKey) []string {
		var accts []string
		for _, k := range ks {
			if len(accts) == 0 || accts[len(accts)-1] != k.account {
				accts = append(accts, k.account)
			}
		}
		return accts
	}
	// An account whose lines the session read before has no line it does
	// not know but those added since: new ones, or another writer's, which
	// the insert below meets.
	unread := slices.DeleteFunc(accountsOf(missing), func(a string) bool { _, ok := im.linesRead[a]; return ok })
	if err := im.readLines(ctx, tx, unread); err != nil {
		return err
	}
	missing = slices.DeleteFunc(missing, func(k lineKey) bool { _, ok := im.lineID(k); return ok })
	if len(missing) > 0 {
		// In usage_lines_key's order, so that two writers adding the same
		// lines wait for each other in one order.
		if err := im.addLines(ctx, tx, missing); err != nil {
			return err
		}
		// Lines another writer added since (its insert won; ours did nothing).
		missing = slices.DeleteFunc(missing, func(k lineKey) bool { _, ok := im.lineID(k); return ok })
		if err := im.readLines(ctx, tx, accountsOf(missing)); err != nil {
			return err
		}
	}
	for i := range rows {
		if rows[i].line != 0 {
			continue
		}
		k := rows[i].key
		id, ok := im.lineID(lineOf(k))
		if !ok {
			return fmt.Errorf("usage line of %s %s %s %s: not found after adding it", k.Account, k.Instance, k.Item, k.Number)
		}
		rows[i].line = id
	}
	return nil
}

// usageLineCols are usage_lines' columns but its id, in its key's order.
const usageLineCols = "account, pd, instance, item, number, micro, price_from, band"

// readLines reads the lines of the accounts into the session's known
// lines (but the ones this transaction added, which stay its own).
func (im *importer) readLines(ctx context.Context, tx *Tx, accounts []string) error {
	if im.lines == nil || len(im.lines) > maxKnownLines {
		im.lines, im.linesRead = map[lineKey]int64{}, nil
	}
	if im.linesRead == nil {
		im.linesRead = map[string]struct{}{}
	}
	for _, a := range accounts {
		im.linesRead[a] = struct{}{}
	}
	return im.s.accountsIn("account", accounts, func(in string, args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, `+usageLineCols+` FROM usage_lines WHERE `+in, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			id, k, err := scanUsageLine(rows)
			if err != nil {
				return err
			}
			if _, mine := im.newLines[k]; !mine {
				im.lines[k] = id
			}
		}
		return rows.Err()
	})
}

// addLines adds lines to usage_lines; the ones it added are this
// transaction's (newLines). A line another writer added first is left as
// it is, and not returned.
func (im *importer) addLines(ctx context.Context, tx *Tx, ks []lineKey) error {
	if im.newLines == nil {
		im.newLines = map[lineKey]int64{}
	}
	const width = 8
	per := maxParams / width
	for start := 0; start < len(ks); start += per {
		part := ks[start:min(start+per, len(ks))]
		args := make([]any, 0, len(part)*width)
		for _, k := range part {
			args = append(args, k.account, string(k.pd), k.instance, string(k.item), k.number, k.micro, k.priceFrom, int64(k.band))
		}
		q := rowsSQL(`INSERT INTO usage_lines (`+usageLineCols+`) VALUES `, ` ON CONFLICT DO NOTHING RETURNING id, `+usageLineCols, width, len(part))
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			id, k, err := scanUsageLine(rows)
			if err != nil {
				rows.Close()
				return err
			}
			im.newLines[k] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func scanUsageLine(rows *sql.Rows) (int64, lineKey, error) {
	var id int64
	var k lineKey
	var pd, item string
	err := rows.Scan(&id, &k.account, &pd, &k.instance, &item, &k.number, &k.micro, &k.priceFrom, &k.band)
	k.pd, k.item = callbill.ProductDetail(pd), callbill.Item(item)
	return id, k, err
}

// committed makes the lines a transaction added known to the session once
// it committed, and forgets them if it did not.
func (im *importer) committed(ok bool) {
	if ok && len(im.newLines) > 0 {
		if im.lines == nil {
			im.lines = map[lineKey]int64{}
		}
		for k, id := range im.newLines {
			im.lines[k] = id
		}
	}
	clear(im.newLines)
}

// smallChunk is the rows of the statements that carry what is left of a
// multi-row write after its full chunks (execRows). Preparing a statement
// costs as much as its rows: a statement of what was left, of a new length
// nearly every batch, took 0.16 s of a 1,000,000-call import's writer
// (docs/decisions.md, "SQLite statements bound in one call").
const smallChunk = 64

// maxSQLTexts bounds the statement texts a session keeps (execRows).
const maxSQLTexts = 256

// maxParams bounds the parameters of one multi-row statement (SQLite allows
// 32766, PostgreSQL 65535).
const maxParams = 8000

// execRows runs head + "(?,…),(?,…)…" + tail over rows of width values each
// (args holds them flat), as few statements as the parameter limit allows:
// one round trip per chunk instead of one per row.
func (im *importer) execRows(ctx context.Context, tx *Tx, head, tail string, width int, args []any) error {
	if im.s.dialect == dialectPostgres {
		if im.queue {
			if len(args) == 0 {
				return nil
			}
			if q, cols, ok := unnestSQL(head, tail, width, args); ok {
				im.queued = append(im.queued, queuedStmt{q, cols})
				return nil
			}
			if err := im.flush(ctx); err != nil { // what follows runs after what is queued
				return err
			}
		} else if ok, err := unnestRows(ctx, tx, head, tail, width, args); ok {
			return err
		}
	}
	per := maxParams / width
	for start := 0; start < len(args); {
		// On SQLite: full chunks, then what is left in chunks of smallChunk
		// rows, then the rest, so that all but the last statement have a
		// shape that recurs and stays prepared, and the last is short to
		// prepare. (On PostgreSQL each statement is a round trip.)
		n := min(per, (len(args)-start)/width)
		if n < per && n > smallChunk && im.s.dialect == dialectSQLite {
			n = smallChunk
		}
		if n == 0 {
			return fmt.Errorf("%d values left over in rows of %d", len(args)-start, width)
		}
		part := args[start : start+n*width]
		start += n * width
		key := head + "\x00" + strconv.Itoa(n) + tail
		q, ok := im.sqlText[key]
		if !ok {
			if len(im.sqlText) >= maxSQLTexts { // a session kept long (a group's) met many shapes
				clear(im.sqlText)
			}
			q = rowsSQL(head, tail, width, n)
			im.sqlText[key] = q
		}
		if im.s.dialect == dialectSQLite && im.conn != nil { // tx is on im.conn (Read, Write)
			if err := im.execDirect(ctx, q, part, n == per || n == smallChunk); err != nil {
				return err
			}
			continue
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
