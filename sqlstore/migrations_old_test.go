package sqlstore

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var sqlComment = regexp.MustCompile(`--[^\n]*`)

func normSQL(s string) string { return strings.Join(strings.Fields(sqlComment.ReplaceAllString(s, "")), " ") }

// TestMigrationsMatchOld proves the one tree renders today's per-dialect files.
func TestMigrationsMatchOld(t *testing.T) {
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dialectSQLite, dialectPostgres} {
		for _, n := range names {
			got, err := migrationSQL(d, n)
			if err != nil {
				t.Fatal(err)
			}
			old, err := os.ReadFile("migrations/" + d + "/" + n)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(old) {
				os.WriteFile("/tmp/mig-"+d+"-"+n, []byte(got), 0o644)
				if normSQL(got) != normSQL(string(old)) {
					t.Errorf("%s %s: SQL differs", d, n)
				} else {
					t.Logf("%s %s: differs in comments/whitespace only", d, n)
				}
			}
		}
	}
}
