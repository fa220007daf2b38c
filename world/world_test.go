package world

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/callbill/callbill"
)

// designExample is the example world file of the specification, docs/design.md, verbatim.
const designExample = `billing:
  timezone: Asia/Shanghai            # optional
prices:                              # optional overrides of the built-in book
  - {item: FixedLineOutbound, mode: payg, price: "0.15", from: "2026-01-01T00:00:00+08:00"}
  - {item: CallCenterSoftware, mode: payg, tiers: [{upto: 200000, price: "0.0499"}, {price: "0.0449"}]}
  - {item: CallCenterSoftware, mode: subscription, tiers: [{upto: 99, price: "199"}, {price: "179"}]}  # upto in seats
                                     # an override replaces the item's whole price (all its tiers) from ` + "`from`" + `
accounts:
  - uid: "1000000000000001"
    name: 杭州示例科技有限公司
    kind: enterprise                 # enterprise | individual
    credit_line: "0"                 # optional
    contract: {discount: "0.8", items: {FixedLineOutbound: "0.7"}, from: "2026-01", to: "2026-12"}
                                     # discount defaults to 1; items alone are fine; from/to optional
    recording_retention_months: 6
    instances:
      - id: ccc-hz-001
        mode: payg                   # payg | subscription
        numbers:
          - {number: "057188880001", kind: fixed, source: ccc}
          - {number: "4008001234", kind: "400", source: ccc, tier: 普通, since: "2026-09-01T00:00:00+08:00"}
          - {number: "02066660001", kind: fixed, source: third_party}
topups:
  - {id: T-1, account: "1000000000000001", amount: "1000.00", at: "2026-10-01T08:00:00+08:00"}
purchases:                           # each has an id: applying it again is one purchase
  - {id: P-1, account: "1000000000000001", at: "2026-10-01T09:00:00+08:00",
     voice_package: {type: fixed_outbound, minutes: 10000}}
  - {id: P-2, account: "1000000000000001", at: "2026-10-01T09:00:00+08:00",
     seats: {instance: ccc-hz-002, count: 10, months: 1}}
  - {id: P-3, account: "1000000000000001", at: "2026-10-01T09:00:00+08:00",
     number_rent: {number: "057188880001", months: 3}}
  - {id: P-4, account: "1000000000000001", at: "2026-10-01T09:00:00+08:00",
     sip_line: {instance: ccc-hz-001, lines: 1, years: 1}}
`

func mustParse(t *testing.T, src string) *callbill.World {
	t.Helper()
	w, probs := Parse([]byte(src))
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%v", probs)
	}
	if w == nil {
		t.Fatal("nil world without problems")
	}
	return w
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func at(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func eqDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func TestDesignExample(t *testing.T) {
	w := mustParse(t, designExample)

	if w.Timezone != "Asia/Shanghai" {
		t.Errorf("Timezone = %q", w.Timezone)
	}

	// Prices.
	if len(w.Prices) != 3 {
		t.Fatalf("%d prices, want 3", len(w.Prices))
	}
	p0 := w.Prices[0]
	if p0.Item != callbill.ItemFixedLineOutbound || p0.Mode != callbill.ModePayg || p0.Path != "prices[0]" {
		t.Errorf("prices[0] = %+v", p0)
	}
	if !p0.From.Equal(at(t, "2026-01-01T00:00:00+08:00")) {
		t.Errorf("prices[0].From = %v", p0.From)
	}
	if len(p0.Tiers) != 1 || p0.Tiers[0].UpTo != 0 {
		t.Fatalf("prices[0].Tiers = %+v, want one flat tier", p0.Tiers)
	}
	eqDec(t, "prices[0] price", p0.Flat(), "0.15")

	p1 := w.Prices[1]
	if p1.Item != callbill.ItemCallCenterSoftware || p1.Mode != callbill.ModePayg || !p1.From.IsZero() || p1.Path != "prices[1]" {
		t.Errorf("prices[1] = %+v", p1)
	}
	if len(p1.Tiers) != 2 || p1.Tiers[0].UpTo != 200000 || p1.Tiers[1].UpTo != 0 {
		t.Fatalf("prices[1].Tiers = %+v", p1.Tiers)
	}
	if p1.Tiers[0].Price.String() != "0.0499" || p1.Tiers[1].Price.String() != "0.0449" {
		t.Errorf("prices[1] tier prices = %s, %s", p1.Tiers[0].Price, p1.Tiers[1].Price)
	}
	p2 := w.Prices[2]
	if p2.Mode != callbill.ModeSubscription || len(p2.Tiers) != 2 || p2.Tiers[0].UpTo != 99 {
		t.Errorf("prices[2] = %+v", p2)
	}
	eqDec(t, "prices[2] tier 1", p2.Tiers[0].Price, "199")
	eqDec(t, "prices[2] tier 2", p2.Tiers[1].Price, "179")

	// Account.
	if len(w.Accounts) != 1 {
		t.Fatalf("%d accounts, want 1", len(w.Accounts))
	}
	a := w.Accounts[0]
	if a.UID != "1000000000000001" || a.Name != "杭州示例科技有限公司" || a.Kind != callbill.AccountEnterprise ||
		a.RecordingRetentionMonths != 6 {
		t.Errorf("account = %+v", a)
	}
	eqDec(t, "credit_line", a.CreditLine, "0")
	if a.Path != "accounts[0]" {
		t.Errorf("account path = %q", a.Path)
	}
	c := a.Contract
	if c == nil {
		t.Fatal("no contract")
	}
	eqDec(t, "discount", c.Discount, "0.8")
	eqDec(t, "FixedLineOutbound rate", c.Items[callbill.ItemFixedLineOutbound], "0.7")
	if len(c.Items) != 1 {
		t.Errorf("contract items = %v", c.Items)
	}
	if c.From != callbill.NewCycle(2026, time.January) || c.To != callbill.NewCycle(2026, time.December) {
		t.Errorf("contract from/to = %v/%v", c.From, c.To)
	}
	eqDec(t, "rate of FixedLineOutbound in 2026-10", c.RateFor(callbill.ItemFixedLineOutbound, callbill.NewCycle(2026, 10)), "0.7")
	eqDec(t, "rate of Inbound_400 in 2026-10", c.RateFor(callbill.ItemInbound400, callbill.NewCycle(2026, 10)), "0.8")

	if len(a.Instances) != 1 {
		t.Fatalf("%d instances, want 1", len(a.Instances))
	}
	in := a.Instances[0]
	if in.ID != "ccc-hz-001" || in.Account != a.UID || in.Mode != callbill.ModePayg || len(in.Numbers) != 3 {
		t.Fatalf("instance = %+v", in)
	}
	n0, n1, n2 := in.Numbers[0], in.Numbers[1], in.Numbers[2]
	if n0.Number != "057188880001" || n0.Kind != callbill.NumberFixed || n0.Source != callbill.SourceCCC ||
		n0.Tier != "" || !n0.Since.IsZero() || !n0.Until.IsZero() || n0.Instance != "ccc-hz-001" {
		t.Errorf("number 0 = %+v", n0)
	}
	if n1.Number != "4008001234" || n1.Kind != callbill.Number400 || n1.Source != callbill.SourceCCC ||
		n1.Tier != "普通" || n1.Instance != "ccc-hz-001" || !n1.Until.IsZero() {
		t.Errorf("number 1 = %+v", n1)
	}
	if !n1.Since.Equal(at(t, "2026-09-01T00:00:00+08:00")) {
		t.Errorf("number 1 since = %v", n1.Since)
	}
	if n2.Number != "02066660001" || n2.Source != callbill.SourceThirdParty {
		t.Errorf("number 2 = %+v", n2)
	}

	// Top-ups.
	if len(w.TopUps) != 1 {
		t.Fatalf("%d top-ups", len(w.TopUps))
	}
	tu := w.TopUps[0]
	if tu.ID != "T-1" || tu.Account != a.UID || tu.Path != "topups[0]" || !tu.At.Equal(at(t, "2026-10-01T08:00:00+08:00")) {
		t.Errorf("top-up = %+v", tu)
	}
	eqDec(t, "top-up amount", tu.Amount, "1000")

	// Purchases.
	if len(w.Purchases) != 4 {
		t.Fatalf("%d purchases", len(w.Purchases))
	}
	want := []callbill.Purchase{
		{ID: "P-1", Kind: callbill.PurchaseVoicePackage, PackageType: callbill.PackageFixedOutbound, PackageMinutes: 10000, Path: "purchases[0]"},
		{ID: "P-2", Kind: callbill.PurchaseSeats, Instance: "ccc-hz-002", Count: 10, Months: 1, Path: "purchases[1]"},
		{ID: "P-3", Kind: callbill.PurchaseNumberRent, Number: "057188880001", Months: 3, Path: "purchases[2]"},
		{ID: "P-4", Kind: callbill.PurchaseSipLine, Instance: "ccc-hz-001", Count: 1, Years: 1, Path: "purchases[3]"},
	}
	for i, wp := range want {
		wp.Account = a.UID
		wp.At = at(t, "2026-10-01T09:00:00+08:00")
		got := w.Purchases[i]
		if !got.At.Equal(wp.At) {
			t.Errorf("purchase %d at = %v", i, got.At)
		}
		got.At = wp.At
		if got != wp {
			t.Errorf("purchase %d =\n %+v, want\n %+v", i, got, wp)
		}
	}
}

func TestEmptyWorld(t *testing.T) {
	for _, src := range []string{"", "\n", "# nothing yet\n", "---\n", "~\n", "billing:\nprices:\naccounts: []\n"} {
		w := mustParse(t, src)
		if w.Timezone != "" || len(w.Prices)+len(w.Accounts)+len(w.TopUps)+len(w.Purchases) != 0 || len(w.Problems) != 0 {
			t.Errorf("%q: not an empty world: %+v", src, w)
		}
	}
}

func TestDefaultsAndNormalization(t *testing.T) {
	w := mustParse(t, `
accounts:
  - uid: 1000000000000002          # an unquoted YAML integer
    name: 张三
    kind: individual
    credit_line: 1000.10
    contract: {items: {Inbound_400: 0.95}}
    instances:
      - id: ccc-sh-001
        mode: subscription
        numbers:
          - {number: "0571-8888 0002", kind: 400, source: ccc, tier: VIP, since: "2026-01-01T00:00:00.5Z", until: "2027-01-01T00:00:00+08:00"}
          - {number: "+86 21 6666 0001", kind: fixed, source: own}
  - uid: "7"
    name: defaults
`)
	a := w.Accounts[0]
	if a.UID != "1000000000000002" || a.Kind != callbill.AccountIndividual {
		t.Errorf("account = %+v", a)
	}
	eqDec(t, "credit_line", a.CreditLine, "1000.10")
	eqDec(t, "default discount", a.Contract.Discount, "1")
	eqDec(t, "Inbound_400 rate", a.Contract.Items[callbill.ItemInbound400], "0.95")
	if a.Contract.From != 0 || a.Contract.To != 0 {
		t.Errorf("open contract has from/to %v/%v", a.Contract.From, a.Contract.To)
	}
	n := a.Instances[0].Numbers[0]
	if n.Number != "057188880002" || n.Kind != callbill.Number400 || n.Tier != "VIP" {
		t.Errorf("number = %+v", n)
	}
	if !n.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC)) {
		t.Errorf("fractional since = %v", n.Since)
	}
	if got := a.Instances[0].Numbers[1].Number; got != "862166660001" {
		t.Errorf("own number = %q", got)
	}
	d := w.Accounts[1]
	if d.Kind != callbill.AccountEnterprise || d.RecordingRetentionMonths != 6 || !d.CreditLine.IsZero() ||
		d.Contract != nil || len(d.Instances) != 0 {
		t.Errorf("defaults = %+v", d)
	}
	if d.Path != "accounts[1]" {
		t.Errorf("account path = %q", d.Path)
	}
}

func TestYAMLNumbersStayExact(t *testing.T) {
	w := mustParse(t, `
prices:
  - {item: CallCenterSoftware, mode: payg, tiers: [{upto: 200000, price: 0.0499}, {price: 0.0449}]}
  - {item: RecordStorage, price: 0.148}
  - {item: FixedLineOutbound, price: 0.1}
accounts:
  - {uid: "1", name: n, credit_line: 0.30, contract: {discount: 0.7777, items: {SipLine: 0.9}}}
topups:
  - {id: T-1, account: 1, amount: 0.10, at: 2026-10-01T08:00:00+08:00}
`)
	if got := w.Prices[0].Tiers[0].Price.String(); got != "0.0499" {
		t.Errorf("0.0499 became %s", got)
	}
	if !w.Prices[0].Tiers[0].Price.Equal(dec("0.0499")) || !w.Prices[0].Tiers[1].Price.Equal(dec("0.0449")) {
		t.Errorf("tiers = %+v", w.Prices[0].Tiers)
	}
	if callbill.Micro(w.Prices[0].Tiers[0].Price) != 49900 {
		t.Errorf("micro = %d", callbill.Micro(w.Prices[0].Tiers[0].Price))
	}
	eqDec(t, "0.148", w.Prices[1].Flat(), "0.148")
	eqDec(t, "0.1", w.Prices[2].Flat(), "0.1")
	if w.Prices[2].Mode != "" {
		t.Errorf("mode = %q, want both", w.Prices[2].Mode)
	}
	eqDec(t, "credit 0.30", w.Accounts[0].CreditLine, "0.3")
	eqDec(t, "discount", w.Accounts[0].Contract.Discount, "0.7777")
	eqDec(t, "SipLine rate", w.Accounts[0].Contract.Items[callbill.ItemSipLine], "0.9")
	eqDec(t, "amount", w.TopUps[0].Amount, "0.1")
	if w.TopUps[0].Account != "1" {
		t.Errorf("account = %q", w.TopUps[0].Account)
	}
}

// ok is a valid account to embed in bad inputs.
const okAccount = `{uid: "1", name: n, instances: [{id: i-1, mode: payg}]}`

func TestBadInputs(t *testing.T) {
	// Cases where the mistake rightly causes a second problem too.
	more := map[string]bool{"tier unknown field": true, "purchase unknown field": true}
	cases := []struct {
		name, src, path, msg string
	}{
		{"yaml syntax", "accounts: [", "", "not valid YAML"},
		{"root not a mapping", "- a\n- b\n", "", "must be a mapping"},
		{"two documents", "billing: {}\n---\naccounts: []\n", "", "one YAML document"},
		{"unknown top-level", "acounts: []\n", "acounts", "unknown field; did you mean accounts?"},
		{"unknown top-level far", "zzz: 1\n", "zzz", "unknown field"},
		{"section not a list", "accounts: {uid: 1}\n", "accounts", "must be a list"},

		{"bad timezone", "billing: {timezone: Asia/Shanghia}\n", "billing.timezone", "unknown time zone"},
		{"local timezone", "billing: {timezone: Local}\n", "billing.timezone", "Local"},
		{"billing unknown", "billing: {tz: UTC}\n", "billing.tz", "unknown field"},

		{"price item", `prices: [{item: Foo, price: "1"}]`, "prices[0].item", "must be one of CallCenterSoftware, FixedLineInbound, FixedLineOutbound, Inbound_400, RecordStorage, NumberRent, SipLine"},
		{"price item not priced", `prices: [{item: VoicePackage, price: "1"}]`, "prices[0].item", "must be one of"},
		{"price item missing", `prices: [{price: "1"}]`, "prices[0].item", "required"},
		{"price mode", `prices: [{item: SipLine, mode: monthly, price: "1"}]`, "prices[0].mode", "must be payg or subscription"},
		{"price and tiers", `prices: [{item: CallCenterSoftware, price: "1", tiers: [{price: "1"}]}]`, "prices[0].tiers", "either price or tiers"},
		{"no price", `prices: [{item: SipLine}]`, "prices[0]", "needs a price"},
		{"tiers on flat item", `prices: [{item: FixedLineInbound, tiers: [{price: "1"}]}]`, "prices[0].tiers", "only CallCenterSoftware"},
		{"tier upto not increasing", `prices: [{item: CallCenterSoftware, tiers: [{upto: 10, price: "1"}, {upto: 10, price: "1"}, {price: "1"}]}]`, "prices[0].tiers[1].upto", "more than the previous tier's upto (10)"},
		{"tier upto missing", `prices: [{item: CallCenterSoftware, tiers: [{price: "1"}, {price: "1"}]}]`, "prices[0].tiers[0].upto", "required on every tier but the last"},
		{"last tier with upto", `prices: [{item: CallCenterSoftware, tiers: [{upto: 10, price: "1"}, {upto: 20, price: "1"}]}]`, "prices[0].tiers[1].upto", "last tier has no upto"},
		{"tier upto zero", `prices: [{item: CallCenterSoftware, tiers: [{upto: 0, price: "1"}, {price: "1"}]}]`, "prices[0].tiers[0].upto", "at least 1"},
		{"tier price missing", `prices: [{item: CallCenterSoftware, tiers: [{upto: 5}, {price: "1"}]}]`, "prices[0].tiers[0].price", "required"},
		{"empty tiers", `prices: [{item: CallCenterSoftware, tiers: []}]`, "prices[0].tiers", "at least one tier"},
		{"tier unknown field", `prices: [{item: CallCenterSoftware, tiers: [{up_to: 5, price: "1"}, {price: "1"}]}]`, "prices[0].tiers[0].up_to", "unknown field; did you mean upto?"},
		{"price negative", `prices: [{item: SipLine, price: "-1"}]`, "prices[0].price", "no exponent, sign or currency symbol"},
		{"price 7 decimals", `prices: [{item: SipLine, price: 0.1234567}]`, "prices[0].price", "more than 6 decimals"},
		{"price not a number", `prices: [{item: SipLine, price: cheap}]`, "prices[0].price", "decimal number"},
		{"price exponent", `prices: [{item: SipLine, price: 1e3}]`, "prices[0].price", "decimal number"},
		{"price is a list", `prices: [{item: SipLine, price: [1]}]`, "prices[0].price", "single value"},
		{"price from no offset", `prices: [{item: SipLine, price: "1", from: "2026-01-01T00:00:00"}]`, "prices[0].from", "must be RFC 3339 with an offset, e.g. 2026-10-01T08:00:00+08:00"},
		{"price from date only", `prices: [{item: SipLine, price: "1", from: 2026-01-01}]`, "prices[0].from", "RFC 3339"},
		{"duplicate price", `prices: [{item: SipLine, price: "1"}, {item: SipLine, price: "2"}]`, "prices[1]", "duplicates prices[0]"},
		{"empty price entry", "prices:\n  -\n", "prices[0]", "empty entry"},

		{"uid missing", `accounts: [{name: n}]`, "accounts[0].uid", "required"},
		{"uid not digits", `accounts: [{uid: "12a", name: n}]`, "accounts[0].uid", "1 to 32 digits"},
		{"uid too long", `accounts: [{uid: "123456789012345678901234567890123", name: n}]`, "accounts[0].uid", "1 to 32 digits"},
		{"uid duplicate", "accounts: [" + okAccount + `, {uid: "1", name: m}]`, "accounts[1].uid", "duplicate uid 1; the account is already declared at accounts[0]"},
		{"name missing", `accounts: [{uid: "1"}]`, "accounts[0].name", "required"},
		{"name empty", `accounts: [{uid: "1", name: ""}]`, "accounts[0].name", "required"},
		{"account kind", `accounts: [{uid: "1", name: n, kind: company}]`, "accounts[0].kind", "must be enterprise or individual"},
		{"credit line 3 decimals", `accounts: [{uid: "1", name: n, credit_line: "1.005"}]`, "accounts[0].credit_line", "more than 2 decimals"},
		{"credit line negative", `accounts: [{uid: "1", name: n, credit_line: -5}]`, "accounts[0].credit_line", "no exponent, sign or currency symbol"},
		{"retention 0", `accounts: [{uid: "1", name: n, recording_retention_months: 0}]`, "accounts[0].recording_retention_months", "at least 1"},
		{"retention 121", `accounts: [{uid: "1", name: n, recording_retention_months: 121}]`, "accounts[0].recording_retention_months", "at most 120"},
		{"retention fraction", `accounts: [{uid: "1", name: n, recording_retention_months: 1.5}]`, "accounts[0].recording_retention_months", "whole number"},
		{"account unknown field", `accounts: [{uid: "1", name: n, instnces: []}]`, "accounts[0].instnces", "unknown field; did you mean instances?"},
		{"duplicate field", `accounts: [{uid: "1", name: n, name: m}]`, "accounts[0].name", "duplicate field"},

		{"discount 0", `accounts: [{uid: "1", name: n, contract: {discount: 0}}]`, "accounts[0].contract.discount", "more than 0 and at most 1"},
		{"discount above 1", `accounts: [{uid: "1", name: n, contract: {discount: "1.2"}}]`, "accounts[0].contract.discount", "more than 0 and at most 1"},
		{"discount 5 decimals", `accounts: [{uid: "1", name: n, contract: {discount: "0.12345"}}]`, "accounts[0].contract.discount", "more than 4 decimals"},
		{"contract item rate", `accounts: [{uid: "1", name: n, contract: {items: {FixedLineOutbound: "1.5"}}}]`, "accounts[0].contract.items.FixedLineOutbound", "more than 0 and at most 1"},
		{"contract item rate missing", `accounts: [{uid: "1", name: n, contract: {items: {FixedLineOutbound: }}}]`, "accounts[0].contract.items.FixedLineOutbound", "required"},
		{"contract unknown item", `accounts: [{uid: "1", name: n, contract: {items: {FixedLineOutbund: "0.5"}}}]`, "accounts[0].contract.items.FixedLineOutbund", "not a billing item"},
		{"contract from", `accounts: [{uid: "1", name: n, contract: {from: "2026-1"}}]`, "accounts[0].contract.from", "YYYY-MM"},
		{"contract to before from", `accounts: [{uid: "1", name: n, contract: {from: "2026-05", to: "2026-04"}}]`, "accounts[0].contract.to", "must not be before from (2026-05)"},
		{"contract unknown field", `accounts: [{uid: "1", name: n, contract: {rate: "0.8"}}]`, "accounts[0].contract.rate", "unknown field"},
		{"contract not a mapping", `accounts: [{uid: "1", name: n, contract: "0.8"}]`, "accounts[0].contract", "must be a mapping"},

		{"instance id missing", `accounts: [{uid: "1", name: n, instances: [{mode: payg}]}]`, "accounts[0].instances[0].id", "required"},
		{"instance id spaces", `accounts: [{uid: "1", name: n, instances: [{id: "a b", mode: payg}]}]`, "accounts[0].instances[0].id", "without spaces"},
		{"instance id duplicate across accounts", "accounts: [" + okAccount + `, {uid: "2", name: m, instances: [{id: i-1, mode: payg}]}]`, "accounts[1].instances[0].id", "duplicate instance id i-1; already declared at accounts[0].instances[0]"},
		{"instance mode missing", `accounts: [{uid: "1", name: n, instances: [{id: i}]}]`, "accounts[0].instances[0].mode", "required: payg or subscription"},
		{"instance mode bad", `accounts: [{uid: "1", name: n, instances: [{id: i, mode: monthly}]}]`, "accounts[0].instances[0].mode", "must be payg or subscription"},
		{"instances not a list", `accounts: [{uid: "1", name: n, instances: {id: i}}]`, "accounts[0].instances", "must be a list"},

		{"number missing", num(`{kind: fixed, source: ccc}`), numPath + ".number", "required"},
		{"number without digits", num(`{number: "abc", kind: fixed, source: ccc}`), numPath + ".number", "digits"},
		{"number kind", num(`{number: "1", kind: mobile, source: ccc}`), numPath + ".kind", "must be fixed or 400"},
		{"number kind missing", num(`{number: "1", source: ccc}`), numPath + ".kind", "required"},
		{"number source", num(`{number: "1", kind: fixed, source: telecom}`), numPath + ".source", "must be one of ccc, third_party, own"},
		{"400 tier missing", num(`{number: "4001", kind: "400", source: ccc}`), numPath + ".tier", "普通, 优选, 精选, 金牌, 白金, VIP, VVIP"},
		{"400 tier unknown", num(`{number: "4001", kind: 400, source: ccc, tier: gold}`), numPath + ".tier", "must be one of 普通, 优选, 精选, 金牌, 白金, VIP, VVIP"},
		{"tier on fixed", num(`{number: "1", kind: fixed, source: ccc, tier: VIP}`), numPath + ".tier", "only a CCC 400 number"},
		{"tier on third-party 400", num(`{number: "4001", kind: "400", source: third_party, tier: VIP}`), numPath + ".tier", "only a CCC 400 number"},
		{"since without offset", num(`{number: "1", kind: fixed, source: ccc, since: "2026-09-01T00:00:00"}`), numPath + ".since", "with an offset"},
		{"until not after since", num(`{number: "1", kind: fixed, source: ccc, since: "2026-09-01T00:00:00+08:00", until: "2026-08-31T16:00:00Z"}`), numPath + ".until", "must be after since"},
		{"number twice on an instance", num(`{number: "1", kind: fixed, source: ccc}, {number: "(1)", kind: fixed, source: own}`), "accounts[0].instances[0].numbers[1].number", "number 1 is already declared at accounts[0].instances[0].numbers[0]"},
		{"number on two instances", `accounts: [{uid: "1", name: n, instances: [
			{id: a, mode: payg, numbers: [{number: "0571 1", kind: fixed, source: ccc}]},
			{id: b, mode: payg, numbers: [{number: "05711", kind: fixed, source: ccc}]}]}]`,
			"accounts[0].instances[1].numbers[0].number", "already declared at accounts[0].instances[0].numbers[0]"},
		{"number unknown field", num(`{number: "1", kind: fixed, source: ccc, since_: "x"}`), numPath + ".since_", "unknown field; did you mean since?"},

		{"topup id missing", `topups: [{account: "1", amount: "1", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].id", "required"},
		{"topup id duplicate", `topups: [{id: T, account: "1", amount: "1", at: "2026-10-01T08:00:00+08:00"}, {id: T, account: "1", amount: "1", at: "2026-10-01T08:00:00+08:00"}]`, "topups[1].id", "duplicate top-up id T; already used at topups[0]"},
		{"topup account missing", `topups: [{id: T, amount: "1", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].account", "required"},
		{"topup account bad", `topups: [{id: T, account: acme, amount: "1", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].account", "1 to 32 digits"},
		{"topup amount zero", `topups: [{id: T, account: "1", amount: "0", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].amount", "more than 0"},
		{"topup amount fen", `topups: [{id: T, account: "1", amount: 10.001, at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].amount", "more than 2 decimals"},
		{"topup at missing", `topups: [{id: T, account: "1", amount: "1"}]`, "topups[0].at", "required"},
		{"topup at bad", `topups: [{id: T, account: "1", amount: "1", at: "yesterday"}]`, "topups[0].at", "RFC 3339"},

		{"purchase nothing", `purchases: [{id: P, account: "1", at: "2026-10-01T08:00:00+08:00"}]`, "purchases[0]", "one of voice_package, seats, number_rent, sip_line"},
		{"purchase two things", `purchases: [{id: P, account: "1", at: "2026-10-01T08:00:00+08:00", seats: {instance: i, count: 1, months: 1}, sip_line: {instance: i, lines: 1, years: 1}}]`, "purchases[0].sip_line", "only one of"},
		{"purchase id duplicate", `purchases: [` + seats + `, ` + seats + `]`, "purchases[1].id", "duplicate purchase id P; already used at purchases[0]"},
		{"purchase unknown field", `purchases: [{id: P, account: "1", at: "2026-10-01T08:00:00+08:00", seat: {instance: i, count: 1, months: 1}}]`, "purchases[0].seat", "unknown field; did you mean seats?"},
		{"package type", pkg(`{type: outbound, minutes: 10000}`), "purchases[0].voice_package.type", "must be one of fixed_inbound, fixed_outbound, inbound_400"},
		{"package size", pkg(`{type: inbound_400, minutes: 50000}`), "purchases[0].voice_package.minutes", "must be one of 10000, 30000, 100000, 300000, 1000000 for inbound_400"},
		{"package size missing", pkg(`{type: fixed_inbound}`), "purchases[0].voice_package.minutes", "10000, 30000, 50000, 100000, 500000, 1000000"},
		{"package minutes string", pkg(`{type: fixed_inbound, minutes: lots}`), "purchases[0].voice_package.minutes", "whole number"},
		{"seats count 0", buy(`seats: {instance: i, count: 0, months: 1}`), "purchases[0].seats.count", "at least 1"},
		{"seats months fraction", buy(`seats: {instance: i, count: 1, months: 1.5}`), "purchases[0].seats.months", "whole number"},
		{"seats months negative", buy(`seats: {instance: i, count: 1, months: -1}`), "purchases[0].seats.months", "at least 1"},
		{"seats instance missing", buy(`seats: {count: 1, months: 1}`), "purchases[0].seats.instance", "required"},
		{"number rent months", buy(`number_rent: {number: "1", months: "x"}`), "purchases[0].number_rent.months", "whole number"},
		{"number rent number", buy(`number_rent: {number: "-", months: 1}`), "purchases[0].number_rent.number", "digits"},
		{"sip lines 0", buy(`sip_line: {instance: i, lines: 0, years: 1}`), "purchases[0].sip_line.lines", "at least 1"},
		{"sip years huge", buy(`sip_line: {instance: i, lines: 1, years: 99999999999999999999}`), "purchases[0].sip_line.years", "at most"},
		{"purchase kind not a mapping", buy(`seats: 10`), "purchases[0].seats", "must be a mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, probs := Parse([]byte(tc.src))
			if w != nil && len(w.Problems) != len(probs) {
				t.Errorf("got a world without its problems %v", probs)
			}
			if len(probs) != 1 && !more[tc.name] {
				t.Errorf("want exactly one problem, got %d:\n%v", len(probs), probs)
			}
			for _, p := range probs {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					return
				}
			}
			t.Errorf("no problem %s: …%s…; got:\n%v", tc.path, tc.msg, probs)
		})
	}
}

const numPath = "accounts[0].instances[0].numbers[0]"

func num(numbers string) string {
	return `accounts: [{uid: "1", name: n, instances: [{id: i, mode: payg, numbers: [` + numbers + `]}]}]`
}

const seats = `{id: P, account: "1", at: "2026-10-01T08:00:00+08:00", seats: {instance: i, count: 1, months: 1}}`

func buy(what string) string {
	return `purchases: [{id: P, account: "1", at: "2026-10-01T08:00:00+08:00", ` + what + `}]`
}

func pkg(vp string) string { return buy("voice_package: " + vp) }

func TestManyProblemsInDocumentOrder(t *testing.T) {
	src := `billing:
  timezone: Nowhere/City
prices:
  - {item: SipLine, price: "1.1234567"}
accounts:
  - uid: "1"
    name: 杭州
    kind: company
    contract: {discount: "0", items: {Bogus: "0.5"}}
    instances:
      - id: ccc-1
        mode: payg
        numbers:
          - {number: "4001", kind: "400", source: ccc}
  - uid: "1"
    instances:
      - {id: ccc-1, mode: payg}
topups:
  - {id: T-1, account: "1", amount: "-3", at: "2026-10-01"}
purchases:
  - {id: P-1, account: "1", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 12345}}
  - {id: P-1, account: "1", at: "2026-10-01T09:00:00+08:00", seats: {instance: ccc-1, count: 0, months: 1}}
colour: blue
`
	w, probs := Parse([]byte(src))
	if w == nil || len(w.Problems) != len(probs) {
		t.Error("the world does not carry its problems")
	}
	want := []string{
		"billing.timezone",
		"prices[0].price",
		"accounts[0].kind",
		"accounts[0].contract.discount",
		"accounts[0].contract.items.Bogus",
		"accounts[0].instances[0].numbers[0].tier",
		"accounts[1].name", // a missing field is where its mapping starts
		"accounts[1].uid",
		"accounts[1].instances[0].id",
		"topups[0].amount",
		"topups[0].at",
		"purchases[0].voice_package.minutes",
		"purchases[1].id",
		"purchases[1].seats.count",
		"colour",
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.Path)
		if p.Message == "" {
			t.Errorf("%s: empty message", p.Path)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problem paths:\n%s\nwant:\n%s\n\nall:\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"), probs)
	}
	// Problems print as "path: message", one per line.
	if !strings.Contains(probs.Error(), "colour: unknown field") {
		t.Errorf("Error() = %s", probs.Error())
	}
}

func TestUnknownKeysEverywhere(t *testing.T) {
	src := `
billing: {timezone: UTC, currency: CNY}
prices:
  - {item: SipLine, price: "1", note: x}
accounts:
  - uid: "1"
    name: n
    instnces: []
    contract: {discount: "0.9", until: "2026-12"}
    instances:
      - {id: i, mode: payg, region: hz, numbers: [{number: "1", kind: fixed, source: ccc, tag: x}]}
topups:
  - {id: T, account: "1", amount: "1", at: "2026-10-01T08:00:00+08:00", memo: x}
purchases:
  - {id: P, account: "1", at: "2026-10-01T08:00:00+08:00", seats: {instance: i, count: 1, months: 1, tier: x}}
extra: {}
`
	_, probs := Parse([]byte(src))
	want := map[string]bool{
		"billing.currency":                        true,
		"prices[0].note":                          true,
		"accounts[0].instnces":                    true,
		"accounts[0].contract.until":              true,
		"accounts[0].instances[0].region":         true,
		"accounts[0].instances[0].numbers[0].tag": true,
		"topups[0].memo":                          true,
		"purchases[0].seats.tier":                 true,
		"extra":                                   true,
	}
	if len(probs) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(probs), len(want), probs)
	}
	for _, p := range probs {
		if !want[p.Path] || !strings.HasPrefix(p.Message, "unknown field") {
			t.Errorf("unexpected problem %v", p)
		}
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	w := mustParse(t, `
accounts:
  - uid: "1"
    name: n
    instances:
      - id: i
        mode: payg
        numbers:
          - &fixed {number: "1", kind: fixed, source: ccc}
          - {<<: *fixed, number: "2"}
          - {<<: [*fixed], number: "3", source: own}
`)
	ns := w.Accounts[0].Instances[0].Numbers
	if len(ns) != 3 || ns[1].Number != "2" || ns[1].Kind != callbill.NumberFixed || ns[2].Source != callbill.SourceOwn {
		t.Errorf("numbers = %+v", ns)
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(f, []byte(designExample), 0o600); err != nil {
		t.Fatal(err)
	}
	w, probs := ParseFile(f)
	if len(probs) != 0 || w == nil || len(w.Accounts) != 1 {
		t.Fatalf("ParseFile: %v, %v", w, probs)
	}
	w, probs = ParseFile(filepath.Join(dir, "missing.yaml"))
	if w != nil || len(probs) != 1 || probs[0].Path != "" || !strings.Contains(probs[0].Message, "missing.yaml") {
		t.Errorf("missing file: %v, %v", w, probs)
	}
}
