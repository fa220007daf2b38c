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

// create runs create (naming a new object by prefix) on the server of
// $CALLBILL_TEST_PG and drop when the test ends; it returns the server's DSN
// and the name.
func create(t testing.TB, prefix, create, drop, refused string) (base, name string) {
	t.Helper()
	base = server(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name = fmt.Sprintf("%s_%d_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1_000_000_000, counter.Add(1))
	if _, err := db.ExecContext(ctx, fmt.Sprintf(create, name)); err != nil {
		t.Fatalf("PostgreSQL at CALLBILL_TEST_PG is unreachable or refuses %s: %v", refused, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(fmt.Sprintf(drop, name))
	})
	return base, name
}

// DSN returns a DSN whose search_path is a new schema, dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	base, schema := create(t, "t", "CREATE SCHEMA %s", "DROP SCHEMA %s CASCADE", "to create a schema")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
