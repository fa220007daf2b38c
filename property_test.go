package callbill

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// Property tests. Every case is generated from (seed, case number) alone, so a
// failure message names what reproduces it: run the test with that seed and
// look at that case (the message also prints the generated input).

const propertySeed = 20261031

func caseRNG(seed uint64, n int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(n))) }

// iterations scales a property's case count down under -short.
func iterations(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// ---- 1. rounding of postpaid lines (docs/rules.md, "Rounding") -------------------

// randomPostpaidLines returns lines with exact amounts as PostpaidLines makes
// them: unit prices with up to 6 decimals, usage in minutes (or GB with 4
// decimals), contract rates with up to 4 decimals.
func randomPostpaidLines(rng *rand.Rand) []Line {
	n := rng.IntN(40)
	if rng.IntN(10) == 0 {
		n = rng.IntN(400)
	}
	ls := make([]Line, n)
	for i := range ls {
		var price, usage decimal.Decimal
		switch rng.IntN(4) {
		case 0: // per-minute prices, any 6-decimal price below 1 yuan
			price = decimal.New(rng.Int64N(1_000_000), -6)
			usage = decimal.NewFromInt(rng.Int64N(3_000_000))
		case 1: // list prices
			price = FromMicro([]int64{49_900, 44_900, 40_500, 36_500, 32_700, 29_500, 26_700, 30_000, 150_000,
				110_000, 200_000, 180_000, 0}[rng.IntN(13)])
			usage = decimal.NewFromInt(rng.Int64N(100_000))
		case 2: // storage: GB with 4 decimals
			price = decimal.New(rng.Int64N(1_000_000), -6)
			usage = decimal.New(rng.Int64N(100_000_000), -4)
		default: // 400 minimum: usage 1, a price with up to 6 decimals
			price = decimal.New(rng.Int64N(20_000_000_000), -6)
			usage = one
		}
		rate := one
		if rng.IntN(3) > 0 {
			rate = decimal.New(1+rng.Int64N(10_000), -4)
		}
		l := Line{UnitPrice: price, Usage: usage}
		l.ExactOriginal = price.Mul(usage)
		applyContract(&l, rate)
		ls[i] = l
	}
	return ls
}

func describeLines(ls []Line) string {
	var b strings.Builder
	for i, l := range ls {
		fmt.Fprintf(&b, "\n  [%d] price %s × usage %s: exact original %s discount %s payable %s → displayed %s/%s/%s",
			i, l.UnitPrice, l.Usage, l.ExactOriginal, l.ExactDiscount, l.ExactPayable, l.Original, l.Discount, l.Payable)
	}
	return b.String()
}

func TestPropertyRoundPostpaid(t *testing.T) {
	for n := 0; n < iterations(10000); n++ {
		ls := randomPostpaidLines(caseRNG(propertySeed, n))
		exactSum := zero
		for _, l := range ls {
			exactSum = exactSum.Add(l.ExactPayable)
		}
		total, rd := RoundPostpaid(ls)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d case %d (randomPostpaidLines(caseRNG(%d, %d))): %s\ntotal %s round_down %s, lines:%s",
				propertySeed, n, propertySeed, n, fmt.Sprintf(format, args...), total, rd, describeLines(ls))
		}
		displayed := zero
		for i, l := range ls {
			displayed = displayed.Add(l.Payable)
			if !l.Original.Sub(l.Discount).Equal(l.Payable) {
				fail("line %d: original − discount = %s ≠ payable %s", i, l.Original.Sub(l.Discount), l.Payable)
			}
			if !l.Payable.Equal(l.Payable.Truncate(2)) || !l.Discount.Equal(l.Discount.Truncate(2)) {
				fail("line %d: displayed amounts not in fen", i)
			}
			if l.Payable.Sub(l.ExactPayable).Abs().GreaterThanOrEqual(fen) {
				fail("line %d: displayed payable %s is 0.01 or more from exact %s", i, l.Payable, l.ExactPayable)
			}
			floor := RoundDownFen(l.ExactPayable)
			if !l.Payable.Equal(floor) && !l.Payable.Equal(floor.Add(fen)) {
				fail("line %d: payable %s is neither the floor %s nor floor + 0.01", i, l.Payable, floor)
			}
			if !l.Discount.Equal(HalfUpFen(l.ExactDiscount)) {
				fail("line %d: discount %s is not half-up of %s", i, l.Discount, l.ExactDiscount)
			}
			if l.Payable.IsNegative() || l.Discount.IsNegative() {
				fail("line %d: negative amount", i)
			}
		}
		if !displayed.Equal(total) {
			fail("Σ displayed payable %s ≠ total %s", displayed, total)
		}
		if !total.Add(rd).Equal(exactSum) {
			fail("total + round_down = %s ≠ exact sum %s", total.Add(rd), exactSum)
		}
		if rd.IsNegative() || rd.GreaterThanOrEqual(fen) {
			fail("round_down %s outside [0, 0.01)", rd)
		}
		if !total.Equal(total.Truncate(2)) {
			fail("total %s not in fen", total)
		}
		// Largest remainder: every line that got the extra fen precedes every
		// line that did not, where a precedes b when its dropped fraction is
		// larger, or equal and a comes first. Compare the last of the one
		// group with the first of the other.
		precedes := func(i int, fi decimal.Decimal, j int, fj decimal.Decimal) bool {
			return fi.GreaterThan(fj) || (fi.Equal(fj) && i < j)
		}
		lastGot, firstNot := -1, -1
		var fLastGot, fFirstNot decimal.Decimal
		for i, l := range ls {
			f := l.ExactPayable.Sub(RoundDownFen(l.ExactPayable))
			if !l.Payable.Equal(RoundDownFen(l.ExactPayable)) {
				if lastGot < 0 || precedes(lastGot, fLastGot, i, f) {
					lastGot, fLastGot = i, f
				}
			} else if firstNot < 0 || precedes(i, f, firstNot, fFirstNot) {
				firstNot, fFirstNot = i, f
			}
		}
		if lastGot >= 0 && firstNot >= 0 && !precedes(lastGot, fLastGot, firstNot, fFirstNot) {
			fail("line %d (fraction %s) got the fen before line %d (fraction %s)", lastGot, fLastGot, firstNot, fFirstNot)
		}
	}
}

// ---- 2. graduated platform fee, whatever the call order (docs/rules.md, "Platform fee bands") ----

// platformBands is the built-in payg platform price, written out independently
// of the price book: (upper limit of the band, price in millionths).
var platformBands = []struct{ upTo, micro int64 }{
	{200_000, 49_900}, {500_000, 44_900}, {1_000_000, 40_500}, {2_000_000, 36_500},
	{4_000_000, 32_700}, {10_000_000, 29_500}, {1 << 62, 26_700},
}

// graduatedMicro prices minutes 1…total band by band.
func graduatedMicro(total int64) (micro int64, perBand []int64) {
	perBand = make([]int64, len(platformBands))
	lo := int64(0)
	for i, b := range platformBands {
		in := min(total, b.upTo) - lo
		if in <= 0 {
			break
		}
		perBand[i] = in
		micro += in * b.micro
		lo = b.upTo
	}
	return micro, perBand
}

func TestGraduatedMicroReference(t *testing.T) {
	// The reference itself, on hand-computed values.
	for _, tc := range []struct{ total, micro int64 }{
		{0, 0}, {1, 49_900}, {200_000, 200_000 * 49_900}, {200_001, 200_000*49_900 + 44_900},
		{2_500_000, 200_000*49_900 + 300_000*44_900 + 500_000*40_500 + 1_000_000*36_500 + 500_000*32_700},
	} {
		if got, _ := graduatedMicro(tc.total); got != tc.micro {
			t.Errorf("graduatedMicro(%d) = %d, want %d", tc.total, got, tc.micro)
		}
	}
}

// randomCallMinutes splits a random total (up to 2.5 million minutes) into calls.
func randomCallMinutes(rng *rand.Rand) []int64 {
	var total int64
	switch rng.IntN(4) {
	case 0: // around the first boundary
		total = 199_000 + rng.Int64N(2_000)
	case 1:
		total = rng.Int64N(50_000)
	default:
		total = rng.Int64N(2_500_001)
	}
	k := 1 + rng.IntN(40)
	cuts := []int64{0, total}
	for i := 1; i < k; i++ {
		cuts = append(cuts, rng.Int64N(total+1))
	}
	sortInt64(cuts)
	mins := make([]int64, 0, k)
	for i := 1; i < len(cuts); i++ {
		mins = append(mins, cuts[i]-cuts[i-1]) // zero-minute calls included
	}
	return mins
}

func sortInt64(xs []int64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

func TestPropertyPlatformFeeIndependentOfOrder(t *testing.T) {
	start := time.Date(2026, 10, 8, 10, 0, 0, 0, shanghai(t))
	oct := NewCycle(2026, time.October)
	for n := 0; n < iterations(1000); n++ {
		rng := caseRNG(propertySeed+2, n)
		mins := randomCallMinutes(rng)
		// A duration whose started minutes are exactly m.
		secs := make([]int64, len(mins))
		total := int64(0)
		for i, m := range mins {
			total += m
			if m > 0 {
				secs[i] = m*60 - rng.Int64N(60)
			}
		}
		wantMicro, wantPerBand := graduatedMicro(total)
		for p := 0; p < 6; p++ {
			order := make([]int, len(mins))
			for i := range order {
				order[i] = i
			}
			switch p {
			case 0:
			case 1:
				for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
					order[i], order[j] = order[j], order[i]
				}
			default:
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			r := newTestRater(t, 0)
			var sum int64
			perBand := make([]int64, len(platformBands))
			for k, i := range order {
				num := numTPFixed
				dir := []Direction{Inbound, Outbound}[k%2]
				call, err := r.Rate(&CDR{ContactID: fmt.Sprint(i), InstanceID: instPayg, Direction: dir,
					Caller: map[Direction]string{Inbound: outsider, Outbound: num}[dir],
					Callee: map[Direction]string{Inbound: num, Outbound: outsider}[dir],
					Start:  start.Unix() + int64(k), End: start.Unix() + int64(k) + secs[i]})
				if err != nil {
					t.Fatalf("seed %d case %d: %v", propertySeed+2, n, err)
				}
				if call.PlatformMinutes != mins[i] {
					t.Fatalf("seed %d case %d: call %d has %d platform minutes, want %d", propertySeed+2, n, i,
						call.PlatformMinutes, mins[i])
				}
				bm := int64(0)
				for _, b := range call.Bands {
					bm += b.Minutes
					if b.Minutes <= 0 {
						t.Fatalf("seed %d case %d: call %d has an empty band use %+v", propertySeed+2, n, i, call.Bands)
					}
					perBand[b.Band-1] += b.Minutes
					if b.Micro != platformBands[b.Band-1].micro {
						t.Fatalf("seed %d case %d: band %d priced %d", propertySeed+2, n, b.Band, b.Micro)
					}
				}
				if bm != call.PlatformMinutes {
					t.Fatalf("seed %d case %d: call %d bands %+v sum to %d, not %d", propertySeed+2, n, i,
						call.Bands, bm, call.PlatformMinutes)
				}
				sum += call.ChargeMicro
			}
			if sum != wantMicro || fmt.Sprint(perBand) != fmt.Sprint(wantPerBand) {
				t.Fatalf("seed %d case %d, order %d %v: minutes %v (total %d)\nΣ ChargeMicro %d, want %d; per band %v, want %v",
					propertySeed+2, n, p, order, mins, total, sum, wantMicro, perBand, wantPerBand)
			}
			if used := r.platformUsed[AccountCycle{acctA, oct}]; used != total {
				t.Fatalf("seed %d case %d: PlatformUsed %d, want %d", propertySeed+2, n, used, total)
			}
		}
	}
}

// ---- 3. voice package conservation (docs/rules.md, "Voice packages") -------------------

func TestPropertyPackageConservation(t *testing.T) {
	loc := shanghai(t)
	base := time.Date(2026, 9, 1, 0, 0, 0, 0, loc)
	span := int64(200 * 24 * 3600) // calls and purchases over ~6.5 months
	services := []struct {
		num  string
		dirs []Direction
	}{
		{numCCCFixed, []Direction{Inbound, Outbound}}, {numCCC400, []Direction{Inbound}},
		{numTPFixed, []Direction{Inbound, Outbound}}, {numOwnFixed, []Direction{Outbound}},
		{numTP400, []Direction{Inbound}},
	}
	types := []PackageType{PackageFixedInbound, PackageFixedOutbound, PackageInbound400}
	for n := 0; n < iterations(3000); n++ {
		seed := uint64(propertySeed + 3)
		rng := caseRNG(seed, n)
		var closed Cycle
		if rng.IntN(3) == 0 {
			closed = NewCycle(2026, time.October)
		}
		r := newTestRater(t, closed)
		initial := map[*VoicePackage]int64{}
		var all []*VoicePackage
		var desc strings.Builder
		for _, acct := range []string{acctA, acctB} {
			var ps []*VoicePackage
			for i, k := 0, rng.IntN(7); i < k; i++ {
				from := base.Add(time.Duration(rng.Int64N(span)) * time.Second)
				minutes := rng.Int64N(60)
				p := &VoicePackage{ID: fmt.Sprintf("%s-P%d", acct[len(acct)-1:], i), Account: acct,
					Type: types[rng.IntN(3)], Minutes: minutes, Remaining: rng.Int64N(minutes + 1),
					From: from, Until: AddMonthsClamped(from, PackageValidityMonths, loc)}
				if rng.IntN(4) == 0 { // same expiry or purchase as another: exercise the tie-breaks
					if len(ps) > 0 {
						o := ps[rng.IntN(len(ps))]
						p.Until = o.Until
						if rng.IntN(2) == 0 {
							p.From = o.From
						}
					}
				}
				initial[p] = p.Remaining
				ps = append(ps, p)
				all = append(all, p)
				fmt.Fprintf(&desc, "\n  package %s %s %d/%d from %s until %s", p.ID, p.Type, p.Remaining, p.Minutes,
					p.From.Format(time.RFC3339), p.Until.Format(time.RFC3339))
			}
			r.SetPackages(acct, ps)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d case %d (closed through %d): %s\ninput:%s", seed, n, closed, fmt.Sprintf(format, args...), desc.String())
		}
		covered := map[string]int64{}
		var totalCovered int64
		for i, k := 0, rng.IntN(80); i < k; i++ {
			inst := []string{instPayg, instSub, instB}[rng.IntN(3)]
			svc := services[rng.IntN(len(services))]
			dir := svc.dirs[rng.IntN(len(svc.dirs))]
			start := base.Add(time.Duration(rng.Int64N(span)) * time.Second)
			c := mkCDR(inst, dir, svc.num, start, rng.Int64N(1500))
			fmt.Fprintf(&desc, "\n  call %d %s %s %s at %s for %d s", i, inst, dir, svc.num, start.Format(time.RFC3339), c.Seconds())
			call, err := r.Rate(&c)
			if err != nil {
				fail("call %d rejected: %v", i, err)
			}
			var used int64
			lastUsed := -1
			ps := r.packages[call.Account]
			for _, u := range call.Packages {
				used += u.Minutes
				covered[u.PackageID] += u.Minutes
				if u.Minutes <= 0 {
					fail("call %d: package use %+v", i, u)
				}
				for j, p := range ps {
					if p.ID == u.PackageID {
						if j <= lastUsed {
							fail("call %d: packages used out of order %+v", i, call.Packages)
						}
						lastUsed = j
						if PackageItem[p.Type] != call.Item || !p.ValidAt(start) || p.Account != call.Account {
							fail("call %d (%s at %s): covered by ineligible package %s", i, call.Item, start, p.ID)
						}
					}
				}
			}
			if used != call.CoveredMinutes {
				fail("call %d: uses %+v sum to %d, covered %d", i, call.Packages, used, call.CoveredMinutes)
			}
			if call.CoveredMinutes > call.TelecomMinutes || call.CoveredMinutes < 0 {
				fail("call %d: covered %d of %d telecom minutes", i, call.CoveredMinutes, call.TelecomMinutes)
			}
			if call.CoveredMinutes > 0 && (call.NumberSource != SourceCCC || call.ItemMicro == 0) {
				fail("call %d: covered %d minutes on a %s number at price %d", i, call.CoveredMinutes,
					call.NumberSource, call.ItemMicro)
			}
			bandMicro := int64(0)
			for _, b := range call.Bands {
				bandMicro += b.Minutes * b.Micro
			}
			if want := (call.TelecomMinutes-call.CoveredMinutes)*call.ItemMicro + bandMicro; call.ChargeMicro != want {
				fail("call %d: ChargeMicro %d, want %d", i, call.ChargeMicro, want)
			}
			// Greedy in deduction order: every eligible package before the
			// last one used is empty now; if minutes stayed charged, all are.
			charged := call.ItemMicro > 0 && call.CoveredMinutes < call.TelecomMinutes
			for j, p := range ps {
				eligible := call.NumberSource == SourceCCC && PackageItem[p.Type] == call.Item && p.ValidAt(start)
				if eligible && (j < lastUsed || charged) && p.Remaining != 0 {
					fail("call %d: eligible package %s still has %d minutes (last used #%d, charged %v)",
						i, p.ID, p.Remaining, lastUsed, charged)
				}
			}
			for _, p := range all {
				if p.Remaining < 0 || p.Remaining > initial[p] {
					fail("after call %d package %s has %d minutes (started with %d)", i, p.ID, p.Remaining, initial[p])
				}
			}
			totalCovered += call.CoveredMinutes
		}
		var sumRemaining, sumInitial int64
		for _, p := range all {
			sumRemaining += p.Remaining
			sumInitial += initial[p]
			if initial[p]-p.Remaining != covered[p.ID] {
				fail("package %s: %d − %d ≠ %d minutes used", p.ID, initial[p], p.Remaining, covered[p.ID])
			}
		}
		if totalCovered+sumRemaining != sumInitial {
			fail("Σ covered %d + Σ remaining %d ≠ Σ package minutes %d", totalCovered, sumRemaining, sumInitial)
		}
	}
}
