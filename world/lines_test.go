package world

import (
	"fmt"
	"strings"
	"testing"

	"github.com/callbill/callbill"
)

// A YAML syntax error is reported at the line and column where it is, not
// where the list or mapping around it starts (yaml.v3's own message said
// "line 1" for the bad indent on line 4 below), with a hint what to change.
func TestSyntaxErrorLines(t *testing.T) {
	cases := []struct {
		name, src  string
		line, col  int
		msg, hint  string
		notContext bool
	}{
		{"key indented less than its siblings", "accounts:\n  - uid: \"1\"\n    name: n\n   kind: enterprise\n",
			4, 4, "did not find expected '-' indicator (in the list that starts at line 2, column 3)", "check the indentation of this line", false},
		{"key indented more than its siblings", "accounts:\n  - uid: \"1\"\n    name: n\n     kind: enterprise\n",
			4, 10, "mapping values are not allowed in this context", "check the indentation of this line", true},
		{"nested list item out of line", "accounts:\n  - uid: \"1\"\n    name: n\n    instances:\n      - id: i\n       mode: payg\n",
			6, 8, "did not find expected '-' indicator (in the list that starts at line 5, column 7)", "indentation", false},
		{"list item out of line", "billing:\n  timezone: UTC\nprices:\n   - {item: SipLine, price: \"1\"}\n  - {item: SipLine, price: \"2\"}\n",
			5, 3, "did not find expected key (in the mapping that starts at line 1, column 1)", "indentation", false},
		{"tab", "accounts:\n  - uid: \"1\"\n    name: n\n\tkind: enterprise\n", 4, 1, "tab character", "indent with spaces", false},
		{"unclosed quote", "accounts:\n  - uid: \"1\"\n    name: \"n\n    kind: enterprise\n", 3, 11, "found unexpected end of stream", "close the quote", true},
		{"unclosed list", "accounts:\n  - uid: \"1\"\n    name: n\n    kind: [enterprise\n", 4, 11, "did not find expected ',' or ']'", "close the list with ]", true},
		{"unclosed mapping", "topups:\n  - {id: T,\n     account: \"1\",\n     amount: \"1\"\n", 2, 5, "did not find expected ',' or '}'", "close the mapping with }", true},
		{"key without colon", "accounts:\n  - uid: \"1\"\n    name: n\n  kind enterprise\n", 4, 3, "could not find expected ':'", "key: value", true},
		{"reserved character", "accounts:\n  - uid: \"1\"\n    name: @n\n", 3, 11, "cannot start any token", "quote a value", true},
		{"alias without anchor", "accounts:\n  - uid: \"1\"\n    name: *n\n", 3, 11, "unknown anchor 'n' referenced", "needs an anchor &name", true},
		{"broken UTF-8", "accounts:\n  - uid: \"1\"\n    name: \"杭\xff\"\n", 3, 13, "invalid", "save the file as UTF-8", true},
		{"in the second document", "billing: {}\n---\naccounts: [\n", 4, 1, "(at the end of the file)", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, probs := Parse([]byte(tc.src))
			if w != nil || len(probs) != 1 {
				t.Fatalf("want one problem and no world, got %v", probs)
			}
			p := probs[0]
			if p.Line != tc.line || p.Column != tc.col || p.Path != "" ||
				!strings.HasPrefix(p.Message, "not valid YAML: ") || !strings.Contains(p.Message, tc.msg) || !strings.Contains(p.Message, tc.hint) {
				t.Errorf("got %q (line %d, column %d), want line %d, column %d: …%s…%s…", p, p.Line, p.Column, tc.line, tc.col, tc.msg, tc.hint)
			}
			if tc.notContext && strings.Contains(p.Message, "that starts at") {
				t.Errorf("names a context at its own place: %s", p.Message)
			}
			if want := fmt.Sprintf("line %d, column %d: not valid YAML: ", tc.line, tc.col); !strings.HasPrefix(p.String(), want) {
				t.Errorf("prints as %q", p.String())
			}
		})
	}
}

// Every problem of structure names the line and column of the value to
// change; a missing field or a mapping as a whole is at the line where the
// mapping starts (not at its last field, which may be far below).
func TestStructureProblemLines(t *testing.T) {
	src := `billing:
  timezone: Mars/Base
accounts:
  - uid: "1"
    instances:
      - id: i-1
        mode: payg
        numbers:
          - {number: "0571", kind: fixed, source: ccc}
          - {number: "0572", kind: fixed, source: ccc}
          - {number: "0573", kind: fixed, source: ccc}
topups:
  - id: T-1
    account: "1"
    at: "2026-10-01T08:00:00+08:00"
purchases:
  - {id: P-1, account: "1", at: "2026-10-01T08:00:00+08:00"}
  - id: P-2
    account: "1"
    at: "2026-10-01T08:00:00+08:00"
    voice_package:
      type: fixed_inbound
`
	_, probs := Parse([]byte(src))
	want := []string{
		"line 2, column 13: billing.timezone: unknown time zone",
		"line 4, column 5: accounts[0].name: required",
		"line 13, column 5: topups[0].amount: required",
		"line 17, column 5: purchases[0]: needs what it buys",
		"line 22, column 7: purchases[1].voice_package.minutes: required",
	}
	if len(probs) != len(want) {
		t.Fatalf("problems:\n%v", probs)
	}
	for i, w := range want {
		if !strings.HasPrefix(probs[i].String(), w) {
			t.Errorf("problem %d: %s, want %s…", i, probs[i], w)
		}
	}
}

// A file with problems of form still gives its world: the well-formed
// entries as usual, the others in Unread with what could be read, and the
// positions of what the store checks, so that one report can hold every
// problem.
func TestWorldWithProblemsKeepsWhatReads(t *testing.T) {
	src := `accounts:
  - uid: "1"
    name: a
  - uid: "2"
    name: b
    kind: company
    instances:
      - id: i-2
        mode: monthly
        numbers:
          - {number: "0571", kind: fixed, source: ccc, tier: gold}
topups:
  - {id: T-1, account: "1", amount: "1.00", at: "2026-10-01T08:00:00+08:00"}
  - {id: T-2, account: "2", amount: "-1", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P-1, account: "2", at: soon, seats: {instance: i-2, count: 1, months: 1}}
`
	w, probs := Parse([]byte(src))
	if w == nil || len(probs) != 5 || len(w.Problems) != 5 {
		t.Fatalf("world %v, problems:\n%v", w != nil, probs)
	}
	if len(w.Accounts) != 1 || w.Accounts[0].UID != "1" || len(w.TopUps) != 1 || w.TopUps[0].ID != "T-1" || len(w.Purchases) != 0 {
		t.Errorf("well-formed entries: %+v %+v %+v", w.Accounts, w.TopUps, w.Purchases)
	}
	u := w.Unread
	if len(u.Accounts) != 1 || len(u.TopUps) != 1 || len(u.Purchases) != 1 {
		t.Fatalf("unread: %+v", u)
	}
	a := u.Accounts[0]
	if a.UID != "2" || a.Path != "accounts[1]" || a.Kind != callbill.AccountEnterprise || len(a.Instances) != 1 {
		t.Errorf("unread account: %+v", a)
	}
	if in := a.Instances[0]; in.ID != "i-2" || in.Mode != "" || len(in.Numbers) != 1 || in.Numbers[0].Number != "0571" || in.Numbers[0].Tier != "" {
		t.Errorf("unread instance: %+v", in)
	}
	if tu := u.TopUps[0]; tu.ID != "T-2" || tu.Account != "2" || tu.Path != "topups[1]" || !tu.Amount.IsZero() {
		t.Errorf("unread top-up: %+v", tu)
	}
	if p := u.Purchases[0]; p.ID != "P-1" || p.Account != "2" || p.Kind != callbill.PurchaseSeats || p.Instance != "i-2" || !p.At.IsZero() {
		t.Errorf("unread purchase: %+v", p)
	}
	for path, pos := range map[string]callbill.Position{
		"accounts[1]":                            {Line: 4, Column: 5},
		"accounts[1].instances[0].id":            {Line: 8, Column: 13},
		"accounts[1].instances[0].numbers[0]":    {Line: 11, Column: 13},
		"topups[1].account":                      {Line: 14, Column: 24},
		"purchases[0].seats.instance":            {Line: 16, Column: 57},
		"accounts[1].instances[0].numbers[0].xx": {Line: 11, Column: 13}, // the nearest located path above
	} {
		p := callbill.Problem{Path: path}
		w.Locate(&p)
		if p.Line != pos.Line || p.Column != pos.Column {
			t.Errorf("%s at line %d, column %d, want %+v", path, p.Line, p.Column, pos)
		}
	}
}
