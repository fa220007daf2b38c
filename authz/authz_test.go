package authz

import (
	"testing"

	"github.com/callbill/callbill"
)

func TestCapIsTheWorldsUnlessLess(t *testing.T) {
	for _, c := range []struct{ cap, world, want int64 }{
		{0, 0, callbill.DefaultMaxCallSeconds},
		{0, 3600, 3600},
		{600, 3600, 600},
		{7200, 3600, 3600}, // a longer call's CDR would be rejected
	} {
		if got := (&Service{Cap: c.cap}).capFor(c.world); got != c.want {
			t.Errorf("cap %d, world %d: %d, want %d", c.cap, c.world, got, c.want)
		}
	}
}

// TestSpendIsExactOverOpenCycles: what authorization reads of the open
// spend is the exact payable of every open cycle (not the rounded-down
// total), and the platform minutes of the current cycle only.
func TestSpendIsExactOverOpenCycles(t *testing.T) {
	oct, nov := callbill.NewCycle(2026, 10), callbill.NewCycle(2026, 11)
	line := func(item callbill.Item, usage, exact string) callbill.Line {
		return callbill.Line{Item: item, Usage: callbill.MustDecimal(usage), Covered: callbill.MustDecimal("0"),
			UsageUnit: callbill.UsageUnit(item, false), ExactPayable: callbill.MustDecimal(exact)}
	}
	spends := []*callbill.Spend{
		{Cycle: oct, Payable: callbill.MustDecimal("4.99"), Lines: []callbill.Line{line(callbill.ItemCallCenterSoftware, "100", "4.99")}},
		{Cycle: nov, Payable: callbill.MustDecimal("0.14"), Lines: []callbill.Line{line(callbill.ItemCallCenterSoftware, "3", "0.1497"),
			line(callbill.ItemFixedLineOutbound, "1", "0.0012")}},
	}
	m := spendOf("k", spends, nov)
	if !m.spend.Equal(callbill.MustDecimal("5.1409")) || m.platform != 3 || m.key != "k" {
		t.Errorf("%+v", m)
	}
}
