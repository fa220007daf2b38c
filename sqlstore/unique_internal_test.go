package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/testpg"
)

// TestRetryUnique checks the answer to a unique violation on both drivers:
// one violation runs the request again, two are ECONFLICT naming the key,
// any other error is returned as it is.
func TestRetryUnique(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		insert := func(key string, times int) error {
			return s.inTx(ctx, func(tx *Tx) error {
				for i := 0; i < times; i++ {
					if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, '1')`, key); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err := insert("dup", 2); !s.isUniqueViolation(err) {
			t.Fatalf("a duplicate key is not seen as a unique violation: %v", err)
		}

		runs := 0
		err := s.retryUnique(`idempotency key "k"`, func() error {
			runs++
			if runs == 1 {
				return insert("once", 2) // lost the key: rolled back
			}
			return insert("once", 1)
		})
		if err != nil || runs != 2 {
			t.Fatalf("one violation: %d runs, %v", runs, err)
		}

		runs = 0
		err = s.retryUnique(`idempotency key "k"`, func() error { runs++; return insert("always", 2) })
		if callbill.ErrorCode(err) != callbill.ECONFLICT || !strings.Contains(callbill.ErrorMessage(err), `idempotency key "k"`) || runs != 2 {
			t.Fatalf("two violations: %d runs, %v", runs, err)
		}

		runs = 0
		err = s.retryUnique(`idempotency key "k"`, func() error {
			runs++
			return s.inTx(ctx, func(tx *Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO no_such_table (x) VALUES (1)`)
				return err
			})
		})
		if err == nil || s.isUniqueViolation(err) || runs != 1 {
			t.Fatalf("another error: %d runs, %v", runs, err)
		}
	})
}

// onBothStores runs fn on a fresh SQLite store and a fresh PostgreSQL one.
func onBothStores(t *testing.T, fn func(t *testing.T, s *Store)) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "s.db") },
		"postgres": func(t *testing.T) string { return testpg.DSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(context.Background(), dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() }) // after what fn opened on it (openImporter)
			fn(t, s)
		})
	}
}
