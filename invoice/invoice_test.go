package invoice_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/invoice"
	"github.com/shopspring/decimal"
)

// memStore keeps titles and applications in memory: the rules run without
// a database.
type memStore struct {
	now      time.Time
	accounts map[string]*invoice.Account
	titles   map[string]*callbill.InvoiceTitle // by id
	apps     map[string]*stored                // by id
	ledger   map[string][]ledgerEntry          // by account
	owed     map[string]decimal.Decimal        // unpaid bills, by account
	seq      int
}

type stored struct {
	a       callbill.InvoiceApplication
	request string
}

type ledgerEntry struct {
	kind   callbill.LedgerKind
	amount decimal.Decimal
}

func newMem() *memStore {
	return &memStore{now: time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC),
		accounts: map[string]*invoice.Account{"1001": {Kind: callbill.AccountEnterprise}, "1002": {Kind: callbill.AccountIndividual}},
		titles:   map[string]*callbill.InvoiceTitle{}, apps: map[string]*stored{}, ledger: map[string][]ledgerEntry{}, owed: map[string]decimal.Decimal{}}
}

func (m *memStore) UpdateInvoices(ctx context.Context, account, what string, fn func(tx invoice.Tx, now time.Time) error) error {
	m.now = m.now.Add(time.Second) // every application its own time, as in a real store over time
	return fn(m, m.now)
}

func (m *memStore) ViewInvoices(ctx context.Context, fn func(tx invoice.Tx, now time.Time) error) error {
	return fn(m, m.now)
}

func (m *memStore) Account(ctx context.Context, account string) (*invoice.Account, error) {
	if a, ok := m.accounts[account]; ok {
		return a, nil
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", account)
}

func (m *memStore) Location(ctx context.Context) (*time.Location, error) {
	return time.FixedZone("CST", 8*3600), nil
}

func (m *memStore) Titles(ctx context.Context, account string) ([]callbill.InvoiceTitle, error) {
	if _, err := m.Account(ctx, account); err != nil {
		return nil, err
	}
	var out []callbill.InvoiceTitle
	for _, t := range m.titles {
		if t.Account == account {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *memStore) Title(ctx context.Context, account, id string) (*callbill.InvoiceTitle, error) {
	if t, ok := m.titles[id]; ok && t.Account == account {
		c := *t
		return &c, nil
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "invoice title %s not found", id)
}

func (m *memStore) InsertTitle(ctx context.Context, t *callbill.InvoiceTitle) error {
	m.seq++
	t.ID = fmt.Sprintf("TI%03d", m.seq) // ordered, unlike the random ids
	c := *t
	m.titles[t.ID] = &c
	return nil
}

func (m *memStore) UpdateTitle(ctx context.Context, t *callbill.InvoiceTitle) error {
	c := *t
	m.titles[t.ID] = &c
	return nil
}

func (m *memStore) DeleteTitle(ctx context.Context, account, id string) error {
	if _, err := m.Title(ctx, account, id); err != nil {
		return err
	}
	delete(m.titles, id)
	return nil
}

func (m *memStore) LedgerAmounts(ctx context.Context, account string, except callbill.LedgerKind) ([]decimal.Decimal, error) {
	var out []decimal.Decimal
	for _, e := range m.ledger[account] {
		if e.kind != except {
			out = append(out, e.amount)
		}
	}
	return out, nil
}

func (m *memStore) Outstanding(ctx context.Context, account string) (decimal.Decimal, error) {
	return m.owed[account], nil
}

func (m *memStore) AppliedFen(ctx context.Context, account string) (map[callbill.InvoiceState]int64, error) {
	out := map[callbill.InvoiceState]int64{}
	for _, s := range m.apps {
		if s.a.Account == account {
			out[s.a.State] += s.a.AmountFen
		}
	}
	return out, nil
}

func (m *memStore) ApplicationAccount(ctx context.Context, id string) (string, error) {
	if s, ok := m.apps[id]; ok {
		return s.a.Account, nil
	}
	return "", callbill.Errorf(callbill.ENOTFOUND, "invoice application %s not found", id)
}

func (m *memStore) Application(ctx context.Context, account, id string) (*callbill.InvoiceApplication, error) {
	if s, ok := m.apps[id]; ok && s.a.Account == account {
		a := s.a
		return &a, nil
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "invoice application %s not found", id)
}

func (m *memStore) ApplicationByKey(ctx context.Context, account, key string) (*callbill.InvoiceApplication, string, error) {
	for _, s := range m.apps {
		if s.a.Account == account && s.a.Key == key {
			a := s.a
			return &a, s.request, nil
		}
	}
	return nil, "", nil
}

func (m *memStore) Applications(ctx context.Context, q invoice.ListInput) ([]callbill.InvoiceApplication, error) {
	account, all, state := q.Account, q.AllAccounts, q.State
	if _, err := m.Account(ctx, account); err != nil && !all {
		return nil, err
	}
	var out []callbill.InvoiceApplication
	for _, s := range m.apps {
		if (all || s.a.Account == account) && (state == "" || s.a.State == state) {
			out = append(out, s.a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func (m *memStore) IssuedAs(ctx context.Context, number string) (string, error) {
	for _, s := range m.apps {
		if s.a.InvoiceNo == number {
			return s.a.ID, nil
		}
	}
	return "", nil
}

func (m *memStore) InsertApplication(ctx context.Context, a *callbill.InvoiceApplication, request string) error {
	m.apps[a.ID] = &stored{*a, request}
	return nil
}

func (m *memStore) UpdateApplication(ctx context.Context, a *callbill.InvoiceApplication) error {
	m.apps[a.ID].a = *a
	return nil
}

// setup gives 1001 a general title and 50.00 paid for consumption (and a
// top-up, which does not count).
func setup(t *testing.T) (*memStore, *invoice.Service, string) {
	t.Helper()
	m := newMem()
	m.ledger["1001"] = []ledgerEntry{{callbill.LedgerTopUp, dec("100.00")}, {callbill.LedgerPurchase, dec("-30.00")}, {callbill.LedgerDeduct, dec("-20.00")}}
	m.accounts["1001"].Cash = dec("50.00")
	s := &invoice.Service{Store: m}
	ti, err := s.SaveTitle(context.Background(), callbill.InvoiceTitle{Account: "1001", Kind: callbill.TitleCompany, Type: callbill.InvoiceGeneral,
		Name: "甲公司", TaxID: "91330100MA27XL4X76"})
	if err != nil {
		t.Fatal(err)
	}
	return m, s, ti.ID
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func wantCode(t *testing.T, err error, code, text string) {
	t.Helper()
	if callbill.ErrorCode(err) != code || !strings.Contains(fmt.Sprint(err), text) {
		t.Fatalf("got %v (%s), want %s containing %q", err, callbill.ErrorCode(err), code, text)
	}
}
