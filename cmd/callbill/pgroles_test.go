package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill/internal/testpg"
)

// TestRuntimeRoleWithoutDDL: the nodes of a PostgreSQL deployment may run
// as a role that reads and writes rows but cannot create tables, once the
// schema is up to date (docs/operations.md, "PostgreSQL"). A release with a
// pending migration then says it cannot migrate instead of half-working.
func TestRuntimeRoleWithoutDDL(t *testing.T) {
	owner := testpg.DSN(t)
	dir := copyScenario(t)
	run := func(want int, dsn string, args ...string) result {
		t.Helper()
		r := runCLI(t, dir, append([]string{"--db", dsn}, args...)...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	run(0, owner, "apply", "-f", "world.yaml")

	u, err := url.Parse(owner)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	role := fmt.Sprintf("cb_app_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	db, err := sql.Open("pgx", owner)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + role,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", owner)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP OWNED BY " + role)
		db.Exec("DROP ROLE " + role)
	})
	u.User = url.User(role)
	app := u.String()

	run(0, app, "apply", "-f", "world.yaml")
	if r := run(3, app, "import", "calls.csv"); !strings.Contains(r.stdout+r.stderr, "imported 11") {
		t.Fatalf("import as the runtime role: %s%s", r.stdout, r.stderr)
	}
	// Import records and undo need no more than DML either.
	if r := run(0, app, "import", "undo", "imp-1"); !strings.Contains(r.stdout, "removed 11 calls") {
		t.Fatalf("undo as the runtime role: %s%s", r.stdout, r.stderr)
	}
	if r := run(3, app, "import", "calls.csv"); !strings.Contains(r.stdout+r.stderr, "imported 11") {
		t.Fatalf("import again as the runtime role: %s%s", r.stdout, r.stderr)
	}
	run(0, app, "import", "list")
	run(0, app, "bill", "close", "2026-10")
	if r := run(0, app, "bill", "show", "--account", "1000000000000001", "--cycle", "2026-10", "--json"); !strings.Contains(r.stdout, `"status":"closed"`) {
		t.Fatalf("bill show as the runtime role: %s", r.stdout)
	}

	// A migration this release still needs cannot be applied by the role.
	if _, err := db.Exec("DELETE FROM schema_migrations WHERE name = (SELECT MAX(name) FROM schema_migrations)"); err != nil {
		t.Fatal(err)
	}
	if r := run(1, app, "account", "show", "1000000000000001"); !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "migrate up' once as the database's owner") {
		t.Fatalf("a pending migration as the runtime role: %s", r.stderr)
	}
}
