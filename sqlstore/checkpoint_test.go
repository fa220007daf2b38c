package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill/sqlstore"
)

// Commits only append to the WAL; the background checkpointer copies them
// into the database file soon after (a commit alone would not, far below
// wal_autocheckpoint).
func TestCheckpointsRunInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ckpt.db")
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE scratch (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO scratch VALUES (?)`, []byte(strings.Repeat("x", 2<<20))); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); size() < before+1<<20; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes: no checkpoint ran", size())
		}
	}
}
