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
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, "pgx"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is callbill's SQL store.
type Store struct {
	db      *sql.DB
	dialect string
	// Now is the clock; tests replace it.
	Now func() time.Time
	// ClosePause, when set, is slept after each account a close freezes,
	// and MoneyPause inside a money request before it commits: crash tests
	// use them to kill the process midway.
	ClosePause time.Duration
	MoneyPause time.Duration
	UndoPause  time.Duration // slept before an undo commits
	// MasterKey seals access key secrets at rest (32 bytes, AES-256-GCM).
	// When it is nil, LoadMasterKey is asked for it the first time it is needed.
	MasterKey     []byte
	LoadMasterKey func() ([]byte, error)
	keyMu         sync.Mutex

	rdb      *sql.DB  // SQLite: a pool for read-only transactions (deferred, query-only)
	readOnly bool     // SQLite: opened read-only (Read of a file that cannot be written)
	created  bool     // SQLite: Create made the file
	where    string   // the file's absolute path, or the DSN without its password
	migrated []string // the migrations this open applied, in order

	stopCheckpoints chan struct{} // SQLite: stops the background checkpointer
	checkpointsDone chan struct{}

	arenas chan []byte // the packing arenas of stored batches, for the next ones (NewCalls)

	tail tailCount // SQLite: the blocks in the tail, as this process counts them (tail.go)
}

// Open opens (creating if needed) the store at dsn and brings its schema up
// to date: OpenFor with Create.
func Open(ctx context.Context, dsn string) (*Store, error) { return OpenFor(ctx, dsn, Create) }

// OpenFor opens the store at dsn as access allows and brings its schema up
// to date. A postgres:// or postgresql:// DSN selects PostgreSQL; a path,
// sqlite://PATH or a file: URI SQLite; any other scheme is refused
// (EINVALID, naming the forms). Write and Read return a *NoDatabaseError
// when dsn holds no callbill database, and create nothing; Write (and
// Create of an existing file) a *ReadOnlyError when it cannot be written.
func OpenFor(ctx context.Context, dsn string, access Access) (*Store, error) {
	d, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{Now: time.Now, where: d.where(), arenas: make(chan []byte, 2)}
	if d.dialect == dialectPostgres {
		s.dialect = dialectPostgres
		s.db, err = sql.Open("pgx", dsn)
		if err == nil {
			// Keep every connection: a new one is a new server process,
			// and with database/sql's default of two idle ones a busy node
			// opened one for most requests.
			s.db.SetMaxOpenConns(16)
			s.db.SetMaxIdleConns(16)
			err = s.db.PingContext(ctx)
		}
	} else {
		s.dialect = dialectSQLite
		if s.readOnly, s.created, err = d.prepareSQLite(access); err != nil {
			return nil, err
		}
		if s.readOnly {
			s.db, err = openReadOnly(&d)
		} else {
			// Opening for writing sets the journal mode: a file that is not
			// callbill's is looked at read-only first, and left as it was.
			if access != Create && d.file != "" {
				if err := probeSQLite(ctx, &d); err != nil {
					return nil, err
				}
			}
			if s.db, err = openSQLite(&d, access, false); err == nil {
				s.rdb, err = openSQLite(&d, access, true)
			}
		}
	}
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open %s: %w", redact(dsn), err)
	}
	if access != Create {
		ok, err := s.hasSchema(ctx)
		if err == nil && !ok {
			err = &NoDatabaseError{Where: d.where(), Reason: "it holds no callbill schema"}
			if d.dialect == dialectSQLite {
				err = &NoDatabaseError{Where: d.where(), Reason: "the file is not a callbill database"}
			}
		}
		if err != nil {
			s.closeDBs()
			return nil, err
		}
	}
	if access == Inspect {
		return s, nil
	}
	if err := s.refuseNewerSchema(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if access == Read {
		// A read never writes when the schema is up to date; a read-only
		// database that still needs a migration cannot be read by this
		// release.
		pending, err := s.pendingMigrations(ctx)
		if err == nil && len(pending) > 0 && s.readOnly {
			err = &ReadOnlyError{Where: d.where(), Reason: readOnlyReason(d.file),
				Hint: fmt.Sprintf("this release must first update its schema (%d migration(s), from %s): open it once writable", len(pending), pending[0])}
		}
		if err != nil {
			s.closeDBs()
			return nil, err
		}
		if len(pending) == 0 {
			s.startCheckpoints()
			return s, nil
		}
	}
	// An up-to-date schema is not touched: a node may then run as a role
	// that reads and writes rows but may not create tables
	// (docs/operations.md, "PostgreSQL").
	if pending, err := s.pendingMigrations(ctx); err == nil && len(pending) == 0 {
		s.startCheckpoints()
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		if IsReadOnly(err) {
			return nil, &ReadOnlyError{Where: d.where()}
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
			return nil, callbill.Errorf(callbill.EREFUSED, "the database %s needs this release's schema migrations, and its role may not apply them (%s): "+
				"run 'callbill migrate up' once as the database's owner", d.where(), pe.Message)
		}
		return nil, fmt.Errorf("migrate %s: %w", redact(dsn), err)
	}
	s.startCheckpoints()
	return s, nil
}

// Migrated returns the migrations that opening the store applied, in
// order: none when the schema was up to date or another process applied
// them first.
func (s *Store) Migrated() []string { return append([]string(nil), s.migrated...) }

// startCheckpoints starts the background checkpointer of a writable SQLite
// store.
func (s *Store) startCheckpoints() {
	if s.dialect == dialectSQLite && !s.readOnly {
		s.stopCheckpoints, s.checkpointsDone = make(chan struct{}), make(chan struct{})
		go s.checkpointer(s.stopCheckpoints, s.checkpointsDone)
	}
}

// closeDBs closes the pools of a store that failed to open.
func (s *Store) closeDBs() {
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// Where names the database for people: a SQLite file's absolute path, or
// the DSN without its password.
func (s *Store) Where() string { return s.where }

// Created reports whether opening created the SQLite file: a new, empty
// deployment.
func (s *Store) Created() bool { return s.created }

// Discard closes a store that opening created and removes its file (with
// the -wal and -shm beside it): what failed to start a deployment leaves
// no empty one behind. A store that was not created is only closed.
func (s *Store) Discard() error {
	err := s.Close()
	if s.created {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if rerr := os.Remove(s.where + suffix); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
				err = rerr
			}
		}
	}
	return err
}

// ReadOnly reports whether the store was opened read-only (Read of a
// database that cannot be written): every write fails.
func (s *Store) ReadOnly() bool { return s.readOnly }

// redact hides a DSN's password in messages: the URL's and a password=
// option's.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// Unparsable: show no part that could be a password.
		if scheme, _, ok := strings.Cut(dsn, "://"); ok && strings.ContainsAny(dsn, "@=") {
			return scheme + "://… (not a valid URL)"
		}
		return dsn
	}
	changed := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			changed = true
		}
	}
	if q, err := url.ParseQuery(u.RawQuery); err == nil && q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
		changed = true
	}
	if !changed {
		return dsn
	}
	return u.String()
}

// Close closes the database.
func (s *Store) Close() error {
	if s.stopCheckpoints != nil {
		close(s.stopCheckpoints)
		<-s.checkpointsDone
		s.stopCheckpoints = nil
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
	return s.db.Close()
}

// DB exposes the handle for tests and benchmarks.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) migrate(ctx context.Context) error {
	if s.dialect == dialectSQLite {
		if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
			return err
		}
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	for _, name := range names {
		body, err := migrationSQL(s.dialect, name)
		if err != nil {
			return err
		}
		applied := false
		err = s.inTx(ctx, func(tx *Tx) error {
			if s.dialect == dialectPostgres {
				// Several processes may start at once: one migrates at a time.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, lockMigrate); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, body); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES (?)`, name)
			applied = err == nil
			return err
		})
		if err != nil {
			return err
		}
		if applied {
			s.migrated = append(s.migrated, name)
		}
	}
	return nil
}

// Tx is a transaction whose statements are written with ? placeholders and
// rewritten for the dialect.
type Tx struct {
	*sql.Tx
	s *Store
}

// ExecContext runs a statement.
func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.s.rebind(q), args...)
}

// QueryContext runs a query.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.s.rebind(q), args...)
}

// QueryRowContext runs a query of one row.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.s.rebind(q), args...)
}

// PrepareContext prepares a statement.
func (t *Tx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.s.rebind(q))
}

// begin starts a transaction.
func (s *Store) begin(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{tx, s}, nil
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, …
func (s *Store) rebind(q string) string {
	if s.dialect != dialectPostgres || !strings.Contains(q, "?") {
		return q
	}
	var sb strings.Builder
	sb.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(q[i])
	}
	return sb.String()
}

// readTx runs fn in a read-only transaction. On SQLite it uses the reading
// pool, whose transactions start deferred: readers see a snapshot and never
// wait for the write lock, so bill queries go on during an import.
// reader is the pool reads go to: SQLite's reading pool, or the one pool
// of PostgreSQL.
func (s *Store) reader() *sql.DB {
	if s.rdb != nil {
		return s.rdb
	}
	return s.db
}

func (s *Store) readTx(ctx context.Context, fn func(tx *Tx) error) error {
	db := s.reader()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.dialect == dialectPostgres})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(&Tx{tx, s})
}

// inTx runs fn in a transaction and commits it unless fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := s.begin(ctx, nil)
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
	return billingLocation(name)
}

// billingLocation loads the billing time zone stored as name ("" is the
// default).
func billingLocation(name string) (*time.Location, string, error) {
	if name == "" {
		name = callbill.DefaultTimezone
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), name, nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		locations.Store(name, loc)
	}
	return loc, name, err
}

// locations keeps the zones loaded: loading one parses the time zone
// database, and every bill and usage page asks for the billing zone.
var locations sync.Map // name → *time.Location

// billingWindow is the plausibility window in force at now: which calls are
// billable and which cycles a bill can exist in (billing.first_cycle and
// billing.max_call_seconds of the world file, stored in meta).
func billingWindow(ctx context.Context, q querier, now time.Time, loc *time.Location) (callbill.Window, error) {
	first, err := getMetaInt(ctx, q, "billable_from")
	if err != nil {
		return callbill.Window{}, err
	}
	maxSeconds, err := getMetaInt(ctx, q, "max_call_seconds")
	if err != nil {
		return callbill.Window{}, err
	}
	return callbill.NewWindow(callbill.Cycle(first), maxSeconds, now, loc), nil
}

// closedThrough is the last closed cycle (closing leaves no gaps), 0 when none.
func closedThrough(ctx context.Context, q querier) (callbill.Cycle, error) {
	n, err := getMetaInt(ctx, q, "closed_through")
	return callbill.Cycle(n), err
}

// noteActivity remembers the earliest cycle holding a call, purchase or
// top-up: closing starts from there. The comparison is in the statement, so
// concurrent writers can only lower it. When the cycle noted is that early
// already (nearly always), the statement writes nothing and locks nothing:
// an upsert locks the row it meets even when it leaves it as it was, which
// made concurrent importers wait on each other's commits.
func noteActivity(ctx context.Context, q querier, c callbill.Cycle) error {
	v := strconv.Itoa(int(c))
	_, err := q.ExecContext(ctx, `INSERT INTO meta (key, value) SELECT 'first_cycle', ?
		WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'first_cycle' AND CAST(value AS BIGINT) <= ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value
		WHERE CAST(meta.value AS BIGINT) > CAST(excluded.value AS BIGINT)`, v, int(c))
	return err
}
