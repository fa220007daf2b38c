package sqlstore

import (
	"context"
	"sync"
)

// The tail of call blocks (SQLite; migration 0015, docs/architecture.md,
// "Where an import writes"): a small block — a round of the call
// platform's stream writes one for most accounts — goes in with tail = 1,
// indexed by its sequence only, so a round's index entries land next to
// each other instead of one page per account across the index of blocks by
// account. Once the tail holds foldTailAt blocks, the batch that sees it
// moves them all into the index by account (tail = 0) in its own
// transaction: one page per account for many rounds at once. Readers by
// account read the index and the tail (tailUnion).

// tailMaxCalls is the most calls a block may hold and go to the tail: a
// stream round's blocks hold a call or a few per account. A file import's
// blocks hold tens of calls and more, and go to the index by account at
// once: folding rewrites a block's row, data and all.
const tailMaxCalls = 16

// foldTailAt is how many blocks the tail holds before it is folded: about
// two rounds of a stream over 1,000 accounts. Folding more at once wrote
// less in all but made the round that folds wait longer (16,384 blocks:
// 59,000–64,000 calls/s but a p99 of 168–188 ms; 2,048: 60,000–61,000 at
// 83–93 ms; docs/benchmarks.md, "Ingest at the limit (issue 13)").
const foldTailAt = 2048

// toTail says whether a block of n calls goes to the tail.
func toTail(n int) bool { return n <= tailMaxCalls }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tailCount is the tail's size as this process knows it: read from the
// database once, then counted as this process adds to it. Other processes
// adding to the tail fold it by their own counts, so the tail stays under
// foldTailAt per writing process. A batch that rolls back after counting
// leaves the count off by its blocks, which only moves the next fold.
type tailCount struct {
	mu     sync.Mutex
	known  bool
	blocks int64
	foldAt int64 // foldTailAt, or a test's
}

// added counts n new blocks in the tail, within tx, and folds the tail
// into the index by account once it is full.
func (c *tailCount) added(ctx context.Context, tx *Tx, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		// The count includes this batch's blocks, inserted in tx.
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_blocks INDEXED BY call_blocks_tail WHERE tail = 1`).Scan(&c.blocks); err != nil {
			return err
		}
		c.known = true
	} else {
		c.blocks += int64(n)
	}
	foldAt := c.foldAt
	if foldAt == 0 {
		foldAt = foldTailAt
	}
	if c.blocks < foldAt {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE call_blocks INDEXED BY call_blocks_tail SET tail = 0 WHERE tail = 1`); err != nil {
		return err
	}
	c.blocks = 0
	return nil
}

// tailUnion turns a query of call blocks by account, `SELECT cols FROM
// call_blocks WHERE where`, into one that reads the index by account and
// the tail; args are where's, given once. PostgreSQL has no tail.
func (s *Store) tailUnion(cols, where, orderBy string, args []any) (string, []any) {
	if s.dialect != dialectSQLite {
		q := `SELECT ` + cols + ` FROM call_blocks WHERE ` + where
		if orderBy != "" {
			q += ` ORDER BY ` + orderBy
		}
		return q, args
	}
	q := `SELECT ` + cols + ` FROM call_blocks INDEXED BY call_blocks_account WHERE tail = 0 AND ` + where +
		` UNION ALL SELECT ` + cols + ` FROM call_blocks INDEXED BY call_blocks_tail WHERE tail = 1 AND ` + where
	if orderBy != "" {
		q += ` ORDER BY ` + orderBy
	}
	return q, append(append(make([]any, 0, 2*len(args)), args...), args...)
}
