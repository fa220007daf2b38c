package demo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/sqlstore"
)

type src struct{ d cdr.Decoder }

func (s *src) Next() (callbill.CDR, sqlstore.Pos, error) {
	r, err := s.d.Next()
	var re *cdr.RowError
	if errors.As(err, &re) {
		return callbill.CDR{}, sqlstore.Pos{Line: re.Line}, &sqlstore.BadRow{Pos: sqlstore.Pos{Line: re.Line}, Reason: re.Reason}
	}
	return r.CDR, sqlstore.Pos{Line: r.Line}, err
}

func TestScratchApply(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{4, 1000} {
		o := Options{Cycle: october, Accounts: n, Calls: 40000, Seed: 1}
		st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		w := parseWorld(t, o)
		t0 := time.Now()
		rep, err := st.ApplyWorld(ctx, w)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		t.Logf("%d accounts: apply %v %+v", n, time.Since(t0), rep)
		rep2, err := st.ApplyWorld(ctx, parseWorld(t, o))
		if err != nil {
			t.Fatalf("%d again: %v", n, err)
		}
		t.Logf("again %+v", rep2)
		var buf bytes.Buffer
		WriteCalls(&buf, o)
		d, err := cdr.NewDecoder(&buf)
		if err != nil {
			t.Fatal(err)
		}
		t0 = time.Now()
		ir, err := st.Import(ctx, &src{d}, sqlstore.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("import %v: imported %d dup %d rejected %d %v", time.Since(t0), ir.Imported, ir.Duplicates, ir.Rejected, ir.Rejects[:min(3, len(ir.Rejects))])
		if n == -1 {
			if _, err := st.CloseCycle(ctx, october); err != nil {
				t.Fatal(err)
			}
			for _, uid := range []string{"1000000000000001", "1000000000000002", "1000000000000003", "1000000000000004"} {
				b, err := st.Bill(ctx, uid, october, false)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %+v", uid, b.Totals)
				for _, l := range b.Lines {
					t.Logf("   %s %s %s %s %s usage %s covered %s payable %s", l.ProductDetail, l.Instance, l.Item, l.Number, l.UnitPrice, l.Usage, l.Covered, l.Payable)
				}
			}
		}
		st.Close()
	}
}

type countW struct{ n int64 }

func (c *countW) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestScratch10M(t *testing.T) {
	o := Options{Cycle: october, Accounts: 1000, Calls: 10_000_000, Seed: 1}
	var cw countW
	t0 := time.Now()
	n, err := WriteCalls(&cw, o)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d calls %d bytes in %v, err %v; total alloc %d MB, heap sys %d MB", n, cw.n, time.Since(t0), err, ms.TotalAlloc>>20, ms.HeapSys>>20)
	_ = io.Discard
}

func TestScratchShow(t *testing.T) {
	o := DemoOptions(october)
	t.Logf("\n%s", World(o))
	var b bytes.Buffer
	WriteCalls(&b, Options{Cycle: october, Accounts: 4, Calls: 40000, Seed: 1})
	t.Logf("\n%s", b.String()[:1500])
	s := b.String()
	t.Logf("\n%s", s[len(s)/2:len(s)/2+800])
}
