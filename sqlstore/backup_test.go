package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

const backupWorld = baseWorld + `
prices:
  - {item: CallCenterSoftware, mode: payg, tiers: [{upto: 3000, price: "0.05"}, {price: "0.04"}]}
topups:
  - {id: T1, account: "1001", amount: "2000.00", at: "2026-10-01T08:00:00+08:00"}
`

// backupCalls are n third-party calls of 100 s in November 2026.
func backupCalls(n int) []callbill.CDR {
	var rows []callbill.CDR
	for i := 0; i < n; i++ {
		start := time.Date(2026, 11, 5, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		rows = append(rows, call(fmt.Sprintf("b%d", i), "inst-p", callbill.Inbound, "0571002", start, 100))
	}
	return rows
}

func openAt(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Now = func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
	return s
}

func countCalls(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM call_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func closedThrough(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	var v string
	err := s.DB().QueryRow(`SELECT COALESCE(MAX(value), '') FROM meta WHERE key = 'closed_through'`).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBackupWhileImportingAndClosingIsAConsistentSnapshot: backups taken
// while an import of many batches and a close run each hold a whole number
// of committed batches, the close whole or not at all; restored to a new
// path, their bills are those of a store that committed the same batches,
// and the ledger verifies.
func TestBackupWhileImportingAndClosingIsAConsistentSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := openAt(t, filepath.Join(dir, "src.db"))
	mustApply(t, src, backupWorld)
	october := []callbill.CDR{call("oct1", "inst-p", callbill.Inbound, "0571002", "2026-10-07T08:00:00Z", 100)}
	importCalls(t, src, callbill.ImportOptions{}, october...)

	const batch, batches = 50, 80
	rows := backupCalls(batch * batches)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		rep, err := (&ingest.Service{Store: src}).Import(ctx, ingest.Input{Source: &cdrs{rows: rows}, ImportOptions: callbill.ImportOptions{BatchSize: batch}})
		if err != nil || rep.Imported != int64(len(rows)) {
			t.Errorf("import: %+v %v", rep, err)
		}
	}()
	go func() {
		defer wg.Done()
		c, _ := callbill.ParseCycle("2026-10")
		if _, err := (&closing.Service{Store: src}).Close(ctx, closing.CloseInput{Cycle: c}); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	var backups []string
	for i := 0; i < 6; i++ {
		p := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		if err := src.Backup(ctx, p, false); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		backups = append(backups, p)
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()

	sawPartial := false
	for i, b := range backups {
		st, err := os.Stat(b)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("backup %d: %v, mode %v", i, err, st.Mode())
		}
		target := filepath.Join(dir, fmt.Sprintf("restored-%d.db", i))
		if err := sqlstore.Restore(ctx, b, target, false); err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
		got := openAt(t, target)
		n := countCalls(t, got) - len(october)
		if n%batch != 0 || n < 0 || n > len(rows) {
			t.Fatalf("backup %d holds %d November calls: not whole batches of %d", i, n, batch)
		}
		if n > 0 && n < len(rows) {
			sawPartial = true
		}
		closed := closedThrough(t, got)
		// The same committed state, built without concurrency.
		ref := openAt(t, filepath.Join(dir, fmt.Sprintf("ref-%d.db", i)))
		mustApply(t, ref, backupWorld)
		importCalls(t, ref, callbill.ImportOptions{}, october...)
		if closed != "" {
			closeCycle(t, ref, "2026-10")
		}
		if n > 0 {
			importCalls(t, ref, callbill.ImportOptions{BatchSize: batch}, rows[:n]...)
		}
		if closedThrough(t, ref) != closed {
			t.Fatalf("backup %d: closed through %q, reference %q", i, closed, closedThrough(t, ref))
		}
		for _, cycle := range []string{"2026-10", "2026-11"} {
			if a, b := bill(t, got, "1001", cycle), bill(t, ref, "1001", cycle); !reflect.DeepEqual(a, b) {
				t.Errorf("backup %d, %s: restored bill\n%+v\nreference\n%+v", i, cycle, a, b)
			}
		}
		v, err := (&ledger.Service{Store: got}).VerifyLedger(ctx, ledger.VerifyInput{AllAccounts: true})
		if err != nil || len(v.Problems) > 0 || v.Checked == 0 {
			t.Errorf("backup %d: ledger verify %+v %v", i, v, err)
		}
	}
	t.Logf("a backup caught the import midway: %v", sawPartial)
}

// TestBackupRefusesAnExistingFileUnlessForced, and writes nothing then.
func TestBackupRefusesAnExistingFileUnlessForced(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := openAt(t, filepath.Join(dir, "src.db"))
	mustApply(t, src, backupWorld)
	p := filepath.Join(dir, "b.db")
	if err := os.WriteFile(p, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := src.Backup(ctx, p, false)
	if callbill.ErrorCode(err) != callbill.ECONFLICT || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("backup over a file: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "keep" {
		t.Fatalf("the file changed: %q", b)
	}
	if err := src.Backup(ctx, p, true); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Restore(ctx, p, filepath.Join(dir, "r.db"), false); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestRestoreRefusals: a target in use, an existing target without force,
// a file that is not a callbill database, and one from a newer release.
func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := openAt(t, filepath.Join(dir, "src.db"))
	mustApply(t, src, backupWorld)
	backup := filepath.Join(dir, "b.db")
	if err := src.Backup(ctx, backup, false); err != nil {
		t.Fatal(err)
	}

	// A store open on the target, idle: in use.
	live := filepath.Join(dir, "live.db")
	openAt(t, live)
	err := sqlstore.Restore(ctx, backup, live, true)
	if callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("restore over a store in use: %v", err)
	}
	// The source itself, open: in use too (and never replaced).
	if err := sqlstore.Restore(ctx, backup, filepath.Join(dir, "src.db"), true); callbill.ErrorCode(err) != callbill.EREFUSED {
		t.Fatalf("restore over the open source: %v", err)
	}

	// Not in use, but there: only with force.
	idle := filepath.Join(dir, "idle.db")
	s, err := sqlstore.Open(ctx, idle)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := sqlstore.Restore(ctx, backup, idle, false); callbill.ErrorCode(err) != callbill.ECONFLICT {
		t.Fatalf("restore over an existing database: %v", err)
	}
	if err := sqlstore.Restore(ctx, backup, idle, true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if got := openAt(t, idle); closedThrough(t, got) != "" || countCalls(t, got) != 0 {
		t.Fatal("restored store differs")
	}
	var accounts int
	if err := openAt(t, idle).DB().QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&accounts); err != nil || accounts != 1 {
		t.Fatalf("restored accounts: %d %v", accounts, err)
	}

	// Not a callbill database: a text file, and a SQLite file of another program.
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte(strings.Repeat("not a database\n", 200)), 0o600)
	other := filepath.Join(dir, "other.db")
	o, err := sqlstore.Open(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	o.DB().Exec(`DROP TABLE schema_migrations`)
	o.Close()
	for _, f := range []string{text, other} {
		err := sqlstore.Restore(ctx, f, filepath.Join(dir, "new.db"), false)
		if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "not a callbill database") {
			t.Errorf("restore of %s: %v", f, err)
		}
	}

	// From a newer release: a migration this one does not know.
	newer := filepath.Join(dir, "newer.db")
	if err := src.Backup(ctx, newer, false); err != nil {
		t.Fatal(err)
	}
	n, err := sqlstore.Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	n.DB().Exec(`INSERT INTO schema_migrations (name) VALUES ('9999_future.sql')`)
	n.Close()
	err = sqlstore.Restore(ctx, newer, filepath.Join(dir, "new.db"), false)
	if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "newer callbill release") || !strings.Contains(err.Error(), "9999_future.sql") {
		t.Errorf("restore from a newer release: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.db")); !os.IsNotExist(err) {
		t.Errorf("a refused restore left new.db: %v", err)
	}
}

// TestBackupAndRestoreRefusePostgreSQL, naming pg_dump and pg_restore.
func TestBackupAndRestoreRefusePostgreSQL(t *testing.T) {
	ctx := context.Background()
	dsn := testpg.DSN(t)
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, err := range []error{s.Backup(ctx, filepath.Join(t.TempDir(), "b.db"), false), sqlstore.Restore(ctx, "b.db", dsn, true)} {
		if callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "pg_dump -Fc") || !strings.Contains(err.Error(), "pg_restore") {
			t.Errorf("PostgreSQL: %v", err)
		}
	}
}

// A backup file whose name holds the characters a file: URI gives meaning
// to is that very file.
func TestBackupToAPathWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlstore.Open(context.Background(), filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	path := filepath.Join(dir, "b?a#c%41.db")
	if err := s.Backup(context.Background(), path, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the backup is not at %s: %v", path, err)
	}
	target := filepath.Join(dir, "restored.db")
	if err := sqlstore.Restore(context.Background(), path, target, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("the restore is not at %s: %v", target, err)
	}
}
