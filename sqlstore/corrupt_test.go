package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

// A corrupt decimal in a stored row is an error naming its table, column
// and row, never a panic; a tenant is shown only "internal error".
func TestCorruptDecimalsAreErrors(t *testing.T) {
	cases := []struct {
		name, corrupt string                                             // the statement that corrupts a row
		read          func(ctx context.Context, s *sqlstore.Store) error // a read that meets it
		want          []string                                           // what the error names
	}{
		{"bill paid", `UPDATE bills SET paid = '1.2.3' WHERE account = '2001'`,
			func(ctx context.Context, s *sqlstore.Store) error { _, err := s.Status(ctx, "2001"); return err },
			[]string{`corrupt decimal "1.2.3" in bills.paid`, "account 2001"}},
		{"bill paid, settling arrears", `UPDATE bills SET paid = 'x' WHERE account = '2001'`,
			func(ctx context.Context, s *sqlstore.Store) error {
				_, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("1.00"), Key: "c1"})
				return err
			},
			[]string{`corrupt decimal "x" in bills.paid`, "account 2001, cycle 2026-10"}},
		{"bill paid, verify", `UPDATE bills SET paid = 'x' WHERE account = '2001'`,
			func(ctx context.Context, s *sqlstore.Store) error {
				_, _, err := verifyLedger(ctx, s, "2001")
				return err
			},
			[]string{`corrupt decimal "x" in bills.paid`, "account 2001, cycle 2026-10"}},
		{"account cash", `UPDATE accounts SET cash = 'lots' WHERE uid = '2001'`,
			func(ctx context.Context, s *sqlstore.Store) error { _, err := s.AccountStandings(ctx); return err },
			[]string{`corrupt decimal "lots" in accounts.cash`, "account 2001"}},
		{"account cash, invoiceable", `UPDATE accounts SET cash = 'lots' WHERE uid = '2001'`,
			func(ctx context.Context, s *sqlstore.Store) error {
				_, err := invoices(s).Invoiceable(ctx, "2001")
				return err
			},
			[]string{`corrupt decimal "lots" in accounts.cash`, "account 2001"}},
		{"ledger amount", `UPDATE ledger SET amount = '' WHERE account = '2001' AND seq = 1`,
			func(ctx context.Context, s *sqlstore.Store) error { _, err := s.Ledger(ctx, "2001"); return err },
			[]string{`corrupt decimal "" in ledger.amount`, "account 2001, entry 1"}},
		{"ledger amount, replay", `UPDATE ledger SET amount = '9e' WHERE account = '2001' AND key = 'k0'`,
			func(ctx context.Context, s *sqlstore.Store) error {
				_, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("50.00"), Key: "k0"})
				return err
			},
			[]string{`corrupt decimal "9e" in ledger.amount`, "account 2001"}},
		{"contract discount", `UPDATE accounts SET contract = '{"discount":"ten"}' WHERE uid = '2001'`,
			func(ctx context.Context, s *sqlstore.Store) error { _, err := s.Account(ctx, "2001"); return err },
			[]string{`corrupt decimal "ten" in accounts.contract`, "account 2001"}},
		{"contract JSON", `UPDATE accounts SET contract = '{' WHERE uid = '2001'`,
			func(ctx context.Context, s *sqlstore.Store) error { _, err := s.Account(ctx, "2001"); return err },
			[]string{"corrupt JSON", "accounts.contract", "account 2001"}},
		{"price tiers", `INSERT INTO prices (item, mode, from_unix, tiers) VALUES ('FixedLineOutbound', 'payg', 0, '[{"price":"cheap"}]')`,
			func(ctx context.Context, s *sqlstore.Store) error { _, err := s.PriceOverrides(ctx); return err },
			[]string{`corrupt decimal "cheap" in prices.tiers`, "item FixedLineOutbound, mode payg"}},
		{"price tiers, rating", `INSERT INTO prices (item, mode, from_unix, tiers) VALUES ('FixedLineOutbound', 'payg', 0, '[{"price":"cheap"}]')`,
			func(ctx context.Context, s *sqlstore.Store) error {
				_, err := money(s).Purchase(ctx, pkg("PX", "2001"))
				return err
			},
			[]string{`corrupt decimal "cheap" in prices.tiers`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			each(t, func(t *testing.T, s *sqlstore.Store) {
				ctx := context.Background()
				s.Now = func() time.Time { return time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC) }
				mustApply(t, s, moneyWorld)
				if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("50.00"), Key: "k0"}); err != nil {
					t.Fatal(err)
				}
				owe(t, s) // a closed bill for 2026-10
				if _, err := s.DB().Exec(c.corrupt); err != nil {
					t.Fatalf("%s: %v", c.corrupt, err)
				}
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("the read panicked: %v", p)
						}
					}()
					err = c.read(ctx, s)
				}()
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("the error %q does not say %q", err, w)
					}
				}
				if callbill.ErrorCode(err) != callbill.EINTERNAL || callbill.ErrorMessage(err) != "internal error" {
					t.Errorf("a tenant would see %s: %q", callbill.ErrorCode(err), callbill.ErrorMessage(err))
				}
			})
		})
	}
}
