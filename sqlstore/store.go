// Package sqlstore persists callbill in SQL: the world (accounts, instances,
// numbers, prices), rated calls with their running aggregates, purchases,
// balances and closed bills. SQLite is the embedded default; the SQL is kept
// portable behind a small dialect seam so that PostgreSQL can share it.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/mattn/go-sqlite3"
)

// The SQLite driver, with the pragmas the DSN cannot carry run on every new
// connection: a larger WAL between checkpoints, for bulk imports.
func init() {
	sql.Register("callbill-sqlite3", &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint = 4000", nil)
			return err
		},
	})
}

//go:embed migrations
var migrations embed.FS

// Store is callbill's SQL store.
type Store struct {
	db      *sql.DB
	dialect string
	// Now is the clock; tests replace it.
	Now func() time.Time
	// ClosePause, when set, is slept after each account a close freezes:
	// crash tests use it to kill a close midway.
	ClosePause time.Duration
}

// Open opens (creating if needed) the store at dsn: a file path or a
// file: URI selects SQLite.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return nil, callbill.Errorf(callbill.EINVALID, "PostgreSQL is not supported by this build yet")
	}
	path := strings.TrimPrefix(dsn, "sqlite://")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	if !strings.HasPrefix(path, "file:") {
		path = "file:" + path
	}
	// IMMEDIATE transactions take the write lock up front, so two writers
	// never deadlock on a lock upgrade; WAL lets readers go on meanwhile.
	full := path + sep + "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=30000&_txlock=immediate&_cache_size=-32768"
	db, err := sql.Open("callbill-sqlite3", full)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	s := &Store{db: db, dialect: "sqlite", Now: time.Now}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", dsn, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the handle for tests and benchmarks.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	dir := "migrations/" + s.dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES (?)`, name)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction and commits it unless fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func getMeta(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setMeta(ctx context.Context, q querier, key, value string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func getMetaInt(ctx context.Context, q querier, key string) (int64, error) {
	v, err := getMeta(ctx, q, key)
	if err != nil || v == "" {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// location returns the billing time zone.
func location(ctx context.Context, q querier) (*time.Location, string, error) {
	name, err := getMeta(ctx, q, "timezone")
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		name = callbill.DefaultTimezone
	}
	loc, err := time.LoadLocation(name)
	return loc, name, err
}

// closedThrough is the last closed cycle (closing leaves no gaps), 0 when none.
func closedThrough(ctx context.Context, q querier) (callbill.Cycle, error) {
	n, err := getMetaInt(ctx, q, "closed_through")
	return callbill.Cycle(n), err
}

// noteActivity remembers the earliest cycle holding a call, purchase or
// top-up: closing starts from there. The comparison is in the statement, so
// concurrent writers can only lower it.
func noteActivity(ctx context.Context, q querier, c callbill.Cycle) error {
	_, err := q.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('first_cycle', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value
		WHERE CAST(meta.value AS BIGINT) > CAST(excluded.value AS BIGINT)`, strconv.Itoa(int(c)))
	return err
}

// lockAccounts serializes writers per account for the rest of the
// transaction. SQLite has one writer at a time already.
func (s *Store) lockAccounts(ctx context.Context, tx *sql.Tx, accounts []string) error {
	return nil
}

// nextBatchID hands out import batch ids, increasing.
func (s *Store) nextBatchID(ctx context.Context, tx *sql.Tx) (int64, error) {
	id, err := getMetaInt(ctx, tx, "batch_seq")
	if err != nil {
		return 0, err
	}
	return id + 1, setMeta(ctx, tx, "batch_seq", strconv.FormatInt(id+1, 10))
}

// isUniqueViolation reports whether err is a unique-key violation.
func (s *Store) isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey || se.ExtendedCode == sqlite3.ErrConstraintUnique
	}
	return false
}
