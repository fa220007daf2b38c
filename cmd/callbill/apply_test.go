package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyProblems runs `callbill apply` on broken world files: a bad
// indent is reported at its line, and a file with problems of form and
// references to nothing lists them all in one run, by line, writing
// nothing.
func TestApplyProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("indent.yaml", "accounts:\n  - uid: \"1\"\n    name: n\n   kind: enterprise\n")
	r := runCLI(t, dir, "apply", "-f", "indent.yaml")
	if r.code != exitError || !strings.Contains(r.stderr, "\n  line 4, column 4: not valid YAML: did not find expected '-' indicator") {
		t.Errorf("bad indent: exit %d\n%s", r.code, r.stderr)
	}

	write("world.yaml", `accounts:
  - uid: "1"
    name: a
    kind: company
topups:
  - {id: T-1, account: "9", amount: "10.00", at: "2026-10-01T08:00:00+08:00"}
  - {id: T-2, account: "1", amount: "10.00", at: "2026-10-01T08:00:00+08:00"}
`)
	r = runCLI(t, dir, "apply", "-f", "world.yaml")
	want := `callbill: 2 problem(s), nothing was applied:
  line 4, column 11: accounts[0].kind: must be enterprise or individual, not "company"
  line 6, column 24: topups[0].account: account 9 is neither in this file nor stored; declare it under accounts, or correct the uid
`
	if r.code != exitError || r.stderr != want {
		t.Errorf("exit %d\n%s\nwant\n%s", r.code, r.stderr, want)
	}
	if r = runCLI(t, dir, "account", "show", "1"); r.code != exitError {
		t.Errorf("account 1 exists after a refused apply: %s", r.stdout)
	}
}
