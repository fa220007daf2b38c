package sqlstore

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

// TestMigrationDialects checks the substitution: each dialect gets only its
// own types and statements.
func TestMigrationDialects(t *testing.T) {
	foreign := map[string][]string{
		dialectSQLite:   {"{{", `COLLATE "C"`, "BIGINT", "BYTEA", "BIGSERIAL", "SEQUENCE", "DROP CONSTRAINT"},
		dialectPostgres: {"{{", "BLOB", "WITHOUT ROWID", "INTEGER PRIMARY KEY", "jobs_new"},
	}
	names, err := migrationNames()
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for d, bad := range foreign {
		for _, n := range names {
			s, err := migrationSQL(d, n)
			if err != nil {
				t.Fatal(d, n, err)
			}
			for _, b := range bad {
				if strings.Contains(s, b) {
					t.Errorf("%s %s has %q", d, n, b)
				}
			}
		}
	}
	s, _ := migrationSQL(dialectPostgres, "0002_jobs.sql")
	if !strings.Contains(s, "id          BIGSERIAL PRIMARY KEY,\n    kind        TEXT COLLATE \"C\" NOT NULL,") {
		t.Errorf("postgres jobs:\n%s", s)
	}
	s, _ = migrationSQL(dialectSQLite, "0002_jobs.sql")
	if !strings.Contains(s, "id          INTEGER PRIMARY KEY,\n    kind        TEXT NOT NULL,") {
		t.Errorf("sqlite jobs:\n%s", s)
	}
}

// TestMigrationsUnchanged pins the SQL of every applied migration: databases
// record a migration by name only, so a migration once released must never
// change (add a new one instead). The pins are the SQL of the per-dialect
// files these templates replaced (byte for byte on SQLite, whose schema keeps
// the statements' text; PostgreSQL 0005 differs in comment spacing only).
func TestMigrationsUnchanged(t *testing.T) {
	pins := []struct{ dialect, name, sum string }{
		{"sqlite", "0001_init.sql", "e7bb5d82cd2e68abfd706c3fdbb3d948c3566c33e95a82fffa53bcc308f7a442"},
		{"sqlite", "0002_jobs.sql", "d26d9a11994ff8ecf9d6f8d4108636094ebdaaa87dde3dc2dc38bac5a1ca3fec"},
		{"sqlite", "0003_money.sql", "efc9f801c8b7134269556b5e884a782b619e350b9b5eb95ba5be14462a932c2c"},
		{"sqlite", "0004_access_keys.sql", "1a5da15778f02bb65f716ae418792e0f7bf2d1c029fed3653d2078b4c1bd13fc"},
		{"sqlite", "0005_webhooks.sql", "6060d1e0bfc4925abfe04c34dd927c03312100566f2c7b9e3a2ad2f9b572e5dd"},
		{"sqlite", "0006_console.sql", "dc013fa9bbae559d941e45d2effd34f5ad2bffbe4bd1a77dbdcbbe43b389f6ef"},
		{"sqlite", "0007_invoices.sql", "d5368f916d1dbd15e9db86179eb94d3c06c9da38e7b69533b1a0164f361f1810"},
		{"sqlite", "0008_block_times.sql", "9d088aa8facc23882e0d665e1c0493e76d0f756eda945c9ec037ae78c4f6cdb3"},
		{"sqlite", "0009_account_keys.sql", "5100fd3b04d4ac41af9ee7a9008b881de560d34b4f5bc5dd177e52d198123c41"},
		{"sqlite", "0010_call_versions.sql", "499ab6fefd145077547df8186d7e28d6c8a976a26cdde95ccd2f343935d9a85a"},
		{"sqlite", "0011_reservations.sql", "b55f14076a48b13831c65b18d3ece1e8127566389cdfd5fadefe50d8ad78ea95"},
		{"sqlite", "0012_budgets.sql", "b952e0a84356aa2bb2cbc93074b546edca90ee4683d5b50479d0b327c8a7ae95"},
		{"sqlite", "0013_imports.sql", "c3dc1ff8d03e0c85eb8635cb9664199050e3d1721bc953331ac2cd2a0d85788e"},
		{"postgres", "0001_init.sql", "5258d7fe5118bb7e1ef241412131edc1249acc70ba81a7dbba9de0b70fd8b9b0"},
		{"postgres", "0002_jobs.sql", "34eb71c2efe050ff0b9f16ae591ba8dc21acea9a5333b581c48e7a343f85e311"},
		{"postgres", "0003_money.sql", "eba0e1d089834a82d840677ba5b1143b153bca6bc3407f42b4c470e85544f973"},
		{"postgres", "0004_access_keys.sql", "4bbffbf8fe3fcd019a7ef34ef3e0d41ed4ac64dcd622512ccbba477e5f38e85f"},
		{"postgres", "0005_webhooks.sql", "5414bb16de06c4a048ff70491bef0b084fd943c8e569c0a6cf49ede28694e37c"},
		{"postgres", "0006_console.sql", "3d1d704cd546f6820a9522d54e8f583e53ee9408fca91d87db0f13e6a81249c3"},
		{"postgres", "0007_invoices.sql", "297b376c97b1a99a9a994c477985d0514aabb38955c0e39eb2ee81935f476444"},
		{"postgres", "0008_block_times.sql", "840eadbf5df9d11cb24647ef66930aef37085e848924e648b7978fbcc449d0cf"},
		{"postgres", "0009_account_keys.sql", "a85a7ccb269c369cd3c21a50a807814502cf46656ba8b22fcfcf56acc7096ae4"},
		{"postgres", "0010_call_versions.sql", "7f2f8a826e1f09d935c7cba6ed737185759f031f749f6bca227e059a726fd459"},
		{"postgres", "0011_reservations.sql", "ee2bef9901a1002979b1fc7ade1e110f548cc1d2b6f64485dcdea7e43eda5857"},
		{"postgres", "0012_budgets.sql", "201abe3e3cfdbb68a32d378b454fc971ffe9d6cf955090a87fa810b020ed6942"},
		{"postgres", "0013_imports.sql", "15188c907f51c54bccc7744ed73ecfbe2ba88e07a39482abfb429efac6742031"},
	}
	for _, p := range pins {
		s, err := migrationSQL(p.dialect, p.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256([]byte(s))); got != p.sum {
			t.Errorf("%s %s changed (sha256 %s)", p.dialect, p.name, got)
		}
	}
}
