package callbill

import (
	"reflect"
	"strings"
	"testing"
)

// TestRerate: a stored call rated again on less state takes the lower band
// and the package minutes it now finds; one in a closed cycle keeps its
// bands; one whose bands do not move keeps the prices it was rated at; its
// aggregates' keys are restored from the book.
func TestRerate(t *testing.T) {
	tiers := Price{Item: ItemCallCenterSoftware, Mode: ModePayg, Tiers: []Tier{{UpTo: 10, Price: dec("0.05")}, {Price: dec("0.04")}}}
	r := newTestRater(t, cyc(t, "2026-09"), tiers)
	oct := cyc(t, "2026-10")
	start := at(t, "2026-10-08T10:00:00+08:00")
	// Rated at import with 9 minutes used: 1 in band 1, 2 in band 2.
	r.Load(RaterState{PlatformUsed: map[AccountCycle]int64{{acctA, oct}: 9}})
	stored := rate(t, r, mkCDR(instPayg, Inbound, numTPFixed, start, 180))
	if len(stored.Bands) != 2 {
		t.Fatalf("bands %+v", stored.Bands)
	}
	// Again with 5 used: all three in band 1.
	r.Load(RaterState{PlatformUsed: map[AccountCycle]int64{{acctA, oct}: 5}})
	again, err := r.Rerate(&stored)
	if err != nil {
		t.Fatal(err)
	}
	if want := []BandUse{{Band: 1, Minutes: 3, Micro: 50_000}}; !reflect.DeepEqual(again.Bands, want) || again.ChargeMicro != 150_000 || again.SameRating(&stored) {
		t.Errorf("rerated %+v charge %d", again.Bands, again.ChargeMicro)
	}
	// The same bands: the stored prices stay, whatever the book says now.
	r.Load(RaterState{PlatformUsed: map[AccountCycle]int64{{acctA, oct}: 9}})
	cheaper := stored
	cheaper.Bands = []BandUse{{Band: 1, Minutes: 1, Micro: 1}, {Band: 2, Minutes: 2, Micro: 2}}
	if again, _ := r.Rerate(&cheaper); !reflect.DeepEqual(again.Bands, cheaper.Bands) || again.ChargeMicro != 5 {
		t.Errorf("same bands: %+v %d", again.Bands, again.ChargeMicro)
	}
	// A closed cycle's call keeps its bands and moves no platform minutes.
	closed := stored
	closed.Cycle = cyc(t, "2026-09")
	r.Load(RaterState{PlatformUsed: map[AccountCycle]int64{}})
	if again, _ := r.Rerate(&closed); !again.SameRating(&closed) || len(r.Changes().PlatformUsed) != 0 {
		t.Errorf("closed: %+v", again)
	}

	// Package minutes: the call finds what is left now.
	pkg := &VoicePackage{ID: "P1", Account: acctA, Type: PackageFixedOutbound, Minutes: 10_000, Remaining: 1,
		From: at(t, "2026-10-01T00:00:00+08:00"), Until: at(t, "2027-01-01T00:00:00+08:00")}
	r.Load(RaterState{Packages: []*VoicePackage{pkg}})
	out := rate(t, r, mkCDR(instPayg, Outbound, numCCCFixed, start, 120))
	if out.CoveredMinutes != 1 {
		t.Fatalf("covered %d", out.CoveredMinutes)
	}
	pkg.Remaining = 5
	again, _ = r.Rerate(&out)
	if again.CoveredMinutes != 2 || again.ChargeMicro != 0 || pkg.Remaining != 3 || !reflect.DeepEqual(again.Packages, []PackageUse{{"P1", 2}}) {
		t.Errorf("package: %+v, %d left", again, pkg.Remaining)
	}

	// What a stored call does not keep comes back from the book.
	bare := out
	bare.Day, bare.StartCycle, bare.ItemPriceFrom = 0, 0, 123
	r.RestoreStored(&bare)
	if bare.Day != 8 || bare.StartCycle != oct || bare.ItemPriceFrom != out.ItemPriceFrom {
		t.Errorf("restored %+v, rated %+v", bare, out)
	}
	agg := map[AggKey]*AggValue{}
	out.Aggregate(agg)
	bare.Deaggregate(agg)
	for k, v := range agg {
		if *v != (AggValue{}) {
			t.Errorf("%+v: %+v left", k, v)
		}
	}
}

func TestImportIDsAndSources(t *testing.T) {
	if ImportID(42) != "imp-42" {
		t.Error(ImportID(42))
	}
	for s, want := range map[string]int64{"imp-42": 42, "42": 42, " imp-7 ": 7} {
		if got, err := ParseImportID(s); err != nil || got != want {
			t.Errorf("%q: %d %v", s, got, err)
		}
	}
	for _, s := range []string{"", "imp-", "imp-0", "imp--1", "x", "imp-1a", strings.Repeat("9", 50)} {
		if _, err := ParseImportID(s); ErrorCode(err) != EINVALID {
			t.Errorf("%q accepted: %v", s, err)
		}
	}
	names := make([]string, 25)
	for i := range names {
		names[i] = strings.Repeat("名", 100)
	}
	got := ImportSources(names)
	if len(got) != MaxImportSources || got[MaxImportSources-1] != "… 6 more" || len(got[0]) > MaxImportSourceName || !strings.HasSuffix(got[0], "…") {
		t.Errorf("sources %d, last %q, first %d bytes", len(got), got[len(got)-1], len(got[0]))
	}
	u := UndoReport{Accounts: []string{"a", "b", "c"}, Touched: 250}
	if got := u.AccountsText(2); got != "a, b … +248" {
		t.Errorf("accounts text %q", got)
	}
	q := ImportQuery{}
	if err := q.Validate(); err != nil || q.Limit != DefaultImportList {
		t.Errorf("default query %+v %v", q, err)
	}
	for _, q := range []ImportQuery{{Limit: -1}, {Limit: MaxImportList + 1}, {Before: -1}} {
		if err := q.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%+v accepted", q)
		}
	}
}
