package sqlstore

import (
	"io/fs"
	"sort"
	"strings"
	"text/template"
)

// One migration tree for both stores: each file is a text/template whose
// few dialect differences are the column types below and, where the two
// stores need different statements, {{if .SQLite}} … {{else}} … {{end}}.
// A migration's name (its file name) is what schema_migrations records.
type migrationTypes struct {
	SQLite bool
	Text   string // text compared byte by byte: PostgreSQL's "C" collation is SQLite's BINARY
	Int    string // 64-bit integers
	Blob   string
	Serial string // an auto-numbered integer key, before PRIMARY KEY
	// WithoutRowID ends a SQLite table kept in its primary key's order.
	WithoutRowID string
}

var dialectTypes = map[string]migrationTypes{
	dialectSQLite:   {SQLite: true, Text: "TEXT", Int: "INTEGER", Blob: "BLOB", Serial: "INTEGER", WithoutRowID: " WITHOUT ROWID"},
	dialectPostgres: {Text: `TEXT COLLATE "C"`, Int: "BIGINT", Blob: "BYTEA", Serial: "BIGSERIAL"},
}

// migrationNames lists the migrations in the order they run.
func migrationNames() ([]string, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// migrationSQL is a migration written for a dialect.
func migrationSQL(dialect, name string) (string, error) {
	body, err := migrations.ReadFile("migrations/" + name)
	if err != nil {
		return "", err
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(body))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, dialectTypes[dialect]); err != nil {
		return "", err
	}
	return b.String(), nil
}
