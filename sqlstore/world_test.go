package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
)

// applyAny applies a world file whatever its problems, as `callbill apply`
// does: a file that reads as YAML goes to the store even with problems of
// form, so that one report lists what the store finds too.
func applyAny(t *testing.T, s *sqlstore.Store, yaml string) (*callbill.ApplyReport, callbill.Problems) {
	t.Helper()
	w, ps := world.Parse([]byte(yaml))
	if w == nil {
		return nil, ps
	}
	rep, err := (&provision.Service{Store: s}).Apply(context.Background(), provision.ApplyInput{World: w})
	if err == nil {
		return rep, nil
	}
	if !errors.As(err, &ps) {
		t.Fatalf("apply: %v", err)
	}
	return nil, ps
}

// wantProblems compares a report with want, one "line L: path: …message…"
// per problem, in order.
func wantProblems(t *testing.T, got callbill.Problems, want []string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		head, msg, _ := strings.Cut(want[i], ": …")
		p := got[i]
		ok = fmt.Sprintf("line %d: %s", p.Line, p.Path) == head && strings.Contains(p.Message, msg)
	}
	if !ok {
		t.Errorf("problems:\n%v\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// The first apply of a file reports every problem: those of its form and
// those against the store, references of entries with problems of form
// included, each at its line, ordered by line; and writes nothing.
func TestApplyReportsEveryProblemOnTheFirstRun(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, baseWorld+`
topups:
  - {id: T1, account: "1001", amount: "10.00", at: "2026-10-01T08:00:00+08:00"}
`)
		closeCycle(t, s, "2026-10")
		file := `billing:
  timezone: UTC
accounts:
  - uid: "1002"
    name: 乙
    kind: company
    instances:
      - {id: inst-p, mode: payg}
  - uid: "1003"
    name: 丙
    instances:
      - id: inst-x
        mode: payg
        numbers:
          - {number: "0571001", kind: fixed, source: ccc}
topups:
  - {id: T2, account: "9999", amount: "1.001", at: "2026-11-02T08:00:00+08:00"}
  - {id: T3, account: "1001", amount: "5.00", at: "2026-10-15T08:00:00+08:00"}
  - {id: T4, account: "1001", amount: "5.00", at: "2026-11-02T08:00:00+08:00"}
purchases:
  - {id: P1, account: "1001", at: yesterday, seats: {instance: inst-z, count: 1, months: 1}}
  - {id: P2, account: "1001", at: "2026-11-02T09:00:00+08:00", number_rent: {number: "0571009", months: 1}}
  - {id: P3, account: "1001", at: "2026-11-02T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 1000000}}
`
		refs := []string{
			"line 2: billing.timezone: …cannot change from Asia/Shanghai to UTC",
			"line 8: accounts[0].instances[0].id: …instance inst-p belongs to account 1001",
			"line 15: accounts[1].instances[0].numbers[0].number: …number 0571001 is registered on instance inst-p",
			"line 17: topups[0].account: …account 9999 is neither in this file nor stored",
			"line 18: topups[1].at: …top-up dated in 2026-10, a closed cycle",
			"line 21: purchases[0].seats.instance: …instance inst-z is not an instance of account 1001",
			"line 22: purchases[1].number_rent.number: …number 0571009 is not registered on any instance of account 1001",
		}
		_, ps := applyAny(t, s, file)
		wantProblems(t, ps, []string{
			refs[0],
			"line 6: accounts[0].kind: …must be enterprise or individual",
			refs[1], refs[2], refs[3],
			"line 17: topups[0].amount: …more than 2 decimals",
			refs[4],
			"line 21: purchases[0].at: …RFC 3339",
			refs[5], refs[6],
		})

		// Nothing was written: neither account exists, and T4, applied
		// inside the refused transaction, is new when applied alone.
		for _, uid := range []string{"1002", "1003"} {
			if _, err := (&closing.Service{Store: s}).Bill(ctx, closing.BillInput{Account: uid, Cycle: callbill.NewCycle(2026, 11)}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
				t.Errorf("account %s exists after a refused apply: %v", uid, err)
			}
		}
		if rep := mustApply(t, s, baseWorld+`
topups:
  - {id: T4, account: "1001", amount: "5.00", at: "2026-11-02T08:00:00+08:00"}
`); rep.TopUps != 1 || rep.Skipped != 0 {
			t.Errorf("T4 after the refused apply: %+v", rep)
		}

		// With the form fixed, the same references are reported again, and
		// now whether cash covers P3, which depends on every movement
		// before it and so is decided only on a file without problems of
		// form.
		fixed := strings.NewReplacer("kind: company", "kind: enterprise", `"1.001"`, `"1.00"`,
			"at: yesterday", `at: "2026-11-02T09:00:00+08:00"`).Replace(file)
		_, ps = applyAny(t, s, fixed)
		wantProblems(t, ps, []string{refs[0], refs[1], refs[2], refs[3], refs[4], refs[5], refs[6],
			"line 23: purchases[2]: …cash balance"})
	})
}
