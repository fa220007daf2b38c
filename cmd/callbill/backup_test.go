package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbill/callbill/internal/testpg"
	"github.com/callbill/callbill/sqlstore"
)

// TestBackupAndRestoreCLI: backup copies the scenario's database and says
// what to keep besides it; restore puts it in place under another name,
// whose bills are the source's and whose ledger verifies; an existing FILE
// needs --force; restore refuses a database another process has open and
// a file that is not a callbill database.
func TestBackupAndRestoreCLI(t *testing.T) {
	dir := copyScenario(t)
	for _, args := range [][]string{{"apply", "-f", "world.yaml"}, {"import", "calls.csv"}, {"bill", "close", "2026-10"}} {
		if r := runCLI(t, dir, append([]string{"--db", "a.db"}, args...)...); r.code != exitOK && r.code != exitRejected {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	r := runCLI(t, dir, "--db", "a.db", "backup", "b.db")
	if r.code != exitOK || !strings.Contains(r.stdout, "backed up") || !strings.Contains(r.stderr, "a.db.key") || !strings.Contains(r.stderr, "export folder") {
		t.Fatalf("backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if st, err := os.Stat(filepath.Join(dir, "b.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("b.db: %v %v", st, err)
	}
	if r := runCLI(t, dir, "--db", "a.db", "backup", "b.db"); r.code != exitError || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("backup over b.db: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "--db", "a.db", "backup", "--force", "b.db"); r.code != exitOK {
		t.Fatalf("backup --force: exit %d\n%s", r.code, r.stderr)
	}

	r = runCLI(t, dir, "--db", "r.db", "restore", "b.db")
	if r.code != exitOK || !strings.Contains(r.stdout, "restored") || !strings.Contains(r.stderr, "no master key at r.db.key") {
		t.Fatalf("restore: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, view := range [][]string{{"bill", "show", "--account", "1000000000000001", "--cycle", "2026-10", "--json"},
		{"bill", "show", "--account", "1000000000000002", "--cycle", "2026-10", "--json"}, {"ledger", "--account", "1000000000000001"}} {
		a := runCLI(t, dir, append([]string{"--db", "a.db"}, view...)...)
		b := runCLI(t, dir, append([]string{"--db", "r.db"}, view...)...)
		if a.code != exitOK || a.stdout != b.stdout || a.stdout == "" {
			t.Errorf("%v: source (exit %d)\n%s\nrestored (exit %d)\n%s", view, a.code, a.stdout, b.code, b.stdout+b.stderr)
		}
	}
	if r := runCLI(t, dir, "--db", "r.db", "ledger", "verify"); r.code != exitOK {
		t.Errorf("ledger verify on the restored database: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Another process (this test) has r.db open.
	s, err := sqlstore.OpenFor(context.Background(), filepath.Join(dir, "r.db"), sqlstore.Write)
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, dir, "--db", "r.db", "restore", "--force", "b.db")
	s.Close()
	if r.code != exitError || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("restore over an open database: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "--db", "r.db", "restore", "b.db"); r.code != exitError || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("restore over r.db: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "--db", "r.db", "restore", "--force", "b.db"); r.code != exitOK {
		t.Fatalf("restore --force once closed: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "--db", "n.db", "restore", "world.yaml"); r.code != exitError || !strings.Contains(r.stderr, "not a callbill database") {
		t.Fatalf("restore of a world file: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "n.db")); !os.IsNotExist(err) {
		t.Errorf("a refused restore created n.db: %v", err)
	}
}

// TestBackupAndRestoreRefusePostgreSQLCLI: both name pg_dump -Fc,
// pg_restore and what to copy besides the database.
func TestBackupAndRestoreRefusePostgreSQLCLI(t *testing.T) {
	dsn := testpg.DSN(t)
	dir := t.TempDir()
	for _, cmd := range []string{"backup", "restore"} {
		r := runCLI(t, dir, "--db", dsn, cmd, "x.db")
		if r.code != exitError {
			t.Fatalf("%s: exit %d\n%s", cmd, r.code, r.stderr)
		}
		for _, want := range []string{"pg_dump -Fc", "pg_restore", "master key callbill.key", "export folder"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: no %q in\n%s", cmd, want, r.stderr)
			}
		}
	}
}
