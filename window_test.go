package callbill

import (
	"testing"
	"time"
)

// TestPlausibilityWindow: the calls that broke billing (a call in year 1, at
// epoch 0, in year 33658, on 9999-12-31, lasting 100 years) are rejected
// with a reason naming the limit; calls at the edges of the window are
// billed.
func TestPlausibilityWindow(t *testing.T) {
	loc := shanghai(t)
	now := at(t, "2026-12-04T10:00:00+08:00")
	w := NewWindow(NewCycle(2026, time.January), 0, now, loc)
	r := NewRater(w, NewPriceBook(nil), 0, testInstances(t))
	first := NewCycle(2026, time.January).Start(loc)
	call := func(start, end int64) CDR {
		c := mkCDR(instPayg, Outbound, numCCCFixed, time.Unix(start, 0), 0)
		c.End = end
		return c
	}
	year1 := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, tc := range []struct {
		name       string
		start, end int64
		reason     string // "" = billed
	}{
		{"year 1", year1, year1 + 60, ReasonBeforeFirstCycle},
		{"epoch 0", 0, 60, ReasonBeforeFirstCycle},
		{"second before the first cycle", first.Unix() - 1, first.Unix() + 59, ReasonBeforeFirstCycle},
		{"first second of the first cycle", first.Unix(), first.Unix() + 60, ""},
		{"12-digit epoch (year 33658)", 999_999_999_999, 999_999_999_999 + 60, ReasonInFuture},
		{"9999-12-31", 253402214400, 253402214460, ReasonInFuture},
		{"a day after now", now.Add(FutureTolerance).Unix(), now.Add(FutureTolerance).Unix() + 60, ""},
		{"a day and a second after now", now.Add(FutureTolerance).Unix() + 1, now.Add(FutureTolerance).Unix() + 61, ReasonInFuture},
		{"100-year call", first.Unix(), first.Unix() + 100*365*86400, ReasonTooLong},
		{"exactly the longest call", now.Unix(), now.Unix() + DefaultMaxCallSeconds, ""},
		{"a second longer", now.Unix(), now.Unix() + DefaultMaxCallSeconds + 1, ReasonTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := call(tc.start, tc.end)
			_, err := r.Rate(&c)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			wantReject(t, err, tc.reason)
		})
	}
}

func TestWindowDefaults(t *testing.T) {
	loc := shanghai(t)
	w := NewWindow(0, 0, at(t, "2026-12-04T10:00:00+08:00"), loc)
	if w.FirstCycle != NewCycle(2024, time.December) || w.MaxCallSeconds != DefaultMaxCallSeconds {
		t.Fatalf("defaults: first %s, max %d", w.FirstCycle, w.MaxCallSeconds)
	}
	for _, tc := range []struct {
		cycle string
		ok    bool
	}{{"2024-11", false}, {"2024-12", true}, {"2026-12", true}, {"2027-01", false}, {"0001-01", false}, {"9999-12", false}} {
		c, err := ParseCycle(tc.cycle)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.CheckView(c, 0, 0); (err == nil) != tc.ok || (err != nil && ErrorCode(err) != EINVALID) {
			t.Errorf("CheckView(%s) = %v, want ok=%v", tc.cycle, err, tc.ok)
		}
	}
	// On the last evening of a month, a call a day ahead lies in the next
	// cycle, so that cycle is viewable.
	w = NewWindow(0, 0, at(t, "2026-12-31T20:00:00+08:00"), loc)
	if w.LastViewableCycle() != NewCycle(2027, time.January) {
		t.Fatalf("last viewable %s", w.LastViewableCycle())
	}
}

// TestOldClosedBillsStayViewable: when the default first cycle moves past a
// deployment's oldest closed bills, those bills can still be read.
func TestOldClosedBillsStayViewable(t *testing.T) {
	w := NewWindow(0, 0, at(t, "2029-06-10T10:00:00+08:00"), shanghai(t)) // first billable 2027-06
	first, closed := NewCycle(2026, time.September), NewCycle(2029, time.May)
	for _, tc := range []struct {
		c  Cycle
		ok bool
	}{
		{NewCycle(2026, time.August), false}, {first, true}, {NewCycle(2027, time.May), true},
		{NewCycle(2029, time.June), true}, {NewCycle(1, time.January), false},
	} {
		if err := w.CheckView(tc.c, first, closed); (err == nil) != tc.ok {
			t.Errorf("CheckView(%s) = %v, want ok=%v", tc.c, err, tc.ok)
		}
	}
}
