package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/callbill/callbill"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Access is what opening a store may do. Only what is meant to create a
// deployment creates a SQLite file: anything else opening a path that
// holds no database would leave an empty deployment behind, which a later
// close makes permanent (docs/decisions.md, "Opening the database").
type Access int

const (
	// Create opens the store, creating a SQLite file that does not exist.
	Create Access = iota
	// Write opens an existing store to change it.
	Write
	// Read opens an existing store to read it. A SQLite database that
	// cannot be written (its file or folder) is opened read-only, when its
	// schema is up to date.
	Read
	// Inspect opens an existing store as it is: read-only files allowed
	// and, unlike the others, no migration applied and a newer release's
	// schema not refused — for `migrate status` and for a backup taken
	// before an upgrade.
	Inspect
)

// DSNForms lists the DSNs Open takes, for messages.
const DSNForms = "a SQLite file (callbill.db, /var/lib/callbill/callbill.db, sqlite://PATH, file:PATH?OPTIONS) " +
	"or PostgreSQL (postgres://USER@HOST:PORT/DATABASE?sslmode=…, or postgresql://…)"

// NoDatabaseError is a Write or Read open of a database that holds no
// callbill deployment: a SQLite file that does not exist or is not
// callbill's, a PostgreSQL database without callbill's schema.
type NoDatabaseError struct {
	Where  string // the file's absolute path, or the redacted DSN
	Reason string
}

func (e *NoDatabaseError) Error() string {
	return "there is no callbill database at " + e.Where + " (" + e.Reason + ")"
}

// Unwrap gives the error's code: ENOTFOUND.
func (e *NoDatabaseError) Unwrap() error {
	return &callbill.Error{Code: callbill.ENOTFOUND, Message: e.Error()}
}

// ReadOnlyError is a change asked of a database that cannot be written.
type ReadOnlyError struct {
	Where  string // the file's absolute path, or the redacted DSN
	Reason string // why, when known: "its file has mode 0444"
	Hint   string // what to do; by default, that reading works and how to write
}

func (e *ReadOnlyError) Error() string {
	msg := "the database " + e.Where + " is read-only"
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	hint := e.Hint
	if hint == "" {
		hint = "it can be read; to change it, make the file and its folder writable by this user"
	}
	return msg + ": " + hint
}

// Unwrap gives the error's code: EREFUSED.
func (e *ReadOnlyError) Unwrap() error {
	return &callbill.Error{Code: callbill.EREFUSED, Message: e.Error()}
}

// IsReadOnly reports whether err is a write the database refused because it
// is read-only (SQLite's "attempt to write a readonly database",
// PostgreSQL's read-only transaction).
func IsReadOnly(err error) bool {
	var ro *ReadOnlyError
	if errors.As(err, &ro) {
		return true
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrReadonly
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "25006"
	}
	return false
}

// dsn is a DSN taken apart.
type dsn struct {
	dialect string
	raw     string     // as given
	file    string     // SQLite: the database file, "" in memory
	uri     string     // SQLite: the file: URI, before callbill's options
	query   url.Values // SQLite: the URI's options
}

var (
	schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	// libpq's keyword form: "host=… dbname=…".
	keywordDSNRE = regexp.MustCompile(`^\s*(host|hostaddr|dbname|user|port|password|sslmode)=`)
)

// parseDSN tells the dialect of a DSN and, for SQLite, its file. A DSN with
// a scheme callbill does not know is refused: taken as a file name, it
// would become a new, empty SQLite database.
func parseDSN(raw string) (dsn, error) {
	d := dsn{raw: raw}
	if strings.TrimSpace(raw) == "" {
		return d, callbill.Errorf(callbill.EINVALID, "the database DSN is empty; give %s", DSNForms)
	}
	if m := schemeRE.FindStringSubmatch(raw); m != nil {
		switch m[1] {
		case "postgres", "postgresql":
			d.dialect = dialectPostgres
			return d, nil
		case "sqlite", "file":
		default:
			return d, callbill.Errorf(callbill.EINVALID, "unsupported database DSN %s (scheme %s://); give %s", redact(raw), m[1], DSNForms)
		}
	} else if keywordDSNRE.MatchString(raw) {
		return d, callbill.Errorf(callbill.EINVALID, "database DSNs of the form \"host=… dbname=…\" are not supported; give %s", DSNForms)
	}
	d.dialect = dialectSQLite
	path := strings.TrimPrefix(raw, "sqlite://")
	name, query, _ := strings.Cut(strings.TrimPrefix(path, "file:"), "?")
	if rest, ok := strings.CutPrefix(name, "//"); ok { // file://host/path
		name = ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name = rest[i:]
		}
	}
	if n, err := url.PathUnescape(name); err == nil {
		name = n
	}
	d.query, _ = url.ParseQuery(query)
	if name != "" && !strings.HasPrefix(name, ":memory:") && d.query.Get("mode") != "memory" {
		d.file = name
	}
	if !strings.HasPrefix(path, "file:") {
		// A path is no URI: a # in it is part of a name (test folders are
		// named after subtests, seed#0), which a file: URI would end at.
		path = "file:" + strings.ReplaceAll(path, "#", "%23")
	}
	// In a URI "#" starts a fragment: SQLite would open the file named by
	// what comes before it ("/srv/a#1/c.db" is "/srv/a") and store
	// everything there.
	d.uri = strings.ReplaceAll(path, "#", "%23")
	return d, nil
}

// DSNInfo is what a DSN names, told without opening anything.
type DSNInfo struct {
	Postgres bool
	File     string // SQLite: the database file, absolute; "" for one in memory
	Shown    string // the DSN as it may be shown: without its password
}

// DescribeDSN takes a DSN apart as Open would, opening and creating
// nothing (callbill config check); an unsupported one is the error Open
// would give.
func DescribeDSN(raw string) (DSNInfo, error) {
	d, err := parseDSN(raw)
	if err != nil {
		return DSNInfo{}, err
	}
	info := DSNInfo{Postgres: d.dialect == dialectPostgres, Shown: redact(raw)}
	if d.file != "" {
		info.File = d.where()
	}
	return info, nil
}

// where names the database in messages: a SQLite file's absolute path, or
// the DSN without its password.
func (d *dsn) where() string {
	if d.file != "" {
		if abs, err := filepath.Abs(d.file); err == nil {
			return abs
		}
		return d.file
	}
	return redact(d.raw)
}

// prepareSQLite checks the database file before SQLite opens it, as access
// allows: it creates a missing one for Create (mode 0600), and refuses a
// missing one otherwise, so that nothing is created. It reports whether
// the database must be opened read-only.
func (d *dsn) prepareSQLite(access Access) (readOnly, created bool, err error) {
	if d.file == "" { // in memory
		return false, false, nil
	}
	asked := d.query.Get("mode") == "ro"
	st, err := os.Stat(d.file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if access != Create {
			return false, false, &NoDatabaseError{Where: d.where(), Reason: "the file does not exist"}
		}
		if asked {
			return false, false, &NoDatabaseError{Where: d.where(), Reason: "the file does not exist, and mode=ro cannot create it"}
		}
		created, err = d.create()
		return false, created, err
	case err != nil:
		return false, false, callbill.Errorf(callbill.EREFUSED, "cannot read the database %s: %v", d.where(), errors.Unwrap(err))
	case st.IsDir():
		return false, false, callbill.Errorf(callbill.EINVALID, "the database %s is a folder, not a file", d.where())
	}
	why := readOnlyReason(d.file)
	if asked && why == "" {
		why = "the DSN says mode=ro"
	}
	if why == "" {
		return false, false, nil
	}
	if access != Read && access != Inspect {
		return false, false, &ReadOnlyError{Where: d.where(), Reason: why}
	}
	return true, false, nil
}

// create makes a new database file, 0600: it holds every tenant's calls and
// money, and SQLite gives the -wal and -shm beside it the file's mode (it
// would create the file 0644 itself). The folder must exist and be
// writable: saying so beats SQLite's "unable to open database file".
func (d *dsn) create() (bool, error) {
	dir := filepath.Dir(d.where())
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false, callbill.Errorf(callbill.ENOTFOUND, "cannot create the database %s: its folder %s does not exist", d.where(), dir)
	}
	if why := folderReadOnly(dir, st); why != "" {
		return false, callbill.Errorf(callbill.EREFUSED, "cannot create the database %s: its folder %s is read-only (%s)", d.where(), dir, why)
	}
	f, err := os.OpenFile(d.file, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = f.Close()
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return false, callbill.Errorf(callbill.EREFUSED, "cannot create the database %s: %v", d.where(), errors.Unwrap(err))
	}
	return err == nil, nil
}

// readOnlyReason says why a database file cannot be written, "" when it
// can. A file or folder without any write permission counts as read-only
// even for root, who could write it: the operator marked it so.
func readOnlyReason(file string) string {
	st, err := os.Stat(file)
	if err != nil {
		return ""
	}
	if st.Mode().Perm()&0o222 == 0 {
		return fmt.Sprintf("its file has mode %04o", st.Mode().Perm())
	}
	if err := canWrite(file); err != nil {
		return "its file cannot be written: " + err.Error()
	}
	dir := filepath.Dir(file)
	if dst, err := os.Stat(dir); err == nil {
		if why := folderReadOnly(dir, dst); why != "" {
			// SQLite keeps its write-ahead log beside the file.
			return "its folder " + dir + " is read-only (" + why + ")"
		}
	}
	return ""
}

// folderReadOnly says why files cannot be created in dir, "" when they can.
func folderReadOnly(dir string, st fs.FileInfo) string {
	if st.Mode().Perm()&0o222 == 0 {
		return fmt.Sprintf("mode %04o", st.Mode().Perm())
	}
	if err := canWrite(dir); err != nil {
		return err.Error()
	}
	return ""
}

// readOnlyURI is the file: URI of a read-only open. Without a write-ahead
// log to read, the file is opened immutable, so that SQLite creates no -shm
// or -wal beside it (a read-only folder could not hold them, and one left
// with a read-only file's mode would keep a later writer from writing).
func (d *dsn) readOnlyURI() string {
	q := url.Values{}
	for k, v := range d.query {
		q[k] = v
	}
	q.Set("mode", "ro")
	if st, err := os.Stat(d.file + "-wal"); err != nil || st.Size() == 0 {
		q.Set("immutable", "1")
	}
	base, _, _ := strings.Cut(d.uri, "?")
	return base + "?" + q.Encode()
}

// hasSchema reports whether the database holds callbill's schema.
func (s *Store) hasSchema(ctx context.Context) (bool, error) {
	var n int
	var err error
	if s.dialect == dialectPostgres {
		err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) x WHERE t IS NOT NULL`).Scan(&n)
	} else {
		err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	}
	return n > 0, err
}

// pendingMigrations lists the migrations the database has not had.
func (s *Store) pendingMigrations(ctx context.Context) ([]string, error) {
	pending, _, err := compareMigrations(ctx, s.db)
	return pending, err
}

// compareMigrations compares the migrations a database has had with this
// release's: those it still needs, and those this release does not know (a
// newer release applied them), both in name order.
func compareMigrations(ctx context.Context, db *sql.DB) (pending, unknown []string, err error) {
	names, err := migrationNames()
	if err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	done := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, nil, err
		}
		done[n] = true
		if !known[n] {
			unknown = append(unknown, n)
		}
	}
	for _, n := range names {
		if !done[n] {
			pending = append(pending, n)
		}
	}
	return pending, unknown, rows.Err()
}

// MigrationStatus is where a database's schema stands against this
// release: the migrations applied (this release's and a newer one's), those
// pending and those this release does not know, each in name order.
type MigrationStatus struct {
	Applied, Pending, Unknown []string
}

// Migrations reports where the database's schema stands.
func (s *Store) Migrations(ctx context.Context) (*MigrationStatus, error) {
	pending, unknown, err := compareMigrations(ctx, s.db)
	if err != nil {
		return nil, err
	}
	names, err := migrationNames()
	if err != nil {
		return nil, err
	}
	st := &MigrationStatus{Pending: pending, Unknown: unknown}
	isPending := map[string]bool{}
	for _, n := range pending {
		isPending[n] = true
	}
	for _, n := range names {
		if !isPending[n] {
			st.Applied = append(st.Applied, n)
		}
	}
	st.Applied = append(st.Applied, unknown...)
	return st, nil
}

// Ready reports whether the store can serve this release: reachable, with
// every migration of this release applied and none of a newer one.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("the database is unreachable: %w", err)
	}
	pending, unknown, err := compareMigrations(ctx, s.db)
	switch {
	case err != nil:
		return err
	case len(pending) > 0:
		return fmt.Errorf("%d migration(s) not applied, from %s", len(pending), pending[0])
	case len(unknown) > 0:
		return fmt.Errorf("a newer release migrated the database (%s)", strings.Join(unknown, ", "))
	}
	return nil
}

// refuseNewerSchema refuses a database a newer release has migrated: this
// release would write without what the newer schema keeps current (a newer
// node's caches and counters would go stale), so it must not run on it.
func (s *Store) refuseNewerSchema(ctx context.Context) error {
	if ok, err := s.hasSchema(ctx); err != nil || !ok {
		return err
	}
	_, unknown, err := compareMigrations(ctx, s.db)
	if err != nil || len(unknown) == 0 {
		return err
	}
	return callbill.Errorf(callbill.EREFUSED, "the database %s was upgraded by a newer callbill release (%d migration(s) this release does not know: %s); "+
		"run that release or a later one on it — an older release never writes to a newer schema", s.where, len(unknown), strings.Join(unknown, ", "))
}

// probeSQLite checks, without writing, that an existing SQLite file holds
// callbill's schema.
func probeSQLite(ctx context.Context, d *dsn) error {
	db, err := sql.Open("callbill-sqlite3", d.uri+sepFor(d.uri)+"mode=ro&_busy_timeout=30000")
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrNotADB {
		return &NoDatabaseError{Where: d.where(), Reason: "the file is not a callbill database"}
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", d.where(), err)
	}
	if n == 0 {
		return &NoDatabaseError{Where: d.where(), Reason: "the file is not a callbill database"}
	}
	return nil
}

// sepFor is what joins one more option to uri.
func sepFor(uri string) string {
	if strings.Contains(uri, "?") {
		return "&"
	}
	return "?"
}

// openReadOnly opens a read-only SQLite database: one pool, query-only.
func openReadOnly(d *dsn) (*sql.DB, error) {
	full := d.readOnlyURI() + "&_busy_timeout=30000&_txlock=deferred&_query_only=1&_cache_size=-8192&_stmt_cache_size=64"
	db, err := sql.Open("callbill-sqlite3", full)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return db, db.Ping()
}
