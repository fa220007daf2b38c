package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/callbill/callbill"
	"github.com/mattn/go-sqlite3"
)

// PostgresBackupHint says how a PostgreSQL deployment is backed up and
// restored: callbill does not copy a database it does not own the files of.
const PostgresBackupHint = "back up a PostgreSQL database with pg_dump -Fc -f callbill.dump DSN and restore it with " +
	"pg_restore --clean --if-exists -d DSN callbill.dump, with every callbill process stopped"

// Backup writes a consistent copy of the SQLite store to path while the
// store is in use: VACUUM INTO reads one snapshot, so the copy holds each
// committed transaction (an import batch, a close) whole or not at all.
// The copy is written beside path under a temporary name, mode 0600, and
// renamed into place once complete; an existing path is refused
// (ECONFLICT) unless force. A PostgreSQL store is refused (EREFUSED).
func (s *Store) Backup(ctx context.Context, path string, force bool) error {
	if s.dialect == dialectPostgres {
		return callbill.Errorf(callbill.EREFUSED, "callbill backup copies SQLite databases only; %s", PostgresBackupHint)
	}
	if s.where == "" || !filepath.IsAbs(s.where) {
		return callbill.Errorf(callbill.EINVALID, "an in-memory database cannot be backed up")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return callbill.Errorf(callbill.EINVALID, "backup file %s: %v", path, err)
	}
	if same(abs, s.where) {
		return callbill.Errorf(callbill.EINVALID, "the backup file %s is the database itself", abs)
	}
	if err := refuseExisting(abs, force, "backup file"); err != nil {
		return err
	}
	tmp, err := tempBeside(abs)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // gone once renamed; removes what a failure left
	// A read-only store's pools are query-only, which VACUUM INTO obeys: a
	// connection of its own reads the file instead.
	db := s.db
	if s.readOnly {
		db, err = sql.Open("callbill-sqlite3", fileURI(s.where)+"?mode=ro&_busy_timeout=30000")
		if err != nil {
			return err
		}
		defer db.Close()
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("backup %s to %s: %w", s.where, abs, err)
	}
	return install(tmp, abs, force, "backup file")
}

// Restore puts the SQLite backup file in place as the database dsn names.
// It refuses (EINVALID) a file that is not a callbill database, is damaged,
// or comes from a newer release (migrations this one does not know); an
// existing database unless force (ECONFLICT); and a database in use by any
// process (EREFUSED). The copy is written beside the target under a
// temporary name, mode 0600, and renamed into place once complete. A
// PostgreSQL DSN is refused (EREFUSED).
func Restore(ctx context.Context, file, dsn string, force bool) error {
	d, err := parseDSN(dsn)
	if err != nil {
		return err
	}
	if d.dialect == dialectPostgres {
		return callbill.Errorf(callbill.EREFUSED, "callbill restore writes SQLite databases only; %s", PostgresBackupHint)
	}
	if d.file == "" {
		return callbill.Errorf(callbill.EINVALID, "cannot restore into an in-memory database")
	}
	target := d.where()
	src, err := filepath.Abs(file)
	if err != nil {
		return callbill.Errorf(callbill.EINVALID, "backup file %s: %v", file, err)
	}
	if same(src, target) {
		return callbill.Errorf(callbill.EINVALID, "the backup file %s is the database itself", src)
	}
	if err := checkBackup(ctx, src); err != nil {
		return err
	}
	if err := refuseExisting(target, force, "database"); err != nil {
		return err
	}
	// Lock the target (when there is one) for the whole copy and rename: a
	// process that opens it meanwhile waits, and no process has it open now.
	if _, err := os.Stat(target); err == nil {
		unlock, err := lockUnused(ctx, target)
		if err != nil {
			return err
		}
		defer unlock()
	}
	tmp, err := tempBeside(target)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	sdb, err := sql.Open("callbill-sqlite3", fileURI(src)+"?mode=ro&_busy_timeout=30000")
	if err != nil {
		return err
	}
	defer sdb.Close()
	if _, err := sdb.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("restore %s to %s: %w", src, target, err)
	}
	if err := install(tmp, target, force, "database"); err != nil {
		return err
	}
	// The old database's write-ahead log and index belong to the file just
	// replaced: SQLite would replay them onto the restored one.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(target + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore: remove the old %s: %w", target+suffix, err)
		}
	}
	return nil
}

// checkBackup refuses a file that is not a callbill database, fails
// SQLite's quick check, or holds migrations this release does not know.
func checkBackup(ctx context.Context, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "the backup file %s cannot be read: %v", src, errors.Unwrap(err))
	}
	if st.IsDir() {
		return callbill.Errorf(callbill.EINVALID, "the backup file %s is a folder", src)
	}
	notOurs := callbill.Errorf(callbill.EINVALID, "%s is not a callbill database (it has no schema_migrations table); nothing was restored", src)
	db, err := sql.Open("callbill-sqlite3", fileURI(src)+"?mode=ro&_busy_timeout=30000")
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return notOurs
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if n == 0 {
		return notOurs
	}
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		return callbill.Errorf(callbill.EINVALID, "the backup file %s is damaged (quick_check: %s %v); nothing was restored", src, check, err)
	}
	_, unknown, err := compareMigrations(ctx, db)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if len(unknown) > 0 {
		return callbill.Errorf(callbill.EINVALID, "the backup file %s comes from a newer callbill release (it has %d migration(s) this one does not know: %s); "+
			"restore it with that release or a later one", src, len(unknown), strings.Join(unknown, ", "))
	}
	return nil
}

// lockUnused makes sure no connection has the SQLite database open, and
// keeps others out until unlock. In WAL mode an exclusive transaction only
// keeps writers out, so an idle serve would go unnoticed: leaving WAL mode
// instead needs the database to itself, and fails at once (busy timeout 0)
// while any other connection, of any process, has it open. The file is
// about to be replaced, so changing its journal mode costs nothing; the
// exclusive transaction that follows then keeps readers out too.
func lockUnused(ctx context.Context, target string) (unlock func(), err error) {
	inUse := callbill.Errorf(callbill.EREFUSED, "the database %s is in use (a serve, import or other callbill command has it open); "+
		"stop every process using it, then restore again", target)
	db, err := sql.Open("callbill-sqlite3", fileURI(target)+"?mode=rw&_busy_timeout=0")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	fail := func(err error) (func(), error) {
		conn.Close()
		db.Close()
		var se sqlite3.Error
		if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
			return nil, inUse
		}
		return nil, fmt.Errorf("restore: lock %s: %w", target, err)
	}
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil {
		return fail(err)
	}
	if mode != "delete" {
		return fail(inUse)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		return fail(err)
	}
	return func() {
		conn.ExecContext(context.Background(), `ROLLBACK`)
		conn.Close()
		db.Close()
	}, nil
}

// refuseExisting refuses an existing path unless force.
func refuseExisting(path string, force bool, what string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return callbill.Errorf(callbill.EREFUSED, "the %s %s cannot be read: %v", what, path, errors.Unwrap(err))
	case st.IsDir():
		return callbill.Errorf(callbill.EINVALID, "the %s %s is a folder", what, path)
	case !force:
		return callbill.Errorf(callbill.ECONFLICT, "the %s %s exists; add --force to replace it", what, path)
	}
	return nil
}

// tempBeside creates an empty file, mode 0600, in path's folder, for
// VACUUM INTO (which writes into an empty file) to fill: the rename into
// place then stays on one file system.
func tempBeside(path string) (string, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", callbill.Errorf(callbill.EREFUSED, "cannot write in %s: %v", dir, errors.Unwrap(err))
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// install syncs tmp, mode 0600 (every tenant's calls and money), and
// renames it to path: over an existing one only with force, so that a
// path created meanwhile is not lost.
func install(tmp, path string, force bool, what string) error {
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if force {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return callbill.Errorf(callbill.ECONFLICT, "the %s %s exists; add --force to replace it", what, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable once the folder is synced.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// same reports whether a and b are one file.
func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	d, err := parseDSN(dsn)
	return err == nil && d.dialect == dialectPostgres
}

// fileURI is the SQLite file: URI of a plain path: the characters a URI
// gives meaning to are escaped, so that a file named "a?b" stays that file.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}
