package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/callbill/callbill/sqlstore"
)

// TestSQLiteFilesArePrivate: a new database file, and the -wal and -shm
// SQLite keeps beside it, are readable by the service alone, whatever the
// umask and however the DSN names the file; an existing file keeps its mode.
func TestSQLiteFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct{ dsn, file string }{
		{filepath.Join(dir, "plain.db"), filepath.Join(dir, "plain.db")},
		{"sqlite://" + filepath.Join(dir, "scheme.db"), filepath.Join(dir, "scheme.db")},
		{"file:" + filepath.Join(dir, "uri.db") + "?cache=private", filepath.Join(dir, "uri.db")},
		{"file:" + filepath.Join(dir, "with%20space.db"), filepath.Join(dir, "with space.db")},
	} {
		s, err := sqlstore.Open(ctx, c.dsn)
		if err != nil {
			t.Fatalf("%s: %v", c.dsn, err)
		}
		// A write, so that the WAL and its index exist.
		if _, err := s.DB().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS t (x INTEGER)`); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{c.file, c.file + "-wal", c.file + "-shm"} {
			st, err := os.Stat(name)
			if err != nil {
				t.Errorf("%s: %v", c.dsn, err)
				continue
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %v, want 0600", c.dsn, filepath.Base(name), st.Mode().Perm())
			}
		}
		s.Close()
	}
	// An operator's own choice for an existing file stands.
	shared := filepath.Join(dir, "shared.db")
	if err := os.WriteFile(shared, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o640)
	s, err := sqlstore.Open(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st, _ := os.Stat(shared); st.Mode().Perm() != 0o640 {
		t.Errorf("an existing file's mode became %v", st.Mode().Perm())
	}
}
