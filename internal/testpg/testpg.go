// Package testpg gives tests a fresh, empty PostgreSQL schema of their own on
// the server named by $CALLBILL_TEST_PG. Without that server the tests skip,
// except under CI (CI=true), where they fail: database tests must never pass
// by not running.
package testpg

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

var counter atomic.Int64

// server returns $CALLBILL_TEST_PG; without it the test skips, or fails
// under CI.
func server(t testing.TB) string {
	t.Helper()
	base := os.Getenv("CALLBILL_TEST_PG")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CALLBILL_TEST_PG is not set: under CI the PostgreSQL tests must run (.ci/run starts the server)")
		}
		t.Skip("CALLBILL_TEST_PG is not set; run `export CALLBILL_TEST_PG=$(bash .ci/pg-start)` to include PostgreSQL")
	}
	return base
}

// DSN returns a DSN whose search_path is a new schema, dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	base := server(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000, counter.Add(1))
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("PostgreSQL at CALLBILL_TEST_PG is unreachable or refuses: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
