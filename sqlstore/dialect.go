package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
)

// The dialect seam: the few things SQLite and PostgreSQL do differently.
// Everything else is the same SQL, written with ? placeholders.
const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// Advisory lock keys (PostgreSQL). Account locks use hashtext(uid) in the
// second key space, so they never collide with these.
const (
	lockMigrate = 1
	lockClose   = 2 // closing takes it exclusively, every other writer shared
)

// The SQLite driver, with the pragmas the DSN cannot carry run on every new
// connection: checkpoints run in the background (Store.checkpointer); a
// commit checkpoints only when the WAL passes 64,000 pages (256 MB).
func init() {
	sql.Register("callbill-sqlite3", &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint = 64000", nil)
			return err
		},
	})
}

// openSQLite opens a pool on the SQLite database d, which prepareSQLite
// checked (and created for Create): the writers' pool, or the readers'.
// Write and Read add mode=rw, so that SQLite itself never creates the file.
func openSQLite(d *dsn, access Access, readOnly bool) (*sql.DB, error) {
	path := d.uri
	if access != Create && d.file != "" && !d.query.Has("mode") {
		if strings.Contains(path, "?") {
			path += "&mode=rw"
		} else {
			path += "?mode=rw"
		}
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// IMMEDIATE transactions take the write lock up front, so two writers
	// never deadlock on a lock upgrade; WAL lets readers go on meanwhile.
	// The reading pool starts its transactions deferred and may not write.
	// Each connection keeps its last 64 prepared statements: a bill view
	// runs a dozen small queries, and preparing them cost more than running
	// them. A writer's page cache is 8 MiB: imports write each index near
	// its end or by day (migration 0014), and 16 MiB imported no faster but
	// took RSS that the import's heap uses better (docs/decisions.md, "The
	// import's heap limit").
	full := path + sep + "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=30000&_txlock=immediate&_cache_size=-8192&_stmt_cache_size=64"
	conns := 4
	if readOnly {
		full = path + sep + "_journal_mode=WAL&_busy_timeout=30000&_txlock=deferred&_query_only=1&_cache_size=-8192&_stmt_cache_size=64"
		conns = 8
	}
	db, err := sql.Open("callbill-sqlite3", full)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, db.Ping()
}

// isUniqueViolation reports whether err is a unique-key violation.
func (s *Store) isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey || se.ExtendedCode == sqlite3.ErrConstraintUnique
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// isRetryable reports whether a transaction failed only because another
// one got in its way (serialization failure, deadlock) and may simply run again.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// lockWriter makes a writer wait for a close in progress and keeps a close
// from starting until the transaction ends. SQLite has one writer anyway.
func (s *Store) lockWriter(ctx context.Context, tx *Tx) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared(?)`, lockClose)
	return err
}

// lockClosing serializes closes, and closes against every other writer.
func (s *Store) lockClosing(ctx context.Context, tx *Tx) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, lockClose)
	return err
}

// lockAccounts serializes writers per account for the rest of the
// transaction; accounts must be sorted, so that two writers never wait on
// each other in a circle. SQLite has one writer at a time already.
func (s *Store) lockAccounts(ctx context.Context, tx *Tx, accounts []string) error {
	if s.dialect != dialectPostgres || len(accounts) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(3, hashtext(a)) FROM unnest(?::text[]) AS a ORDER BY a`, accounts)
	return err
}

// accountsIn calls fn with the condition "col is one of accounts" and its
// arguments, in as few statements as the database takes; for no account it
// calls fn never. On PostgreSQL it is one array parameter, so that the
// statement's text is the same whatever the count: pgx keeps it prepared,
// where a list of a new length was parsed and described first, a round
// trip more in every round of the call platform's stream. The array is a
// set to join (IN (SELECT unnest)), not "= ANY": once PostgreSQL plans a
// prepared statement for any array, "= ANY" compares each row with the
// array's elements one by one, 2.5–3 ms for 700 accounts against 0.5
// (docs/decisions.md, "Import"). On SQLite, lists of at most 500 (chunks),
// a parameter each.
func (s *Store) accountsIn(col string, accounts []string, fn func(cond string, args []any) error) error {
	if s.dialect != dialectPostgres {
		return chunks(accounts, func(part []string) error {
			in, args := inArgs(part)
			return fn(col+" IN ("+in+")", args)
		})
	}
	if len(accounts) == 0 {
		return nil
	}
	return fn(col+` IN (SELECT unnest(?::text[]))`, []any{accounts})
}

// nextBatchID hands out import batch ids, increasing.
func (s *Store) nextBatchID(ctx context.Context, tx *Tx) (int64, error) {
	if s.dialect == dialectPostgres {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT nextval('import_batches')`).Scan(&id)
		return id, err
	}
	id, err := getMetaInt(ctx, tx, "batch_seq")
	if err != nil {
		return 0, err
	}
	return id + 1, setMeta(ctx, tx, "batch_seq", strconv.FormatInt(id+1, 10))
}

// nextSeq is where the next import batch's sequences will start: above
// every batch id handed out so far (a package stored now is for calls from
// there on; the account's lock, held by both, orders them).
func (s *Store) nextSeq(ctx context.Context, tx *Tx) (int64, error) {
	var last int64
	if s.dialect == dialectPostgres {
		err := tx.QueryRowContext(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM import_batches`).Scan(&last)
		if err != nil {
			return 0, err
		}
	} else {
		var err error
		if last, err = getMetaInt(ctx, tx, "batch_seq"); err != nil {
			return 0, err
		}
	}
	return (last + 1) << 20, nil
}

// copyRows writes n rows with PostgreSQL's COPY on the importer's
// connection, inside its transaction: encoded by copyEncoded, or by pgx
// when a value is of a type copyEncoded does not know.
func (im *importer) copyRows(ctx context.Context, table string, cols []string, n int, row func(i int, dst []any) []any) error {
	return im.conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		if handled, err := im.copyEncoded(ctx, c, table, cols, n, row); handled {
			return err
		}
		i := 0
		buf := make([]any, 0, len(cols))
		_, err := c.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i >= n {
				return nil, nil
			}
			buf = row(i, buf[:0])
			i++
			return buf, nil
		}))
		return err
	})
}

// execDirect runs q with args on the importer's SQLite connection through
// the driver itself, inside its transaction: database/sql converted every
// argument and allocated a slice of them per statement, a fifth of what an
// import allocated. It binds them all in one call into C (docs/decisions.md,
// "SQLite statements bound in one call"). Statements stay prepared for the
// session (a statement outlives a transaction in SQLite) when keep says its
// shape recurs (a full or a small chunk of rows, execRows), at most
// maxDirectStmts of them; the others are finalized at once, since each
// holds its program in memory.
func (im *importer) execDirect(ctx context.Context, q string, args []any, keep bool) error {
	return im.conn.Raw(func(dc any) error {
		st := im.direct[q]
		if st == nil {
			if keep && len(im.direct) >= maxDirectStmts {
				im.closeDirect()
			}
			s, err := dc.(*sqlite3.SQLiteConn).PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			st = s.(*sqlite3.SQLiteStmt)
			if keep {
				im.direct[q] = st
			} else {
				defer st.Close()
			}
		}
		nv := im.named[:0]
		for i, a := range args {
			switch v := a.(type) {
			case int:
				a = int64(v)
			case int32:
				a = int64(v)
			}
			nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: a})
		}
		// Through Query, not Exec: the driver binds every argument and
		// takes the first step in one call into C, where Exec crosses into
		// C once per argument (three per call's identity). An INSERT runs
		// to its end in that first step; Close resets the statement.
		rows, err := st.QueryContext(ctx, nv)
		if err == nil {
			err = rows.Close()
		}
		clear(nv) // holds no strings or blocks past the statement
		im.named = nv[:0]
		return err
	})
}

// maxDirectStmts bounds the statements an import keeps prepared.
const maxDirectStmts = 32

// closeDirect finalizes the statements execDirect prepared.
func (im *importer) closeDirect() {
	for q, st := range im.direct {
		st.Close()
		delete(im.direct, q)
	}
}

// queuedStmt is a statement execRows queued (importer.queue).
type queuedStmt struct {
	q    string
	args []any
}

// flush sends the queued statements to PostgreSQL as one batch, inside the
// import's transaction, and returns the first error.
func (im *importer) flush(ctx context.Context) error {
	if len(im.queued) == 0 {
		return nil
	}
	queued := im.queued
	im.queued = im.queued[:0]
	return im.conn.Raw(func(dc any) error {
		b := &pgx.Batch{}
		for _, st := range queued {
			b.Queue(st.q, st.args...)
		}
		return dc.(*stdlib.Conn).Conn().SendBatch(ctx, b).Close()
	})
}
