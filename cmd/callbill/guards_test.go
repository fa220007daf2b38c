package main

import (
	"bufio"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/testpg"
)

// listDir lists the names in dir.
func listDir(t *testing.T, dir string) []string {
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

// TestMissingDatabaseCreatesNothing: in a folder without a database, every
// command that does not start a deployment refuses, naming the path and
// how to create one (exit 1), and leaves no file behind.
func TestMissingDatabaseCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "calls.csv"), []byte("contact_id,instance_id,direction,caller,callee,start_time,end_time\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, dir)
	for _, args := range [][]string{
		{"account", "show", "123"}, {"bill", "close", "2026-10"}, {"bill", "show", "--account", "1", "--cycle", "2026-10"},
		{"ledger", "--account", "1"}, {"ledger", "verify"}, {"usage", "export", "--account", "1", "--cycle", "2026-10"},
		{"import", "calls.csv"}, {"topup", "--account", "1", "--amount", "1.00", "--key", "k"}, {"authorize", "--instance", "i", "--number", "1", "--direction", "inbound"},
		{"invoice", "list"}, {"contract", "list"}, {"contract", "provider"}, {"webhook", "list"}, {"user", "list"}, {"accesskey", "create", "--account", "1"},
		{"budget", "list"}, {"budget", "set", "--account", "1", "--amount", "1.00"},
		{"--db", "sqlite://" + filepath.Join(dir, "other.db"), "account", "show", "1"},
	} {
		r := runCLI(t, dir, args...)
		where := filepath.Join(dir, "callbill.db")
		if args[0] == "--db" {
			where = filepath.Join(dir, "other.db")
		}
		if r.code != exitError || !strings.Contains(r.stderr, "there is no callbill database at "+where+" (the file does not exist)") ||
			!strings.Contains(r.stderr, "callbill apply -f world.yaml") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if got := listDir(t, dir); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("files left: %v", got)
	}
	// On PostgreSQL, a database without callbill's schema is no deployment
	// either, and stays without tables.
	dsn := testpg.DSN(t)
	r := runCLI(t, dir, "--db", dsn, "bill", "close", "2026-10")
	if r.code != exitError || !strings.Contains(r.stderr, "it holds no callbill schema") {
		t.Errorf("PostgreSQL without the schema: exit %d %s", r.code, r.stderr)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables)
	if tables != 0 {
		t.Errorf("%d tables were created", tables)
	}
}

// TestUnknownDSNSchemes: a DSN whose scheme callbill does not know is
// refused with the supported forms, its password hidden, and no file is
// made of it.
func TestUnknownDSNSchemes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "world.yaml"), []byte(`accounts: [{uid: "1001", name: 甲}]`+"\n"), 0o644)
	for _, dsn := range []string{"mysql://root:secret@db:3306/callbill", "sqlite3://callbill.db", "host=db dbname=callbill"} {
		for _, cmd := range [][]string{{"apply", "-f", "world.yaml"}, {"account", "show", "1"}} {
			r := runCLI(t, dir, append([]string{"--db", dsn}, cmd...)...)
			if r.code != exitError || !strings.Contains(r.stderr, "postgres://USER@HOST:PORT/DATABASE") ||
				!strings.Contains(r.stderr, "sqlite://PATH") || strings.Contains(r.stderr, "secret") {
				t.Errorf("%s %v: exit %d %s", dsn, cmd, r.code, r.stderr)
			}
		}
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("files made: %v", got)
	}
}

// readOnlyCases runs the scenario's read and write commands on a database
// made read-only by lock, with want in the message of a refused write.
func readOnlyCases(t *testing.T, dir, db string, as func(args ...string) result, want string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "usage.csv")
	os.Chmod(filepath.Dir(out), 0o777)
	for _, args := range [][]string{
		{"account", "show", "1000000000000001"}, {"bill", "show", "--account", "1000000000000001", "--cycle", "2026-10"},
		{"ledger", "--account", "1000000000000001"}, {"ledger", "verify"}, {"invoice", "list"},
		{"usage", "export", "--account", "1000000000000001", "--cycle", "2026-10", "-o", out},
	} {
		if r := as(append([]string{"--db", db}, args...)...); r.code != 0 || r.stdout == "" {
			t.Errorf("%v on a read-only database: exit %d %s", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"topup", "--account", "1000000000000001", "--amount", "1.00", "--key", "ro"}, {"bill", "close", "2026-11"},
		{"import", filepath.Join(dir, "calls.csv")}, {"apply", "-f", filepath.Join(dir, "world.yaml")}, {"user", "add", "ops", "--operator", "--password-stdin"},
	} {
		r := as(append([]string{"--db", db}, args...)...)
		if r.code != exitError || !strings.Contains(r.stderr, "the database "+db+" is read-only ("+want) ||
			strings.Contains(r.stderr, "attempt to write") {
			t.Errorf("%v on a read-only database: exit %d %s", args, r.code, r.stderr)
		}
	}
}

// TestReadOnlyDatabase: a database file of mode 0444, or one in a
// read-only folder, is read by the read commands (read-only, leaving no
// -wal or -shm) and refused by those that write, which say it is
// read-only; creating a database in a read-only folder says so. As root,
// it is done again as an unprivileged user, whom the system itself keeps
// from writing.
func TestReadOnlyDatabase(t *testing.T) {
	setup := func(t *testing.T) (dir, db string) {
		dir = copyScenario(t)
		sub := filepath.Join(dir, "data")
		os.Mkdir(sub, 0o755)
		db = filepath.Join(sub, "callbill.db")
		for _, args := range [][]string{{"apply", "-f", "world.yaml"}, {"import", "calls.csv"}, {"bill", "close", "2026-10"}} {
			if r := runCLI(t, dir, append([]string{"--db", db}, args...)...); r.code != 0 && r.code != exitRejected {
				t.Fatalf("%v: %s", args, r.stderr)
			}
		}
		return dir, db
	}
	self := func(dir string) func(args ...string) result {
		return func(args ...string) result { return runCLI(t, dir, args...) }
	}
	t.Run("file 0444", func(t *testing.T) {
		dir, db := setup(t)
		before := listDir(t, filepath.Dir(db))
		os.Chmod(db, 0o444)
		readOnlyCases(t, dir, db, self(dir), "its file has mode 0444")
		if got := listDir(t, filepath.Dir(db)); strings.Join(got, ",") != strings.Join(before, ",") {
			t.Errorf("files %v, were %v", got, before)
		}
	})
	t.Run("folder 0555", func(t *testing.T) {
		dir, db := setup(t)
		os.Chmod(filepath.Dir(db), 0o555)
		t.Cleanup(func() { os.Chmod(filepath.Dir(db), 0o755) })
		readOnlyCases(t, dir, db, self(dir), "its folder "+filepath.Dir(db)+" is read-only")
		r := runCLI(t, dir, "--db", filepath.Join(filepath.Dir(db), "new.db"), "apply", "-f", "world.yaml")
		if r.code != exitError || !strings.Contains(r.stderr, "cannot create the database "+filepath.Join(filepath.Dir(db), "new.db")+
			": its folder "+filepath.Dir(db)+" is read-only") {
			t.Errorf("apply into a read-only folder: exit %d %s", r.code, r.stderr)
		}
	})
	if os.Geteuid() != 0 {
		return
	}
	t.Run("another user", func(t *testing.T) {
		// A folder the unprivileged user may enter but not write, holding
		// a database it may read but not write.
		dir, db := setup(t)
		for d := filepath.Dir(db); d != "/"; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o005 != 0o005 {
				os.Chmod(d, st.Mode().Perm()|0o005)
			}
		}
		os.Chmod(db, 0o644)
		bin := binary(t)
		for d := filepath.Dir(bin); d != "/"; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o005 != 0o005 {
				os.Chmod(d, st.Mode().Perm()|0o005)
			}
		}
		as := func(args ...string) result {
			cmd := exec.Command(bin, args...)
			cmd.Dir = "/"
			cmd.Env = append(os.Environ(), "CALLBILL_DB=")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("run %v: %v", args, err)
			}
			return result{out.String(), errb.String(), code}
		}
		readOnlyCases(t, dir, db, as, "its file cannot be written")
	})
}

// TestBillCloseGuards: a deployment without accounts is not closed (the
// message says why and that closing is irreversible) and stays open; a
// cycle in which no account had a call closes with a warning.
func TestBillCloseGuards(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "empty.yaml"), []byte("accounts: []\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "one.yaml"), []byte(`accounts: [{uid: "1001", name: 甲}]`+"\n"), 0o644)
	if r := runCLI(t, dir, "apply", "-f", "empty.yaml"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := runCLI(t, dir, "bill", "close", "2026-10")
	if r.code != exitError || !strings.Contains(r.stderr, "there are no accounts: closing 2026-10 would bill no one, and closing is irreversible") {
		t.Fatalf("close without accounts: exit %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "apply", "-f", "one.yaml"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// The refused close left the cycle open: a top-up dated in it is taken.
	os.WriteFile(filepath.Join(dir, "topup.yaml"), []byte(`topups: [{id: T1, account: "1001", amount: "1.00", at: "2026-10-05T08:00:00+08:00"}]`+"\n"), 0o644)
	if r := runCLI(t, dir, "apply", "-f", "topup.yaml"); r.code != 0 {
		t.Fatalf("a top-up in the cycle the refused close left open: %s", r.stderr)
	}
	r = runCLI(t, dir, "bill", "close", "2026-10")
	if r.code != 0 || r.stdout != "closed 2026-10\n" ||
		r.stderr != "warning: no account had a call billed in 2026-10; calls of 2026-10 imported from now on are billed in the next open cycle as late calls\n" {
		t.Errorf("close without calls: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// startServe starts `callbill serve` with args and returns the lines it
// writes to stderr, as they come.
func startServe(t *testing.T, dir string, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--exports", filepath.Join(dir, "exports")}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLBILL_OPERATOR_KEY="+operatorKey, "CALLBILL_DB=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

// waitLine returns the first line matching re within 20 seconds.
func waitLine(t *testing.T, lines <-chan string, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended before writing %s", re)
			}
			if re.MatchString(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("serve did not write %s", re)
		}
	}
}

// TestServeAnnouncesTheAutomaticClose: serve says on stderr, at start,
// which cycles the automatic close closes and when; a close already due
// waits --auto-close-grace, and nothing closes meanwhile. Without accounts
// nothing closes, and serve said it made a new database; with
// --auto-close=false it says the close is off.
func TestServeAnnouncesTheAutomaticClose(t *testing.T) {
	dir := copyScenario(t)
	fresh := startServe(t, dir, "--auto-close-grace", "1h")
	waitLine(t, fresh, regexp.MustCompile(`^created a new, empty database at `+regexp.QuoteMeta(filepath.Join(dir, "callbill.db"))))
	waitLine(t, fresh, regexp.MustCompile(`^automatic close: there are no accounts yet, so nothing closes`))

	dir = copyScenario(t)
	if r := runCLI(t, dir, "apply", "-f", "world.yaml"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	lines := startServe(t, dir, "--auto-close-grace", "1h")
	l := waitLine(t, lines, regexp.MustCompile(`^automatic close: `))
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now()
	prev := callbill.CycleOf(now, sh) - 1
	due := prev.AutoCloseAt(sh).Format("2006-01-02 15:04:05 -07:00")
	// The scenario's activity starts in 2026-09: every cycle from there on closes.
	if now.Before(prev.AutoCloseAt(sh)) {
		if !strings.Contains(l, "2026-09") || !strings.Contains(l, prev.String()+" close at "+due) {
			t.Errorf("announcement before the close is due: %s", l)
		}
	} else {
		if !strings.Contains(l, "2026-09, ") || !strings.Contains(l, prev.String()+" are due since "+due) ||
			!strings.Contains(l, "in 1h0m0s") && !strings.Contains(l, "in 59m59s") || !strings.Contains(l, "Ctrl-C") {
			t.Errorf("catch-up announcement: %s", l)
		}
		time.Sleep(2 * time.Second)
		if r := runCLI(t, dir, "bill", "show", "--account", "1000000000000001", "--cycle", "2026-10", "--json"); !strings.Contains(r.stdout, `"status":"open"`) {
			t.Errorf("the catch-up closed within its grace: %s", r.stdout)
		}
	}

	off := startServe(t, copyScenario(t), "--auto-close=false")
	waitLine(t, off, regexp.MustCompile(`^automatic close: off \(--auto-close=false\); close cycles with 'callbill bill close YYYY-MM'$`))
}
