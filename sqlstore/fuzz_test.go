package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
	"github.com/shopspring/decimal"
)

// fuzzWorld has what the scenario fuzzer's calls can reach: both modes, CCC,
// third-party and own numbers, a 400 number with a minimum, a voice package,
// a contract, and two accounts (one with cash, one without).
const fuzzWorld = `
accounts:
  - uid: "1001"
    name: 甲
    contract: {discount: "0.85", items: {FixedLineOutbound: "0.7"}}
    instances:
      - id: inst-p
        mode: payg
        numbers:
          - {number: "0571001", kind: fixed, source: ccc}
          - {number: "0571002", kind: fixed, source: third_party}
          - {number: "4000001", kind: "400", source: ccc, tier: 普通}
          - {number: "0571004", kind: fixed, source: own}
      - id: inst-s
        mode: subscription
        numbers:
          - {number: "0571003", kind: fixed, source: ccc}
  - uid: "1002"
    name: 乙
    instances:
      - id: inst-q
        mode: payg
        numbers:
          - {number: "0210001", kind: fixed, source: ccc}
          - {number: "4000002", kind: "400", source: ccc, tier: 普通}
topups:
  - {id: T1, account: "1001", amount: "3000.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "1001", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
`

// fuzzLines are (instance, service number) pairs a structured call may use.
var fuzzLines = [][2]string{{"inst-p", "0571001"}, {"inst-p", "0571002"}, {"inst-p", "4000001"}, {"inst-p", "0571004"},
	{"inst-s", "0571003"}, {"inst-q", "0210001"}, {"inst-q", "4000002"}, {"inst-x", "0571001"}}

// structuredCalls turns every 8 bytes into one call of the fuzz world, so
// that most fuzzed inputs are mostly billable calls (bands, packages, late
// calls, duplicates and conflicts arise from repeated ids).
func structuredCalls(data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("contact_id,instance_id,direction,caller,callee,start_time,end_time,recording_seconds\n")
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix()
	for i := 0; i+8 <= len(data) && i < 8*2000; i += 8 {
		v := binary.LittleEndian.Uint64(data[i:])
		line := fuzzLines[v%uint64(len(fuzzLines))]
		dir := "inbound"
		if v>>3&1 == 1 {
			dir = "outbound"
		}
		start := base + int64(v>>4%(200*86400))               // 2026-10 … 2027-04
		seconds := int64(v >> 28 % 7200)                      // up to two hours
		id := fmt.Sprintf("c%d", v>>40%uint64(len(data)/8+1)) // repeats make duplicates and conflicts
		caller, callee := "13800000000", line[1]
		if dir == "outbound" {
			caller, callee = line[1], "13800000000"
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%d,%d,%d\n", id, line[0], dir, caller, callee, start, start+seconds, v>>56)
	}
	return b.Bytes()
}

// FuzzScenario imports fuzzed CDR batches — once as raw input (CSV or JSON,
// whatever the bytes are) and once as structured calls — closes cycles in
// between and at the end, and checks that nothing a batch holds can break a
// bill: no panic, every displayed line has original − discount = payable,
// lines sum to the totals, paid + outstanding = payable, and the ledger
// verifies.
func FuzzScenario(f *testing.F) {
	f.Add([]byte("contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
		"a,inst-p,outbound,0571001,1380,1791424800,1791425000\n" +
		"b,inst-p,inbound,1380,4000001,1791424800,1791428000\n" +
		"c,inst-q,outbound,0210001,1380,0,60\n" +
		"d,inst-p,outbound,0571002,1380,-62135596800,-62135596740\n"))
	f.Add([]byte(`{"ContactId":"j1","InstanceId":"inst-p","ContactType":"Outbound","CallingNumber":"0571001","CalledNumber":"1","StartTime":1791424800000,"ReleaseTime":1791425800000}`))
	f.Add(bytes.Repeat([]byte{0x17, 0x93, 0x5a, 0x11, 0xfe, 0x02, 0x40, 0x08}, 64))
	f.Add([]byte("contact_id,instance_id,direction,caller,callee,start_time,end_time\nx,inst-p,outbound,0571001,1,999999999999,1000000000059\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		ctx := context.Background()
		s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "fuzz.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		now := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		w, ps := world.Parse([]byte(fuzzWorld))
		if len(ps) > 0 {
			t.Fatal(ps)
		}
		if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
			t.Fatal(err)
		}
		for i, input := range [][]byte{data, structuredCalls(data)} {
			dec, err := cdr.NewDecoder(bytes.NewReader(input))
			if err != nil {
				continue // not a CDR file at all: refused whole, nothing to check
			}
			if _, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: callbill.ImportOptions{BatchSize: 50}}); err != nil {
				if callbill.ErrorCode(err) == callbill.EINTERNAL {
					t.Fatalf("import %d: %v", i, err)
				}
				continue
			}
			if i == 0 { // close the first months between the batches: later calls come late
				if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: callbill.NewCycle(2026, time.November)}); err != nil {
					t.Fatalf("close: %v", err)
				}
			}
		}
		if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: callbill.NewCycle(2027, time.April)}); err != nil {
			t.Fatalf("close: %v", err)
		}
		for _, uid := range []string{"1001", "1002"} {
			for c := callbill.NewCycle(2026, time.October); c <= callbill.NewCycle(2027, time.May); c++ {
				month := map[callbill.ProductDetail]callbill.TotalsJSON{}
				for _, daily := range []bool{false, true} {
					b, err := (&closing.Service{Store: s}).Bill(ctx, closing.BillInput{Account: uid, Cycle: c, Daily: daily})
					if err != nil {
						t.Fatalf("bill %s %s: %v", uid, c, err)
					}
					checkBill(t, b.JSON(callbill.View{Daily: daily}))
					checkBill(t, b.JSON(callbill.View{ByInstance: true, Daily: daily}))
					// The days add up to the month, whatever the filter.
					for _, pd := range []callbill.ProductDetail{"", callbill.PDPostpaid, callbill.PDSubscription} {
						tot := b.Filter(pd, "").Totals.JSON()
						if !daily {
							month[pd] = tot
						} else if tot != month[pd] {
							t.Fatalf("bill %s %s %q: days %+v, month %+v", uid, c, pd, tot, month[pd])
						}
					}
				}
			}
		}
		problems, _, err := verifyLedger(ctx, s, "")
		if err != nil || len(problems) > 0 {
			t.Fatalf("ledger verify: %v %v", problems, err)
		}
	})
}

func checkBill(t *testing.T, b callbill.BillJSON) {
	t.Helper()
	d := func(s string) decimal.Decimal {
		v, err := decimal.NewFromString(s)
		if err != nil {
			t.Fatalf("%s %s: amount %q: %v", b.Account, b.Cycle, s, err)
		}
		return v
	}
	var orig, disc, pay decimal.Decimal
	for _, l := range b.Lines {
		if !d(l.Original).Sub(d(l.Discount)).Equal(d(l.Payable)) {
			t.Fatalf("%s %s: line %+v: original − discount ≠ payable", b.Account, b.Cycle, l)
		}
		orig, disc, pay = orig.Add(d(l.Original)), disc.Add(d(l.Discount)), pay.Add(d(l.Payable))
	}
	tot := b.Totals
	if !orig.Equal(d(tot.Original)) || !disc.Equal(d(tot.Discount)) || !pay.Equal(d(tot.Payable)) {
		t.Fatalf("%s %s (%s): lines sum to %s/%s/%s, totals %+v", b.Account, b.Cycle, b.Period, orig, disc, pay, tot)
	}
	if b.Status == callbill.BillStatusClosed && !d(tot.Paid).Add(d(tot.Outstanding)).Equal(d(tot.Payable)) {
		t.Fatalf("%s %s: paid + outstanding ≠ payable: %+v", b.Account, b.Cycle, tot)
	}
	if b.Status == callbill.BillStatusOpen && tot.Outstanding != "0.00" {
		t.Fatalf("%s %s: an open cycle owes %s", b.Account, b.Cycle, tot.Outstanding)
	}
}
