package provision

import (
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/world"
)

// stored is what the store holds in these tests: account 1 with a payg and
// a subscription instance and three numbers.
func stored() map[string]*ledger.Account {
	return map[string]*ledger.Account{"1": {Account: callbill.Account{UID: "1", Instances: []callbill.Instance{
		{ID: "i-payg", Account: "1", Mode: callbill.ModePayg, Numbers: []callbill.Number{
			{Number: "0571001", Kind: callbill.NumberFixed, Source: callbill.SourceCCC},
			{Number: "0571002", Kind: callbill.NumberFixed, Source: callbill.SourceThirdParty},
		}},
		{ID: "i-sub", Account: "1", Mode: callbill.ModeSubscription, Numbers: []callbill.Number{
			{Number: "4000001", Kind: callbill.Number400, Source: callbill.SourceCCC, Tier: "普通"},
		}},
	}}}}
}

// check runs the store-side checks that need no transaction: ownership,
// then every reference of the top-ups and purchases against the view.
func check(t *testing.T, src string) (*apply, callbill.Problems) {
	t.Helper()
	w, _ := world.Parse([]byte(src))
	if w == nil {
		t.Fatalf("not YAML: %s", src)
	}
	a := &apply{w: w, refusedInst: map[*callbill.Instance]bool{}, refusedNum: map[*callbill.Number]bool{}, refused: map[string]bool{}}
	s := stored()
	a.ownership(s)
	a.references(a.view(s))
	return a, callbill.MergeProblems(a.problems)
}

// Every kind of reference a world file makes is checked against the file
// and the store: a top-up's and a purchase's account, a seat's and a SIP
// line's instance (of that account; seats a subscription one), a rented
// number (of that account, CCC fixed), and who owns an instance and a
// number. Each problem is at the line of the field to change.
func TestReferencesOfEveryKind(t *testing.T) {
	src := `accounts:
  - uid: "2"
    name: b
    instances:
      - id: i-payg
        mode: payg
      - id: i-new
        mode: subscription
        numbers:
          - {number: "0571002", kind: fixed, source: ccc}
          - {number: "0571009", kind: fixed, source: ccc}
topups:
  - {id: T1, account: "1", amount: "1.00", at: "2026-10-01T08:00:00+08:00"}
  - {id: T2, account: "3", amount: "1.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "1", at: "2026-10-01T09:00:00+08:00", seats: {instance: i-sub, count: 1, months: 1}}
  - {id: P2, account: "1", at: "2026-10-01T09:00:00+08:00", seats: {instance: i-payg, count: 1, months: 1}}
  - {id: P3, account: "1", at: "2026-10-01T09:00:00+08:00", sip_line: {instance: i-new, lines: 1, years: 1}}
  - {id: P4, account: "2", at: "2026-10-01T09:00:00+08:00", seats: {instance: i-new, count: 1, months: 1}}
  - {id: P5, account: "1", at: "2026-10-01T09:00:00+08:00", number_rent: {number: "0571001", months: 1}}
  - {id: P6, account: "1", at: "2026-10-01T09:00:00+08:00", number_rent: {number: "4000001", months: 1}}
  - {id: P7, account: "2", at: "2026-10-01T09:00:00+08:00", number_rent: {number: "0571009", months: 1}}
  - {id: P8, account: "2", at: "2026-10-01T09:00:00+08:00", number_rent: {number: "0571001", months: 1}}
  - {id: "P;9", account: "4", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
  - {id: "P;10", account: "1", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
`
	a, probs := check(t, src)
	want := []string{
		"line 5, column 13: accounts[0].instances[0].id: instance i-payg belongs to account 1",
		"line 10, column 22: accounts[0].instances[1].numbers[0].number: number 0571002 is registered on instance i-payg",
		"line 14, column 23: topups[1].account: account 3 is neither in this file nor stored",
		"line 17, column 79: purchases[1].seats.instance: seats are bought for subscription instances; i-payg is pay-as-you-go",
		"line 18, column 82: purchases[2].sip_line.instance: instance i-new is not an instance of account 1",
		"line 21, column 83: purchases[5].number_rent.number: number 4000001 is not a CCC fixed-line number",
		"line 23, column 83: purchases[7].number_rent.number: number 0571001 is not registered on any instance of account 2",
		"line 24, column 26: purchases[8].account: account 4 is neither in this file nor stored",
		"line 25, column 10: purchases[9].id: a voice package's id must not contain ';', ',' or ':'",
	}
	if len(probs) != len(want) {
		t.Fatalf("problems:\n%v", probs)
	}
	for i, w := range want {
		if !strings.HasPrefix(probs[i].String(), w) {
			t.Errorf("problem %d:\n %s\nwant\n %s…", i, probs[i], w)
		}
	}
	// What is refused is not written: the moving instance and number, and
	// the movements that name what is not there.
	if !a.refusedInst[&a.w.Accounts[0].Instances[0]] || !a.refusedNum[&a.w.Accounts[0].Instances[1].Numbers[0]] ||
		a.refusedNum[&a.w.Accounts[0].Instances[1].Numbers[1]] {
		t.Errorf("refused instances %v, numbers %v", a.refusedInst, a.refusedNum)
	}
	for _, p := range []string{"topups[1]", "purchases[1]", "purchases[2]", "purchases[5]", "purchases[7]", "purchases[8]", "purchases[9]"} {
		if !a.refused[p] {
			t.Errorf("%s not refused", p)
		}
	}
	if len(a.refused) != 7 {
		t.Errorf("refused %v", a.refused)
	}
}

// Entries with problems of form are checked too, as far as they could be
// read: a field with a problem is not held against them, and an account of
// the file with problems still counts as declared.
func TestReferencesOfEntriesWithProblems(t *testing.T) {
	src := `accounts:
  - uid: "2"
    name: b
    kind: company
    instances:
      - {id: i-sub, mode: payg}
      - {id: i-b, mode: monthly, numbers: [{number: "0571001", kind: mobile, source: ccc}]}
topups:
  - {id: T1, account: "2", amount: "-1", at: "2026-10-01T08:00:00+08:00"}
  - {id: T2, account: "9", amount: "1.00", at: yesterday}
  - {id: T3, account: "x", amount: "1.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "2", at: soon, seats: {instance: i-b, count: 0, months: 1}}
  - {id: P2, account: "2", at: soon, seats: {instance: i-c, count: 0, months: 1}}
  - {id: P3, account: "1", at: soon, seats: {instance: i-sub, count: 1, months: 1}, sip_line: {instance: nowhere, lines: 1, years: 1}}
  - {id: P4, account: "2", at: soon, number_rent: {number: "0571001", months: 0}}
`
	_, probs := check(t, src)
	want := []string{
		// i-sub is account 1's; 0571001 is on i-payg.
		"line 6, column 14: accounts[0].instances[0].id: instance i-sub belongs to account 1",
		"line 7, column 53: accounts[0].instances[1].numbers[0].number: number 0571001 is registered on instance i-payg",
		"line 10, column 23: topups[1].account: account 9 is neither in this file nor stored",
		// i-b's mode could not be read: not held against the seats.
		"line 14, column 56: purchases[1].seats.instance: instance i-c is not an instance of account 2",
		// A purchase of two things: which one is meant is not known.
		// 0571001 was refused for account 2 (it is on account 1's i-payg).
		"line 16, column 60: purchases[3].number_rent.number: number 0571001 is not registered on any instance of account 2",
	}
	if len(probs) != len(want) {
		t.Fatalf("problems:\n%v", probs)
	}
	for i, w := range want {
		if !strings.HasPrefix(probs[i].String(), w) {
			t.Errorf("problem %d:\n %s\nwant\n %s…", i, probs[i], w)
		}
	}
}

// The numbers of an instance refused for its owner are checked all the
// same, so that moving the instance back reveals nothing new.
func TestNumbersOfARefusedInstance(t *testing.T) {
	a, probs := check(t, `accounts:
  - uid: "2"
    name: b
    instances:
      - id: i-payg
        mode: payg
        numbers:
          - {number: "4000001", kind: "400", source: ccc, tier: 普通}
          - {number: "0571001", kind: fixed, source: ccc}
`)
	if len(probs) != 2 || probs[0].Path != "accounts[0].instances[0].id" || probs[0].Line != 5 ||
		probs[1].Path != "accounts[0].instances[0].numbers[0].number" || probs[1].Line != 8 ||
		!strings.Contains(probs[1].Message, "registered on instance i-sub") {
		t.Errorf("problems:\n%v", probs)
	}
	if inst := &a.w.Accounts[0].Instances[0]; !a.refusedInst[inst] || !a.refusedNum[&inst.Numbers[0]] || a.refusedNum[&inst.Numbers[1]] {
		t.Errorf("refused instances %v, numbers %v", a.refusedInst, a.refusedNum)
	}
}
