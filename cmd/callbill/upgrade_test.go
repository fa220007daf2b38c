package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill/internal/testpg"
)

// fixture returns the contents of testdata/upgrade/name, gunzipped.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	gz, err := os.ReadFile(filepath.Join("..", "..", "testdata", "upgrade", name))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpgradeFromThePreviousRelease opens a database the previous release
// wrote (testdata/upgrade), shows its pending migration without applying
// it, backs it up as it is, upgrades it, and finds the bills the scenario's
// golden files hold, before and after the close.
func TestUpgradeFromThePreviousRelease(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "callbill.db"), fixture(t, "b7abcf3.db.gz"), 0o600); err != nil {
		t.Fatal(err)
	}
	upgrade(t, dir, "")
}

// TestUpgradeFromThePreviousReleasePostgres does the same on PostgreSQL:
// a fresh database is loaded from the previous release's pg_dump
// (testdata/upgrade/b7abcf3.pg.sql.gz), as an operator restores one, and
// upgraded. Backups of PostgreSQL are the server's (pg_dump), so the
// backup step is SQLite's only.
func TestUpgradeFromThePreviousReleasePostgres(t *testing.T) {
	dsn := testpg.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := testpg.LoadDump(ctx, dsn, bytes.NewReader(fixture(t, "b7abcf3.pg.sql.gz"))); err != nil {
		t.Fatalf("loading the dump: %v", err)
	}
	upgrade(t, t.TempDir(), dsn)
}

// upgrade runs the upgrade checks in dir on the database dsn ("" for
// dir/callbill.db).
func upgrade(t *testing.T, dir, dsn string) {
	run := func(want int, args ...string) result {
		t.Helper()
		if dsn != "" {
			args = append([]string{"--db", dsn}, args...)
		}
		r := runCLI(t, dir, args...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	type status struct{ Applied, Pending, Unknown []string }
	migrations := func() status {
		t.Helper()
		var st status
		if err := json.Unmarshal([]byte(run(0, "migrate", "status", "--json").stdout), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	// The previous release had 0001–0009; every later migration of this
	// release is pending.
	var pending []string
	ents, err := os.ReadDir(filepath.Join("..", "..", "sqlstore", "migrations"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sql") && e.Name() > "0010" {
			pending = append(pending, e.Name())
		}
	}
	if len(pending) == 0 || pending[0] != "0010_call_versions.sql" {
		t.Fatalf("this release's migrations after the fixture's: %v", pending)
	}
	st := migrations()
	if !reflect.DeepEqual(st.Pending, pending) || len(st.Unknown) != 0 || len(st.Applied) != 9 {
		t.Fatalf("before the upgrade: %+v", st)
	}
	if r := run(0, "migrate", "status"); !strings.Contains(r.stdout, "pending  0010_call_versions.sql") {
		t.Errorf("migrate status: %s", r.stdout)
	}
	if dsn == "" {
		// A backup before the upgrade is of the database as it was.
		run(0, "backup", "before.db")
		if st := migrations(); len(st.Pending) != len(pending) {
			t.Fatalf("the backup migrated the database: %+v", st)
		}
	}
	if r := run(0, "migrate", "up"); r.stdout != "applied "+strings.Join(pending, "\napplied ")+"\n" {
		t.Errorf("migrate up: %q", r.stdout)
	}
	if st := migrations(); len(st.Pending) != 0 || len(st.Applied) != 9+len(pending) {
		t.Fatalf("after the upgrade: %+v", st)
	}
	if r := run(0, "migrate", "up"); !strings.Contains(r.stdout, "up to date") {
		t.Errorf("migrate up again: %q", r.stdout)
	}
	if dsn == "" {
		// The backup still holds the old schema, and upgrades on its own.
		if r := run(0, "--db", "before.db", "migrate", "status"); !strings.Contains(r.stdout, "pending  0010_call_versions.sql") {
			t.Errorf("the backup: %s", r.stdout)
		}
	}

	golden(t, "open-1000000000000001.golden.json", run(0, "bill", "show", "--account", "1000000000000001", "--cycle", "2026-10", "--json").stdout)
	if r := run(0, "bill", "close", "2026-10"); r.stdout != "closed 2026-09, 2026-10\n" {
		t.Errorf("close: %q", r.stdout)
	}
	for _, uid := range []string{"1000000000000001", "1000000000000002"} {
		golden(t, "bill-"+uid+".golden.json", run(0, "bill", "show", "--account", uid, "--cycle", "2026-10", "--json").stdout)
	}
	if r := run(0, "ledger", "verify"); !strings.Contains(r.stdout, "ledger reconciles") {
		t.Errorf("ledger verify: %s", r.stdout)
	}
}
