package callbill

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need Asia/Shanghai whatever the machine has

	"github.com/shopspring/decimal"
)

// ---- shared fixture -------------------------------------------------------

const (
	acctA    = "1000000000000001"
	acctB    = "1000000000000002"
	instPayg = "ccc-payg"
	instSub  = "ccc-sub"
	instB    = "ccc-b" // payg instance of account B

	numCCCFixed = "057188880001"
	numCCC400   = "4008001234"
	numTPFixed  = "02066660001"
	numTP400    = "4008009999"
	numOwnFixed = "075500000001"
	numOwn400   = "4008007777"
	numDated    = "057188880099" // in service 2026-10-10 … 2026-10-20 (local)
	outsider    = "13800138000"  // the other party of every call
)

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(DefaultTimezone)
	if err != nil {
		t.Fatalf("load %s: %v", DefaultTimezone, err)
	}
	return loc
}

// at parses an RFC 3339 time.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return tm
}

func dec(s string) decimal.Decimal { return MustDecimal(s) }

func cyc(t testing.TB, s string) Cycle {
	t.Helper()
	c, err := ParseCycle(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func decEq(t testing.TB, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func numbersFor(t testing.TB, inst string) map[string]*Number {
	ns := []Number{
		{Number: numCCCFixed, Kind: NumberFixed, Source: SourceCCC},
		{Number: numCCC400, Kind: Number400, Source: SourceCCC, Tier: "普通"},
		{Number: numTPFixed, Kind: NumberFixed, Source: SourceThirdParty},
		{Number: numTP400, Kind: Number400, Source: SourceThirdParty},
		{Number: numOwnFixed, Kind: NumberFixed, Source: SourceOwn},
		{Number: numOwn400, Kind: Number400, Source: SourceOwn},
		{Number: numDated, Kind: NumberFixed, Source: SourceCCC,
			Since: at(t, "2026-10-10T00:00:00+08:00"), Until: at(t, "2026-10-20T00:00:00+08:00")},
	}
	m := map[string]*Number{}
	for i := range ns {
		n := ns[i]
		n.Instance = inst
		m[n.Number] = &n
	}
	return m
}

func testInstances(t testing.TB) map[string]*InstanceInfo {
	return map[string]*InstanceInfo{
		instPayg: {ID: instPayg, Account: acctA, Mode: ModePayg, Numbers: numbersFor(t, instPayg)},
		instSub:  {ID: instSub, Account: acctA, Mode: ModeSubscription, Numbers: numbersFor(t, instSub)},
		instB:    {ID: instB, Account: acctB, Mode: ModePayg, Numbers: numbersFor(t, instB)},
	}
}

func newTestRater(t testing.TB, closedThrough Cycle, overrides ...Price) *Rater {
	t.Helper()
	return NewRater(testWindow(t), NewPriceBook(overrides), closedThrough, testInstances(t))
}

// mkCDR builds a call on service number svc: the callee of an inbound call,
// the caller of an outbound one.
func mkCDR(inst string, dir Direction, svc string, start time.Time, seconds int64) CDR {
	c := CDR{ContactID: "c-" + start.Format("150405"), InstanceID: inst, Direction: dir,
		Start: start.Unix(), End: start.Unix() + seconds}
	if dir == Inbound {
		c.Caller, c.Callee = outsider, svc
	} else {
		c.Caller, c.Callee = svc, outsider
	}
	return c
}

// wantReject checks that err is an EINVALID rating rejection carrying reason.
func wantReject(t testing.TB, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want rejection %q", reason)
	}
	if ErrorCode(err) != EINVALID {
		t.Errorf("error code %q, want %q (%v)", ErrorCode(err), EINVALID, err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not carry reason %q", err, reason)
	}
}

// rate rates a call that must be accepted.
func rate(t testing.TB, r *Rater, c CDR) Call {
	t.Helper()
	call, err := r.Rate(&c)
	if err != nil {
		t.Fatalf("Rate(%+v): %v", c, err)
	}
	return call
}

// ---- call minutes (docs/rules.md, "Call minutes") --------------------------

func TestCallMinutes(t *testing.T) {
	for _, tc := range []struct {
		seconds, minutes int64
	}{
		{0, 0}, {1, 1}, {59, 1}, {60, 1}, {61, 2}, {119, 2}, {120, 2}, {121, 3}, {3600, 60}, {3601, 61},
	} {
		t.Run(time.Duration(tc.seconds*int64(time.Second)).String(), func(t *testing.T) {
			if got := CallMinutes(tc.seconds); got != tc.minutes {
				t.Errorf("CallMinutes(%d) = %d, want %d", tc.seconds, got, tc.minutes)
			}
		})
	}
}

func TestRateMinutesFromDuration(t *testing.T) {
	start := at(t, "2026-10-08T10:00:00+08:00")
	for _, tc := range []struct {
		seconds, minutes int64
	}{
		{0, 0}, {1, 1}, {59, 1}, {60, 1}, {61, 2},
	} {
		t.Run(time.Duration(tc.seconds*int64(time.Second)).String(), func(t *testing.T) {
			r := newTestRater(t, 0)
			c := mkCDR(instPayg, Outbound, numCCCFixed, start, tc.seconds)
			if got := c.Seconds(); got != tc.seconds {
				t.Errorf("Seconds = %d, want %d", got, tc.seconds)
			}
			call := rate(t, r, c)
			if call.Minutes != tc.minutes || call.TelecomMinutes != tc.minutes {
				t.Errorf("Minutes = %d, TelecomMinutes = %d, want %d", call.Minutes, call.TelecomMinutes, tc.minutes)
			}
			if want := tc.minutes * 150_000; call.ChargeMicro != want {
				t.Errorf("ChargeMicro = %d, want %d", call.ChargeMicro, want)
			}
			// A third-party number on payg: the same minutes as platform minutes.
			pc := rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, start, tc.seconds))
			if pc.PlatformMinutes != tc.minutes {
				t.Errorf("PlatformMinutes = %d, want %d", pc.PlatformMinutes, tc.minutes)
			}
			if tc.minutes == 0 && len(pc.Bands) != 0 {
				t.Errorf("a 0-minute call has bands %+v", pc.Bands)
			}
		})
	}
}

func TestRateNegativeDurationRejected(t *testing.T) {
	start := at(t, "2026-10-08T10:00:00+08:00")
	for _, tc := range []struct {
		name string
		inst string
		dir  Direction
		num  string
	}{
		{"ccc fixed outbound", instPayg, Outbound, numCCCFixed},
		{"third-party fixed inbound on payg", instPayg, Inbound, numTPFixed},
		{"ccc 400 inbound on subscription", instSub, Inbound, numCCC400},
	} {
		for _, secs := range []int64{-1, -60, -3600} {
			t.Run(tc.name+"/"+time.Duration(secs*int64(time.Second)).String(), func(t *testing.T) {
				r := newTestRater(t, 0)
				c := mkCDR(tc.inst, tc.dir, tc.num, start, secs)
				_, _, err := r.Lookup(&c)
				wantReject(t, err, ReasonNegative)
				before := r.Snapshot()
				_, err = r.Rate(&c)
				wantReject(t, err, ReasonNegative)
				if !reflect.DeepEqual(before, r.Snapshot()) {
					t.Errorf("a rejected call changed the rater's state")
				}
			})
		}
	}
}

// ---- what a call is charged (docs/rules.md, "Numbers and service numbers",
// "What a call is charged") ----------------------------------------------------

func TestRateSourceModeDirectionKind(t *testing.T) {
	start := at(t, "2026-10-08T10:00:00+08:00")
	const secs = 125 // 3 minutes
	const minutes = 3
	type want struct {
		reject   string
		item     Item
		telecom  int64
		platform int64
		micro    int64 // telecom unit price
		charge   int64
	}
	listPrice := map[Mode]map[Item]int64{
		ModePayg:         {ItemFixedLineInbound: 30_000, ItemFixedLineOutbound: 150_000, ItemInbound400: 200_000},
		ModeSubscription: {ItemFixedLineInbound: 0, ItemFixedLineOutbound: 110_000, ItemInbound400: 180_000},
	}
	numbers := map[NumberSource]map[NumberKind]string{
		SourceCCC:        {NumberFixed: numCCCFixed, Number400: numCCC400},
		SourceThirdParty: {NumberFixed: numTPFixed, Number400: numTP400},
		SourceOwn:        {NumberFixed: numOwnFixed, Number400: numOwn400},
	}
	insts := map[Mode]string{ModePayg: instPayg, ModeSubscription: instSub}
	for _, src := range []NumberSource{SourceCCC, SourceThirdParty, SourceOwn} {
		for _, mode := range []Mode{ModePayg, ModeSubscription} {
			for _, dir := range []Direction{Inbound, Outbound} {
				for _, kind := range []NumberKind{NumberFixed, Number400} {
					var w want
					switch {
					case kind == Number400 && dir == Outbound:
						w.reject = ReasonOutbound400
					case src == SourceCCC:
						w.item = map[Direction]Item{Inbound: ItemFixedLineInbound, Outbound: ItemFixedLineOutbound}[dir]
						if kind == Number400 {
							w.item = ItemInbound400
						}
						w.telecom = minutes
						w.micro = listPrice[mode][w.item]
						w.charge = minutes * w.micro
					case mode == ModePayg:
						w.platform = minutes
						w.charge = minutes * 49_900
					}
					name := string(src) + "/" + string(mode) + "/" + string(dir) + "/" + string(kind)
					t.Run(name, func(t *testing.T) {
						r := newTestRater(t, 0)
						num := numbers[src][kind]
						c := mkCDR(insts[mode], dir, num, start, secs)
						if w.reject != "" {
							_, _, err := r.Lookup(&c)
							wantReject(t, err, w.reject)
							_, err = r.Rate(&c)
							wantReject(t, err, w.reject)
							return
						}
						call := rate(t, r, c)
						if call.Account != acctA || call.InstanceID != insts[mode] || call.Mode != mode {
							t.Errorf("account/instance/mode = %s/%s/%s", call.Account, call.InstanceID, call.Mode)
						}
						if call.Number != num || call.NumberKind != kind || call.NumberSource != src {
							t.Errorf("service number = %s %s %s, want %s %s %s", call.Number, call.NumberKind,
								call.NumberSource, num, kind, src)
						}
						if call.Minutes != minutes {
							t.Errorf("Minutes = %d, want %d", call.Minutes, minutes)
						}
						if call.Item != w.item {
							t.Errorf("Item = %q, want %q", call.Item, w.item)
						}
						if call.TelecomMinutes != w.telecom {
							t.Errorf("TelecomMinutes = %d, want %d", call.TelecomMinutes, w.telecom)
						}
						if call.PlatformMinutes != w.platform {
							t.Errorf("PlatformMinutes = %d, want %d", call.PlatformMinutes, w.platform)
						}
						if call.ItemMicro != w.micro {
							t.Errorf("ItemMicro = %d, want %d", call.ItemMicro, w.micro)
						}
						if call.ChargeMicro != w.charge {
							t.Errorf("ChargeMicro = %d, want %d", call.ChargeMicro, w.charge)
						}
						if w.platform > 0 {
							want := []BandUse{{Band: 1, Minutes: minutes, Micro: 49_900}}
							if !reflect.DeepEqual(call.Bands, want) {
								t.Errorf("Bands = %+v, want %+v", call.Bands, want)
							}
						} else if len(call.Bands) != 0 {
							t.Errorf("Bands = %+v, want none", call.Bands)
						}
						if call.CoveredMinutes != 0 || len(call.Packages) != 0 {
							t.Errorf("covered %d by %v without packages", call.CoveredMinutes, call.Packages)
						}
						wantSIP := int64(0)
						if src == SourceOwn {
							wantSIP = minutes
						}
						if call.SIPMinutes() != wantSIP {
							t.Errorf("SIPMinutes = %d, want %d", call.SIPMinutes(), wantSIP)
						}
					})
				}
			}
		}
	}
}

func TestTelecomItem(t *testing.T) {
	for _, tc := range []struct {
		kind NumberKind
		dir  Direction
		want Item
	}{
		{NumberFixed, Inbound, ItemFixedLineInbound},
		{NumberFixed, Outbound, ItemFixedLineOutbound},
		{Number400, Inbound, ItemInbound400},
	} {
		t.Run(string(tc.kind)+"/"+string(tc.dir), func(t *testing.T) {
			if got := TelecomItem(tc.kind, tc.dir); got != tc.want {
				t.Errorf("TelecomItem = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRateServiceNumber(t *testing.T) {
	start := at(t, "2026-10-08T10:00:00+08:00")
	for _, tc := range []struct {
		name           string
		dir            Direction
		caller, callee string
		reject         string
		wantNumber     string
	}{
		{"inbound uses the callee", Inbound, outsider, numCCCFixed, "", numCCCFixed},
		{"outbound uses the caller", Outbound, numCCCFixed, outsider, "", numCCCFixed},
		{"inbound ignores a registered caller", Inbound, numCCCFixed, outsider, ReasonUnknownNumber, ""},
		{"outbound ignores a registered callee", Outbound, outsider, numCCCFixed, ReasonUnknownNumber, ""},
		{"inbound between two registered numbers bills the callee", Inbound, numTPFixed, numCCCFixed, "", numCCCFixed},
		{"outbound between two registered numbers bills the caller", Outbound, numTPFixed, numCCCFixed, "", numTPFixed},
		{"inbound to a 400 number", Inbound, outsider, numCCC400, "", numCCC400},
		{"outbound on a 400 number", Outbound, numCCC400, outsider, ReasonOutbound400, ""},
		{"outbound on a third-party 400 number", Outbound, numTP400, outsider, ReasonOutbound400, ""},
		{"outbound from an outsider to a 400 number", Outbound, outsider, numCCC400, ReasonUnknownNumber, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRater(t, 0)
			c := CDR{ContactID: "x", InstanceID: instPayg, Direction: tc.dir, Caller: tc.caller, Callee: tc.callee,
				Start: start.Unix(), End: start.Unix() + 30}
			call, err := r.Rate(&c)
			if tc.reject != "" {
				wantReject(t, err, tc.reject)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if call.Number != tc.wantNumber {
				t.Errorf("service number %s, want %s", call.Number, tc.wantNumber)
			}
		})
	}
}

func TestRateUnknownInstanceAndNumber(t *testing.T) {
	start := at(t, "2026-10-08T10:00:00+08:00")
	for _, tc := range []struct {
		name   string
		cdr    CDR
		reason string
	}{
		{"unknown instance", mkCDR("ccc-nope", Outbound, numCCCFixed, start, 60), ReasonUnknownInstance},
		{"empty instance", mkCDR("", Outbound, numCCCFixed, start, 60), ReasonUnknownInstance},
		{"unknown number", mkCDR(instPayg, Outbound, "057100000000", start, 60), ReasonUnknownNumber},
		{"empty number", mkCDR(instPayg, Inbound, "", start, 60), ReasonUnknownNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRater(t, 0)
			if _, _, err := r.Lookup(&tc.cdr); err == nil {
				t.Fatal("Lookup accepted")
			} else {
				wantReject(t, err, tc.reason)
			}
			before := r.Snapshot()
			_, err := r.Rate(&tc.cdr)
			wantReject(t, err, tc.reason)
			if !reflect.DeepEqual(before, r.Snapshot()) {
				t.Errorf("a rejected call changed the rater's state")
			}
		})
	}
}

func TestRateNumberOnlyOnItsInstance(t *testing.T) {
	// A number registered on instance B only is unknown on instance A.
	r := newTestRater(t, 0)
	r.Instances[instB].Numbers["059100000001"] = &Number{Number: "059100000001", Instance: instB,
		Kind: NumberFixed, Source: SourceCCC}
	start := at(t, "2026-10-08T10:00:00+08:00")
	c := mkCDR(instPayg, Outbound, "059100000001", start, 60)
	_, err := r.Rate(&c)
	wantReject(t, err, ReasonUnknownNumber)
	c = mkCDR(instB, Outbound, "059100000001", start, 60)
	if call := rate(t, r, c); call.Account != acctB {
		t.Errorf("account %s, want %s", call.Account, acctB)
	}
}

func TestRateNumberInService(t *testing.T) {
	// numDated is in service from 2026-10-10T00:00+08:00 up to, not including, 2026-10-20T00:00+08:00.
	for _, tc := range []struct {
		name   string
		start  string
		reject bool
	}{
		{"one second before since", "2026-10-09T23:59:59+08:00", true},
		{"exactly at since", "2026-10-10T00:00:00+08:00", false},
		{"since expressed in UTC", "2026-10-09T16:00:00Z", false},
		{"inside", "2026-10-15T12:00:00+08:00", false},
		{"one second before until", "2026-10-19T23:59:59+08:00", false},
		{"exactly at until", "2026-10-20T00:00:00+08:00", true},
		{"after until", "2026-11-01T00:00:00+08:00", true},
		{"long before", "2026-01-01T00:00:00+08:00", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRater(t, 0)
			// A call that starts inside but ends after until is judged by its start.
			c := mkCDR(instPayg, Outbound, numDated, at(t, tc.start), 3600)
			_, _, lerr := r.Lookup(&c)
			_, err := r.Rate(&c)
			if tc.reject {
				wantReject(t, lerr, ReasonNotInService)
				wantReject(t, err, ReasonNotInService)
			} else if err != nil || lerr != nil {
				t.Errorf("rejected: %v / %v", lerr, err)
			}
		})
	}
}

func TestNumberInServiceDuring(t *testing.T) {
	loc := shanghai(t)
	oct := cyc(t, "2026-10")
	from, to := oct.Start(loc), oct.End(loc)
	for _, tc := range []struct {
		name         string
		since, until string
		want         bool
	}{
		{"open", "", "", true},
		{"since before", "2026-09-01T00:00:00+08:00", "", true},
		{"since mid-cycle", "2026-10-15T00:00:00+08:00", "", true},
		{"since at cycle end", "2026-11-01T00:00:00+08:00", "", false},
		{"since after", "2026-11-15T00:00:00+08:00", "", false},
		{"until at cycle start", "", "2026-10-01T00:00:00+08:00", false},
		{"until one second into the cycle", "", "2026-10-01T00:00:01+08:00", true},
		{"until mid-cycle", "", "2026-10-15T00:00:00+08:00", true},
		{"until before", "", "2026-09-15T00:00:00+08:00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n Number
			if tc.since != "" {
				n.Since = at(t, tc.since)
			}
			if tc.until != "" {
				n.Until = at(t, tc.until)
			}
			if got := n.InServiceDuring(from, to); got != tc.want {
				t.Errorf("InServiceDuring = %v, want %v", got, tc.want)
			}
		})
	}
}

// ---- graduated platform bands (docs/rules.md, "Platform fee bands") ----------

func builtinPlatform(t testing.TB) *Price {
	return mustPrice(t)(NewPriceBook(nil).At(ItemCallCenterSoftware, ModePayg, at(t, "2026-10-01T00:00:00+08:00")))
}

func TestAllocateBands(t *testing.T) {
	p := builtinPlatform(t)
	for _, tc := range []struct {
		name    string
		used, n int64
		want    []BandUse
	}{
		{"nothing", 0, 0, nil},
		{"first minute", 0, 1, []BandUse{{1, 1, 49_900}}},
		{"199,999 used, 3 minutes cross into band 2", 199_999, 3, []BandUse{{1, 1, 49_900}, {2, 2, 44_900}}},
		{"minute 200,000 is in band 1", 199_999, 1, []BandUse{{1, 1, 49_900}}},
		{"minute 200,001 is in band 2", 200_000, 1, []BandUse{{2, 1, 44_900}}},
		{"exactly fills band 1", 0, 200_000, []BandUse{{1, 200_000, 49_900}}},
		{"spans three bands", 199_990, 300_020, []BandUse{{1, 10, 49_900}, {2, 300_000, 44_900}, {3, 10, 40_500}}},
		{"every band", 0, 12_000_000, []BandUse{{1, 200_000, 49_900}, {2, 300_000, 44_900}, {3, 500_000, 40_500},
			{4, 1_000_000, 36_500}, {5, 2_000_000, 32_700}, {6, 6_000_000, 29_500}, {7, 2_000_000, 26_700}}},
		{"minute 10,000,000 in band 6", 9_999_999, 1, []BandUse{{6, 1, 29_500}}},
		{"beyond the last limit", 10_000_000, 5, []BandUse{{7, 5, 26_700}}},
		{"far beyond", 50_000_000, 7, []BandUse{{7, 7, 26_700}}},
		{"used in band 4, into 5", 1_999_998, 4, []BandUse{{4, 2, 36_500}, {5, 2, 32_700}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AllocateBands(p, tc.used, tc.n)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AllocateBands(used=%d, n=%d) = %+v, want %+v", tc.used, tc.n, got, tc.want)
			}
		})
	}
}

func TestPriceBand(t *testing.T) {
	p := builtinPlatform(t)
	for _, tc := range []struct {
		n    int64
		want int
	}{{1, 0}, {200_000, 0}, {200_001, 1}, {500_000, 1}, {500_001, 2}, {10_000_000, 5}, {10_000_001, 6}} {
		if got := p.Band(tc.n); got != tc.want {
			t.Errorf("Band(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestRatePlatformBandsFromPresetUsage(t *testing.T) {
	r := newTestRater(t, 0)
	oct := cyc(t, "2026-10")
	key := AccountCycle{acctA, oct}
	r.platformUsed[key] = 199_999
	call := rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, at(t, "2026-10-08T10:00:00+08:00"), 170))
	want := []BandUse{{Band: 1, Minutes: 1, Micro: 49_900}, {Band: 2, Minutes: 2, Micro: 44_900}}
	if !reflect.DeepEqual(call.Bands, want) {
		t.Errorf("Bands = %+v, want %+v", call.Bands, want)
	}
	if call.ChargeMicro != 49_900+2*44_900 {
		t.Errorf("ChargeMicro = %d, want %d", call.ChargeMicro, 49_900+2*44_900)
	}
	if r.platformUsed[key] != 200_002 {
		t.Errorf("PlatformUsed = %d, want 200002", r.platformUsed[key])
	}
	if !r.dirtyCycles[key] {
		t.Errorf("cycle not marked dirty")
	}
	// The next minute is in band 2.
	call = rate(t, r, mkCDR(instPayg, Inbound, numOwnFixed, at(t, "2026-10-08T11:00:00+08:00"), 1))
	if want := []BandUse{{2, 1, 44_900}}; !reflect.DeepEqual(call.Bands, want) {
		t.Errorf("next call Bands = %+v, want %+v", call.Bands, want)
	}
}

func TestRatePlatformBandsSpanThree(t *testing.T) {
	r := newTestRater(t, 0)
	r.platformUsed[AccountCycle{acctA, cyc(t, "2026-10")}] = 199_990
	call := rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, at(t, "2026-10-08T10:00:00+08:00"), 300_020*60))
	want := []BandUse{{1, 10, 49_900}, {2, 300_000, 44_900}, {3, 10, 40_500}}
	if !reflect.DeepEqual(call.Bands, want) {
		t.Errorf("Bands = %+v, want %+v", call.Bands, want)
	}
	if wantCharge := int64(10*49_900 + 300_000*44_900 + 10*40_500); call.ChargeMicro != wantCharge {
		t.Errorf("ChargeMicro = %d, want %d", call.ChargeMicro, wantCharge)
	}
}

func TestRatePlatformBandsPerAccountAndCycle(t *testing.T) {
	oct, nov := cyc(t, "2026-10"), cyc(t, "2026-11")
	octCall := at(t, "2026-10-08T10:00:00+08:00")
	novCall := at(t, "2026-11-08T10:00:00+08:00")
	t.Run("accounts do not share bands", func(t *testing.T) {
		r := newTestRater(t, 0)
		r.platformUsed[AccountCycle{acctA, oct}] = 200_000
		got := rate(t, r, mkCDR(instB, Outbound, numTPFixed, octCall, 60))
		if want := []BandUse{{1, 1, 49_900}}; !reflect.DeepEqual(got.Bands, want) {
			t.Errorf("account B Bands = %+v, want %+v", got.Bands, want)
		}
		got = rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, octCall, 60))
		if want := []BandUse{{2, 1, 44_900}}; !reflect.DeepEqual(got.Bands, want) {
			t.Errorf("account A Bands = %+v, want %+v", got.Bands, want)
		}
	})
	t.Run("cycles do not share bands", func(t *testing.T) {
		r := newTestRater(t, 0)
		r.platformUsed[AccountCycle{acctA, oct}] = 200_000
		got := rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, novCall, 60))
		if want := []BandUse{{1, 1, 49_900}}; !reflect.DeepEqual(got.Bands, want) {
			t.Errorf("November Bands = %+v, want %+v", got.Bands, want)
		}
		if r.platformUsed[AccountCycle{acctA, nov}] != 1 || r.platformUsed[AccountCycle{acctA, oct}] != 200_000 {
			t.Errorf("PlatformUsed = %v", r.platformUsed)
		}
	})
	t.Run("instances of one account share bands", func(t *testing.T) {
		r := newTestRater(t, 0)
		// A second payg instance of account A.
		r.Instances["ccc-payg2"] = &InstanceInfo{ID: "ccc-payg2", Account: acctA, Mode: ModePayg,
			Numbers: numbersFor(t, "ccc-payg2")}
		rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, octCall, 199_999*60))
		got := rate(t, r, mkCDR("ccc-payg2", Outbound, numOwnFixed, octCall, 180))
		if want := []BandUse{{1, 1, 49_900}, {2, 2, 44_900}}; !reflect.DeepEqual(got.Bands, want) {
			t.Errorf("second instance Bands = %+v, want %+v", got.Bands, want)
		}
	})
	t.Run("a late call uses the bands of the cycle it is billed in", func(t *testing.T) {
		r := newTestRater(t, oct)
		r.platformUsed[AccountCycle{acctA, oct}] = 0
		r.platformUsed[AccountCycle{acctA, nov}] = 200_000
		got := rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, octCall, 60))
		if !got.Late || got.Cycle != nov {
			t.Fatalf("late=%v cycle=%s", got.Late, got.Cycle)
		}
		if want := []BandUse{{2, 1, 44_900}}; !reflect.DeepEqual(got.Bands, want) {
			t.Errorf("late call Bands = %+v, want %+v", got.Bands, want)
		}
		if r.platformUsed[AccountCycle{acctA, oct}] != 0 || r.platformUsed[AccountCycle{acctA, nov}] != 200_001 {
			t.Errorf("PlatformUsed = %v", r.platformUsed)
		}
	})
	t.Run("CCC numbers and subscription instances use no bands", func(t *testing.T) {
		r := newTestRater(t, 0)
		rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, octCall, 600))
		rate(t, r, mkCDR(instSub, Outbound, numTPFixed, octCall, 600))
		rate(t, r, mkCDR(instSub, Outbound, numOwnFixed, octCall, 600))
		if used := r.platformUsed[AccountCycle{acctA, oct}]; used != 0 {
			t.Errorf("PlatformUsed = %d, want 0", used)
		}
	})
}

func TestRatePriceOverrideMidCycle(t *testing.T) {
	from := at(t, "2026-10-15T00:00:00+08:00")
	overrides := []Price{
		{Item: ItemFixedLineOutbound, Mode: ModePayg, From: from, Tiers: []Tier{{Price: dec("0.16")}}},
		{Item: ItemCallCenterSoftware, Mode: ModePayg, From: from,
			Tiers: []Tier{{UpTo: 100, Price: dec("0.04")}, {Price: dec("0.03")}}},
		{Item: ItemInbound400, Mode: "", From: from, Tiers: []Tier{{Price: dec("0.25")}}},
	}
	for _, tc := range []struct {
		name       string
		start      string
		inst, num  string
		dir        Direction
		micro      int64
		priceFrom  int64
		bands      []BandUse
		wantCharge int64
	}{
		{"fixed outbound before", "2026-10-14T23:59:59+08:00", instPayg, numCCCFixed, Outbound, 150_000, time.Time{}.Unix(), nil, 300_000},
		{"fixed outbound at from", "2026-10-15T00:00:00+08:00", instPayg, numCCCFixed, Outbound, 160_000, from.Unix(), nil, 320_000},
		{"fixed outbound after", "2026-10-31T10:00:00+08:00", instPayg, numCCCFixed, Outbound, 160_000, from.Unix(), nil, 320_000},
		{"subscription fixed outbound unaffected", "2026-10-20T10:00:00+08:00", instSub, numCCCFixed, Outbound, 110_000, time.Time{}.Unix(), nil, 220_000},
		{"400 override for both modes, payg", "2026-10-20T10:00:00+08:00", instPayg, numCCC400, Inbound, 250_000, from.Unix(), nil, 500_000},
		{"400 override for both modes, subscription", "2026-10-20T10:00:00+08:00", instSub, numCCC400, Inbound, 250_000, from.Unix(), nil, 500_000},
		{"400 before", "2026-10-14T10:00:00+08:00", instSub, numCCC400, Inbound, 180_000, time.Time{}.Unix(), nil, 360_000},
		{"platform before", "2026-10-14T23:59:59+08:00", instPayg, numTPFixed, Outbound, 0, 0, []BandUse{{1, 2, 49_900}}, 99_800},
		{"platform at from", "2026-10-15T00:00:00+08:00", instPayg, numTPFixed, Outbound, 0, 0, []BandUse{{1, 2, 40_000}}, 80_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRater(t, 0, overrides...)
			call := rate(t, r, mkCDR(tc.inst, tc.dir, tc.num, at(t, tc.start), 120))
			if call.ItemMicro != tc.micro {
				t.Errorf("ItemMicro = %d, want %d", call.ItemMicro, tc.micro)
			}
			if tc.micro != 0 && call.ItemPriceFrom != tc.priceFrom {
				t.Errorf("ItemPriceFrom = %d, want %d", call.ItemPriceFrom, tc.priceFrom)
			}
			if !reflect.DeepEqual(call.Bands, tc.bands) {
				t.Errorf("Bands = %+v, want %+v", call.Bands, tc.bands)
			}
			if call.ChargeMicro != tc.wantCharge {
				t.Errorf("ChargeMicro = %d, want %d", call.ChargeMicro, tc.wantCharge)
			}
		})
	}
	t.Run("bands consumed before the change count after it", func(t *testing.T) {
		r := newTestRater(t, 0, overrides...)
		rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, at(t, "2026-10-10T10:00:00+08:00"), 99*60))
		call := rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, at(t, "2026-10-16T10:00:00+08:00"), 3*60))
		want := []BandUse{{1, 1, 40_000}, {2, 2, 30_000}}
		if !reflect.DeepEqual(call.Bands, want) {
			t.Errorf("Bands = %+v, want %+v", call.Bands, want)
		}
		if call.PlatformPriceFrom != from.Unix() {
			t.Errorf("PlatformPriceFrom = %d, want %d", call.PlatformPriceFrom, from.Unix())
		}
	})
}

func TestPriceBookAt(t *testing.T) {
	from := at(t, "2026-10-15T00:00:00+08:00")
	later := at(t, "2026-12-01T00:00:00+08:00")
	b := NewPriceBook([]Price{
		// Given out of order: the book sorts them by From.
		{Item: ItemNumberRent, From: later, Tiers: []Tier{{Price: dec("40")}}},
		{Item: ItemNumberRent, From: from, Tiers: []Tier{{Price: dec("38")}}},
	})
	for _, tc := range []struct {
		name string
		mode Mode
		t    string
		want string
	}{
		{"builtin before", ModePayg, "2026-10-14T23:59:59+08:00", "35"},
		{"first override", ModePayg, "2026-10-15T00:00:00+08:00", "38"},
		{"first override, subscription too", ModeSubscription, "2026-11-30T00:00:00+08:00", "38"},
		{"second override", ModeSubscription, "2026-12-01T00:00:00+08:00", "40"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decEq(t, "price", mustPrice(t)(b.At(ItemNumberRent, tc.mode, at(t, tc.t))).Flat(), dec(tc.want))
		})
	}
	for _, tc := range []struct {
		item Item
		mode Mode
		want string
	}{
		{ItemFixedLineInbound, ModePayg, "0.03"}, {ItemFixedLineOutbound, ModePayg, "0.15"},
		{ItemInbound400, ModePayg, "0.20"}, {ItemFixedLineInbound, ModeSubscription, "0"},
		{ItemFixedLineOutbound, ModeSubscription, "0.11"}, {ItemInbound400, ModeSubscription, "0.18"},
		{ItemRecordStorage, ModePayg, "0.148"}, {ItemRecordStorage, ModeSubscription, "0.148"},
		{ItemNumberRent, ModeSubscription, "35"}, {ItemSipLine, ModePayg, "30000"},
	} {
		t.Run("builtin "+string(tc.item)+"/"+string(tc.mode), func(t *testing.T) {
			decEq(t, "price", mustPrice(t)(NewPriceBook(nil).At(tc.item, tc.mode, from)).Flat(), dec(tc.want))
		})
	}
}

// ---- late calls, cycles by start in the billing time zone (docs/rules.md, "Late calls") ----

func TestRateLateCalls(t *testing.T) {
	for _, tc := range []struct {
		name       string
		closed     string
		start      string
		startCycle string
		cycle      string
		late       bool
		day        int
	}{
		{"September call after October closed", "2026-10", "2026-09-15T10:00:00+08:00", "2026-09", "2026-11", true, 1},
		{"October call after October closed", "2026-10", "2026-10-31T23:59:59+08:00", "2026-10", "2026-11", true, 1},
		{"November call is not late", "2026-10", "2026-11-01T00:00:00+08:00", "2026-11", "2026-11", false, 1},
		{"December call is not late", "2026-10", "2026-12-05T10:00:00+08:00", "2026-12", "2026-12", false, 5},
		{"nothing closed", "", "2026-09-15T10:00:00+08:00", "2026-09", "2026-09", false, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var closed Cycle
			if tc.closed != "" {
				closed = cyc(t, tc.closed)
			}
			r := newTestRater(t, closed)
			for _, c := range []CDR{
				mkCDR(instPayg, Outbound, numCCCFixed, at(t, tc.start), 60),
				mkCDR(instPayg, Outbound, numTPFixed, at(t, tc.start), 60),
			} {
				call := rate(t, r, c)
				if call.Late != tc.late || call.Cycle != cyc(t, tc.cycle) || call.StartCycle != cyc(t, tc.startCycle) {
					t.Errorf("late=%v cycle=%s startCycle=%s, want late=%v cycle=%s startCycle=%s",
						call.Late, call.Cycle, call.StartCycle, tc.late, tc.cycle, tc.startCycle)
				}
				if call.Day != tc.day {
					t.Errorf("Day = %d, want %d", call.Day, tc.day)
				}
				if call.Start != at(t, tc.start).Unix() {
					t.Errorf("a late call lost its real start time")
				}
			}
		})
	}
}

func TestRateCycleByStartInShanghai(t *testing.T) {
	for _, tc := range []struct {
		name, start, cycle string
		day                int
	}{
		{"23:59 local on 31 Oct is October", "2026-10-31T23:59:00+08:00", "2026-10", 31},
		{"the same instant in UTC is October", "2026-10-31T15:59:00Z", "2026-10", 31},
		{"16:30 UTC on 31 Oct is November", "2026-10-31T16:30:00Z", "2026-11", 1},
		{"16:00 UTC on 31 Oct is November", "2026-10-31T16:00:00Z", "2026-11", 1},
		{"00:00 local on 1 Oct is October", "2026-09-30T16:00:00Z", "2026-10", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRater(t, 0)
			// A call that starts in October and ends in November belongs to October.
			call := rate(t, r, mkCDR(instPayg, Inbound, numCCCFixed, at(t, tc.start), 7200))
			if call.Cycle != cyc(t, tc.cycle) || call.Day != tc.day {
				t.Errorf("cycle %s day %d, want %s day %d", call.Cycle, call.Day, tc.cycle, tc.day)
			}
			if got := CycleOf(at(t, tc.start), shanghai(t)); got != cyc(t, tc.cycle) {
				t.Errorf("CycleOf = %s, want %s", got, tc.cycle)
			}
		})
	}
}

// ---- voice packages (docs/rules.md, "Voice packages") ------------------------

// pkg returns a package of the account valid from from for three months.
func pkg(t testing.TB, id string, typ PackageType, remaining int64, from string) *VoicePackage {
	f := at(t, from)
	return &VoicePackage{ID: id, Account: acctA, Type: typ, Minutes: remaining, Remaining: remaining,
		From: f, Until: AddMonthsClamped(f, PackageValidityMonths, shanghai(t))}
}

func TestVoicePackageCoversOnlyItsItem(t *testing.T) {
	start := at(t, "2026-10-08T10:00:00+08:00")
	type call struct {
		inst string
		dir  Direction
		num  string
	}
	fixedIn := call{instPayg, Inbound, numCCCFixed}
	fixedOut := call{instPayg, Outbound, numCCCFixed}
	in400 := call{instPayg, Inbound, numCCC400}
	for _, tc := range []struct {
		name    string
		typ     PackageType
		call    call
		covered int64
	}{
		{"fixed_outbound covers fixed outbound", PackageFixedOutbound, fixedOut, 5},
		{"fixed_outbound never covers fixed inbound", PackageFixedOutbound, fixedIn, 0},
		{"fixed_outbound never covers 400", PackageFixedOutbound, in400, 0},
		{"fixed_inbound covers fixed inbound", PackageFixedInbound, fixedIn, 5},
		{"fixed_inbound never covers fixed outbound", PackageFixedInbound, fixedOut, 0},
		{"fixed_inbound never covers 400", PackageFixedInbound, in400, 0},
		{"inbound_400 covers 400", PackageInbound400, in400, 5},
		{"inbound_400 never covers fixed inbound", PackageInbound400, fixedIn, 0},
		{"inbound_400 never covers fixed outbound", PackageInbound400, fixedOut, 0},
		{"fixed_outbound on a subscription instance", PackageFixedOutbound, call{instSub, Outbound, numCCCFixed}, 5},
		{"inbound_400 on a subscription instance", PackageInbound400, call{instSub, Inbound, numCCC400}, 5},
		{"never on a third-party number (outbound)", PackageFixedOutbound, call{instPayg, Outbound, numTPFixed}, 0},
		{"never on a third-party number (inbound)", PackageFixedInbound, call{instPayg, Inbound, numTPFixed}, 0},
		{"never on a third-party 400 number", PackageInbound400, call{instPayg, Inbound, numTP400}, 0},
		{"never on an own number", PackageFixedOutbound, call{instPayg, Outbound, numOwnFixed}, 0},
		{"never on an own 400 number", PackageInbound400, call{instPayg, Inbound, numOwn400}, 0},
		{"never the free subscription fixed inbound", PackageFixedInbound, call{instSub, Inbound, numCCCFixed}, 0},
		{"never another account's calls", PackageFixedOutbound, call{instB, Outbound, numCCCFixed}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRater(t, 0)
			p := pkg(t, "P-1", tc.typ, 100, "2026-10-01T09:00:00+08:00")
			r.SetPackages(acctA, []*VoicePackage{p})
			before := rate(t, newTestRater(t, 0), mkCDR(tc.call.inst, tc.call.dir, tc.call.num, start, 300))
			got := rate(t, r, mkCDR(tc.call.inst, tc.call.dir, tc.call.num, start, 300))
			if got.CoveredMinutes != tc.covered {
				t.Errorf("CoveredMinutes = %d, want %d", got.CoveredMinutes, tc.covered)
			}
			if p.Remaining != 100-tc.covered {
				t.Errorf("Remaining = %d, want %d", p.Remaining, 100-tc.covered)
			}
			if tc.covered == 0 {
				if len(got.Packages) != 0 || len(r.dirtyPackages) != 0 {
					t.Errorf("package uses %v, dirty %v, want none", got.Packages, r.dirtyPackages)
				}
				// Platform minutes and charges are exactly those without a package.
				if got.PlatformMinutes != before.PlatformMinutes || got.ChargeMicro != before.ChargeMicro ||
					!reflect.DeepEqual(got.Bands, before.Bands) {
					t.Errorf("package changed an uncovered call: %+v vs %+v", got, before)
				}
				return
			}
			if want := []PackageUse{{"P-1", tc.covered}}; !reflect.DeepEqual(got.Packages, want) {
				t.Errorf("Packages = %+v, want %+v", got.Packages, want)
			}
			if got.ChargeMicro != 0 {
				t.Errorf("ChargeMicro = %d, want 0 (fully covered)", got.ChargeMicro)
			}
			if got.TelecomMinutes != 5 {
				t.Errorf("TelecomMinutes = %d, want 5 (before deduction)", got.TelecomMinutes)
			}
			if r.dirtyPackages["P-1"] != p {
				t.Errorf("package not marked dirty")
			}
		})
	}
}

func TestVoicePackageSplitCall(t *testing.T) {
	start := at(t, "2026-10-08T10:00:00+08:00")
	t.Run("2 minutes left, call of 5", func(t *testing.T) {
		r := newTestRater(t, 0)
		p := pkg(t, "P-1", PackageFixedOutbound, 2, "2026-10-01T09:00:00+08:00")
		r.SetPackages(acctA, []*VoicePackage{p})
		call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, start, 290))
		if call.TelecomMinutes != 5 || call.CoveredMinutes != 2 {
			t.Errorf("telecom %d covered %d, want 5 and 2", call.TelecomMinutes, call.CoveredMinutes)
		}
		if call.ChargeMicro != 3*150_000 {
			t.Errorf("ChargeMicro = %d, want %d (3 charged minutes)", call.ChargeMicro, 3*150_000)
		}
		if want := []PackageUse{{"P-1", 2}}; !reflect.DeepEqual(call.Packages, want) {
			t.Errorf("Packages = %+v, want %+v", call.Packages, want)
		}
		if p.Remaining != 0 {
			t.Errorf("Remaining = %d, want 0", p.Remaining)
		}
		// Once empty, the package covers nothing more.
		next := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, start.Add(time.Hour), 60))
		if next.CoveredMinutes != 0 || next.ChargeMicro != 150_000 || p.Remaining != 0 {
			t.Errorf("after exhaustion: covered %d charge %d remaining %d", next.CoveredMinutes, next.ChargeMicro, p.Remaining)
		}
	})
	t.Run("two packages", func(t *testing.T) {
		r := newTestRater(t, 0)
		a := pkg(t, "P-A", PackageFixedOutbound, 2, "2026-10-01T09:00:00+08:00")
		b := pkg(t, "P-B", PackageFixedOutbound, 10, "2026-10-02T09:00:00+08:00")
		r.SetPackages(acctA, []*VoicePackage{b, a})
		call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, start, 290))
		if want := []PackageUse{{"P-A", 2}, {"P-B", 3}}; !reflect.DeepEqual(call.Packages, want) {
			t.Errorf("Packages = %+v, want %+v", call.Packages, want)
		}
		if call.CoveredMinutes != 5 || call.ChargeMicro != 0 {
			t.Errorf("covered %d charge %d, want 5 and 0", call.CoveredMinutes, call.ChargeMicro)
		}
		if a.Remaining != 0 || b.Remaining != 7 {
			t.Errorf("remaining %d/%d, want 0/7", a.Remaining, b.Remaining)
		}
	})
	t.Run("two packages and a charged rest", func(t *testing.T) {
		r := newTestRater(t, 0)
		a := pkg(t, "P-A", PackageInbound400, 1, "2026-10-01T09:00:00+08:00")
		b := pkg(t, "P-B", PackageInbound400, 2, "2026-10-02T09:00:00+08:00")
		r.SetPackages(acctA, []*VoicePackage{a, b})
		call := rate(t, r, mkCDR(instSub, Inbound, numCCC400, start, 600))
		if want := []PackageUse{{"P-A", 1}, {"P-B", 2}}; !reflect.DeepEqual(call.Packages, want) {
			t.Errorf("Packages = %+v, want %+v", call.Packages, want)
		}
		if call.CoveredMinutes != 3 || call.ChargeMicro != 7*180_000 {
			t.Errorf("covered %d charge %d, want 3 and %d", call.CoveredMinutes, call.ChargeMicro, 7*180_000)
		}
	})
	t.Run("a 0-minute call uses nothing", func(t *testing.T) {
		r := newTestRater(t, 0)
		a := pkg(t, "P-A", PackageFixedOutbound, 2, "2026-10-01T09:00:00+08:00")
		r.SetPackages(acctA, []*VoicePackage{a})
		call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, start, 0))
		if call.CoveredMinutes != 0 || len(call.Packages) != 0 || a.Remaining != 2 {
			t.Errorf("covered %d packages %v remaining %d", call.CoveredMinutes, call.Packages, a.Remaining)
		}
	})
}

func TestVoicePackageOrder(t *testing.T) {
	t1 := "2026-08-01T09:00:00+08:00"
	t2 := "2026-08-15T09:00:00+08:00"
	mk := func(id, from, until string) *VoicePackage {
		return &VoicePackage{ID: id, Account: acctA, Type: PackageFixedOutbound, Minutes: 1, Remaining: 1,
			From: at(t, from), Until: at(t, until)}
	}
	// Expected deduction order: earliest expiry first, then earliest purchase, then id.
	want := []*VoicePackage{
		mk("P-Z", t2, "2026-11-01T00:00:00+08:00"), // earliest expiry, though bought last
		mk("P-Y", t1, "2026-11-15T09:00:00+08:00"), // same expiry, earlier purchase
		mk("P-X", t2, "2026-11-15T09:00:00+08:00"),
		mk("P-A", t2, "2026-12-01T00:00:00+08:00"), // same expiry and purchase: by id
		mk("P-B", t2, "2026-12-01T00:00:00+08:00"),
		mk("P-C", t1, "2027-01-01T00:00:00+08:00"),
	}
	wantIDs := func() []string {
		var ids []string
		for _, p := range want {
			ids = append(ids, p.ID)
		}
		return ids
	}()
	for _, perm := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {3, 0, 5, 1, 4, 2}, {4, 2, 0, 5, 3, 1}} {
		t.Run("", func(t *testing.T) {
			ps := make([]*VoicePackage, len(want))
			for i, j := range perm {
				cp := *want[j]
				ps[i] = &cp
			}
			SortPackages(ps)
			var ids []string
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			if !reflect.DeepEqual(ids, wantIDs) {
				t.Errorf("SortPackages(%v) = %v, want %v", perm, ids, wantIDs)
			}
			// Rating consumes them in that order: a 6-minute call uses each once.
			r := newTestRater(t, 0)
			r.SetPackages(acctA, ps)
			call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, at(t, "2026-10-20T10:00:00+08:00"), 330))
			var used []string
			for _, u := range call.Packages {
				used = append(used, u.PackageID)
			}
			if !reflect.DeepEqual(used, wantIDs) {
				t.Errorf("used %v, want %v", used, wantIDs)
			}
		})
	}
	t.Run("one minute at a time", func(t *testing.T) {
		r := newTestRater(t, 0)
		ps := make([]*VoicePackage, len(want))
		for i := range want {
			cp := *want[len(want)-1-i]
			ps[i] = &cp
		}
		r.SetPackages(acctA, ps)
		for i, id := range wantIDs {
			call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, at(t, "2026-10-20T10:00:00+08:00").Add(time.Duration(i)*time.Minute), 60))
			if len(call.Packages) != 1 || call.Packages[0].PackageID != id {
				t.Errorf("call %d used %v, want %s", i, call.Packages, id)
			}
		}
	})
}

func TestVoicePackageValidity(t *testing.T) {
	loc := shanghai(t)
	from := at(t, "2026-11-30T10:00:00+08:00")
	until := AddMonthsClamped(from, PackageValidityMonths, loc)
	if want := at(t, "2027-02-28T10:00:00+08:00"); !until.Equal(want) {
		t.Fatalf("Until = %s, want %s", until, want)
	}
	for _, tc := range []struct {
		name    string
		start   time.Time
		covered bool
	}{
		{"one second before purchase", from.Add(-time.Second), false},
		{"at purchase", from, true},
		{"inside", at(t, "2027-01-15T10:00:00+08:00"), true},
		{"one second before until", until.Add(-time.Second), true},
		{"exactly at until", until, false},
		{"after until", until.Add(time.Hour), false},
		{"the unclamped date is already out", at(t, "2027-03-02T10:00:00+08:00"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRater(t, 0)
			p := &VoicePackage{ID: "P-1", Account: acctA, Type: PackageFixedOutbound, Minutes: 100, Remaining: 100,
				From: from, Until: until}
			if p.ValidAt(tc.start) != tc.covered {
				t.Errorf("ValidAt = %v, want %v", !tc.covered, tc.covered)
			}
			r.SetPackages(acctA, []*VoicePackage{p})
			call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, tc.start, 120))
			wantCovered := int64(0)
			if tc.covered {
				wantCovered = 2
			}
			if call.CoveredMinutes != wantCovered || p.Remaining != 100-wantCovered {
				t.Errorf("covered %d remaining %d, want %d and %d", call.CoveredMinutes, p.Remaining, wantCovered, 100-wantCovered)
			}
		})
	}
	t.Run("an expired package is skipped for a valid one", func(t *testing.T) {
		r := newTestRater(t, 0)
		old := pkg(t, "P-OLD", PackageFixedOutbound, 100, "2026-06-01T09:00:00+08:00") // until 2026-09-01
		fut := pkg(t, "P-FUT", PackageFixedOutbound, 100, "2026-10-20T09:00:00+08:00") // not yet valid
		cur := pkg(t, "P-CUR", PackageFixedOutbound, 100, "2026-09-01T09:00:00+08:00") // valid
		r.SetPackages(acctA, []*VoicePackage{fut, old, cur})
		call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, at(t, "2026-10-08T10:00:00+08:00"), 60))
		if want := []PackageUse{{"P-CUR", 1}}; !reflect.DeepEqual(call.Packages, want) {
			t.Errorf("Packages = %+v, want %+v", call.Packages, want)
		}
		if old.Remaining != 100 || fut.Remaining != 100 || cur.Remaining != 99 {
			t.Errorf("remaining old/fut/cur = %d/%d/%d", old.Remaining, fut.Remaining, cur.Remaining)
		}
	})
	t.Run("a late call uses packages valid at its start", func(t *testing.T) {
		r := newTestRater(t, cyc(t, "2026-10"))
		p := pkg(t, "P-1", PackageFixedOutbound, 100, "2026-10-01T09:00:00+08:00")
		r.SetPackages(acctA, []*VoicePackage{p})
		call := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, at(t, "2026-10-08T10:00:00+08:00"), 60))
		if !call.Late || call.CoveredMinutes != 1 {
			t.Errorf("late %v covered %d", call.Late, call.CoveredMinutes)
		}
		early := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, at(t, "2026-09-30T10:00:00+08:00"), 60))
		if early.CoveredMinutes != 0 {
			t.Errorf("a call before the purchase was covered")
		}
	})
}

func TestVoicePackagesAcrossInstancesOfAccount(t *testing.T) {
	r := newTestRater(t, 0)
	p := pkg(t, "P-1", PackageFixedOutbound, 3, "2026-10-01T09:00:00+08:00")
	r.SetPackages(acctA, []*VoicePackage{p})
	start := at(t, "2026-10-08T10:00:00+08:00")
	a := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, start, 120))
	b := rate(t, r, mkCDR(instSub, Outbound, numCCCFixed, start, 120))
	if a.CoveredMinutes != 2 || b.CoveredMinutes != 1 || b.ChargeMicro != 110_000 {
		t.Errorf("covered %d then %d (charge %d)", a.CoveredMinutes, b.CoveredMinutes, b.ChargeMicro)
	}
}

func TestRaterSnapshotRestore(t *testing.T) {
	r := newTestRater(t, 0)
	r.SetPackages(acctA, []*VoicePackage{pkg(t, "P-1", PackageFixedOutbound, 10, "2026-10-01T09:00:00+08:00")})
	r.platformUsed[AccountCycle{acctA, cyc(t, "2026-10")}] = 199_999
	start := at(t, "2026-10-08T10:00:00+08:00")
	call := rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, start, 180))
	if want := []BandUse{{1, 1, 49_900}, {2, 2, 44_900}}; !reflect.DeepEqual(call.Bands, want) {
		t.Errorf("Bands = %+v, want %+v (preset usage)", call.Bands, want)
	}
	st := r.Snapshot()
	call = rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, start, 180))
	if call.CoveredMinutes != 3 {
		t.Errorf("covered %d, want 3", call.CoveredMinutes)
	}
	rate(t, r, mkCDR(instPayg, Outbound, numTPFixed, start, 60))
	p := r.packages[acctA][0]
	if p.Remaining != 7 {
		t.Fatalf("remaining %d, want 7", p.Remaining)
	}
	r.Restore(st)
	if p.Remaining != 10 {
		t.Errorf("after Restore remaining %d, want 10", p.Remaining)
	}
	if used := r.platformUsed[AccountCycle{acctA, cyc(t, "2026-10")}]; used != 200_002 {
		t.Errorf("after Restore PlatformUsed %d, want 200002", used)
	}
	if len(r.dirtyPackages) != 0 {
		t.Errorf("after Restore dirty packages %v", r.dirtyPackages)
	}
}

func TestCDRStoredBytes(t *testing.T) {
	for _, tc := range []struct {
		name         string
		secs, bytes_ int64
		want         int64
	}{
		{"nothing", 0, 0, 0},
		{"seconds only", 60, 0, 960_000},
		{"bytes only", 0, 12345, 12345},
		{"bytes win over seconds", 60, 1000, 1000},
		{"one second", 1, 0, 16_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := CDR{RecordingSeconds: tc.secs, RecordingBytes: tc.bytes_}
			if got := c.StoredBytes(); got != tc.want {
				t.Errorf("StoredBytes = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCallAggregate(t *testing.T) {
	r := newTestRater(t, 0)
	r.SetPackages(acctA, []*VoicePackage{pkg(t, "P-1", PackageInbound400, 2, "2026-10-01T09:00:00+08:00")})
	start := at(t, "2026-10-08T10:00:00+08:00")
	agg := map[AggKey]*AggValue{}
	for _, c := range []CDR{
		mkCDR(instPayg, Inbound, numCCC400, start, 300),               // 5 min, 2 covered
		mkCDR(instPayg, Inbound, numCCC400, start.Add(time.Hour), 60), // 1 min
		mkCDR(instPayg, Outbound, numTPFixed, start, 120),             // platform 2
	} {
		call := rate(t, r, c)
		call.Aggregate(agg)
	}
	oct := cyc(t, "2026-10")
	k400 := AggKey{Account: acctA, Cycle: oct, Day: 8, PD: PDPostpaid, Instance: instPayg, Item: ItemInbound400,
		Number: numCCC400, Micro: 200_000, PriceFrom: time.Time{}.Unix()}
	if v := agg[k400]; v == nil || *v != (AggValue{Usage: 4, Covered: 2, Calls: 2}) {
		t.Errorf("400 aggregate = %+v, want usage 4 covered 2 calls 2", v)
	}
	kp := AggKey{Account: acctA, Cycle: oct, Day: 8, PD: PDPostpaid, Instance: instPayg, Item: ItemCallCenterSoftware,
		Micro: 49_900, PriceFrom: time.Time{}.Unix(), Band: 1}
	if v := agg[kp]; v == nil || *v != (AggValue{Usage: 2, Calls: 1}) {
		t.Errorf("platform aggregate = %+v, want usage 2 calls 1", v)
	}
	if len(agg) != 2 {
		t.Errorf("aggregates = %d keys, want 2", len(agg))
	}
}

// ---- usage detail rows (docs/rules.md, "Usage detail and export") ---------------

func TestUsageCSVHeader(t *testing.T) {
	want := "阿里云账户ID（UID）,通话开始时间,普通固话号码呼入时长（分钟）,普通固话号码呼出时长（分钟）,400号码呼入时长（分钟）," +
		"云呼叫中心服务实例ID,呼叫中心平台费（按量计费）,SIP线路维护费（按量计费）," +
		"consumption.portal.export.oms.CCC.CallStartTime,consumption.portal.export.oms.CCC.CallEndTime," +
		"consumption.portal.export.oms.CCC.Caller,consumption.portal.export.oms.CCC.Callee"
	if got := strings.Join(UsageCSVHeader, ","); got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
}

func TestUsageCSVRow(t *testing.T) {
	loc := shanghai(t)
	start := at(t, "2026-10-31T15:59:30Z") // 23:59:30 in Shanghai
	for _, tc := range []struct {
		name   string
		closed string
		inst   string
		dir    Direction
		num    string
		secs   int64
		pkg    PackageType
		want   []string // columns 2–7 (after UID and start): FLI, FLO, 400, instance, platform, SIP
	}{
		{"ccc fixed inbound", "", instPayg, Inbound, numCCCFixed, 61, "", []string{"2", "0", "0", instPayg, "0", "0"}},
		{"ccc fixed outbound, minutes before package deduction", "", instPayg, Outbound, numCCCFixed, 300,
			PackageFixedOutbound, []string{"0", "5", "0", instPayg, "0", "0"}},
		{"ccc 400 inbound", "", instSub, Inbound, numCCC400, 60, "", []string{"0", "0", "1", instSub, "0", "0"}},
		{"third party on payg: platform minutes", "", instPayg, Outbound, numTPFixed, 125, "", []string{"0", "0", "0", instPayg, "3", "0"}},
		{"own number on payg: platform and SIP", "", instPayg, Inbound, numOwnFixed, 125, "", []string{"0", "0", "0", instPayg, "3", "3"}},
		{"own number on subscription: SIP only", "", instSub, Inbound, numOwnFixed, 125, "", []string{"0", "0", "0", instSub, "0", "3"}},
		{"a late call keeps its real start", "2026-10", instPayg, Outbound, numCCCFixed, 60, "", []string{"0", "1", "0", instPayg, "0", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var closed Cycle
			if tc.closed != "" {
				closed = cyc(t, tc.closed)
			}
			r := newTestRater(t, closed)
			if tc.pkg != "" {
				r.SetPackages(acctA, []*VoicePackage{pkg(t, "P-1", tc.pkg, 100, "2026-10-01T00:00:00+08:00")})
			}
			c := mkCDR(tc.inst, tc.dir, tc.num, start, tc.secs)
			call := rate(t, r, c)
			row := UsageCSVRow(&call, loc, nil)
			if len(row) != len(UsageCSVHeader) {
				t.Fatalf("row has %d columns, header %d", len(row), len(UsageCSVHeader))
			}
			want := append(append([]string{acctA, "2026-10-31 23:59:30"}, tc.want...),
				fmt.Sprint(c.Start), fmt.Sprint(c.End), c.Caller, c.Callee)
			if !reflect.DeepEqual(row, want) {
				t.Errorf("row\n got %q\nwant %q", row, want)
			}
		})
	}
}

func mustPrice(t testing.TB) func(*Price, error) *Price {
	return func(p *Price, err error) *Price {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestPriceBookBeforeItsStart: a time before the book starts is an error,
// never a nil price that would crash a close.
func TestPriceBookBeforeItsStart(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	start := NewCycle(1, time.January).Start(loc) // 0000-12-31T16:00Z, before the built-in book's year 1
	if p, err := NewPriceBook(nil).At(ItemInbound400, ModePayg, start); ErrorCode(err) != EINVALID || p != nil {
		t.Fatalf("At(year 1 in UTC+8) = %v, %v; want EINVALID", p, err)
	}
	in := &PostpaidInput{Loc: loc, Cycle: NewCycle(1, time.January), Book: NewPriceBook(nil),
		Account: &Account{UID: "1", Instances: []Instance{{ID: "ccc-1", Mode: ModePayg,
			Numbers: []Number{{Number: "4001", Kind: Number400, Source: SourceCCC, Tier: "普通"}}}}}}
	if _, err := PostpaidLines(in); ErrorCode(err) != EINVALID {
		t.Fatalf("PostpaidLines of 0001-01 = %v; want EINVALID", err)
	}
}

// testWindow accepts the calls of the tests: cycles from 2020-01, starts up
// to a day after 2030-01-01, and calls of any length (the band tests reach
// 200,000 minutes with a few calls; TestPlausibilityWindow checks the limit).
func testWindow(t testing.TB) Window {
	w := NewWindow(NewCycle(2020, time.January), 0, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), shanghai(t))
	w.MaxCallSeconds = 1 << 40
	return w
}

// LoadAccounts replaces the named accounts' state and keeps the others'.
func TestRaterLoadAccountsKeepsOthers(t *testing.T) {
	r := NewRater(Window{Loc: time.UTC}, nil, 0, nil)
	oct := NewCycle(2026, time.October)
	r.Load(RaterState{
		PlatformUsed: map[AccountCycle]int64{{"a", oct}: 10, {"b", oct}: 20},
		Packages:     []*VoicePackage{{ID: "pa", Account: "a", Remaining: 5}, {ID: "pb", Account: "b", Remaining: 7}},
	})
	r.LoadAccounts([]string{"a"}, RaterState{
		PlatformUsed: map[AccountCycle]int64{{"a", oct}: 11},
		Packages:     []*VoicePackage{{ID: "pa2", Account: "a", Remaining: 3}},
	})
	a, b := r.State([]string{"a"}), r.State([]string{"b"})
	if a.PlatformUsed[AccountCycle{"a", oct}] != 11 || len(a.Packages) != 1 || a.Packages[0].ID != "pa2" {
		t.Errorf("a: %+v", a)
	}
	if b.PlatformUsed[AccountCycle{"b", oct}] != 20 || len(b.Packages) != 1 || b.Packages[0].Remaining != 7 {
		t.Errorf("b: %+v", b)
	}
}
