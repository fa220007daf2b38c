package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// Import records (migration 0013, docs/imports.md): one row per import in
// imports, and which batches hold its calls in import_parts; a batch that
// holds several imports' calls (a Group round) says whose each call is in
// batch_owners. The decisions are ingest's; this file persists them.

// AddImports inserts new import records with ids of their own, stamped now.
func (t ingestTx) AddImports(ctx context.Context, recs []*callbill.ImportRecord) error {
	if len(recs) == 0 {
		return nil
	}
	ids, err := t.im.s.importIDs(ctx, t.tx, len(recs))
	if err != nil {
		return err
	}
	now := t.im.s.Now()
	args := t.im.args[:0]
	for i, r := range recs {
		r.ID, r.At = ids[i], now
		if r.Status != callbill.ImportRunning {
			r.Finished = now
		}
		src, err := json.Marshal(r.Sources)
		if err != nil {
			return err
		}
		args = append(args, r.ID, string(src), r.By, now.Unix(), unixOrZero(r.Finished), r.Status,
			r.Imported, r.Duplicates, r.Rejected, r.Conflicts, "", 0, "")
	}
	err = t.im.execRows(ctx, t.tx, `INSERT INTO imports (id, sources, actor, at, finished_at, status, imported, duplicates, rejected,
		conflicts, undone_by, undone_at, undo) VALUES `, "", 13, args)
	t.im.args = args[:0]
	return err
}

// importIDs hands out n new import ids: from the table's sequence on
// PostgreSQL; on SQLite, whose writers take turns, after the highest.
func (s *Store) importIDs(ctx context.Context, tx *Tx, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if s.dialect == dialectPostgres {
		rows, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence('imports', 'id')) FROM generate_series(1, ?::int)`, n)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	var top int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM imports`).Scan(&top); err != nil {
		return nil, err
	}
	for i := range n {
		ids = append(ids, top+int64(i)+1)
	}
	return ids, nil
}

// FinishImport records how a running import ended; an undone one stays so.
func (t ingestTx) FinishImport(ctx context.Context, rec *callbill.ImportRecord) error {
	now := t.im.s.Now()
	res, err := t.tx.ExecContext(ctx, `UPDATE imports SET status = ?, finished_at = ?, imported = ?, duplicates = ?, rejected = ?,
		conflicts = ? WHERE id = ? AND status = ?`,
		rec.Status, now.Unix(), rec.Imported, rec.Duplicates, rec.Rejected, rec.Conflicts, rec.ID, callbill.ImportRunning)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		rec.Finished = now
		return err
	}
	return nil
}

// countRunning counts a batch's calls on its running import, unless the
// import was undone meanwhile: then the batch is refused. It is a batch's
// last write, so that the lock it takes on the import's row is held only
// for the commit: an undo of the running import on other accounts does not
// wait for a batch being written, which then finds the import undone and
// stores nothing (docs/decisions.md, "Concurrent importers and shared rows").
func countRunning(ctx context.Context, tx *Tx, b *ingest.Rated, p *packed) error {
	if !b.Running {
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE imports SET imported = imported + ? WHERE id = ? AND status = ?`,
		len(p.keys), b.Imports[0], callbill.ImportRunning)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err == nil {
			err = ingest.ErrImportUndone
		}
		return err
	}
	return nil
}

// attribute records whose the calls of a batch are: a row per import with
// calls in it and, when there are several, each call's part by its position
// in the batch.
func (im *importer) attribute(ctx context.Context, tx *Tx, b *ingest.Rated, p *packed, batchID int64) error {
	counts := make([]int64, p.parts)
	for _, k := range p.keys {
		counts[k.part]++
	}
	args := im.args[:0]
	owners := 0
	for part, n := range counts {
		if n > 0 {
			if part >= len(b.Imports) {
				return fmt.Errorf("a call of part %d, the batch has %d imports", part, len(b.Imports))
			}
			args = append(args, b.Imports[part], batchID, part)
			owners++
		}
	}
	err := im.execRows(ctx, tx, `INSERT INTO import_parts (import_id, batch, part) VALUES `, "", 3, args)
	im.args = args[:0]
	if err != nil || owners < 2 {
		return err
	}
	base := batchID << 20
	parts := make([]int32, len(p.keys))
	for _, k := range p.keys {
		parts[p.blocks[k.blk].seq-base+int64(k.pos)] = k.part
	}
	buf := make([]byte, 0, len(parts)+8)
	for _, part := range parts {
		buf = binary.AppendUvarint(buf, uint64(part))
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO batch_owners (batch, owners) VALUES (?, ?)`, batchID, buf)
	return err
}

const importCols = `id, sources, actor, at, finished_at, status, imported, duplicates, rejected, conflicts, undone_by, undone_at, undo`

func scanImport(rows interface{ Scan(...any) error }) (*callbill.ImportRecord, error) {
	r := &callbill.ImportRecord{}
	var src, undo string
	var at, finished, undoneAt int64
	if err := rows.Scan(&r.ID, &src, &r.By, &at, &finished, &r.Status, &r.Imported, &r.Duplicates, &r.Rejected, &r.Conflicts,
		&r.UndoneBy, &undoneAt, &undo); err != nil {
		return nil, err
	}
	r.At, r.Finished, r.UndoneAt = timeOrZero(at), timeOrZero(finished), timeOrZero(undoneAt)
	if err := json.Unmarshal([]byte(src), &r.Sources); err != nil {
		return nil, corrupt(fmt.Sprintf("JSON (%v)", err), "imports.sources", "id %d", r.ID)
	}
	if undo != "" {
		r.Undo = &callbill.UndoReport{}
		if err := json.Unmarshal([]byte(undo), r.Undo); err != nil {
			return nil, corrupt(fmt.Sprintf("JSON (%v)", err), "imports.undo", "id %d", r.ID)
		}
	}
	return r, nil
}

// Imports lists import records, newest first (see ingest.ImportStore).
func (s *Store) Imports(ctx context.Context, q callbill.ImportQuery) ([]callbill.ImportRecord, error) {
	var out []callbill.ImportRecord
	err := s.readTx(ctx, func(tx *Tx) error {
		where, args := "", []any{}
		if q.Before > 0 {
			where, args = "WHERE id < ? ", append(args, q.Before)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+importCols+` FROM imports `+where+`ORDER BY id DESC LIMIT ?`, append(args, q.Limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanImport(rows)
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return rows.Err()
	})
	return out, err
}

// Import returns one import record; ENOTFOUND when there is none.
func (s *Store) Import(ctx context.Context, id int64) (*callbill.ImportRecord, error) {
	var r *callbill.ImportRecord
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		r, err = loadImport(ctx, tx, id, false)
		return err
	})
	return r, err
}

// loadImport reads an import record, locking its row when lock is set
// (PostgreSQL; SQLite's writer holds the whole database).
func loadImport(ctx context.Context, tx *Tx, id int64, lock bool) (*callbill.ImportRecord, error) {
	q := `SELECT ` + importCols + ` FROM imports WHERE id = ?`
	if lock && tx.s.dialect == dialectPostgres {
		q += " FOR UPDATE"
	}
	r, err := scanImport(tx.QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "no import %s (callbill import list shows them)", callbill.ImportID(id))
	}
	return r, err
}

// importBatches returns the batches holding an import's calls, with its
// part in each and, for a batch several imports share, each call's part by
// its position.
func importBatches(ctx context.Context, tx *Tx, id int64) (map[int64]*batchShare, error) {
	rows, err := tx.QueryContext(ctx, `SELECT batch, part FROM import_parts WHERE import_id = ?`, id)
	if err != nil {
		return nil, err
	}
	out := map[int64]*batchShare{}
	for rows.Next() {
		sh := &batchShare{}
		var batch int64
		if err := rows.Scan(&batch, &sh.part); err != nil {
			rows.Close()
			return nil, err
		}
		out[batch] = sh
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	batches := make([]any, 0, len(out))
	for b := range out {
		batches = append(batches, b)
	}
	for start := 0; start < len(batches); start += 500 {
		part := batches[start:min(start+500, len(batches))]
		rows, err := tx.QueryContext(ctx, `SELECT batch, owners FROM batch_owners WHERE batch IN (?`+strings.Repeat(",?", len(part)-1)+`)`, part...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var batch int64
			var data []byte
			if err := rows.Scan(&batch, &data); err != nil {
				rows.Close()
				return nil, err
			}
			sh := out[batch]
			for len(data) > 0 {
				v, n := binary.Uvarint(data)
				if n <= 0 {
					rows.Close()
					return nil, corrupt("uvarints", "batch_owners.owners", "batch %d", batch)
				}
				sh.owners = append(sh.owners, int32(v))
				data = data[n:]
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchShare is an import's share of a batch.
type batchShare struct {
	part   int32
	owners []int32 // each call's part by position; nil: every call is the import's
}

// mine reports whether the call of sequence seq is the import's.
func (sh *batchShare) mine(seq int64) bool {
	if sh == nil {
		return false
	}
	if sh.owners == nil {
		return true
	}
	pos := seq & (1<<20 - 1)
	return pos < int64(len(sh.owners)) && sh.owners[pos] == sh.part
}
