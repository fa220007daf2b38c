package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// Undoing an import persisted (ingest.Imports decides; docs/imports.md).

// UndoImport runs fn in one transaction under the close lock, shared: a
// close waits for it and it waits for a close (see ingest.ImportStore).
func (s *Store) UndoImport(ctx context.Context, fn func(tx ingest.UndoTx) error) error {
	tx, err := s.begin(ctx, nil)
	if err != nil {
		return err
	}
	im := &importer{s: s, stmts: map[string]*sql.Stmt{}, sqlText: map[string]string{}}
	defer im.closeStmts()
	err = s.lockWriter(ctx, tx)
	if err == nil {
		err = fn(&undoTx{tx: tx, im: im, shares: map[int64]map[int64]*batchShare{}})
	}
	if err == nil && s.UndoPause > 0 {
		time.Sleep(s.UndoPause) // crash tests: everything written, nothing committed
	}
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if isRetryable(err) {
		return retryable{err}
	}
	return err
}

// undoTx is an undo's transaction (ingest.UndoTx).
type undoTx struct {
	tx     *Tx
	im     *importer // for its multi-row statements
	shares map[int64]map[int64]*batchShare
}

func (t *undoTx) Import(ctx context.Context, id int64, lock bool) (*callbill.ImportRecord, error) {
	return loadImport(ctx, t.tx, id, lock)
}

// batches returns, once per transaction, the batches holding the import's
// calls and its share of each.
func (t *undoTx) batches(ctx context.Context, id int64) (map[int64]*batchShare, error) {
	if sh, ok := t.shares[id]; ok {
		return sh, nil
	}
	sh, err := importBatches(ctx, t.tx, id)
	if err == nil {
		t.shares[id] = sh
	}
	return sh, err
}

// ImportAccounts reads the blocks of the import's batches (their headers:
// whose a call is follows from its position).
func (t *undoTx) ImportAccounts(ctx context.Context, id int64) (map[string]*ingest.ImportShare, error) {
	delete(t.shares, id) // a running import may have stored more since
	shares, err := t.batches(ctx, id)
	if err != nil {
		return nil, err
	}
	out := map[string]*ingest.ImportShare{}
	for batch, sh := range shares {
		rows, err := t.tx.QueryContext(ctx, `SELECT seq, account, cycle, calls FROM call_blocks WHERE seq >= ? AND seq < ?`,
			batch<<20, (batch+1)<<20)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var seq, n int64
			var account string
			var cycle int
			if err := rows.Scan(&seq, &account, &cycle, &n); err != nil {
				rows.Close()
				return nil, err
			}
			for i := seq; i < seq+n; i++ {
				if !sh.mine(i) {
					continue
				}
				a := out[account]
				if a == nil {
					a = &ingest.ImportShare{First: i, Cycles: map[callbill.Cycle]int64{}}
					out[account] = a
				}
				a.First = min(a.First, i)
				a.Cycles[callbill.Cycle(cycle)]++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *undoTx) LockAccounts(ctx context.Context, accounts []string) error {
	return t.tx.s.lockAccounts(ctx, t.tx, accounts)
}

func (t *undoTx) Rater(ctx context.Context) (*callbill.Rater, error) {
	return ingestTx{t.tx, t.im}.Rater(ctx)
}

// Packages reads the accounts' voice packages, used up ones too.
func (t *undoTx) Packages(ctx context.Context, accounts []string) ([]*callbill.VoicePackage, error) {
	var out []*callbill.VoicePackage
	err := inAccounts(accounts, func(in string, args []any) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT account, id, type, minutes, remaining, from_unix, until_unix, since_seq FROM packages
			WHERE account IN `+in, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := &callbill.VoicePackage{}
			var from, until int64
			if err := rows.Scan(&p.Account, &p.ID, &p.Type, &p.Minutes, &p.Remaining, &from, &until, &p.SinceSeq); err != nil {
				return err
			}
			p.From, p.Until = time.Unix(from, 0), time.Unix(until, 0)
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// PlatformUsed reads the accounts' platform minutes used in open cycles.
func (t *undoTx) PlatformUsed(ctx context.Context, accounts []string, closed callbill.Cycle) (map[callbill.AccountCycle]int64, error) {
	out := map[callbill.AccountCycle]int64{}
	err := inAccounts(accounts, func(in string, args []any) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT account, cycle, platform_minutes FROM account_cycles WHERE cycle > ? AND account IN `+in,
			append([]any{int(closed)}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k callbill.AccountCycle
			var n int64
			if err := rows.Scan(&k.Account, &k.Cycle, &n); err != nil {
				return err
			}
			out[k] = n
		}
		return rows.Err()
	})
	return out, err
}

// inAccounts runs fn over the accounts 500 at a time, with "(?,…)" and
// their values.
func inAccounts(accounts []string, fn func(in string, args []any) error) error {
	for start := 0; start < len(accounts); start += 500 {
		part := accounts[start:min(start+500, len(accounts))]
		args := make([]any, len(part))
		for i, a := range part {
			args[i] = a
		}
		if err := fn("(?"+strings.Repeat(",?", len(part)-1)+")", args); err != nil {
			return err
		}
	}
	return nil
}

// blockHead is a stored block without its calls.
type blockHead struct {
	seq   int64
	cycle callbill.Cycle
	calls int64
}

// undoChunk is how many blocks are read at once: enough for few round
// trips, few enough that memory stays small whatever the account's size.
const undoChunk = 64

// Calls goes through the account's blocks holding calls of sequence from
// and later, in sequence order (see ingest.UndoTx). The blocks are listed
// first and read a chunk at a time, so that writing one back never runs
// beside an open query (PostgreSQL's connection does one thing at a time).
func (t *undoTx) Calls(ctx context.Context, account string, from, id int64, write bool, fn func(calls []callbill.Call, mine []bool) (bool, error)) error {
	shares, err := t.batches(ctx, id)
	if err != nil {
		return err
	}
	// A block never spans batches, so the one holding from starts in its batch.
	q, args := t.im.s.tailUnion("seq, cycle, calls", "account = ? AND seq >= ?", "", []any{account, from >> 20 << 20})
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	var heads []blockHead
	for rows.Next() {
		var h blockHead
		if err := rows.Scan(&h.seq, &h.cycle, &h.calls); err != nil {
			rows.Close()
			return err
		}
		if h.seq+h.calls > from {
			heads = append(heads, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(heads, func(i, j int) bool { return heads[i].seq < heads[j].seq })
	var calls []callbill.Call
	var mine []bool
	for start := 0; start < len(heads); start += undoChunk {
		chunk := heads[start:min(start+undoChunk, len(heads))]
		data, err := t.blockData(ctx, account, chunk)
		if err != nil {
			return err
		}
		for _, h := range chunk {
			calls, mine = calls[:0], mine[:0]
			err := decodeBlock(data[h.seq], account, h.cycle, h.seq, func(c *callbill.Call) error {
				cc := *c
				cc.Bands = append([]callbill.BandUse(nil), c.Bands...)
				cc.Packages = append([]callbill.PackageUse(nil), c.Packages...)
				calls = append(calls, cc)
				mine = append(mine, shares[c.Seq>>20].mine(c.Seq))
				return nil
			})
			if err != nil {
				return err
			}
			skip := 0
			for skip < len(calls) && calls[skip].Seq < from {
				skip++
			}
			changed, err := fn(calls[skip:], mine[skip:])
			if err != nil {
				return err
			}
			if write {
				if err := t.rewrite(ctx, account, h, calls, mine, changed); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// blockData reads the calls of the blocks.
func (t *undoTx) blockData(ctx context.Context, account string, heads []blockHead) (map[int64][]byte, error) {
	args := []any{account}
	for _, h := range heads {
		args = append(args, h.seq)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT seq, data FROM call_blocks WHERE account = ? AND seq IN (?`+strings.Repeat(",?", len(heads)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64][]byte, len(heads))
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, err
		}
		out[seq] = data
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, h := range heads {
		if _, ok := out[h.seq]; !ok {
			return nil, fmt.Errorf("call block %d of %s vanished", h.seq, account)
		}
	}
	return out, nil
}

// rewrite stores a block again: without the import's calls, whose
// identities go, split where they were (the others keep their sequences,
// which call_keys and other imports' records point to), and with the
// others as calls holds them now.
func (t *undoTx) rewrite(ctx context.Context, account string, h blockHead, calls []callbill.Call, mine []bool, changed bool) error {
	dropped := false
	for _, m := range mine {
		dropped = dropped || m
	}
	if !dropped && !changed {
		return nil
	}
	tx := t.tx
	if !dropped {
		_, err := tx.ExecContext(ctx, `UPDATE call_blocks SET data = ? WHERE account = ? AND cycle = ? AND seq = ?`,
			encodeCalls(calls), account, int(h.cycle), h.seq)
		return err
	}
	if err := t.freeKeys(ctx, calls, mine); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM call_blocks WHERE account = ? AND cycle = ? AND seq = ?`, account, int(h.cycle), h.seq); err != nil {
		return err
	}
	for i := 0; i < len(calls); {
		if mine[i] {
			i++
			continue
		}
		j := i
		first, last := calls[i].Start, calls[i].Start
		for j < len(calls) && !mine[j] {
			first, last = min(first, calls[j].Start), max(last, calls[j].Start)
			j++
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO call_blocks (seq, account, cycle, calls, data, first_start, last_start) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			calls[i].Seq, account, int(h.cycle), j-i, encodeCalls(calls[i:j]), first, last)
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

func encodeCalls(calls []callbill.Call) []byte {
	var b []byte
	for i := range calls {
		b = appendCall(b, &calls[i])
	}
	return b
}

// freeKeys deletes the identities of the import's calls, so that they can
// be imported again.
func (t *undoTx) freeKeys(ctx context.Context, calls []callbill.Call, mine []bool) error {
	byInst := map[string][]any{}
	for i := range calls {
		if mine[i] {
			byInst[calls[i].InstanceID] = append(byInst[calls[i].InstanceID], calls[i].ContactID)
		}
	}
	for inst, contacts := range byInst {
		for start := 0; start < len(contacts); start += 500 {
			part := contacts[start:min(start+500, len(contacts))]
			_, err := t.tx.ExecContext(ctx, `DELETE FROM call_keys WHERE instance = ? AND contact_id IN (?`+strings.Repeat(",?", len(part)-1)+`)`,
				append([]any{inst}, part...)...)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// FinishUndo writes what the undo changed besides the calls (see
// ingest.UndoTx). A delta that would leave an aggregate negative means the
// aggregates and the calls disagree: the undo fails and changes nothing.
func (t *undoTx) FinishUndo(ctx context.Context, u *ingest.UndoChanges) error {
	tx, im := t.tx, t.im
	var accounts []string
	err := im.addUsage(ctx, tx, u.Agg)
	if err != nil {
		return err
	}
	args := im.args[:0]
	for k, b := range u.Rec {
		if b != 0 {
			args = append(args, k.Account, int(k.StartCycle), k.Instance, b)
		}
	}
	err = im.execRows(ctx, tx, `INSERT INTO recording_agg (account, start_cycle, instance, bytes) VALUES `,
		` ON CONFLICT (account, start_cycle, instance) DO UPDATE SET bytes = recording_agg.bytes + excluded.bytes`, 4, args)
	im.args = args[:0]
	if err != nil {
		return err
	}
	var cycles []int // of the usage rows the undo changed
	for k := range u.Agg {
		if !slices.Contains(cycles, int(k.Cycle)) {
			cycles = append(cycles, int(k.Cycle))
		}
	}
	for _, k := range u.Touched {
		if !slices.Contains(accounts, k.Account) {
			accounts = append(accounts, k.Account)
		}
	}
	err = inAccounts(accounts, func(in string, args []any) error {
		// usage_agg is kept by cycle and day first: its rows of a few
		// accounts are a seek per cycle and day.
		usage, usageArgs := "cycle IN (-1", []any{}
		for _, c := range cycles {
			usage += ",?"
			usageArgs = append(usageArgs, c)
		}
		usage += ") AND " + everyDay + " AND account IN " + in
		usageArgs = append(usageArgs, args...)
		var bad int
		err := tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM usage_agg WHERE `+usage+` AND (usage < 0 OR covered < 0 OR calls < 0)) +
			(SELECT COUNT(*) FROM recording_agg WHERE account IN `+in+` AND bytes < 0)`, append(slices.Clone(usageArgs), args...)...).Scan(&bad)
		if err == nil && bad > 0 {
			err = fmt.Errorf("undo of %s: the aggregates of %d rows disagree with the stored calls", callbill.ImportID(u.Import), bad)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM usage_agg WHERE `+usage+` AND calls = 0`, usageArgs...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM recording_agg WHERE account IN `+in+` AND bytes = 0`, args...)
		return err
	})
	if err != nil {
		return err
	}
	for k, n := range u.PlatformUsed {
		if _, err := tx.ExecContext(ctx, `UPDATE account_cycles SET platform_minutes = ? WHERE account = ? AND cycle = ?`, n, k.Account, int(k.Cycle)); err != nil {
			return err
		}
	}
	for _, p := range u.Packages {
		if _, err := tx.ExecContext(ctx, `UPDATE packages SET remaining = ? WHERE account = ? AND id = ?`, p.Remaining, p.Account, p.ID); err != nil {
			return err
		}
	}
	args = im.args[:0]
	for _, k := range u.Touched {
		args = append(args, k.Account, int(k.Cycle), 1)
	}
	err = im.execRows(ctx, tx, `INSERT INTO call_versions (account, cycle, version) VALUES `,
		` ON CONFLICT (account, cycle) DO UPDATE SET version = call_versions.version + 1`, 3, args)
	im.args = args[:0]
	if err != nil {
		return err
	}
	if err := t.recomputeFirstCycle(ctx, u.Removed); err != nil {
		return err
	}
	report, err := json.Marshal(u.Report)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE imports SET status = ?, undone_by = ?, undone_at = ?, undo = ? WHERE id = ?`,
		callbill.ImportUndone, u.By, tx.s.Now().Unix(), string(report), u.Import)
	return err
}

// recomputeFirstCycle moves the earliest cycle holding activity when the
// undo emptied it: closing starts there, and an empty cycle closed for
// nothing would charge its 400 minimums.
func (t *undoTx) recomputeFirstCycle(ctx context.Context, removed []callbill.Cycle) error {
	first, err := getMetaInt(ctx, t.tx, "first_cycle")
	if err != nil || len(removed) == 0 || int64(removed[0]) > first {
		return err
	}
	var c sql.NullInt64
	err = t.tx.QueryRowContext(ctx, `SELECT MIN(c) FROM (
		SELECT MIN(cycle) AS c FROM call_blocks UNION ALL SELECT MIN(cycle) FROM purchases UNION ALL SELECT MIN(cycle) FROM topups) AS m`).Scan(&c)
	if err != nil {
		return err
	}
	if !c.Valid {
		_, err = t.tx.ExecContext(ctx, `DELETE FROM meta WHERE key = 'first_cycle'`)
		return err
	}
	return setMeta(ctx, t.tx, "first_cycle", strconv.FormatInt(c.Int64, 10))
}
