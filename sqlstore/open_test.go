package sqlstore_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
	"github.com/shopspring/decimal"
)

const openWorld = `
accounts:
  - uid: "7001"
    name: 甲
topups:
  - {id: T1, account: "7001", amount: "10.00", at: "2026-10-01T08:00:00+08:00"}
`

// files lists the names in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestOpenRefusesUnknownDSNs: a DSN with a scheme callbill does not know,
// or in libpq's keyword form, is refused naming the supported forms, and
// no file is made of it.
func TestOpenRefusesUnknownDSNs(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, dsn := range []string{"mysql://root:secret@localhost/callbill", "sqlite3://callbill.db", "MySQL://x", "redis://h",
		"host=localhost dbname=callbill", ""} {
		for _, access := range []sqlstore.Access{sqlstore.Create, sqlstore.Write, sqlstore.Read} {
			s, err := sqlstore.OpenFor(context.Background(), dsn, access)
			if err == nil {
				s.Close()
				t.Fatalf("%q was opened", dsn)
			}
			msg := err.Error()
			if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(msg, "postgres://") || !strings.Contains(msg, "sqlite://PATH") ||
				strings.Contains(msg, "secret") {
				t.Errorf("%q: %v", dsn, err)
			}
		}
	}
	if fs := files(t, "."); len(fs) > 0 {
		t.Errorf("files were created: %v", fs)
	}
}

// TestOpenExistingCreatesNothing: Write and Read of a database that does
// not exist, or of a file that is not a callbill database, are refused
// with the path and create nothing; Create creates it, and then both open.
func TestOpenExistingCreatesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "callbill.db")
	for _, dsn := range []string{path, "sqlite://" + path, "file:" + path + "?cache=private"} {
		for _, access := range []sqlstore.Access{sqlstore.Write, sqlstore.Read} {
			_, err := sqlstore.OpenFor(ctx, dsn, access)
			var nd *sqlstore.NoDatabaseError
			if !errors.As(err, &nd) || nd.Where != path || callbill.ErrorCode(err) != callbill.ENOTFOUND || !strings.Contains(err.Error(), "does not exist") {
				t.Errorf("%s: %v", dsn, err)
			}
		}
	}
	if fs := files(t, dir); len(fs) > 0 {
		t.Fatalf("files were created: %v", fs)
	}
	// An empty file, and another program's SQLite database, are not callbill's.
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	for _, access := range []sqlstore.Access{sqlstore.Write, sqlstore.Read} {
		_, err := sqlstore.OpenFor(ctx, empty, access)
		var nd *sqlstore.NoDatabaseError
		if !errors.As(err, &nd) || !strings.Contains(err.Error(), "not a callbill database") {
			t.Errorf("empty file: %v", err)
		}
	}
	if st, _ := os.Stat(empty); st.Size() != 0 {
		t.Errorf("the empty file was written: %d bytes", st.Size())
	}
	s, err := sqlstore.OpenFor(ctx, path, sqlstore.Create)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, access := range []sqlstore.Access{sqlstore.Write, sqlstore.Read} {
		s, err := sqlstore.OpenFor(ctx, path, access)
		if err != nil {
			t.Fatalf("existing database: %v", err)
		}
		s.Close()
	}
	// A folder that does not exist is named as such.
	_, err = sqlstore.OpenFor(ctx, filepath.Join(dir, "nope", "x.db"), sqlstore.Create)
	if err == nil || !strings.Contains(err.Error(), "folder "+filepath.Join(dir, "nope")+" does not exist") {
		t.Errorf("missing folder: %v", err)
	}
}

// TestOpenReadOnlyDatabase: a database file of mode 0444, or one in a
// read-only folder, opens for reading (read-only, leaving no -wal or -shm
// behind) and refuses Write and Create with a message that says it is
// read-only; a write through a read-only store is recognised as such. A
// new database in a read-only folder is refused naming the folder.
func TestOpenReadOnlyDatabase(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		lock   func(dir, file string)
		unlock func(dir, file string)
		want   string
	}{
		{"file 0444", func(_, f string) { os.Chmod(f, 0o444) }, func(_, f string) { os.Chmod(f, 0o600) }, "its file has mode 0444"},
		{"folder 0555", func(d, _ string) { os.Chmod(d, 0o555) }, func(d, _ string) { os.Chmod(d, 0o755) }, "is read-only (mode 0555)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			os.Mkdir(dir, 0o755)
			path := filepath.Join(dir, "callbill.db")
			s, err := sqlstore.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			mustApply(t, s, openWorld)
			s.Close()
			before := files(t, dir)
			c.lock(dir, path)
			t.Cleanup(func() { c.unlock(dir, path) })

			for _, access := range []sqlstore.Access{sqlstore.Write, sqlstore.Create} {
				_, err := sqlstore.OpenFor(ctx, path, access)
				var ro *sqlstore.ReadOnlyError
				if !errors.As(err, &ro) || !sqlstore.IsReadOnly(err) || callbill.ErrorCode(err) != callbill.EREFUSED ||
					!strings.Contains(err.Error(), "the database "+path+" is read-only") || !strings.Contains(err.Error(), c.want) {
					t.Errorf("access %d: %v", access, err)
				}
			}
			s, err = sqlstore.OpenFor(ctx, path, sqlstore.Read)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !s.ReadOnly() {
				t.Error("not opened read-only")
			}
			st, err := s.Status(ctx, "7001")
			if err != nil || st.Standing.Cash.String() != "10" {
				t.Errorf("status: %+v %v", st, err)
			}
			entries, err := s.Ledger(ctx, "7001")
			if err != nil || len(entries) != 1 {
				t.Errorf("ledger: %v %v", entries, err)
			}
			_, err = (&ledger.Service{Store: s}).TopUp(ctx, ledger.TopUpInput{Account: "7001", Amount: decimal.RequireFromString("1.00"), Key: "k"})
			if !sqlstore.IsReadOnly(err) {
				t.Errorf("a top-up through a read-only store: %v", err)
			}
			s.Close()
			if got := files(t, dir); strings.Join(got, ",") != strings.Join(before, ",") {
				t.Errorf("files %v, were %v", got, before)
			}
			if c.name == "folder 0555" {
				_, err := sqlstore.OpenFor(ctx, filepath.Join(dir, "new.db"), sqlstore.Create)
				if err == nil || !strings.Contains(err.Error(), "cannot create the database "+filepath.Join(dir, "new.db")+": its folder "+dir+" is read-only") {
					t.Errorf("create in a read-only folder: %v", err)
				}
			}
			c.unlock(dir, path)
			s, err = sqlstore.OpenFor(ctx, path, sqlstore.Write)
			if err != nil {
				t.Fatalf("writable again: %v", err)
			}
			if _, err := (&ledger.Service{Store: s}).TopUp(ctx, ledger.TopUpInput{Account: "7001", Amount: decimal.RequireFromString("1.00"), Key: "k"}); err != nil {
				t.Errorf("top-up once writable: %v", err)
			}
			s.Close()
		})
	}
}

// TestOpenReadOnlyNeedsItsMigrations: a read-only database that a
// migration has not reached is refused, saying why, rather than read with
// a schema this release does not know.
func TestOpenReadOnlyNeedsItsMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	s.DB().QueryRowContext(ctx, `SELECT MAX(name) FROM schema_migrations`).Scan(&last)
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM schema_migrations WHERE name = ?`, last); err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Chmod(path, 0o444)
	t.Cleanup(func() { os.Chmod(path, 0o600) })
	_, err = sqlstore.OpenFor(ctx, path, sqlstore.Read)
	if !sqlstore.IsReadOnly(err) || !strings.Contains(err.Error(), "1 migration(s), from "+last) {
		t.Errorf("read of a read-only database behind its migrations: %v", err)
	}
}

// TestOpenPostgresExisting: on PostgreSQL, Write and Read of a database
// without callbill's schema are refused and create no table; a database
// whose transactions are read-only is read, and a write through it is
// recognised as read-only.
func TestOpenPostgresExisting(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.DSN(t)
	for _, access := range []sqlstore.Access{sqlstore.Write, sqlstore.Read} {
		_, err := sqlstore.OpenFor(ctx, dsn, access)
		var nd *sqlstore.NoDatabaseError
		if !errors.As(err, &nd) || strings.Contains(err.Error(), "password") {
			t.Errorf("access %d: %v", access, err)
		}
	}
	s, err := sqlstore.OpenFor(ctx, dsn, sqlstore.Create)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, openWorld)
	s.Close()
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("default_transaction_read_only", "on")
	u.RawQuery = q.Encode()
	s, err = sqlstore.OpenFor(ctx, u.String(), sqlstore.Read)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer s.Close()
	if st, err := s.Status(ctx, "7001"); err != nil || st.Standing.Cash.String() != "10" {
		t.Errorf("status: %+v %v", st, err)
	}
	_, err = (&ledger.Service{Store: s}).TopUp(ctx, ledger.TopUpInput{Account: "7001", Amount: decimal.RequireFromString("1.00"), Key: "k"})
	if !sqlstore.IsReadOnly(err) {
		t.Errorf("a top-up in read-only transactions: %v", err)
	}
}

// A plain path with a # in it is that very file: a file: URI would end the
// path there, and every subtest folder named seed#N would share one file.
func TestOpenAPathWithAHash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seed#1", "x.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "seed")); err == nil {
		t.Fatalf("the database went to %s", filepath.Join(dir, "seed"))
	}
}
