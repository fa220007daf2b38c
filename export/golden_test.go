package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/export"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	uid1 = "1000000000000001"
	uid2 = "1000000000000002"
)

var (
	oct = callbill.NewCycle(2026, time.October)
	nov = callbill.NewCycle(2026, time.November)
)

// lateCalls come after 2026-10 is closed: c19 started in October, so it is
// billed late in 2026-11; c20 is an ordinary November call.
const lateCalls = `contact_id,instance_id,direction,caller,callee,start_time,end_time
c19,ccc-hz-001,inbound,13800000019,4008001234,2026-10-31T23:58:00+08:00,2026-10-31T23:59:30+08:00
c20,ccc-hz-001,outbound,057188880001,13800000020,2026-11-02T10:00:00+08:00,2026-11-02T10:03:10+08:00
`

// openStore opens a SQLite store in a temporary folder, or PostgreSQL when
// dsn is set, with its clock in late November 2026.
func openStore(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "test.db")
	}
	s, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Now = func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) }
	return s
}

func applyWorld(t *testing.T, s *sqlstore.Store, yaml []byte) {
	t.Helper()
	w, ps := world.Parse(yaml)
	if len(ps) > 0 {
		t.Fatalf("world: %v", ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(context.Background(), provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
}

func importCSV(t *testing.T, s *sqlstore.Store, data []byte) *callbill.ImportReport {
	t.Helper()
	dec, err := cdr.NewDecoder(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (&ingest.Service{Store: s}).Import(context.Background(), ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: callbill.ImportOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// scenario is testdata/scenario applied, imported and closed through
// 2026-10, then lateCalls imported.
func scenario(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s := openStore(t, dsn)
	dir := filepath.Join("..", "testdata", "scenario")
	yaml, err := os.ReadFile(filepath.Join(dir, "world.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applyWorld(t, s, yaml)
	calls, err := os.ReadFile(filepath.Join(dir, "calls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := importCSV(t, s, calls); rep.Imported != 11 {
		t.Fatalf("imported %d calls of the scenario, want 11", rep.Imported)
	}
	if _, err := (&closing.Service{Store: s}).Close(context.Background(), closing.CloseInput{Cycle: oct}); err != nil {
		t.Fatal(err)
	}
	if rep := importCSV(t, s, []byte(lateCalls)); rep.Imported != 2 {
		t.Fatalf("imported %d late calls, want 2 (%+v)", rep.Imported, rep)
	}
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./export -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// export writes a file with Write and returns its bytes.
func exportFile(t *testing.T, src export.Source, account string, f callbill.UsageFilter, o export.Options) ([]byte, *export.Result) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usage"+o.Format.Ext())
	res, err := export.Write(context.Background(), src, account, f, path, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != path || res.Bytes != int64(len(b)) {
		t.Errorf("result %+v, file of %d bytes", res, len(b))
	}
	return b, res
}

var goldenFiles = []struct {
	name    string
	account string
	filter  callbill.UsageFilter
	extra   []string
	rows    int64
}{
	// Every call type: CCC fixed in/out (c1; c2 and c10 covered by the
	// voice package, their minutes still in their column), CCC 400 (c3),
	// third-party (c4), own over SIP (c5), subscription ones (c6–c9).
	{"usage-1000000000000001-2026-10.golden.csv", uid1, callbill.UsageFilter{Cycle: oct}, nil, 10},
	// The late c19 (started 2026-10-31, billed in 2026-11) and c20.
	{"usage-1000000000000001-2026-11.golden.csv", uid1, callbill.UsageFilter{Cycle: nov}, nil, 2},
	{"usage-1000000000000001-2026-11-extra.golden.csv", uid1, callbill.UsageFilter{Cycle: nov}, export.ExtraColumns(), 2},
	{"usage-1000000000000001-2026-10-extra.golden.csv", uid1, callbill.UsageFilter{Cycle: oct}, export.ExtraColumns(), 10},
	// A call across midnight into November stays in October (its start).
	{"usage-1000000000000002-2026-10.golden.csv", uid2, callbill.UsageFilter{Cycle: oct}, nil, 1},
}

// TestGoldenCSV compares exports of the scenario with their golden files,
// byte for byte, on SQLite and (with CALLBILL_TEST_PG) PostgreSQL.
func TestGoldenCSV(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := ""
			if backend == "postgres" {
				dsn = testpg.DSN(t)
			}
			s := scenario(t, dsn)
			for _, g := range goldenFiles {
				t.Run(g.name, func(t *testing.T) {
					b, res := exportFile(t, s, g.account, g.filter, export.Options{Extra: g.extra})
					if res.Rows != g.rows {
						t.Errorf("rows = %d, want %d", res.Rows, g.rows)
					}
					golden(t, g.name, b)
				})
			}
		})
	}
}

// TestGoldenCSVShape checks what the golden files say against docs/rules.md,
// "Usage detail and export", so that a regenerated golden file cannot drift unnoticed.
func TestGoldenCSVShape(t *testing.T) {
	read := func(name string) [][]string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\ufeff")) {
			t.Fatalf("%s: no BOM", name)
		}
		recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(recs[0][:12], ",") != strings.Join(callbill.UsageCSVHeader, ",") {
			t.Fatalf("%s: header %v", name, recs[0])
		}
		return recs[1:]
	}
	byContact := map[string][]string{}
	for _, r := range read("usage-1000000000000001-2026-10-extra.golden.csv") {
		byContact[r[12]] = r
	}
	for _, r := range read("usage-1000000000000001-2026-11-extra.golden.csv") {
		byContact[r[12]] = r
	}
	//       contact: UID, start, FLI, FLO, 400, instance, platform, SIP, start epoch, end epoch, caller, callee
	want := map[string]string{
		"c1":  "1000000000000001,2026-10-08 10:00:00,2,0,0,ccc-hz-001,0,0,1791424800,1791424861,13800000001,057188880001",
		"c2":  "1000000000000001,2026-10-08 10:05:00,0,2,0,ccc-hz-001,0,0,1791425100,1791425220,057188880001,13800000002",
		"c3":  "1000000000000001,2026-10-08 12:00:00,0,0,1,ccc-hz-001,0,0,1791432000,1791432059,13800000003,4008001234",
		"c4":  "1000000000000001,2026-10-08 12:00:00,0,0,0,ccc-hz-001,0,0,1791432000,1791432000,13800000004,02066660001",
		"c5":  "1000000000000001,2026-10-09 09:00:00,0,0,0,ccc-hz-001,10,10,1791507600,1791508200,075500000001,13800000005",
		"c6":  "1000000000000001,2026-10-10 14:00:00,3,0,0,ccc-hz-002,0,0,1791612000,1791612180,13800000006,057188880002",
		"c8":  "1000000000000001,2026-10-20 11:00:00,0,0,30,ccc-hz-002,0,0,1792465200,1792467000,13800000008,4008005678",
		"c9":  "1000000000000001,2026-10-20 12:00:00,0,0,0,ccc-hz-002,0,0,1792468800,1792469100,02166660002,13800000009",
		"c10": "1000000000000001,2026-10-16 09:00:00,0,1,0,ccc-hz-001,0,0,1792112400,1792112430,057188880001,13800000010",
		"c19": "1000000000000001,2026-10-31 23:58:00,0,0,2,ccc-hz-001,0,0,1793462280,1793462370,13800000019,4008001234",
	}
	for id, w := range want {
		r := byContact[id]
		if r == nil {
			t.Errorf("%s missing", id)
			continue
		}
		if got := strings.Join(r[:12], ","); got != w {
			t.Errorf("%s:\n got %s\nwant %s", id, got, w)
		}
	}
	// Extras: contact_id, direction, number, item, minutes, covered_minutes, charge, late, billed_cycle.
	for id, w := range map[string]string{
		"c2":  "c2,outbound,057188880001,FixedLineOutbound,2,2,0,false,2026-10", // covered by the package: no charge
		"c5":  "c5,outbound,075500000001,,10,0,0.499,false,2026-10",             // own number: platform fee only
		"c19": "c19,inbound,4008001234,Inbound_400,2,0,0.4,true,2026-11",        // late
	} {
		if r := byContact[id]; r == nil || strings.Join(r[12:], ",") != w {
			t.Errorf("%s extras = %v, want %s", id, r, w)
		}
	}
	if _, ok := byContact["c7"]; !ok {
		t.Error("c7 (subscription outbound) missing")
	}
	oct := read("usage-1000000000000001-2026-10.golden.csv")
	for _, r := range oct {
		if r[1] == "2026-10-31 23:58:00" {
			t.Error("the late call c19 is in 2026-10's export")
		}
	}
}
