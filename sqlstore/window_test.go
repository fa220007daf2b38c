package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/sqlstore"
)

// TestImplausibleCallsCannotStopBilling: the records that stopped billing for
// every tenant (a call in year 1, at epoch 0, in year 33658, on 9999-12-31,
// a call lasting 100 years) are rejected with the limit they break; the
// close then covers only the cycles that hold real calls, no other tenant
// is charged a 400 minimum in cycles before the window, and a bill view of
// year 1 answers EINVALID instead of crashing.
func TestImplausibleCallsCannotStopBilling(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, baseWorld+`
  - uid: "1002"
    name: 乙
    instances:
      - id: inst-q
        mode: payg
        numbers:
          - {number: "4000002", kind: "400", source: ccc, tier: 普通}
`)
		year1 := callbill.CDR{ContactID: "y1", InstanceID: "inst-p", Direction: callbill.Outbound, Caller: "0571001", Callee: "1380",
			Start: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}
		year1.End = year1.Start + 60
		epoch0 := callbill.CDR{ContactID: "e0", InstanceID: "inst-p", Direction: callbill.Outbound, Caller: "0571001", Callee: "1380", End: 60}
		far := callbill.CDR{ContactID: "far", InstanceID: "inst-p", Direction: callbill.Outbound, Caller: "0571001", Callee: "1380",
			Start: 999_999_999_999, End: 999_999_999_999 + 60}
		last := callbill.CDR{ContactID: "9999", InstanceID: "inst-p", Direction: callbill.Outbound, Caller: "0571001", Callee: "1380",
			Start: 253402214400, End: 253402214460}
		century := call("century", "inst-p", callbill.Outbound, "0571001", "2026-10-05T10:00:00+08:00", 100*365*86400)
		good := call("good", "inst-p", callbill.Outbound, "0571001", "2026-10-05T10:00:00+08:00", 60)
		rep := importCalls(t, s, callbill.ImportOptions{}, year1, epoch0, far, last, century, good)
		if rep.Imported != 1 || rep.Rejected != 5 {
			t.Fatalf("imported %d, rejected %d: %+v", rep.Imported, rep.Rejected, rep.Rejects)
		}
		for i, want := range []string{callbill.ReasonBeforeFirstCycle, callbill.ReasonBeforeFirstCycle,
			callbill.ReasonInFuture, callbill.ReasonInFuture, callbill.ReasonTooLong} {
			if !strings.Contains(rep.Rejects[i].Reason, want) {
				t.Errorf("reject %d: %q, want %q", i, rep.Rejects[i].Reason, want)
			}
		}
		closed := closeCycle(t, s, "2027-05")
		if len(closed.Closed) != 8 || closed.Closed[0].String() != "2026-10" {
			t.Fatalf("closed %v, want 2026-10 … 2027-05", closed.Closed)
		}
		if b := bill(t, s, "1002", "2026-10"); b.Totals.Payable != "375.00" {
			t.Fatalf("1002's 2026-10: %+v", b.Totals)
		}
		for _, cy := range []string{"0001-01", "1970-01", "2025-05", "9999-12"} {
			c, _ := callbill.ParseCycle(cy)
			if _, err := (&closing.Service{Store: s}).Bill(context.Background(), closing.BillInput{Account: "1002", Cycle: c}); callbill.ErrorCode(err) != callbill.EINVALID {
				t.Errorf("Bill(%s) = %v, want EINVALID", cy, err)
			}
		}
	})
}

// TestBillingWindowSettings: billing.first_cycle and billing.max_call_seconds
// of the world file decide what is billable; the first billable cycle
// cannot move past stored activity.
func TestBillingWindowSettings(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, "billing: {first_cycle: \"2026-10\", max_call_seconds: 3600}\n"+baseWorld)
		rep := importCalls(t, s, callbill.ImportOptions{},
			call("sep", "inst-p", callbill.Outbound, "0571001", "2026-09-30T23:59:59+08:00", 60),
			call("oct", "inst-p", callbill.Outbound, "0571001", "2026-10-01T00:00:00+08:00", 3600),
			call("long", "inst-p", callbill.Outbound, "0571001", "2026-10-02T00:00:00+08:00", 3601))
		if rep.Imported != 1 || rep.Rejected != 2 ||
			!strings.Contains(rep.Rejects[0].Reason, "first billable cycle 2026-10") ||
			!strings.Contains(rep.Rejects[1].Reason, "3600") {
			t.Fatalf("%+v", rep)
		}
		_, err := apply(t, s, baseWorld+`
topups:
  - {id: T1, account: "1001", amount: "10.00", at: "2026-09-30T08:00:00+08:00"}
`)
		if err == nil || !strings.Contains(err.Error(), "topups[0].at") || !strings.Contains(err.Error(), "first billable cycle") {
			t.Fatalf("top-up before the window: %v", err)
		}
		_, err = apply(t, s, "billing: {first_cycle: \"2026-11\"}\n"+baseWorld)
		if err == nil || !strings.Contains(err.Error(), "billing.first_cycle") {
			t.Fatalf("moving the first cycle past stored calls: %v", err)
		}
		mustApply(t, s, "billing: {first_cycle: \"2026-08\"}\n"+baseWorld) // earlier is fine
		c, _ := callbill.ParseCycle("2026-07")
		if _, err := (&closing.Service{Store: s}).Close(context.Background(), closing.CloseInput{Cycle: c}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Fatalf("close before the first billable cycle: %v", err)
		}
		if got := closeCycle(t, s, "2026-10").Closed; len(got) != 1 || got[0].String() != "2026-10" {
			t.Fatalf("closed %v", got)
		}
	})
}
