package world

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
)

// fanOut is the security finding's file: accounts, instances and numbers,
// each an anchor followed by 150 aliases of it, 151³ numbers once expanded.
func fanOut() string {
	aliases := func(name string) string { return strings.Repeat(", *"+name, 150) }
	return `accounts: [&a {uid: "1000000000000001", name: 杭州示例科技有限公司, kind: enterprise, credit_line: "0",
  recording_retention_months: 6, contract: {discount: "0.8", items: {FixedLineOutbound: "0.7"}, from: "2026-01", to: "2026-12"},
  instances: [&i {id: ccc-hz-001, mode: payg,
    numbers: [&n {number: "057188880001", kind: fixed, source: ccc, since: "2026-09-01T00:00:00+08:00", auto_renew: true}` +
		aliases("n") + `]}` + aliases("i") + `]}` + aliases("a") + "]\n"
}

func TestAliasFanOutRefused(t *testing.T) {
	src := fanOut()
	if len(src) < 2000 || len(src) > 3000 {
		t.Fatalf("the finding's file is %d bytes, want about 2.7 KB", len(src))
	}
	start := time.Now()
	w, probs := Parse([]byte(src))
	took := time.Since(start)
	if w != nil {
		t.Fatal("got a world")
	}
	if len(probs) != 1 {
		t.Fatalf("want one problem, got %d:\n%v", len(probs), probs)
	}
	p := probs[0]
	if !strings.HasPrefix(p.Path, "accounts[") ||
		p.Message != "aliases expand to more than 10000 nodes; write the file out without nested aliases" {
		t.Errorf("problem = %v", p)
	}
	// The finding took 38 s and 4.5 GB; the expansion stops at the budget.
	if took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	if n := len(probs.Error()); n > 200 {
		t.Errorf("the answer is %d bytes", n)
	}
}

func TestAliasFanOutThroughMergeKeys(t *testing.T) {
	// Each level merges the level below twice: 2^40 mappings once expanded.
	var b strings.Builder
	b.WriteString("accounts:\n  - &m0 {uid: \"1\", name: n}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - &m%d {<<: [*m%d, *m%d]}\n", i, i-1, i-1)
	}
	start := time.Now()
	_, probs := Parse([]byte(b.String()))
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "aliases expand to more than 10000 nodes") {
		t.Fatalf("problems:\n%v", probs)
	}
	if !strings.HasPrefix(probs[0].Path, "accounts[") {
		t.Errorf("path %q", probs[0].Path)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestAliasCycleRefused(t *testing.T) {
	for _, tc := range []struct{ src, path string }{
		{"accounts: [&a {uid: \"1\", name: n, <<: *a}]\n", "accounts[0]"},
		{"accounts: &l [*l]\n", "accounts[0]"},
		{"accounts: [{uid: \"1\", name: n, instances: &l [{id: i, mode: payg, numbers: *l}]}]\n", "accounts[0].instances[0].numbers"},
	} {
		w, probs := Parse([]byte(tc.src))
		if w != nil || len(probs) != 1 || probs[0].Path != tc.path || !strings.Contains(probs[0].Message, "refers to a node that contains it") {
			t.Errorf("%q: %v", tc.src, probs)
		}
	}
}

func TestAliasesWithinBudget(t *testing.T) {
	// A shared number anchor merged into two numbers, shared tiers and a
	// shared contract: ordinary use of aliases.
	w := mustParse(t, `
prices:
  - {item: CallCenterSoftware, mode: payg, tiers: &tiers [{upto: 100, price: "1"}, {price: "0.5"}]}
  - {item: CallCenterSoftware, mode: subscription, tiers: *tiers}
accounts:
  - uid: "1"
    name: a
    contract: &contract {discount: "0.9", items: {SipLine: "0.5"}}
    instances:
      - id: i-1
        mode: payg
        numbers:
          - &number {number: "057188880001", kind: fixed, source: ccc, auto_renew: true}
          - {<<: *number, number: "057188880002"}
          - {<<: *number, number: "057188880003"}
  - {uid: "2", name: b, contract: *contract}
`)
	if len(w.Prices) != 2 || len(w.Prices[1].Tiers) != 2 || w.Prices[1].Tiers[0].UpTo != 100 {
		t.Errorf("prices = %+v", w.Prices)
	}
	ns := w.Accounts[0].Instances[0].Numbers
	if len(ns) != 3 || ns[2].Number != "057188880003" || !ns[2].AutoRenew || ns[2].Source != callbill.SourceCCC {
		t.Errorf("numbers = %+v", ns)
	}
	if c := w.Accounts[1].Contract; c == nil || !c.Discount.Equal(dec("0.9")) {
		t.Errorf("shared contract = %+v", c)
	}
}

// TestAliasBudgetRule checks the budget's two sides: at least 10,000 nodes,
// and 10 times the nodes as written for larger files.
func TestAliasBudgetRule(t *testing.T) {
	// doc, list, anchored list, items, padding, aliases: each alias expands
	// to items+1 nodes.
	check := func(items, padding, aliases int) bool {
		src := "[&x [" + strings.Repeat("1,", items) + "]," + strings.Repeat("2,", padding) + strings.Repeat("*x,", aliases) + "]"
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		p := &parser{}
		ok := p.checkAliases(&doc)
		if !ok && (len(p.probs) != 1 || !strings.Contains(p.probs[0].Message, "aliases expand to more than")) {
			t.Errorf("problems %v", p.probs)
		}
		return ok
	}
	// 10 × 1000 = 10,000 nodes through aliases: at the minimum budget.
	if !check(999, 0, 10) {
		t.Error("10,000 nodes through aliases refused")
	}
	if check(999, 0, 11) {
		t.Error("11,000 nodes through aliases accepted in a file of about 1,000 nodes")
	}
	// 3,000 nodes as written allow about 30,000 through aliases.
	if !check(999, 2000, 30) {
		t.Error("30,000 nodes through aliases refused in a file of 3,033 nodes")
	}
	if check(999, 2000, 31) {
		t.Error("31,000 nodes through aliases accepted in a file of 3,034 nodes")
	}
}

func TestProblemsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("prices:\n")
	for range 500 {
		b.WriteString("  - {item: SipLine, price: cheap}\n")
	}
	w, probs := Parse([]byte(b.String()))
	if w == nil || len(w.Problems) != len(probs) {
		t.Fatal("the world does not carry its problems")
	}
	if len(probs) != 101 {
		t.Fatalf("%d problems, want 101", len(probs))
	}
	for i, p := range probs[:100] {
		if want := fmt.Sprintf("prices[%d].price", i); p.Path != want {
			t.Fatalf("problem %d at %s, want %s", i, p.Path, want)
		}
	}
	if last := probs[100]; last != (callbill.Problem{More: 400, Message: "and 400 more problems"}) {
		t.Errorf("last problem = %+v", last)
	}
}

func TestProblemsCappedKeepEarliest(t *testing.T) {
	// Problems arriving in reverse document order, many times the number
	// kept: the first 100 of the document are the ones listed, in order.
	p := &parser{}
	const n = 5000
	for i := n; i >= 1; i-- {
		p.add(&yaml.Node{Line: i, Column: 1}, fmt.Sprintf("line%d", i), "bad")
		if len(p.probs) > compactAt {
			t.Fatalf("%d problems kept", len(p.probs))
		}
	}
	// Same position: kept in the order added, late ones after.
	p.addAfter(&yaml.Node{Line: 1, Column: 1}, "after", "bad")
	p.add(&yaml.Node{Line: 1, Column: 1}, "second", "bad")
	probs := p.problems()
	if len(probs) != 101 {
		t.Fatalf("%d problems", len(probs))
	}
	want := []string{"line1", "second", "after", "line2", "line3"}
	for i, w := range want {
		if probs[i].Path != w {
			t.Errorf("problem %d is %s, want %s", i, probs[i].Path, w)
		}
	}
	if probs[99].Path != "line98" || probs[100].Message != fmt.Sprintf("and %d more problems", n+2-100) {
		t.Errorf("tail: %v, %v", probs[99], probs[100])
	}
}

func TestTextFields(t *testing.T) {
	long := func(n int) string { return strings.Repeat("1", n) }
	cases := []struct {
		name, src, path, msg string
	}{
		{"uid NUL", `accounts: [{uid: "1\0", name: n}]`, "accounts[0].uid", "contains a NUL byte"},
		{"name NUL", `accounts: [{uid: "1", name: "a\0b"}]`, "accounts[0].name", "contains a NUL byte"},
		{"instance id NUL", `accounts: [{uid: "1", name: n, instances: [{id: "i\0", mode: payg}]}]`, "accounts[0].instances[0].id", "contains a NUL byte"},
		{"number NUL", num(`{number: "1\0", kind: fixed, source: ccc}`), numPath + ".number", "contains a NUL byte"},
		{"tier NUL", num(`{number: "4001", kind: "400", source: ccc, tier: "VIP\0"}`), numPath + ".tier", "contains a NUL byte"},
		{"kind NUL", num(`{number: "1", kind: "fixed\0", source: ccc}`), numPath + ".kind", "contains a NUL byte"},
		{"topup id NUL", `topups: [{id: "T\0", account: "1", amount: "1", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].id", "contains a NUL byte"},
		{"topup account NUL", `topups: [{id: T, account: "\0", amount: "1", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].account", "contains a NUL byte"},
		{"purchase id NUL", `purchases: [{id: "P\0", account: "1", at: "2026-10-01T08:00:00+08:00", seats: {instance: i, count: 1, months: 1}}]`, "purchases[0].id", "contains a NUL byte"},
		{"seats instance NUL", buy(`seats: {instance: "i\0", count: 1, months: 1}`), "purchases[0].seats.instance", "contains a NUL byte"},
		{"amount NUL", `topups: [{id: T, account: "1", amount: "1\0", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].amount", "contains a NUL byte"},
		{"timezone NUL", `billing: {timezone: "UTC\0"}`, "billing.timezone", "contains a NUL byte"},
		{"NUL in a key", `accounts: [{uid: "1", name: n, "a\0b": 1}]`, `accounts[0]."a\x00b"`, "unknown field"},

		{"uid 129 bytes", `accounts: [{uid: "` + long(129) + `", name: n}]`, "accounts[0].uid", "is 129 bytes; at most 128 allowed"},
		{"instance id 129 bytes", `accounts: [{uid: "1", name: n, instances: [{id: "` + long(129) + `", mode: payg}]}]`, "accounts[0].instances[0].id", "is 129 bytes; at most 128 allowed"},
		{"number 129 bytes", num(`{number: "` + long(129) + `", kind: fixed, source: ccc}`), numPath + ".number", "is 129 bytes; at most 128 allowed"},
		{"topup id 129 bytes", `topups: [{id: "` + long(129) + `", account: "1", amount: "1", at: "2026-10-01T08:00:00+08:00"}]`, "topups[0].id", "is 129 bytes; at most 128 allowed"},
		{"purchase id 129 bytes", `purchases: [{id: "` + long(129) + `", account: "1", at: "2026-10-01T08:00:00+08:00", seats: {instance: i, count: 1, months: 1}}]`, "purchases[0].id", "is 129 bytes; at most 128 allowed"},
		{"rent number 129 bytes", buy(`number_rent: {number: "` + long(129) + `", months: 1}`), "purchases[0].number_rent.number", "is 129 bytes; at most 128 allowed"},
		{"name 258 bytes", `accounts: [{uid: "1", name: ` + strings.Repeat("杭", 86) + `}]`, "accounts[0].name", "is 258 bytes; at most 256 allowed"},

		// yaml.v3 refuses broken UTF-8 and control characters in the file
		// itself, and escapes of surrogates: a syntax problem, no path.
		{"raw broken UTF-8", "accounts: [{uid: \"1\", name: \"a\xffb\"}]", "", "not valid YAML: invalid leading UTF-8 octet"},
		{"raw NUL", "accounts: [{uid: \"1\", name: \"a\x00b\"}]", "", "not valid YAML: control characters are not allowed"},
		{"surrogate escape", `accounts: [{uid: "1", name: "a\ud800b"}]`, "", "not valid YAML: found invalid Unicode character escape code"},
		{"UTF-16 lone surrogate", "\xff\xfea\x00:\x00 \x00\x00\xd8\n\x00", "", "not valid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, probs := Parse([]byte(tc.src))
			// A syntax problem stops the reader: no world then.
			if syntax := strings.HasPrefix(tc.msg, "not valid YAML"); syntax && w != nil || !syntax && (w == nil || len(w.Problems) != len(probs)) {
				t.Errorf("world %v with problems %v", w != nil, probs)
			}
			if len(probs) != 1 && !strings.HasPrefix(tc.name, "NUL in a key") {
				t.Errorf("want one problem, got:\n%v", probs)
			}
			for _, p := range probs {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					if strings.IndexByte(p.String(), 0) >= 0 {
						t.Errorf("the problem carries a NUL: %q", p.String())
					}
					return
				}
			}
			t.Errorf("no problem %s: …%s…; got:\n%v", tc.path, tc.msg, probs)
		})
	}

	// At the limits exactly: fine.
	w := mustParse(t, `accounts: [{uid: "1", name: `+strings.Repeat("杭", 85)+"a"+`, instances: [{id: "`+strings.Repeat("i", 128)+`", mode: payg}]}]`)
	if len(w.Accounts[0].Name) != 256 || len(w.Accounts[0].Instances[0].ID) != 128 {
		t.Errorf("account = %+v", w.Accounts[0])
	}
	// "\xff" in a double-quoted scalar is the character ÿ, not a byte.
	w = mustParse(t, `accounts: [{uid: "1", name: "a\xffb"}]`)
	if w.Accounts[0].Name != "aÿb" {
		t.Errorf("name = %q", w.Accounts[0].Name)
	}
}

// TestBrokenUTF8Value covers what yaml.v3 does not let through today: a
// value with broken UTF-8 is refused at its path.
func TestBrokenUTF8Value(t *testing.T) {
	p := &parser{}
	o := &obj{p: p, path: "accounts[0]", vals: map[string]*yaml.Node{
		"name": {Kind: yaml.ScalarNode, Tag: "!!str", Value: "a\xffb"},
	}}
	if _, ok := o.text("name", true, "", maxNameLen); ok {
		t.Fatal("accepted")
	}
	probs := p.problems()
	if len(probs) != 1 || probs[0] != (callbill.Problem{Path: "accounts[0].name", Message: "is not valid UTF-8"}) {
		t.Errorf("problems = %v", probs)
	}
	if got := join("a", "b\xff"); got != `a."b\xff"` {
		t.Errorf("path with a broken key = %q", got)
	}
}

func TestMoneyGrammar(t *testing.T) {
	topup := func(amount string) string {
		return `topups: [{id: T, account: "1", amount: ` + amount + `, at: "2026-10-01T08:00:00+08:00"}]`
	}
	acct := func(field string) string { return `accounts: [{uid: "1", name: n, ` + field + `}]` }
	cases := []struct {
		name, src, path, msg string
	}{
		{"price 1e3", `prices: [{item: SipLine, price: 1e3}]`, "prices[0].price", `"1e3" is not a plain decimal number`},
		{"price 1e5000", `prices: [{item: SipLine, price: 1e5000}]`, "prices[0].price", `"1e5000" is not a plain decimal number`},
		{"price .nan", `prices: [{item: SipLine, price: .nan}]`, "prices[0].price", `".nan" is not a plain decimal number`},
		{"price .inf", `prices: [{item: SipLine, price: .inf}]`, "prices[0].price", "not a plain decimal number"},
		{"price yen", `prices: [{item: SipLine, price: ¥10}]`, "prices[0].price", `"¥10" is not a plain decimal number`},
		{"price too high", `prices: [{item: SipLine, price: 5000000000000}]`, "prices[0].price", "more than the largest unit price, 1000000"},
		{"price hex", `prices: [{item: SipLine, price: 0x10}]`, "prices[0].price", "not a plain decimal number"},
		{"price plus", `prices: [{item: SipLine, price: +1}]`, "prices[0].price", "not a plain decimal number"},
		{"tier price 1e3", `prices: [{item: CallCenterSoftware, tiers: [{price: 1e3}]}]`, "prices[0].tiers[0].price", "not a plain decimal number"},
		{"tier price too high", `prices: [{item: CallCenterSoftware, tiers: [{price: "1000000.000001"}]}]`, "prices[0].tiers[0].price", "more than the largest unit price"},
		{"amount too high", topup("1000000000.01"), "topups[0].amount", "more than the largest amount, 1000000000.00"},
		{"amount .nan", topup(".nan"), "topups[0].amount", "not a plain decimal number"},
		{"amount yen", topup(`"¥10"`), "topups[0].amount", "not a plain decimal number"},
		{"amount 1e3", topup("1e3"), "topups[0].amount", "not a plain decimal number"},
		{"amount thousands separator", topup(`"1,000"`), "topups[0].amount", "not a plain decimal number"},
		{"amount long zeros", topup(`"0.` + strings.Repeat("0", 5000) + `1"`), "topups[0].amount", "not a plain decimal number"},
		{"credit line 1e5000", acct("credit_line: 1e5000"), "accounts[0].credit_line", "not a plain decimal number"},
		{"credit line too high", acct("credit_line: 1000000000.01"), "accounts[0].credit_line", "more than the largest amount"},
		{"allowance .nan", acct("allowance: .nan"), "accounts[0].allowance", "not a plain decimal number"},
		{"low balance alert yen", acct("low_balance_alert: ¥10"), "accounts[0].low_balance_alert", "not a plain decimal number"},
		{"discount 1e-1", acct("contract: {discount: 1e-1}"), "accounts[0].contract.discount", "not a plain decimal number"},
		{"discount .nan", acct("contract: {discount: .nan}"), "accounts[0].contract.discount", "not a plain decimal number"},
		{"item rate 1e0", acct("contract: {items: {SipLine: 1e0}}"), "accounts[0].contract.items.SipLine", "not a plain decimal number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, probs := Parse([]byte(tc.src))
			if w == nil || len(w.Problems) != len(probs) {
				t.Errorf("the world does not carry its problems")
			}
			if len(probs) != 1 || probs[0].Path != tc.path || !strings.Contains(probs[0].Message, tc.msg) {
				t.Errorf("want one problem %s: …%s…; got:\n%v", tc.path, tc.msg, probs)
			}
			if len(probs) > 0 && len(probs[0].Message) > 300 {
				t.Errorf("message of %d bytes", len(probs[0].Message))
			}
		})
	}

	// The bounds themselves are fine, and !!int digit separators are read.
	w := mustParse(t, `
prices: [{item: SipLine, price: 1_000_000}, {item: FixedLineInbound, price: "0.000001"}]
accounts: [{uid: "1", name: n, credit_line: 1_000, allowance: "1000000000.00", low_balance_alert: 0, contract: {discount: 1}}]
topups: [{id: T, account: "1", amount: 1000000000, at: "2026-10-01T08:00:00+08:00"}]
`)
	eqDec(t, "price", w.Prices[0].Flat(), "1000000")
	eqDec(t, "small price", w.Prices[1].Flat(), "0.000001")
	eqDec(t, "credit line", w.Accounts[0].CreditLine, "1000")
	eqDec(t, "allowance", w.Accounts[0].Allowance, "1000000000")
	eqDec(t, "low balance alert", *w.Accounts[0].LowBalanceAlert, "0")
	eqDec(t, "discount", w.Accounts[0].Contract.Discount, "1")
	eqDec(t, "amount", w.TopUps[0].Amount, "1000000000")
}

func TestBillingSection(t *testing.T) {
	w := mustParse(t, "billing: {timezone: UTC, first_cycle: \"2026-01\", max_call_seconds: 7_200}\n")
	if w.FirstCycle != callbill.NewCycle(2026, time.January) || w.MaxCallSeconds != 7200 || w.Timezone != "UTC" {
		t.Errorf("billing = %v, %d, %q", w.FirstCycle, w.MaxCallSeconds, w.Timezone)
	}
	w = mustParse(t, "billing: {first_cycle: 2026-01, max_call_seconds: 2678400}\n")
	if w.FirstCycle != callbill.NewCycle(2026, time.January) || w.MaxCallSeconds != callbill.MaxCallSecondsLimit {
		t.Errorf("billing = %v, %d", w.FirstCycle, w.MaxCallSeconds)
	}
	w = mustParse(t, "billing: {timezone: UTC}\n")
	if w.FirstCycle != 0 || w.MaxCallSeconds != 0 {
		t.Errorf("unset billing = %v, %d", w.FirstCycle, w.MaxCallSeconds)
	}

	cases := []struct{ src, path, msg string }{
		{`first_cycle: "2026-13"`, "billing.first_cycle", `must be a month YYYY-MM, e.g. 2026-01, not "2026-13"`},
		{`first_cycle: "2026-1"`, "billing.first_cycle", "must be a month YYYY-MM"},
		{`first_cycle: 202601`, "billing.first_cycle", "must be a month YYYY-MM"},
		{`first_cycle: "2026-01-01"`, "billing.first_cycle", "must be a month YYYY-MM"},
		{`first_cycle: [2026]`, "billing.first_cycle", "must be a single value"},
		{`first_cycle: "0000-01"`, "billing.first_cycle", "must be a month from 1970-01 to 9999-12, not 0000-01"},
		{`first_cycle: "1969-12"`, "billing.first_cycle", "must be a month from 1970-01 to 9999-12"},
		{`max_call_seconds: 0`, "billing.max_call_seconds", "must be at least 1, got 0"},
		{`max_call_seconds: -60`, "billing.max_call_seconds", "must be at least 1"},
		{`max_call_seconds: 2678401`, "billing.max_call_seconds", "must be at most 2678400, got 2678401"},
		{`max_call_seconds: 99999999999999999999`, "billing.max_call_seconds", "must be at most 2678400"},
		{`max_call_seconds: 1.5`, "billing.max_call_seconds", "whole number"},
		{`max_call_seconds: 1e3`, "billing.max_call_seconds", "whole number"},
		{`max_call_seconds: day`, "billing.max_call_seconds", "whole number"},
		{`max_call_second: 60`, "billing.max_call_second", "unknown field; did you mean max_call_seconds?"},
		{`first_cylce: "2026-01"`, "billing.first_cylce", "unknown field; did you mean first_cycle?"},
	}
	for _, tc := range cases {
		w, probs := Parse([]byte("billing: {" + tc.src + "}\n"))
		if w == nil || len(w.Problems) != 1 || len(probs) != 1 || probs[0].Path != tc.path || !strings.Contains(probs[0].Message, tc.msg) {
			t.Errorf("%s: want %s: …%s…, got:\n%v", tc.src, tc.path, tc.msg, probs)
		}
	}
}

func TestBeforeFirstCycle(t *testing.T) {
	file := func(billing, at string) string {
		return "billing: {" + billing + "}\n" +
			`topups: [{id: T, account: "1", amount: "1", at: "` + at + `"}]` + "\n" +
			`purchases: [{id: P, account: "1", at: "` + at + `", seats: {instance: i, count: 1, months: 1}}]` + "\n"
	}
	// In the file's zone, the cycle starts at its midnight.
	sh := `timezone: Asia/Shanghai, first_cycle: "2026-01"`
	mustParse(t, file(sh, "2026-01-01T00:00:00+08:00"))
	mustParse(t, file(`first_cycle: "2026-01"`, "2027-03-01T00:00:00Z"))
	mustParse(t, file(`timezone: UTC`, "1999-01-01T00:00:00Z"))
	_, probs := Parse([]byte(file(sh, "2025-12-31T23:59:59+08:00")))
	want := "is before billing.first_cycle 2026-01: the cycle starts 2026-01-01T00:00:00+08:00 (Asia/Shanghai)"
	if len(probs) != 2 || probs[0] != (callbill.Problem{Path: "topups[0].at", Line: 2, Column: 49, Message: want}) ||
		probs[1] != (callbill.Problem{Path: "purchases[0].at", Line: 3, Column: 39, Message: want}) {
		t.Errorf("problems:\n%v", probs)
	}

	// Without a zone in the file the stored one applies: only what is
	// before the cycle in every zone is reported here.
	none := `first_cycle: "2026-01"`
	mustParse(t, file(none, "2025-12-31T10:00:00Z")) // 2026-01-01T00:00 at UTC+14
	_, probs = Parse([]byte(file(none, "2025-12-31T09:59:59Z")))
	want = "is before billing.first_cycle 2026-01: it is before 2026-01-01 in every time zone"
	if len(probs) != 2 || probs[0] != (callbill.Problem{Path: "topups[0].at", Line: 2, Column: 49, Message: want}) || probs[1].Path != "purchases[0].at" {
		t.Errorf("problems:\n%v", probs)
	}
}

func TestLongValuesQuotedShort(t *testing.T) {
	// A 60 KB value aliased many times must not make a 60 MB answer.
	big := strings.Repeat("x", 60_000)
	var b strings.Builder
	b.WriteString("accounts:\n  - {uid: &u \"" + big + "\", name: n}\n")
	for range 200 {
		b.WriteString("  - {uid: *u, name: n, kind: *u, *u: 1}\n")
	}
	_, probs := Parse([]byte(b.String()))
	if len(probs) != 101 {
		t.Errorf("%d problems", len(probs))
	}
	if n := len(probs.Error()); n > 101*500 {
		t.Errorf("the answer is %d bytes", n)
	}
}

func TestLongUnknownKeysCheap(t *testing.T) {
	// 2,500 unknown keys of 30 KB each: a suggestion ("did you mean …?")
	// is never worth comparing 30 KB with every known field.
	src := "accounts: [{? &k " + strings.Repeat("k", 30_000) + " : 1}" + strings.Repeat(", {? *k : 1}", 2500) + "]\n"
	start := time.Now()
	_, probs := Parse([]byte(src))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	// Each entry lacks its uid and name (at the entry's "{") and has an
	// unknown key (just after it).
	if len(probs) != 101 || !strings.HasPrefix(probs[2].Path, `accounts[0]."kkk`) || !strings.Contains(probs[2].Path, "…") ||
		!strings.HasPrefix(probs[2].Message, "unknown field") || probs[0].Path != "accounts[0].uid" {
		t.Errorf("problems: %d, first %v", len(probs), probs[:3])
	}
}

// TestParseFileIsBounded: a world file larger than callbill reads is one
// problem naming the limit, read no further.
func TestParseFileIsBounded(t *testing.T) {
	defer func(n int64) { maxFileBytes = n }(maxFileBytes)
	maxFileBytes = 64
	path := filepath.Join(t.TempDir(), "w.yaml")
	if err := os.WriteFile(path, []byte("accounts:\n"+strings.Repeat("  # a comment line\n", 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	w, ps := ParseFile(path)
	if w != nil || len(ps) != 1 || !strings.Contains(ps[0].Message, "larger than 64 bytes") {
		t.Fatalf("%v %v", w, ps)
	}
	maxFileBytes = 1 << 20
	if _, ps := ParseFile(path); len(ps) != 0 {
		t.Fatalf("under the limit: %v", ps)
	}
}
