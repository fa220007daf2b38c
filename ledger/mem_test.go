package ledger_test

import (
	"context"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
	"github.com/shopspring/decimal"
)

// memStore keeps money in memory: the rules run without a database. A
// failed transaction leaves what it wrote (the tests do not need rollback).
type memStore struct {
	now      time.Time
	accounts map[string]*ledger.Account
	entries  map[string][]entry // by account
	bills    map[string][]ledger.BillPaid
	events   map[string][]callbill.AccountEvent
	emitted  []emitted
}

type entry struct {
	e       callbill.LedgerEntry
	request string
}

type emitted struct {
	account, kind string
	payload       any
}

func newMem(accts ...*ledger.Account) *memStore {
	m := &memStore{now: time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC), accounts: map[string]*ledger.Account{},
		entries: map[string][]entry{}, bills: map[string][]ledger.BillPaid{}, events: map[string][]callbill.AccountEvent{}}
	for _, a := range accts {
		m.accounts[a.UID] = a
	}
	return m
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func (m *memStore) UpdateLedger(ctx context.Context, accounts []string, what string, fn func(tx ledger.Tx, now time.Time) error) error {
	return fn(m, m.now)
}

func (m *memStore) ViewLedger(ctx context.Context, fn func(tx ledger.Tx, now time.Time) error) error {
	return fn(m, m.now)
}

func (m *memStore) Account(ctx context.Context, uid string) (*ledger.Account, error) {
	a := m.accounts[uid]
	if a == nil {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	c := *a // a copy, as a database read is
	return &c, nil
}

func (m *memStore) AllAccounts(ctx context.Context) (map[string]*ledger.Account, error) {
	var uids []string
	for uid := range m.accounts {
		uids = append(uids, uid)
	}
	return m.Accounts(ctx, uids)
}

func (m *memStore) Accounts(ctx context.Context, uids []string) (map[string]*ledger.Account, error) {
	out := map[string]*ledger.Account{}
	for _, uid := range uids {
		if a, err := m.Account(ctx, uid); err == nil {
			out[uid] = a
		}
	}
	return out, nil
}

func (m *memStore) LockAccounts(context.Context, []string) error { return nil }

func (m *memStore) EntryByKey(ctx context.Context, account, key string) (*callbill.LedgerEntry, string, error) {
	for _, e := range m.entries[account] {
		if e.e.Key == key && key != "" {
			c := e.e
			return &c, e.request, nil
		}
	}
	return nil, "", nil
}

func (m *memStore) Entries(ctx context.Context, account string) ([]ledger.Entry, error) {
	var out []ledger.Entry
	for _, e := range m.entries[account] {
		out = append(out, ledger.Entry{LedgerEntry: e.e, Balanced: true})
	}
	return out, nil
}

func (m *memStore) Post(ctx context.Context, e *callbill.LedgerEntry, request string) error {
	e.Seq = int64(len(m.entries[e.Account]) + 1)
	m.entries[e.Account] = append(m.entries[e.Account], entry{*e, request})
	m.accounts[e.Account].Cash = e.Balance
	return nil
}

func (m *memStore) Bills(ctx context.Context, account string) ([]ledger.BillPaid, error) {
	return append([]ledger.BillPaid(nil), m.bills[account]...), nil
}

func (m *memStore) SetPaid(ctx context.Context, account string, cycle callbill.Cycle, paid decimal.Decimal) error {
	for i := range m.bills[account] {
		if m.bills[account][i].Cycle == cycle {
			m.bills[account][i].Paid = paid
		}
	}
	return nil
}

func (m *memStore) Outstanding(ctx context.Context, uids []string) (map[string]decimal.Decimal, error) {
	out := map[string]decimal.Decimal{}
	for _, uid := range uids {
		for _, b := range m.bills[uid] {
			out[uid] = out[uid].Add(b.Payable.Sub(b.Paid))
		}
	}
	return out, nil
}

func (m *memStore) SetStanding(ctx context.Context, a *ledger.Account) error {
	s := m.accounts[a.UID]
	s.State, s.BelowSince, s.LowAlerted = a.State, a.BelowSince, a.LowAlerted
	return nil
}

func (m *memStore) StandingChanged(context.Context) error { return nil }

func (m *memStore) RecordEvent(ctx context.Context, account string, e callbill.AccountEvent) error {
	m.events[account] = append(m.events[account], e)
	return nil
}

func (m *memStore) HasEvent(ctx context.Context, account, cause string) (bool, error) {
	for _, e := range m.events[account] {
		if e.Cause == cause {
			return true, nil
		}
	}
	return false, nil
}

func (m *memStore) Emit(ctx context.Context, account, kind string, payload any) error {
	m.emitted = append(m.emitted, emitted{account, kind, payload})
	return nil
}

func (m *memStore) Location(context.Context) (*time.Location, error)      { return time.UTC, nil }
func (m *memStore) NoteActivity(context.Context, callbill.Cycle) error    { return nil }
func (m *memStore) ClosedThrough(context.Context) (callbill.Cycle, error) { return 0, nil }
func (m *memStore) PriceBook(context.Context) (*callbill.PriceBook, error) {
	return &callbill.PriceBook{}, nil
}
func (m *memStore) TopUpApplied(context.Context, string, string) (string, error) { return "", nil }
func (m *memStore) Window(context.Context, time.Time, *time.Location) (callbill.Window, error) {
	return callbill.Window{}, nil
}
func (m *memStore) PurchaseApplied(context.Context, string, string) (string, time.Time, error) {
	return "", time.Time{}, nil
}
func (m *memStore) InsertTopUp(context.Context, *callbill.TopUp, callbill.Cycle, string) error {
	return nil
}
func (m *memStore) InsertPurchase(context.Context, *callbill.Purchase, callbill.Cycle, string, *callbill.Line) error {
	return nil
}
func (m *memStore) InsertPackage(context.Context, *callbill.VoicePackage) error { return nil }
func (m *memStore) PaidUntil(context.Context, ledger.NumberRef) (time.Time, error) {
	return time.Time{}, nil
}
func (m *memStore) SetPaidUntil(context.Context, ledger.NumberRef, time.Time) error { return nil }
func (m *memStore) Renewals(context.Context, time.Time, time.Time) ([]ledger.Renewal, error) {
	return nil, nil
}
