package export

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/xuri/excelize/v2"
)

// TestClock: the cached formatter agrees with time.Format in zones with and
// without daylight saving (Lord Howe's is half an hour), at transitions,
// in order and out of order, far from now.
func TestClock(t *testing.T) {
	const layout = "2006-01-02 15:04:05"
	r := rand.New(rand.NewPCG(1, 1))
	for _, name := range []string{"Asia/Shanghai", "UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		var k clock
		check := func(ts int64) {
			got := string(k.append(nil, loc, ts))
			if want := time.Unix(ts, 0).In(loc).Format(layout); got != want {
				t.Fatalf("%s %d: %s, want %s", name, ts, got, want)
			}
		}
		// Every minute (and the seconds around each hour) through 2026.
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - 86400
		for ts := start; ts < start+368*86400; ts += 60 {
			check(ts)
			if ts%3600 == 0 {
				for d := int64(-2); d <= 2; d++ {
					check(ts + d)
				}
			}
		}
		for range 100_000 { // anywhere, any order
			check(r.Int64N(maxClock-minClock) + minClock)
		}
		for _, ts := range []int64{0, -1, minClock, minClock - 1, maxClock - 1, maxClock, -62135596800, 1 << 40} {
			check(ts)
		}
	}
	var k clock // a second zone resets the cache
	a, b := time.FixedZone("A", 3600), time.FixedZone("B", -3600)
	if got := string(k.append(nil, a, 0)) + "|" + string(k.append(nil, b, 0)); got != "1970-01-01 01:00:00|1969-12-31 23:00:00" {
		t.Errorf("zones: %s", got)
	}
}

func TestAppendMicro(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int64{0, 1, 10, 100000, 999999, 1000000, 1500000, 49900, -1, -1000000, -499, 1 << 62} {
		if got, want := string(appendMicro(nil, n)), callbill.FromMicro(n).String(); got != want {
			t.Errorf("appendMicro(%d) = %s, want %s", n, got, want)
		}
	}
	for range 100_000 {
		n := r.Int64N(1e12) - 1e11
		if got, want := string(appendMicro(nil, n)), callbill.FromMicro(n).String(); got != want {
			t.Fatalf("appendMicro(%d) = %s, want %s", n, got, want)
		}
		// The XLSX number is the same decimal.
		if got := strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64); got != callbill.FromMicro(n).String() {
			t.Fatalf("float of %d = %s", n, got)
		}
	}
}

// TestCSVRowDoesNotAllocate: a row costs no allocation, so memory and GC
// stay flat whatever the size.
func TestCSVRowDoesNotAllocate(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cols, _, err := columns([]string{"contact_id", "direction", "number", "item", "minutes", "covered_minutes", "charge", "late", "billed_cycle"})
	if err != nil {
		t.Fatal(err)
	}
	w := newCSVWriter(bufio.NewWriter(io.Discard), cols)
	c := &callbill.Call{CDR: callbill.CDR{ContactID: "c1", InstanceID: "ccc-1", Direction: callbill.Inbound, Caller: "13800000001",
		Callee: "057100000001", Start: 1791424800, End: 1791424861}, Account: "1001", Number: "057100000001",
		Cycle: callbill.NewCycle(2026, time.October), Item: callbill.ItemFixedLineInbound, Minutes: 2, TelecomMinutes: 2, ChargeMicro: 60000}
	w.row(loc, c)
	if n := testing.AllocsPerRun(1000, func() {
		c.Start++
		w.row(loc, c)
	}); n != 0 {
		t.Errorf("a CSV row allocates %v times", n)
	}
}

// TestSheetOverflow: past a sheet's rows the XLSX file goes on in the next
// sheet, each with the header.
func TestSheetOverflow(t *testing.T) {
	defer func(n int) { sheetRows = n }(sheetRows)
	sheetRows = 3
	loc, _ := time.LoadLocation("Asia/Shanghai")
	oct := callbill.NewCycle(2026, time.October)
	src := sliceSource{loc: loc}
	for i := range 7 {
		src.calls = append(src.calls, callbill.Call{Account: "1", Cycle: oct, CDR: callbill.CDR{ContactID: "c" + strconv.Itoa(i),
			Start: 1791424800 + int64(i), End: 1791424800 + int64(i)}})
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "u.xlsx")
	res, err := Write(context.Background(), src, "1", callbill.UsageFilter{Cycle: oct}, path, Options{Format: XLSX, Extra: []string{"contact_id"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 7 {
		t.Errorf("rows %d", res.Rows)
	}
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	want := map[string][]string{SheetName: {"c0", "c1", "c2"}, SheetName + " (2)": {"c3", "c4", "c5"}, SheetName + " (3)": {"c6"}}
	if got := x.GetSheetList(); len(got) != 3 {
		t.Fatalf("sheets %v", got)
	}
	for sheet, ids := range want {
		rows, err := x.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(ids)+1 || rows[0][0] != callbill.UsageCSVHeader[0] {
			t.Fatalf("%s: %v", sheet, rows)
		}
		for i, id := range ids {
			if rows[i+1][12] != id {
				t.Errorf("%s row %d: %v", sheet, i+2, rows[i+1])
			}
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the folder, want 1 (excelize's temporary files removed)", len(ents))
	}
}

type sliceSource struct {
	loc   *time.Location
	calls []callbill.Call
}

func (s sliceSource) StreamUsage(ctx context.Context, uid string, f callbill.UsageFilter, fn func(*time.Location, *callbill.Call) error) error {
	for i := range s.calls {
		if err := fn(s.loc, &s.calls[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestXLSXRowDoesNotAllocate: nor does an XLSX row.
func TestXLSXRowDoesNotAllocate(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cols, names, _ := columns(ExtraColumns())
	w := newXLSXWriter(io.Discard, cols)
	if err := w.header(names); err != nil {
		t.Fatal(err)
	}
	c := &callbill.Call{CDR: callbill.CDR{ContactID: "c1", InstanceID: "ccc-1", Direction: callbill.Inbound, Caller: "13800000001",
		Callee: "057100000001", Start: 1791424800, End: 1791424861}, Account: "1001", Number: "057100000001",
		Cycle: callbill.NewCycle(2026, time.October), Item: callbill.ItemFixedLineInbound, Minutes: 2, TelecomMinutes: 2, ChargeMicro: 60000}
	w.row(loc, c)
	if n := testing.AllocsPerRun(1000, func() {
		c.Start++
		w.row(loc, c)
	}); n != 0 {
		t.Errorf("an XLSX row allocates %v times", n)
	}
}

// TestXLSXText: any text reads back from the XLSX file as it went in
// (neutralized), whatever XML or OOXML would make of it; what XML cannot
// hold becomes U+FFFD, and a cell stops at Excel's 32,767 characters.
func TestXLSXText(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	oct := callbill.NewCycle(2026, time.October)
	long := strings.Repeat("长", 40000)
	texts := []struct{ in, want string }{
		{"plain", "plain"}, {"", ""}, {"杭州-1", "杭州-1"}, {" lead", " lead"}, {"trail ", "trail "}, {"\tx", "'\tx"},
		{"\rx", "'\rx"}, {"cr\r\nlf", "cr\r\nlf"}, {"a\nb", "a\nb"}, {"<b>&amp;\"'", "<b>&amp;\"'"},
		{"_x0041_", "_x0041_"}, {"a_x005F_b", "a_x005F_b"}, {"_x00", "_x00"}, {"x_x_x0041_x", "x_x_x0041_x"},
		{"=1+2", "'=1+2"}, {"-1 ", "'-1 "}, {"bell\x07", "bell\uFFFD"}, {"bad\xff", "bad\uFFFD"}, {"\ufffe", "\uFFFD"},
		{long, long[:32767*3]}, {"😀" + strings.Repeat("x", 40000), "😀" + strings.Repeat("x", 32765)},
	}
	src := sliceSource{loc: loc}
	for i, tc := range texts {
		src.calls = append(src.calls, callbill.Call{Account: "1", Cycle: oct, CDR: callbill.CDR{InstanceID: tc.in,
			ContactID: strconv.Itoa(i), Start: 1791424800, End: 1791424800}})
	}
	path := filepath.Join(t.TempDir(), "u.xlsx")
	if _, err := Write(context.Background(), src, "1", callbill.UsageFilter{Cycle: oct}, path, Options{Format: XLSX}); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for i, tc := range texts {
		got, err := x.GetCellValue(SheetName, "F"+strconv.Itoa(i+2), excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%.40q came back as %.40q (len %d), want %.40q (len %d)", tc.in, got, len(got), tc.want, len(tc.want))
		}
	}
}
