package callbill

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// ---- fixtures -------------------------------------------------------------

// billAccount is account A as closing sees it: a payg and a subscription
// instance, each with CCC fixed and 400 numbers and third-party numbers.
func billAccount(t testing.TB, contract *Contract) *Account {
	mk := func(inst, fixed, prefix string) []Number {
		return []Number{
			{Number: fixed, Instance: inst, Kind: NumberFixed, Source: SourceCCC},
			{Number: prefix + "1", Instance: inst, Kind: Number400, Source: SourceCCC, Tier: "普通"},
			{Number: prefix + "2", Instance: inst, Kind: Number400, Source: SourceThirdParty, Tier: "普通"},
			{Number: prefix + "3", Instance: inst, Kind: Number400, Source: SourceOwn, Tier: "普通"},
		}
	}
	return &Account{UID: acctA, Contract: contract, Instances: []Instance{
		{ID: instPayg, Account: acctA, Mode: ModePayg, Numbers: mk(instPayg, "057188880001", "400800000")},
		{ID: instSub, Account: acctA, Mode: ModeSubscription, Numbers: mk(instSub, "057188880002", "400805000")},
	}}
}

// The CCC 400 numbers of billAccount (its third-party and own 400 numbers end
// in 2 and 3 and never owe a minimum).
const (
	payg400 = "4008000001"
	sub400  = "4008050001"
)

func postpaidInput(t testing.TB, acct *Account, cycle string) *PostpaidInput {
	return &PostpaidInput{Account: acct, Cycle: cyc(t, cycle), Loc: shanghai(t), Book: NewPriceBook(nil),
		Minutes400: map[string]int64{}, RecordingBytes: map[string]int64{}}
}

func lineWith(lines []Line, item Item, instance string) []Line {
	var out []Line
	for _, l := range lines {
		if l.Item == item && l.Instance == instance {
			out = append(out, l)
		}
	}
	return out
}

// ---- the 400 monthly minimum (docs/rules.md, "The 400 monthly minimum") ------

func TestMinimum400(t *testing.T) {
	type want struct {
		instance string
		number   string
		price    string // unit price = exact original
		pd       ProductDetail
	}
	for _, tc := range []struct {
		name    string
		prep    func(in *PostpaidInput)
		want    []want
		overrid []Price
	}{
		{"below the minimum", func(in *PostpaidInput) {
			in.Minutes400[payg400] = 100
		}, []want{{instPayg, payg400, "355", PDPostpaid}, {instSub, sub400, "375", PDSubscription}}, nil},
		{"exactly at the minimum: 1875 × 0.20 = 375", func(in *PostpaidInput) {
			in.Minutes400[payg400] = 1875
			in.Minutes400[sub400] = 2084 // 375.12
		}, nil, nil},
		{"one minute short", func(in *PostpaidInput) {
			in.Minutes400[payg400] = 1874
			in.Minutes400[sub400] = 2083 // 374.94
		}, []want{{instPayg, payg400, "0.2", PDPostpaid}, {instSub, sub400, "0.06", PDSubscription}}, nil},
		{"above the minimum", func(in *PostpaidInput) {
			in.Minutes400[payg400] = 5000
			in.Minutes400[sub400] = 5000
		}, nil, nil},
		{"subscription uses 0.18", func(in *PostpaidInput) {
			in.Minutes400[payg400] = 1875
			in.Minutes400[sub400] = 100
		}, []want{{instSub, sub400, "357", PDSubscription}}, nil},
		{"higher tier", func(in *PostpaidInput) {
			in.Account.Instances[0].Numbers[1].Tier = "VVIP"
			in.Minutes400[payg400] = 100
			in.Minutes400[sub400] = 5000
		}, []want{{instPayg, payg400, "19980", PDPostpaid}}, nil},
		{"number in service from after the cycle", func(in *PostpaidInput) {
			in.Account.Instances[0].Numbers[1].Since = at(t, "2026-11-01T00:00:00+08:00")
			in.Minutes400[sub400] = 5000
		}, nil, nil},
		{"number in service from mid-cycle owes the full minimum", func(in *PostpaidInput) {
			in.Account.Instances[0].Numbers[1].Since = at(t, "2026-10-20T00:00:00+08:00")
			in.Minutes400[sub400] = 5000
		}, []want{{instPayg, payg400, "375", PDPostpaid}}, nil},
		{"number out of service mid-cycle owes the full minimum", func(in *PostpaidInput) {
			in.Account.Instances[0].Numbers[1].Until = at(t, "2026-10-10T00:00:00+08:00")
			in.Minutes400[payg400] = 10
			in.Minutes400[sub400] = 5000
		}, []want{{instPayg, payg400, "373", PDPostpaid}}, nil},
		{"number out of service before the cycle", func(in *PostpaidInput) {
			in.Account.Instances[0].Numbers[1].Until = at(t, "2026-10-01T00:00:00+08:00")
			in.Minutes400[sub400] = 5000
		}, nil, nil},
		{"price in force at the cycle's start", func(in *PostpaidInput) {
			in.Minutes400[payg400] = 100
			in.Minutes400[sub400] = 5000
		}, []want{{instPayg, payg400, "355", PDPostpaid}}, []Price{
			{Item: ItemInbound400, Mode: ModePayg, From: at(t, "2026-10-15T00:00:00+08:00"), Tiers: []Tier{{Price: dec("1")}}}}},
		{"a change at the cycle's start counts", func(in *PostpaidInput) {
			in.Minutes400[payg400] = 100
			in.Minutes400[sub400] = 5000
		}, []want{{instPayg, payg400, "325", PDPostpaid}}, []Price{
			{Item: ItemInbound400, Mode: ModePayg, From: at(t, "2026-10-01T00:00:00+08:00"), Tiers: []Tier{{Price: dec("0.5")}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := postpaidInput(t, billAccount(t, nil), "2026-10")
			in.Book = NewPriceBook(tc.overrid)
			tc.prep(in)
			lines := postpaidLines(t, in)
			var got []want
			for _, l := range lines {
				if l.Item != ItemInbound400Minimum {
					t.Errorf("unexpected line %s", l.Item)
					continue
				}
				got = append(got, want{l.Instance, l.Number, l.UnitPrice.String(), l.ProductDetail})
				decEq(t, "usage", l.Usage, one)
				decEq(t, "exact original", l.ExactOriginal, l.UnitPrice)
				decEq(t, "exact payable", l.ExactPayable, l.UnitPrice)
				if l.SubscriptionType != SubscriptionTypePayAsYouGo || l.PriceUnit != "元/号码/月" || l.UsageUnit != "号码·月" {
					t.Errorf("line fields %q %q %q", l.SubscriptionType, l.PriceUnit, l.UsageUnit)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("minimum lines %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMinimum400LaterCycleUsesLaterPrice(t *testing.T) {
	in := postpaidInput(t, billAccount(t, nil), "2026-11")
	in.Book = NewPriceBook([]Price{{Item: ItemInbound400, Mode: ModePayg, From: at(t, "2026-10-15T00:00:00+08:00"),
		Tiers: []Tier{{Price: dec("1")}}}})
	in.Minutes400[payg400] = 100
	in.Minutes400[sub400] = 5000
	lines := postpaidLines(t, in)
	if len(lines) != 1 || !lines[0].UnitPrice.Equal(dec("275")) {
		t.Fatalf("lines %+v, want one minimum of 275", lines)
	}
}

func TestMinimum400CoveredMinutesCount(t *testing.T) {
	// All 100 minutes of the 400 number were covered by a package: the usage
	// line charges 0, but the usage value still counts them.
	acct := billAccount(t, nil)
	r := NewRater(testWindow(t), NewPriceBook(nil), 0, map[string]*InstanceInfo{instPayg: {ID: instPayg, Account: acctA,
		Mode: ModePayg, Numbers: map[string]*Number{payg400: &acct.Instances[0].Numbers[1]}}})
	r.SetPackages(acctA, []*VoicePackage{pkg(t, "P-1", PackageInbound400, 60, "2026-10-01T00:00:00+08:00")})
	agg := map[AggKey]*AggValue{}
	for i := 0; i < 10; i++ {
		call := rate(t, r, mkCDR(instPayg, Inbound, payg400, at(t, "2026-10-08T10:00:00+08:00").Add(time.Duration(i)*time.Hour), 600))
		call.Aggregate(agg)
	}
	in := postpaidInput(t, acct, "2026-10")
	in.Minutes400[sub400] = 5000
	for k, v := range agg {
		in.Usage = append(in.Usage, UsageRow{Day: 0, PD: k.PD, Instance: k.Instance, Item: k.Item, Number: k.Number,
			Micro: k.Micro, PriceFrom: k.PriceFrom, Band: k.Band, Usage: v.Usage, Covered: v.Covered})
		if k.Item == ItemInbound400 {
			in.Minutes400[k.Number] += v.Usage + v.Covered
		}
	}
	if in.Minutes400[payg400] != 100 {
		t.Fatalf("Minutes400 = %d, want 100 (covered included)", in.Minutes400[payg400])
	}
	lines := postpaidLines(t, in)
	if len(lines) != 2 {
		t.Fatalf("lines %+v", lines)
	}
	decEq(t, "400 usage", lines[0].Usage, dec("40"))
	decEq(t, "400 covered", lines[0].Covered, dec("60"))
	decEq(t, "400 original", lines[0].ExactOriginal, dec("8"))
	if lines[1].Item != ItemInbound400Minimum {
		t.Fatalf("second line %s", lines[1].Item)
	}
	decEq(t, "minimum", lines[1].UnitPrice, dec("355"))
}

// ---- recording storage (docs/rules.md, "Recording storage") ----------------------

const gib = int64(1) << 30

func TestStorageLines(t *testing.T) {
	type want struct {
		instance string
		gb       string
		original string
	}
	for _, tc := range []struct {
		name  string
		insts []string // instance ids in the account, in this order
		bytes map[string]int64
		want  []want
	}{
		{"free 50 GB taken in instance-id order", []string{"a", "b"},
			map[string]int64{"a": 30 * gib, "b": 40 * gib}, []want{{"b", "20", "2.96"}}},
		{"instance-id order, not account order", []string{"b", "a"},
			map[string]int64{"a": 30 * gib, "b": 40 * gib}, []want{{"b", "20", "2.96"}}},
		{"everything fits in 50 GB", []string{"a", "b"},
			map[string]int64{"a": 20 * gib, "b": 30 * gib}, nil},
		{"nothing stored", []string{"a", "b"}, map[string]int64{}, nil},
		{"one instance over", []string{"a"}, map[string]int64{"a": 60 * gib}, []want{{"a", "10", "1.48"}}},
		{"first instance alone exceeds the free GB", []string{"a", "b"},
			map[string]int64{"a": 70 * gib, "b": 5 * gib}, []want{{"a", "20", "2.96"}, {"b", "5", "0.74"}}},
		{"GB half-up to 4 decimals: just below half", []string{"a"},
			map[string]int64{"a": 51*gib + 53_687}, []want{{"a", "1", "0.148"}}}, // 1.000049999…
		{"GB half-up to 4 decimals: just above half", []string{"a"},
			map[string]int64{"a": 51*gib + 53_688}, []want{{"a", "1.0001", "0.1480148"}}}, // 1.0000500003…
		{"rounded per instance before the free GB", []string{"a", "b"},
			map[string]int64{"a": 50*gib - 53_000, "b": 53_690}, []want{{"b", "0.0001", "0.0000148"}}},
		{"a tiny amount beyond the free GB rounds to nothing", []string{"a", "b"},
			map[string]int64{"a": 50 * gib, "b": 53_000}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acct := &Account{UID: acctA}
			for _, id := range tc.insts {
				acct.Instances = append(acct.Instances, Instance{ID: id, Account: acctA, Mode: ModePayg})
			}
			in := postpaidInput(t, acct, "2026-10")
			in.RecordingBytes = tc.bytes
			var got []want
			for _, l := range storageLines(t, in) {
				got = append(got, want{l.Instance, l.Usage.String(), ""})
				if l.Item != ItemRecordStorage || l.ProductDetail != PDPostpaid || l.UsageUnit != "GB" ||
					l.PriceUnit != "元/GB/月" || !l.UnitPrice.Equal(dec("0.148")) {
					t.Errorf("line fields %+v", l)
				}
			}
			var wantNoOrig []want
			for _, w := range tc.want {
				wantNoOrig = append(wantNoOrig, want{w.instance, w.gb, ""})
			}
			if !reflect.DeepEqual(got, wantNoOrig) {
				t.Errorf("storage lines %+v, want %+v", got, wantNoOrig)
			}
			// Through PostpaidLines: exact original = GB × 0.148.
			var gotOrig []want
			for _, l := range postpaidLines(t, in) {
				gotOrig = append(gotOrig, want{l.Instance, l.Usage.String(), l.ExactOriginal.String()})
			}
			if !reflect.DeepEqual(gotOrig, tc.want) {
				t.Errorf("postpaid lines %+v, want %+v", gotOrig, tc.want)
			}
		})
	}
}

func TestStorageLinesModeAndPrice(t *testing.T) {
	acct := &Account{UID: acctA, Instances: []Instance{{ID: "a", Mode: ModeSubscription}}}
	in := postpaidInput(t, acct, "2026-10")
	in.RecordingBytes = map[string]int64{"a": 60 * gib}
	in.Book = NewPriceBook([]Price{
		{Item: ItemRecordStorage, From: at(t, "2026-10-01T00:00:00+08:00"), Tiers: []Tier{{Price: dec("0.2")}}},
		{Item: ItemRecordStorage, From: at(t, "2026-10-02T00:00:00+08:00"), Tiers: []Tier{{Price: dec("0.3")}}},
	})
	lines := storageLines(t, in)
	if len(lines) != 1 || lines[0].ProductDetail != PDSubscription || !lines[0].UnitPrice.Equal(dec("0.2")) {
		t.Fatalf("lines %+v, want one ccc_subscription line at the price in force at the cycle's start", lines)
	}
}

// ---- contract discounts (docs/rules.md, "Contract discounts") ---------------------

func TestContractRateFor(t *testing.T) {
	oct := cyc(t, "2026-10")
	for _, tc := range []struct {
		name     string
		contract *Contract
		item     Item
		cycle    Cycle
		want     string
	}{
		{"no contract", nil, ItemFixedLineOutbound, oct, "1"},
		{"empty contract", &Contract{}, ItemFixedLineOutbound, oct, "1"},
		{"account-wide rate", &Contract{Discount: dec("0.8")}, ItemRecordStorage, oct, "0.8"},
		{"per-item override", &Contract{Discount: dec("0.8"), Items: map[Item]decimal.Decimal{ItemFixedLineOutbound: dec("0.7")}},
			ItemFixedLineOutbound, oct, "0.7"},
		{"other item keeps the account rate", &Contract{Discount: dec("0.8"), Items: map[Item]decimal.Decimal{ItemFixedLineOutbound: dec("0.7")}},
			ItemFixedLineInbound, oct, "0.8"},
		{"items only: the item", &Contract{Items: map[Item]decimal.Decimal{ItemVoicePackage: dec("0.9123")}},
			ItemVoicePackage, oct, "0.9123"},
		{"items only: other items pay in full", &Contract{Items: map[Item]decimal.Decimal{ItemVoicePackage: dec("0.9")}},
			ItemSipLine, oct, "1"},
		{"before from", &Contract{Discount: dec("0.8"), From: cyc(t, "2026-11")}, ItemSipLine, oct, "1"},
		{"at from", &Contract{Discount: dec("0.8"), From: oct}, ItemSipLine, oct, "0.8"},
		{"at to", &Contract{Discount: dec("0.8"), To: oct}, ItemSipLine, oct, "0.8"},
		{"after to", &Contract{Discount: dec("0.8"), To: cyc(t, "2026-09")}, ItemSipLine, oct, "1"},
		{"item rate outside the period", &Contract{Discount: dec("0.8"), Items: map[Item]decimal.Decimal{ItemSipLine: dec("0.5")},
			From: cyc(t, "2026-01"), To: cyc(t, "2026-06")}, ItemSipLine, oct, "1"},
		{"inside from..to", &Contract{Discount: dec("0.8"), From: cyc(t, "2026-01"), To: cyc(t, "2026-12")},
			ItemSipLine, oct, "0.8"},
		{"rate 1", &Contract{Discount: dec("1")}, ItemSipLine, oct, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decEq(t, "rate", tc.contract.RateFor(tc.item, tc.cycle), dec(tc.want))
		})
	}
}

func TestPostpaidLinesContract(t *testing.T) {
	contract := &Contract{Discount: dec("0.8"), Items: map[Item]decimal.Decimal{ItemFixedLineOutbound: dec("0.7")},
		From: cyc(t, "2026-01"), To: cyc(t, "2026-10")}
	rows := []UsageRow{
		{PD: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, Micro: 150_000, Usage: 100},
		{PD: PDPostpaid, Instance: instPayg, Item: ItemFixedLineInbound, Micro: 30_000, Usage: 33},
		{PD: PDPostpaid, Instance: instPayg, Item: ItemCallCenterSoftware, Micro: 49_900, Band: 1, Usage: 7},
	}
	for _, tc := range []struct {
		cycle     string
		item      Item
		exactDisc string
		exactPay  string
	}{
		{"2026-10", ItemCallCenterSoftware, "0.06986", "0.27944"}, // 0.3493 × 0.2
		{"2026-10", ItemFixedLineInbound, "0.198", "0.792"},       // 0.99 × 0.2
		{"2026-10", ItemFixedLineOutbound, "4.5", "10.5"},         // 15 × 0.3
		{"2026-11", ItemFixedLineOutbound, "0", "15"},             // outside the contract
		{"2026-11", ItemCallCenterSoftware, "0", "0.3493"},
	} {
		t.Run(tc.cycle+"/"+string(tc.item), func(t *testing.T) {
			in := postpaidInput(t, billAccount(t, contract), tc.cycle)
			in.Usage = rows
			in.Minutes400[payg400], in.Minutes400[sub400] = 5000, 5000
			ls := lineWith(postpaidLines(t, in), tc.item, instPayg)
			if len(ls) != 1 {
				t.Fatalf("lines %+v", ls)
			}
			l := ls[0]
			decEq(t, "exact discount", l.ExactDiscount, dec(tc.exactDisc))
			decEq(t, "exact payable", l.ExactPayable, dec(tc.exactPay))
			decEq(t, "original = discount + payable", l.ExactOriginal, l.ExactDiscount.Add(l.ExactPayable))
		})
	}
	t.Run("minimum line is discounted too", func(t *testing.T) {
		in := postpaidInput(t, billAccount(t, contract), "2026-10")
		in.Minutes400[payg400], in.Minutes400[sub400] = 100, 5000
		ls := lineWith(postpaidLines(t, in), ItemInbound400Minimum, instPayg)
		if len(ls) != 1 {
			t.Fatalf("lines %+v", ls)
		}
		decEq(t, "exact discount", ls[0].ExactDiscount, dec("71"))
		decEq(t, "exact payable", ls[0].ExactPayable, dec("284"))
	})
}

func TestPostpaidLinesMerging(t *testing.T) {
	from := at(t, "2026-10-15T00:00:00+08:00").Unix()
	in := postpaidInput(t, billAccount(t, nil), "2026-10")
	in.Minutes400[payg400], in.Minutes400[sub400] = 5000, 5000
	in.Usage = []UsageRow{
		// Two 400 numbers at one price: one line without a number.
		{PD: PDPostpaid, Instance: instPayg, Item: ItemInbound400, Number: payg400, Micro: 200_000, Usage: 10, Covered: 1},
		{PD: PDPostpaid, Instance: instPayg, Item: ItemInbound400, Number: "4008000009", Micro: 200_000, Usage: 5},
		// A price change within the cycle: two lines, older price first.
		{PD: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, Micro: 160_000, PriceFrom: from, Usage: 3},
		{PD: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, Micro: 150_000, PriceFrom: time.Time{}.Unix(), Usage: 4, Covered: 2},
		// Bands: one line per band, first band first.
		{PD: PDPostpaid, Instance: instPayg, Item: ItemCallCenterSoftware, Micro: 44_900, Band: 2, Usage: 2},
		{PD: PDPostpaid, Instance: instPayg, Item: ItemCallCenterSoftware, Micro: 49_900, Band: 1, Usage: 8},
		// Subscription instance lines go to ccc_subscription, after ccc_postpaid.
		{PD: PDSubscription, Instance: instSub, Item: ItemFixedLineInbound, Micro: 0, Usage: 9},
	}
	type got struct {
		pd      ProductDetail
		inst    string
		item    Item
		number  string
		price   string
		band    int
		usage   string
		covered string
		orig    string
	}
	want := []got{
		{PDPostpaid, instPayg, ItemCallCenterSoftware, "", "0.0499", 1, "8", "0", "0.3992"},
		{PDPostpaid, instPayg, ItemCallCenterSoftware, "", "0.0449", 2, "2", "0", "0.0898"},
		{PDPostpaid, instPayg, ItemFixedLineOutbound, "", "0.15", 0, "4", "2", "0.6"},
		{PDPostpaid, instPayg, ItemFixedLineOutbound, "", "0.16", 0, "3", "0", "0.48"},
		{PDPostpaid, instPayg, ItemInbound400, "", "0.2", 0, "15", "1", "3"},
		{PDSubscription, instSub, ItemFixedLineInbound, "", "0", 0, "9", "0", "0"},
	}
	var gotLines []got
	for _, l := range postpaidLines(t, in) {
		gotLines = append(gotLines, got{l.ProductDetail, l.Instance, l.Item, l.Number, l.UnitPrice.String(), l.Band,
			l.Usage.String(), l.Covered.String(), l.ExactOriginal.String()})
	}
	if !reflect.DeepEqual(gotLines, want) {
		t.Errorf("lines\n got %+v\nwant %+v", gotLines, want)
	}
}

// ---- rounding (docs/rules.md, "Rounding") -----------------------------------------

func payLines(exact ...string) []Line {
	ls := make([]Line, len(exact))
	for i, e := range exact {
		ls[i] = Line{ExactOriginal: dec(e), ExactDiscount: zero, ExactPayable: dec(e)}
	}
	return ls
}

func TestRoundPostpaid(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lines     []Line
		total     string
		roundDown string
		payable   []string
		discount  []string
	}{
		{"Alibaba example: ties go to the earlier line",
			payLines("12.1234", "12.1234", "12.1234", "12.1234", "12.1234"),
			"60.61", "0.007", []string{"12.13", "12.12", "12.12", "12.12", "12.12"}, nil},
		{"a later line with the larger fraction gets the fen",
			payLines("1.001", "1.009", "1.005"),
			"3.01", "0.005", []string{"1.00", "1.01", "1.00"}, nil},
		{"two fen to the two largest fractions",
			payLines("0.006", "0.007", "0.008", "0.001"),
			"0.02", "0.002", []string{"0.00", "0.01", "0.01", "0.00"}, nil},
		{"ties among the largest: earlier lines first",
			payLines("0.004", "0.006", "0.003", "0.006", "0.006"),
			"0.02", "0.005", []string{"0.00", "0.01", "0.00", "0.01", "0.00"}, nil},
		{"whole fen need nothing", payLines("1.00", "2.50", "0"), "3.50", "0", []string{"1.00", "2.50", "0.00"}, nil},
		{"no lines", nil, "0", "0", nil, nil},
		{"0.048 payable, 0.012 discount",
			[]Line{{ExactOriginal: dec("0.06"), ExactDiscount: dec("0.012"), ExactPayable: dec("0.048")}},
			"0.04", "0.008", []string{"0.04"}, []string{"0.01"}},
		{"0.048 payable, 0.012 discount, gets a fen from a neighbour",
			[]Line{{ExactOriginal: dec("0.06"), ExactDiscount: dec("0.012"), ExactPayable: dec("0.048")},
				{ExactOriginal: dec("0.003"), ExactDiscount: zero, ExactPayable: dec("0.003")}},
			"0.05", "0.001", []string{"0.05", "0.00"}, []string{"0.01", "0.00"}},
		{"discount half-up",
			[]Line{{ExactOriginal: dec("0.5"), ExactDiscount: dec("0.125"), ExactPayable: dec("0.375")},
				{ExactOriginal: dec("0.5"), ExactDiscount: dec("0.1249"), ExactPayable: dec("0.3751")}},
			"0.75", "0.0001", []string{"0.37", "0.38"}, []string{"0.13", "0.12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total, rd := RoundPostpaid(tc.lines)
			decEq(t, "total", total, dec(tc.total))
			decEq(t, "round_down", rd, dec(tc.roundDown))
			sum, exact := zero, zero
			for i := range tc.lines {
				l := &tc.lines[i]
				decEq(t, "payable", l.Payable, dec(tc.payable[i]))
				if tc.discount != nil {
					decEq(t, "discount", l.Discount, dec(tc.discount[i]))
				}
				decEq(t, "original − discount", l.Original.Sub(l.Discount), l.Payable)
				decEq(t, "outstanding", l.Outstanding, l.Payable)
				sum = sum.Add(l.Payable)
				exact = exact.Add(l.ExactPayable)
			}
			decEq(t, "Σ payable", sum, total)
			decEq(t, "total + round_down", total.Add(rd), exact)
		})
	}
}

func TestRoundPostpaidAlibabaOriginals(t *testing.T) {
	// 5 lines of exact original 15.1542… at 0.8: displayed originals follow
	// payable + discount, so a line may differ from unit price × usage by 0.01.
	ls := []Line{}
	for i := 0; i < 5; i++ {
		l := Line{UnitPrice: dec("0.0499"), Usage: dec("303.7")}
		l.ExactOriginal = l.UnitPrice.Mul(l.Usage)
		applyContract(&l, dec("0.8"))
		ls = append(ls, l)
	}
	total, rd := RoundPostpaid(ls)
	// exact payable each 12.123704 (= 15.15463 × 0.8), sum 60.61852
	decEq(t, "total", total, dec("60.61"))
	decEq(t, "round_down", rd, dec("0.00852"))
	for i, l := range ls {
		wantPay := "12.12"
		if i < 1 {
			wantPay = "12.13"
		}
		decEq(t, "payable", l.Payable, dec(wantPay))
		decEq(t, "discount", l.Discount, dec("3.03"))
		decEq(t, "original", l.Original, l.Payable.Add(dec("3.03")))
	}
}

// ---- prepaid purchases (docs/rules.md, "Prepaid purchases") -----------------------

func TestSettlePurchase(t *testing.T) {
	loc := shanghai(t)
	t0 := at(t, "2026-10-01T09:00:00+08:00")
	eighty := &Contract{Discount: dec("0.8")}
	type want struct {
		pd        ProductDetail
		item      Item
		instance  string
		number    string
		unitPrice string
		usage     string
		priceUnit string
		usageUnit string
		original  string
		discount  string
		payable   string
	}
	for _, tc := range []struct {
		name     string
		p        Purchase
		contract *Contract
		book     []Price
		want     want
	}{
		{"voice package at 0.8", Purchase{Kind: PurchaseVoicePackage, PackageType: PackageFixedOutbound, PackageMinutes: 10_000},
			eighty, nil, want{PDVoicePackage, ItemVoicePackage, "", "", "1450", "1", "元/个", "个", "1450.00", "290.00", "1160.00"}},
		{"voice package, instance dropped", Purchase{Kind: PurchaseVoicePackage, PackageType: PackageInbound400, PackageMinutes: 1_000_000, Instance: instPayg},
			nil, nil, want{PDVoicePackage, ItemVoicePackage, "", "", "150000", "1", "元/个", "个", "150000.00", "0.00", "150000.00"}},
		{"voice package fixed_inbound 30k", Purchase{Kind: PurchaseVoicePackage, PackageType: PackageFixedInbound, PackageMinutes: 30_000},
			nil, nil, want{PDVoicePackage, ItemVoicePackage, "", "", "840", "1", "元/个", "个", "840.00", "0.00", "840.00"}},
		{"half-up payable and discount, original their sum", Purchase{Kind: PurchaseVoicePackage, PackageType: PackageFixedInbound, PackageMinutes: 10_000},
			&Contract{Discount: dec("0.8335")}, nil, // 290 × 0.8335 = 241.715, discount 48.285
			want{PDVoicePackage, ItemVoicePackage, "", "", "290", "1", "元/个", "个", "290.01", "48.29", "241.72"}},
		{"half-up rounds down below half", Purchase{Kind: PurchaseVoicePackage, PackageType: PackageFixedInbound, PackageMinutes: 10_000},
			&Contract{Discount: dec("0.8333")}, nil, // 241.657, discount 48.343
			want{PDVoicePackage, ItemVoicePackage, "", "", "290", "1", "元/个", "个", "290.00", "48.34", "241.66"}},
		{"seats: 120 seats for 2 months at tier 179", Purchase{Kind: PurchaseSeats, Instance: instSub, Count: 120, Months: 2},
			nil, nil, want{PDSubscription, ItemCallCenterSoftware, instSub, "", "179", "240", "元/坐席/月", "坐席·月", "42960.00", "0.00", "42960.00"}},
		{"seats: 99 seats at 199", Purchase{Kind: PurchaseSeats, Instance: instSub, Count: 99, Months: 1},
			nil, nil, want{PDSubscription, ItemCallCenterSoftware, instSub, "", "199", "99", "元/坐席/月", "坐席·月", "19701.00", "0.00", "19701.00"}},
		{"seats: 100 seats at 179", Purchase{Kind: PurchaseSeats, Instance: instSub, Count: 100, Months: 1},
			nil, nil, want{PDSubscription, ItemCallCenterSoftware, instSub, "", "179", "100", "元/坐席/月", "坐席·月", "17900.00", "0.00", "17900.00"}},
		{"seats: 299 seats at 179", Purchase{Kind: PurchaseSeats, Instance: instSub, Count: 299, Months: 1},
			nil, nil, want{PDSubscription, ItemCallCenterSoftware, instSub, "", "179", "299", "元/坐席/月", "坐席·月", "53521.00", "0.00", "53521.00"}},
		{"seats: 300 seats at 159", Purchase{Kind: PurchaseSeats, Instance: instSub, Count: 300, Months: 3},
			eighty, nil, want{PDSubscription, ItemCallCenterSoftware, instSub, "", "159", "900", "元/坐席/月", "坐席·月", "143100.00", "28620.00", "114480.00"}},
		{"seats: 1 seat at 199", Purchase{Kind: PurchaseSeats, Instance: instSub, Count: 1, Months: 1},
			nil, nil, want{PDSubscription, ItemCallCenterSoftware, instSub, "", "199", "1", "元/坐席/月", "坐席·月", "199.00", "0.00", "199.00"}},
		{"number rent 35 × months", Purchase{Kind: PurchaseNumberRent, Instance: instPayg, Number: numCCCFixed, Months: 3},
			eighty, nil, want{PDNumber, ItemNumberRent, instPayg, numCCCFixed, "35", "3", "元/号码/月", "号码·月", "105.00", "21.00", "84.00"}},
		{"SIP 30000 × lines × years", Purchase{Kind: PurchaseSipLine, Instance: instPayg, Count: 2, Years: 3},
			nil, nil, want{PDSip, ItemSipLine, instPayg, "", "30000", "6", "元/线路/年", "线路·年", "180000.00", "0.00", "180000.00"}},
		{"per-item contract rate", Purchase{Kind: PurchaseSipLine, Instance: instPayg, Count: 1, Years: 1},
			&Contract{Discount: dec("0.8"), Items: map[Item]decimal.Decimal{ItemSipLine: dec("0.95")}}, nil,
			want{PDSip, ItemSipLine, instPayg, "", "30000", "1", "元/线路/年", "线路·年", "30000.00", "1500.00", "28500.00"}},
		{"price override in force at the purchase", Purchase{Kind: PurchaseNumberRent, Instance: instPayg, Number: numCCCFixed, Months: 2},
			nil, []Price{{Item: ItemNumberRent, From: t0, Tiers: []Tier{{Price: dec("40")}}}},
			want{PDNumber, ItemNumberRent, instPayg, numCCCFixed, "40", "2", "元/号码/月", "号码·月", "80.00", "0.00", "80.00"}},
		{"price override after the purchase", Purchase{Kind: PurchaseNumberRent, Instance: instPayg, Number: numCCCFixed, Months: 2},
			nil, []Price{{Item: ItemNumberRent, From: t0.Add(time.Second), Tiers: []Tier{{Price: dec("40")}}}},
			want{PDNumber, ItemNumberRent, instPayg, numCCCFixed, "35", "2", "元/号码/月", "号码·月", "70.00", "0.00", "70.00"}},
		{"seat tiers override", Purchase{Kind: PurchaseSeats, Instance: instSub, Count: 100, Months: 1},
			nil, []Price{{Item: ItemCallCenterSoftware, Mode: ModeSubscription, Tiers: []Tier{{UpTo: 99, Price: dec("199")}, {Price: dec("150")}}}},
			want{PDSubscription, ItemCallCenterSoftware, instSub, "", "150", "100", "元/坐席/月", "坐席·月", "15000.00", "0.00", "15000.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.ID, p.Account, p.At = "P-1", acctA, t0
			acct := billAccount(t, tc.contract)
			l, err := SettlePurchase(&p, acct, ModePayg, NewPriceBook(tc.book), loc)
			if err != nil {
				t.Fatal(err)
			}
			got := want{l.ProductDetail, l.Item, l.Instance, l.Number, l.UnitPrice.String(), l.Usage.String(),
				l.PriceUnit, l.UsageUnit, FormatMoney(l.Original), FormatMoney(l.Discount), FormatMoney(l.Payable)}
			if got != tc.want {
				t.Errorf("line\n got %+v\nwant %+v", got, tc.want)
			}
			if l.SubscriptionType != SubscriptionTypeSubscription || l.PurchaseID != "P-1" || !l.PurchaseAt.Equal(t0) || !l.IsPurchase() {
				t.Errorf("purchase fields %q %q %v", l.SubscriptionType, l.PurchaseID, l.PurchaseAt)
			}
			if !l.Outstanding.IsZero() {
				t.Errorf("outstanding %s, want 0", l.Outstanding)
			}
			decEq(t, "original", l.Original, l.Payable.Add(l.Discount))
			decEq(t, "exact original", l.ExactOriginal, l.UnitPrice.Mul(l.Usage))
			decEq(t, "exact sum", l.ExactOriginal, l.ExactDiscount.Add(l.ExactPayable))
		})
	}
}

func TestSettlePurchaseContractCycleInShanghai(t *testing.T) {
	// The contract runs through 2026-12; a purchase at 2026-12-31T16:30Z is
	// 2027-01-01 00:30 in Shanghai, outside it.
	acct := billAccount(t, &Contract{Discount: dec("0.8"), To: cyc(t, "2026-12")})
	for _, tc := range []struct {
		at, payable string
	}{
		{"2026-12-31T15:59:59Z", "1160.00"},
		{"2026-12-31T16:30:00Z", "1450.00"},
	} {
		t.Run(tc.at, func(t *testing.T) {
			p := Purchase{ID: "P-1", Account: acctA, At: at(t, tc.at), Kind: PurchaseVoicePackage,
				PackageType: PackageFixedOutbound, PackageMinutes: 10_000}
			l, err := SettlePurchase(&p, acct, ModePayg, NewPriceBook(nil), shanghai(t))
			if err != nil {
				t.Fatal(err)
			}
			if FormatMoney(l.Payable) != tc.payable {
				t.Errorf("payable %s, want %s", FormatMoney(l.Payable), tc.payable)
			}
		})
	}
}

func TestSettlePurchaseRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Purchase
	}{
		{"unknown package size", Purchase{Kind: PurchaseVoicePackage, PackageType: PackageFixedOutbound, PackageMinutes: 20_000}},
		{"inbound_400 has no 50k package", Purchase{Kind: PurchaseVoicePackage, PackageType: PackageInbound400, PackageMinutes: 50_000}},
		{"unknown package type", Purchase{Kind: PurchaseVoicePackage, PackageType: "fixed_both", PackageMinutes: 10_000}},
		{"unknown kind", Purchase{Kind: "gift"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.ID, p.At = "P-1", at(t, "2026-10-01T09:00:00+08:00")
			_, err := SettlePurchase(&p, billAccount(t, nil), ModePayg, NewPriceBook(nil), shanghai(t))
			if ErrorCode(err) != EINVALID {
				t.Errorf("err %v, want %s", err, EINVALID)
			}
		})
	}
}

func TestPackagePrices(t *testing.T) {
	want := map[PackageType]map[int64]string{
		PackageFixedInbound: {10_000: "290", 30_000: "840", 50_000: "1350", 100_000: "2600", 500_000: "12000", 1_000_000: "23000"},
		PackageFixedOutbound: {10_000: "1450", 30_000: "4260", 50_000: "6900", 100_000: "13500", 500_000: "64000",
			1_000_000: "125000"},
		PackageInbound400: {10_000: "1900", 30_000: "5400", 100_000: "17000", 300_000: "48000", 1_000_000: "150000"},
	}
	for typ, sizes := range want {
		if len(PackagePrices[typ]) != len(sizes) {
			t.Errorf("%s: %d sizes, want %d", typ, len(PackagePrices[typ]), len(sizes))
		}
		for m, price := range sizes {
			decEq(t, string(typ), PackagePrices[typ][m], dec(price))
		}
	}
	if PackageItem[PackageFixedInbound] != ItemFixedLineInbound || PackageItem[PackageFixedOutbound] != ItemFixedLineOutbound ||
		PackageItem[PackageInbound400] != ItemInbound400 {
		t.Errorf("PackageItem = %v", PackageItem)
	}
}

// ---- paying, line order, assembling (docs/rules.md, "Bill lines and line order") ----

func TestApplyPaid(t *testing.T) {
	mk := func(payable string, purchase bool) Line {
		l := Line{Payable: dec(payable), Outstanding: dec(payable)}
		if purchase {
			l.PurchaseID = "P"
		}
		return l
	}
	for _, tc := range []struct {
		name  string
		paid  string
		lines []Line
		want  []string
	}{
		{"nothing paid", "0", []Line{mk("1.00", false), mk("5.00", true), mk("2.00", false)}, []string{"1.00", "0", "2.00"}},
		{"partly: in line order", "1.50", []Line{mk("1.00", false), mk("5.00", true), mk("2.00", false)}, []string{"0", "0", "1.50"}},
		{"partly, first line only", "0.40", []Line{mk("1.00", false), mk("2.00", false)}, []string{"0.60", "2.00"}},
		{"fully", "3.00", []Line{mk("1.00", false), mk("5.00", true), mk("2.00", false)}, []string{"0", "0", "0"}},
		{"zero lines are skipped", "0.50", []Line{mk("0", false), mk("1.00", false)}, []string{"0", "0.50"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ApplyPaid(tc.lines, dec(tc.paid))
			for i, l := range tc.lines {
				decEq(t, "outstanding", l.Outstanding, dec(tc.want[i]))
			}
		})
	}
}

// orderedLines lists lines in line order (docs/rules.md, "Bill lines and line order"); Original holds the
// expected position, so that a sorted slice can be checked.
func orderedLines(t testing.TB) []Line {
	t1 := at(t, "2026-10-01T09:00:00+08:00")
	t2 := at(t, "2026-10-02T09:00:00+08:00")
	old, newer := time.Time{}.Unix(), at(t, "2026-10-15T00:00:00+08:00").Unix()
	ls := []Line{
		{ProductDetail: PDPostpaid, Instance: "", Item: ItemRecordStorage},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemCallCenterSoftware, Band: 1, PriceFrom: old, UnitPrice: dec("0.0499")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemCallCenterSoftware, Band: 1, PriceFrom: newer, UnitPrice: dec("0.04")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemCallCenterSoftware, Band: 2, PriceFrom: old, UnitPrice: dec("0.0449")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemCallCenterSoftware, Band: 2, PriceFrom: newer, UnitPrice: dec("0.03")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemFixedLineInbound, UnitPrice: dec("0.03")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemFixedLineOutbound, PriceFrom: old, UnitPrice: dec("0.15")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemFixedLineOutbound, PriceFrom: newer, UnitPrice: dec("0.14")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemInbound400, UnitPrice: dec("0.2")},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemInbound400Minimum, Number: "4008000001"},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemInbound400Minimum, Number: "4008000002"},
		{ProductDetail: PDPostpaid, Instance: "ccc-a", Item: ItemRecordStorage},
		{ProductDetail: PDPostpaid, Instance: "ccc-b", Item: ItemFixedLineInbound},
		{ProductDetail: PDSubscription, Instance: "ccc-c", Item: ItemCallCenterSoftware, PurchaseID: "P-9", PurchaseAt: t1},
		{ProductDetail: PDSubscription, Instance: "ccc-c", Item: ItemCallCenterSoftware, PurchaseID: "P-1", PurchaseAt: t2},
		{ProductDetail: PDSubscription, Instance: "ccc-c", Item: ItemCallCenterSoftware, PurchaseID: "P-2", PurchaseAt: t2},
		{ProductDetail: PDSubscription, Instance: "ccc-c", Item: ItemFixedLineOutbound},
		{ProductDetail: PDSubscription, Instance: "ccc-c", Item: ItemInbound400Minimum, Number: "4008000003"},
		{ProductDetail: PDNumber, Instance: "ccc-a", Item: ItemNumberRent, Number: "057100000001", PurchaseID: "P-5", PurchaseAt: t2},
		{ProductDetail: PDNumber, Instance: "ccc-a", Item: ItemNumberRent, Number: "057100000002", PurchaseID: "P-4", PurchaseAt: t1},
		{ProductDetail: PDNumber, Instance: "ccc-b", Item: ItemNumberRent, Number: "057100000000", PurchaseID: "P-3", PurchaseAt: t1},
		{ProductDetail: PDVoicePackage, Instance: "", Item: ItemVoicePackage, PurchaseID: "P-7", PurchaseAt: t1},
		{ProductDetail: PDVoicePackage, Instance: "", Item: ItemVoicePackage, PurchaseID: "P-8", PurchaseAt: t1},
		{ProductDetail: PDVoicePackage, Instance: "", Item: ItemVoicePackage, PurchaseID: "P-6", PurchaseAt: t2},
		{ProductDetail: PDSip, Instance: "ccc-a", Item: ItemSipLine, PurchaseID: "P-0", PurchaseAt: t2},
	}
	for i := range ls {
		ls[i].Original = decimal.NewFromInt(int64(i))
	}
	return ls
}

func TestSortLines(t *testing.T) {
	want := orderedLines(t)
	rng := rand.New(rand.NewPCG(7, 7))
	for iter := 0; iter < 50; iter++ {
		ls := append([]Line(nil), want...)
		rng.Shuffle(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
		SortLines(ls)
		for i := range ls {
			if ls[i].Original.IntPart() != int64(i) {
				var got []int64
				for _, l := range ls {
					got = append(got, l.Original.IntPart())
				}
				t.Fatalf("shuffle %d: order %v, want 0…%d", iter, got, len(ls)-1)
			}
		}
	}
}

func TestItemAndProductDetailOrder(t *testing.T) {
	wantItems := []Item{"CallCenterSoftware", "FixedLineInbound", "FixedLineOutbound", "Inbound_400",
		"Inbound_400_Minimum", "RecordStorage", "NumberRent", "VoicePackage", "SipLine"}
	for i, it := range wantItems {
		if ItemOrder(it) != i {
			t.Errorf("ItemOrder(%s) = %d, want %d", it, ItemOrder(it), i)
		}
	}
	wantPD := []ProductDetail{"ccc_postpaid", "ccc_subscription", "ccc_number", "ccc_voice_package", "ccc_sip"}
	for i, pd := range wantPD {
		if ProductDetailOrder(pd) != i {
			t.Errorf("ProductDetailOrder(%s) = %d, want %d", pd, ProductDetailOrder(pd), i)
		}
	}
	if UsageProductDetail(ModePayg) != PDPostpaid || UsageProductDetail(ModeSubscription) != PDSubscription {
		t.Errorf("UsageProductDetail wrong")
	}
}

// exampleBill builds the bill that TestBillJSON compares field by field:
// account A in 2026-10 with a contract (0.8, fixed outbound 0.7), platform
// minutes in two bands, a partly covered fixed outbound line, 400 minutes
// below the minimum, a number rent and a voice package; 100.00 paid.
func exampleBill(t testing.TB) (*Bill, []Line) {
	acct := &Account{UID: acctA, Contract: &Contract{Discount: dec("0.8"),
		Items: map[Item]decimal.Decimal{ItemFixedLineOutbound: dec("0.7")}},
		Instances: []Instance{{ID: "ccc-hz-001", Account: acctA, Mode: ModePayg, Numbers: []Number{
			{Number: "057188880001", Kind: NumberFixed, Source: SourceCCC},
			{Number: "4008001234", Kind: Number400, Source: SourceCCC, Tier: "普通"},
		}}}}
	in := postpaidInput(t, acct, "2026-10")
	in.Usage = []UsageRow{
		{PD: PDPostpaid, Instance: "ccc-hz-001", Item: ItemInbound400, Number: "4008001234", Micro: 200_000, Usage: 100},
		{PD: PDPostpaid, Instance: "ccc-hz-001", Item: ItemFixedLineOutbound, Micro: 150_000, Usage: 7, Covered: 3},
		{PD: PDPostpaid, Instance: "ccc-hz-001", Item: ItemCallCenterSoftware, Micro: 44_900, Band: 2, Usage: 3},
		{PD: PDPostpaid, Instance: "ccc-hz-001", Item: ItemCallCenterSoftware, Micro: 49_900, Band: 1, Usage: 10},
	}
	in.Minutes400["4008001234"] = 100
	lines := postpaidLines(t, in)
	total, rd := RoundPostpaid(lines)
	var purchases []Line
	for _, p := range []Purchase{
		{ID: "P-1", Account: acctA, At: at(t, "2026-10-01T09:00:00+08:00"), Kind: PurchaseVoicePackage,
			PackageType: PackageFixedOutbound, PackageMinutes: 10_000},
		{ID: "P-3", Account: acctA, At: at(t, "2026-10-01T09:00:00+08:00"), Kind: PurchaseNumberRent,
			Instance: "ccc-hz-001", Number: "057188880001", Months: 3},
	} {
		l, err := SettlePurchase(&p, acct, ModePayg, NewPriceBook(nil), shanghai(t))
		if err != nil {
			t.Fatal(err)
		}
		purchases = append(purchases, l)
	}
	// Purchases given first: AssembleBill puts everything in line order.
	return AssembleBill(acctA, cyc(t, "2026-10"), BillStatusClosed, lines, rd, total, dec("100.00"), purchases), lines
}

func TestAssembleBill(t *testing.T) {
	b, postpaid := exampleBill(t)
	decEq(t, "postpaid payable", b.PostpaidPayable, dec("301.24"))
	decEq(t, "round_down", b.Totals.RoundDown, dec("0.00196"))
	sum := func(f func(l *Line) decimal.Decimal) decimal.Decimal {
		s := zero
		for i := range b.Lines {
			s = s.Add(f(&b.Lines[i]))
		}
		return s
	}
	decEq(t, "original", b.Totals.Original, sum(func(l *Line) decimal.Decimal { return l.Original }))
	decEq(t, "discount", b.Totals.Discount, sum(func(l *Line) decimal.Decimal { return l.Discount }))
	decEq(t, "payable", b.Totals.Payable, sum(func(l *Line) decimal.Decimal { return l.Payable }))
	decEq(t, "outstanding", b.Totals.Outstanding, sum(func(l *Line) decimal.Decimal { return l.Outstanding }))
	decEq(t, "paid + outstanding", b.Totals.Paid.Add(b.Totals.Outstanding), b.Totals.Payable)
	decEq(t, "original − discount", b.Totals.Original.Sub(b.Totals.Discount), b.Totals.Payable)
	decEq(t, "paid", b.Totals.Paid, dec("1344.00")) // purchases 1244.00 + 100.00 toward postpaid
	pp := zero
	for _, l := range postpaid {
		pp = pp.Add(l.Payable)
	}
	decEq(t, "Σ postpaid lines", pp, b.PostpaidPayable)
	for i := 1; i < len(b.Lines); i++ {
		if lineLess(&b.Lines[i], &b.Lines[i-1]) {
			t.Errorf("line %d out of order", i)
		}
	}
}

func TestAssembleBillUnpaidAndPaidInFull(t *testing.T) {
	for _, tc := range []struct {
		paid, outstanding string
	}{{"0", "10.03"}, {"10.03", "0"}, {"5", "5.03"}} {
		t.Run("paid "+tc.paid, func(t *testing.T) {
			ls := payLines("10.0345", "0.001")
			total, rd := RoundPostpaid(ls)
			b := AssembleBill(acctA, cyc(t, "2026-10"), BillStatusClosed, ls, rd, total, dec(tc.paid), nil)
			decEq(t, "payable", b.Totals.Payable, dec("10.03"))
			decEq(t, "paid", b.Totals.Paid, dec(tc.paid))
			decEq(t, "outstanding", b.Totals.Outstanding, dec(tc.outstanding))
			decEq(t, "round_down", b.Totals.RoundDown, dec("0.0055"))
		})
	}
}

// ---- JSON (docs/rules.md, "Bill totals and JSON") ------------------------------------

func TestBillJSON(t *testing.T) {
	b, _ := exampleBill(t)
	got := b.JSON(View{})
	line := func(item, band, price, pu, usage, uu, ded, orig, disc, pay, out string) LineJSON {
		l := LineJSON{ProductDetail: "ccc_postpaid", SubscriptionType: "PayAsYouGo", Instance: "ccc-hz-001", Item: item,
			UnitPrice: price, PriceUnit: pu, Usage: usage, UsageUnit: uu, DeductedByPackage: ded,
			Original: orig, Discount: disc, Payable: pay, Outstanding: out}
		switch band {
		case "1":
			l.Band = 1
		case "2":
			l.Band = 2
		}
		return l
	}
	minimum := line("Inbound_400_Minimum", "", "355", "元/号码/月", "1", "号码·月", "0", "355.00", "71.00", "284.00", "201.24")
	minimum.Number = "4008001234"
	want := BillJSON{Account: acctA, Cycle: "2026-10", Status: "closed", Currency: "CNY",
		Totals: TotalsJSON{Original: "1931.69", Discount: "386.45", Payable: "1545.24", RoundDown: "0.00196",
			Paid: "1344.00", Outstanding: "201.24"},
		Lines: []LineJSON{
			line("CallCenterSoftware", "1", "0.0499", "元/分钟", "10", "分钟", "0", "0.50", "0.10", "0.40", "0.00"),
			line("CallCenterSoftware", "2", "0.0449", "元/分钟", "3", "分钟", "0", "0.14", "0.03", "0.11", "0.00"),
			line("FixedLineOutbound", "", "0.15", "元/分钟", "7", "分钟", "3", "1.05", "0.32", "0.73", "0.00"),
			line("Inbound_400", "", "0.20", "元/分钟", "100", "分钟", "0", "20.00", "4.00", "16.00", "0.00"),
			minimum,
			{ProductDetail: "ccc_number", SubscriptionType: "Subscription", Instance: "ccc-hz-001", Item: "NumberRent",
				Number: "057188880001", PurchaseID: "P-3", UnitPrice: "35", PriceUnit: "元/号码/月", Usage: "3",
				UsageUnit: "号码·月", DeductedByPackage: "0", Original: "105.00", Discount: "21.00", Payable: "84.00",
				Outstanding: "0.00"},
			{ProductDetail: "ccc_voice_package", SubscriptionType: "Subscription", Instance: "", Item: "VoicePackage",
				PurchaseID: "P-1", UnitPrice: "1450", PriceUnit: "元/个", Usage: "1", UsageUnit: "个",
				DeductedByPackage: "0", Original: "1450.00", Discount: "290.00", Payable: "1160.00", Outstanding: "0.00"},
		}}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("bill JSON\n got %s\nwant %s", gj, wj)
	}
	// The encoding: field order and names as the specification fixes them
	// (docs/rules.md, "Bill totals and JSON").
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	if !strings.HasPrefix(s, `{"account":"1000000000000001","cycle":"2026-10","status":"closed","currency":"CNY","totals":{"original":"1931.69","discount":"386.45","payable":"1545.24","round_down":"0.00196","paid":"1344.00","outstanding":"201.24"},"lines":[{"product_detail":"ccc_postpaid","subscription_type":"PayAsYouGo","instance":"ccc-hz-001","item":"CallCenterSoftware","band":1,"unit_price":"0.0499","price_unit":"元/分钟","usage":"10","usage_unit":"分钟","deducted_by_package":"0","original":"0.50","discount":"0.10","payable":"0.40","outstanding":"0.00"}`) {
		t.Errorf("encoding %s", s)
	}
	if !strings.Contains(s, `"instance":"","item":"VoicePackage"`) {
		t.Errorf("the voice package line must carry an empty instance: %s", s)
	}
}

func TestBillJSONAmounts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		exact     []string
		payable   string
		roundDown string
	}{
		{"zero round_down keeps two decimals", []string{"15"}, "15.00", "0.00"},
		{"empty bill", nil, "0.00", "0.00"},
		{"round_down is exact", []string{"0.0998"}, "0.09", "0.0098"},
		{"round_down of the Alibaba example", []string{"12.1234", "12.1234", "12.1234", "12.1234", "12.1234"}, "60.61", "0.007"},
		{"round_down with many decimals", []string{"0.0000001"}, "0.00", "0.0000001"},
		{"round_down of a tenth of a fen", []string{"1.005"}, "1.00", "0.005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := payLines(tc.exact...)
			total, rd := RoundPostpaid(ls)
			b := AssembleBill(acctA, cyc(t, "2026-10"), BillStatusOpen, ls, rd, total, zero, nil)
			j := b.JSON(View{})
			if j.Totals.Payable != tc.payable || j.Totals.RoundDown != tc.roundDown {
				t.Errorf("payable %q round_down %q, want %q %q", j.Totals.Payable, j.Totals.RoundDown, tc.payable, tc.roundDown)
			}
			for _, l := range j.Lines {
				for _, a := range []string{l.Original, l.Discount, l.Payable, l.Outstanding} {
					if i := strings.IndexByte(a, '.'); i < 0 || len(a)-i-1 != 2 {
						t.Errorf("amount %q has not exactly 2 decimals", a)
					}
				}
			}
			for _, a := range []string{j.Totals.Original, j.Totals.Discount, j.Totals.Payable, j.Totals.Paid, j.Totals.Outstanding} {
				if i := strings.IndexByte(a, '.'); i < 0 || len(a)-i-1 != 2 {
					t.Errorf("total %q has not exactly 2 decimals", a)
				}
			}
			if j.Status != BillStatusOpen || j.Lines == nil {
				t.Errorf("status %q lines %v", j.Status, j.Lines)
			}
		})
	}
}

func TestBillJSONBandOnlyOnPostpaidPlatformLines(t *testing.T) {
	seat := Line{ProductDetail: PDSubscription, SubscriptionType: SubscriptionTypeSubscription, Instance: instSub,
		Item: ItemCallCenterSoftware, PurchaseID: "P-2", Band: 2, UnitPrice: dec("179"), Usage: dec("100"), Covered: zero,
		Original: zero, Discount: zero, Payable: zero, Outstanding: zero}
	fixed := Line{ProductDetail: PDPostpaid, SubscriptionType: SubscriptionTypePayAsYouGo, Instance: instPayg,
		Item: ItemFixedLineOutbound, Band: 1, UnitPrice: dec("0.15"), Usage: dec("1"), Covered: zero,
		Original: zero, Discount: zero, Payable: zero, Outstanding: zero}
	b := &Bill{Account: acctA, Cycle: cyc(t, "2026-10"), Status: BillStatusClosed, Lines: []Line{fixed, seat}}
	for _, l := range b.JSON(View{}).Lines {
		if l.Band != 0 {
			t.Errorf("%s line has band %d", l.Item, l.Band)
		}
	}
}

func TestBillJSONViews(t *testing.T) {
	b, _ := exampleBill(t)
	j := b.JSON(View{ByInstance: true})
	if j.By != "instance" {
		t.Errorf("by %q", j.By)
	}
	want := []LineJSON{
		{ProductDetail: "ccc_postpaid", SubscriptionType: "PayAsYouGo", Instance: "ccc-hz-001",
			Original: "376.69", Discount: "75.45", Payable: "301.24", Outstanding: "201.24"},
		{ProductDetail: "ccc_number", SubscriptionType: "Subscription", Instance: "ccc-hz-001",
			Original: "105.00", Discount: "21.00", Payable: "84.00", Outstanding: "0.00"},
		{ProductDetail: "ccc_voice_package", SubscriptionType: "Subscription", Instance: "",
			Original: "1450.00", Discount: "290.00", Payable: "1160.00", Outstanding: "0.00"},
	}
	if !reflect.DeepEqual(j.Lines, want) {
		t.Errorf("by instance\n got %+v\nwant %+v", j.Lines, want)
	}
	if j.Totals != b.JSON(View{}).Totals {
		t.Errorf("totals differ between views")
	}
	// Daily: lines carry their date.
	for i := range b.Lines {
		b.Lines[i].Day = i + 1
	}
	d := b.JSON(View{Daily: true})
	if d.Period != "day" || d.Lines[0].Date != "2026-10-01" || d.Lines[6].Date != "2026-10-07" {
		t.Errorf("daily view period %q dates %q %q", d.Period, d.Lines[0].Date, d.Lines[6].Date)
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0.00"}, {"1", "1.00"}, {"1.5", "1.50"}, {"12.13", "12.13"}, {"42960", "42960.00"},
	} {
		if got := FormatMoney(dec(tc.in)); got != tc.want {
			t.Errorf("FormatMoney(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"0.0499", "0.0499"}, {"0.15", "0.15"}, {"100", "100"}, {"0.0045", "0.0045"}, {"0.000001", "0.000001"},
	} {
		if got := FormatExact(dec(tc.in)); got != tc.want {
			t.Errorf("FormatExact(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"0", "0.00"}, {"0.0000", "0.00"}, {"0.0045", "0.0045"}, {"0.0070", "0.007"}, {"0.005", "0.005"},
		{"0.00196", "0.00196"}, {"0.0000001", "0.0000001"},
	} {
		if got := FormatRoundDown(dec(tc.in)); got != tc.want {
			t.Errorf("FormatRoundDown(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"0.124", "0.12"}, {"0.125", "0.13"}, {"0.135", "0.14"}, {"0.0050", "0.01"}, {"0.00499", "0.00"},
	} {
		if got := HalfUpFen(dec(tc.in)); !got.Equal(dec(tc.want)) {
			t.Errorf("HalfUpFen(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"0.129", "0.12"}, {"0.999", "0.99"}, {"1", "1"},
	} {
		if got := RoundDownFen(dec(tc.in)); !got.Equal(dec(tc.want)) {
			t.Errorf("RoundDownFen(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in     string
		places int32
		ok     bool
	}{
		{"0.15", 6, true}, {"0.123456", 6, true}, {"0.1234567", 6, false}, {"0.1234560", 6, true},
		{"0.8", 4, true}, {"0.80001", 4, false}, {"-1", 6, false}, {"x", 6, false}, {"", 6, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := parseAmountPlaces(tc.in, tc.places)
			if (err == nil) != tc.ok {
				t.Errorf("ParseAmount(%q, %d) err %v", tc.in, tc.places, err)
			}
		})
	}
}

func TestMicro(t *testing.T) {
	for _, s := range []string{"0.0499", "0.15", "0", "30000", "0.000001", "0.123456"} {
		if got := FromMicro(Micro(dec(s))); !got.Equal(dec(s)) {
			t.Errorf("FromMicro(Micro(%s)) = %s", s, got)
		}
	}
}

func TestPostpaidLinesDaily(t *testing.T) {
	acct := billAccount(t, nil)
	in := postpaidInput(t, acct, "2026-11")
	in.Daily = true
	in.Usage = []UsageRow{
		{Day: 5, PD: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, Micro: 150_000, Usage: 2},
		{Day: 3, PD: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, Micro: 150_000, Usage: 1},
		{Day: 3, PD: PDPostpaid, Instance: instPayg, Item: ItemInbound400, Number: payg400, Micro: 200_000, Usage: 4},
	}
	in.Minutes400[payg400], in.Minutes400[sub400] = 4, 5000
	in.RecordingBytes = map[string]int64{instPayg: 60 * gib}
	type row struct {
		day   int
		item  Item
		usage string
	}
	var got []row
	for _, l := range postpaidLines(t, in) {
		got = append(got, row{l.Day, l.Item, l.Usage.String()})
	}
	// Days apart, in day order; the monthly charges on the cycle's last day (30 Nov).
	want := []row{{3, ItemFixedLineOutbound, "1"}, {3, ItemInbound400, "4"}, {5, ItemFixedLineOutbound, "2"},
		{30, ItemInbound400Minimum, "1"}, {30, ItemRecordStorage, "10"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("daily lines\n got %+v\nwant %+v", got, want)
	}
}

func parseAmountPlaces(s string, places int32) (decimal.Decimal, error) {
	return parsePlain(s, places, false)
}

func TestMoneyGrammar(t *testing.T) {
	for _, tc := range []struct {
		parse func(string) (decimal.Decimal, error)
		in    string
		want  string // "" = refused
	}{
		{ParseAmount, "100.00", "100"}, {ParseAmount, " 12.3 ", "12.3"}, {ParseAmount, "1000000000.00", "1000000000"},
		{ParseAmount, "1000000000.01", ""}, {ParseAmount, "1e3", ""}, {ParseAmount, "1e5000", ""}, {ParseAmount, "NaN", ""},
		{ParseAmount, "¥10", ""}, {ParseAmount, "1,000", ""}, {ParseAmount, "-1", ""}, {ParseAmount, "+1", ""},
		{ParseAmount, ".5", ""}, {ParseAmount, "5.", ""}, {ParseAmount, "0.001", ""}, {ParseAmount, "0.100", "0.1"},
		{ParseAmount, "0." + strings.Repeat("0", 100), ""}, {ParseAmount, "Infinity", ""}, {ParseAmount, "0x10", ""},
		{ParseSignedAmount, "-10.00", "-10"}, {ParseSignedAmount, "-1000000000.01", ""}, {ParseSignedAmount, "--1", ""},
		{ParsePrice, "0.0499", "0.0499"}, {ParsePrice, "1000000", "1000000"}, {ParsePrice, "1000000.000001", ""},
		{ParsePrice, "5000000000000", ""}, {ParsePrice, "0.0000001", ""},
		{ParseRate, "0.8", "0.8"}, {ParseRate, "1", "1"}, {ParseRate, "0", ""}, {ParseRate, "1.0001", ""}, {ParseRate, "0.80001", ""},
	} {
		got, err := tc.parse(tc.in)
		if tc.want == "" {
			if ErrorCode(err) != EINVALID {
				t.Errorf("%q: want EINVALID, got %v (%s)", tc.in, err, got)
			}
			continue
		}
		if err != nil || !got.Equal(dec(tc.want)) {
			t.Errorf("%q: got %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestChargeAtTheBounds: the largest price over the longest call a
// deployment may allow stays exact in the per-call integer arithmetic.
func TestChargeAtTheBounds(t *testing.T) {
	minutes := CallMinutes(MaxCallSecondsLimit)
	micro := Micro(MaxPrice)
	if minutes <= 0 || micro <= 0 || micro > math.MaxInt64/minutes/4 {
		t.Fatalf("%d minutes × %d micro does not fit int64 with room for bands", minutes, micro)
	}
	if got := FromMicro(minutes * micro); !got.Equal(MaxPrice.Mul(decimal.NewFromInt(minutes))) {
		t.Fatalf("charge %s", got)
	}
}

func postpaidLines(t testing.TB, in *PostpaidInput) []Line {
	t.Helper()
	lines, err := PostpaidLines(in)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func storageLines(t testing.TB, in *PostpaidInput) []Line {
	t.Helper()
	lines, err := StorageLines(in)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}
