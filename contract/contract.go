// Package contract is the e-contract workflow (docs/rules.md, "E-contracts";
// docs/invoices.md): a tenant asks for a draft for a purchase or for the
// postpaid usage of closed cycles, may edit, void or confirm it (formal), and
// only the operator voids a formal one; a draft not confirmed within
// callbill.ContractDraftDays lapses. The rules live here; Store persists
// inside one transaction and decides nothing.
package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Store opens the transactions the service works in.
type Store interface {
	// UpdateContracts runs fn in one transaction under account's lock,
	// with the transaction's one clock reading. Returns ENOTFOUND if the
	// account does not exist. When a write of fn meets a unique violation
	// (a concurrent request took the same key or purchase), fn runs once
	// more in a new transaction, whose reads then find the winner; a second
	// violation is ECONFLICT naming what.
	UpdateContracts(ctx context.Context, account, what string, fn func(tx Tx, now time.Time) error) error
	// ViewContracts runs fn in a read-only transaction.
	ViewContracts(ctx context.Context, fn func(tx Tx, now time.Time) error) error
}

// Tx is what the service reads and writes inside a transaction. Every
// method is scoped to the account it names.
type Tx interface {
	// AccountName returns the account's name (its real-name identity).
	// Returns ENOTFOUND if the account does not exist.
	AccountName(ctx context.Context, account string) (string, error)
	// ContractAccount returns the account holding contract id. Returns
	// ENOTFOUND if there is no such contract.
	ContractAccount(ctx context.Context, id string) (string, error)
	// Contract returns the account's contract id as stored. Returns
	// ENOTFOUND if the account has no such contract.
	Contract(ctx context.Context, account, id string) (*callbill.EContract, error)
	// ContractByKey returns the account's contract made with idempotency
	// key and the hash of its request, or nil when there is none.
	ContractByKey(ctx context.Context, account, key string) (*callbill.EContract, string, error)
	// Contracts returns the account's contracts, newest first, as stored.
	// Returns ENOTFOUND if the account does not exist.
	Contracts(ctx context.Context, account string) ([]callbill.EContract, error)
	// AllContracts returns every account's contracts, newest first, as
	// stored (the operator's list).
	AllContracts(ctx context.Context) ([]callbill.EContract, error)
	// LiveContracts returns the account's draft and formal contracts of
	// purchase, or with purchase "" its service contracts covering a cycle
	// of from..to.
	LiveContracts(ctx context.Context, account, purchase string, from, to callbill.Cycle) ([]callbill.EContract, error)
	// Purchase returns the account's purchase id as billed. Returns
	// ENOTFOUND if the account has no such purchase.
	Purchase(ctx context.Context, account, id string) (*BilledLine, error)
	// PostpaidLines returns the account's closed bills' postpaid lines of
	// the cycles from..to, by cycle and line order.
	PostpaidLines(ctx context.Context, account string, from, to callbill.Cycle) ([]BilledLine, error)
	// ClosedThrough returns the last closed cycle, 0 when none is closed.
	ClosedThrough(ctx context.Context) (callbill.Cycle, error)
	// Provider returns the provider side set by the operator, nil if none.
	Provider(ctx context.Context) (*callbill.ContractParty, error)
	// LapseDrafts marks the account's drafts created at or before
	// createdBy lapsed, as of their creation + callbill.ContractDraftDays.
	LapseDrafts(ctx context.Context, account string, createdBy time.Time) error
	// InsertContract stores a new contract with the hash of its request.
	InsertContract(ctx context.Context, c *callbill.EContract, requestHash string) error
	// UpdateContract stores c's state, parties, confirmation and end.
	UpdateContract(ctx context.Context, c *callbill.EContract) error
}

// BilledLine is a purchase or a closed bill's postpaid line as billed:
// what a contract lists.
type BilledLine struct {
	Cycle                              callbill.Cycle
	ProductDetail                      callbill.ProductDetail
	Instance, Number                   string
	Item                               callbill.Item
	UnitPrice, PriceUnit, UsageUnit    string // as billed
	Usage, Original, Discount, Payable decimal.Decimal
}

// Service runs the workflow.
type Service struct {
	Store Store
}

// Provider returns the provider side of contracts (乙方) for the
// operator to see: what the operator set, else callbill.DefaultProvider,
// whose text says how to set it. Contracts never carry that placeholder.
func (s *Service) Provider(ctx context.Context) (callbill.ContractParty, error) {
	var p callbill.ContractParty
	err := s.Store.ViewContracts(ctx, func(tx Tx, now time.Time) error {
		var err error
		p, err = provider(ctx, tx)
		if err == nil && !p.Configured() {
			p = callbill.DefaultProvider
		}
		return err
	})
	return p, err
}

// provider is the provider block the operator set, or an empty party
// (not Configured) while none is set.
func provider(ctx context.Context, tx Tx) (callbill.ContractParty, error) {
	p, err := tx.Provider(ctx)
	if err != nil || p == nil || !p.Configured() {
		return callbill.ContractParty{}, err
	}
	return *p, nil
}

// errNoProvider refuses to confirm a contract while the operator has not
// set the provider side: a formal contract never changes, so it must not
// be made with a party that is missing.
func errNoProvider(id string) error {
	return &callbill.Error{Code: callbill.EREFUSED, Hint: callbill.ProviderHint,
		Message: fmt.Sprintf("contract %s cannot be confirmed yet: the service provider's details (乙方) are not configured; contact your operator", id)}
}

// shown is a contract as a reader sees it: a stale draft lapsed, and a
// draft with the provider block it would be confirmed with now (what the
// operator set, or none yet), since a draft takes the current one.
func shown(c *callbill.EContract, now time.Time, prov callbill.ContractParty) {
	c.Lapse(now)
	if c.State == callbill.ContractDraft {
		c.Provider = prov
	}
}

// update runs fn under the account's lock with its stale drafts lapsed.
func (s *Service) update(ctx context.Context, account, what string, fn func(tx Tx, now time.Time) error) error {
	return s.Store.UpdateContracts(ctx, account, what, func(tx Tx, now time.Time) error {
		if err := tx.LapseDrafts(ctx, account, now.Add(-callbill.ContractDraftDays*24*time.Hour)); err != nil {
			return err
		}
		return fn(tx, now)
	})
}

// Validate checks a request's form: a purchase, or a period of at most
// callbill.MaxServiceCycles cycles, not both.
func Validate(req *callbill.ContractRequest) error {
	switch {
	case req.Purchase != "" && (req.From != 0 || req.To != 0):
		return callbill.Errorf(callbill.EINVALID, "a contract is for a purchase or for a period (from, to), not both")
	case req.Purchase != "":
		return nil
	case req.From == 0 || req.To == 0:
		return callbill.Errorf(callbill.EINVALID, "a contract needs a purchase, or a period: from and to (YYYY-MM)")
	case req.From > req.To:
		return callbill.Errorf(callbill.EINVALID, "the period's first cycle %s is after its last %s", req.From, req.To)
	case int(req.To-req.From) >= callbill.MaxServiceCycles:
		return callbill.Errorf(callbill.EINVALID, "a service contract covers at most %d cycles", callbill.MaxServiceCycles)
	}
	return nil
}

// Create makes a draft for a purchase or for the postpaid usage of closed
// cycles From..To. The customer's name is the account's; the other details
// are the request's. The key makes a retried request one contract.
// Returns EINVALID for a malformed request, ENOTFOUND for an unknown
// account or purchase, ECONFLICT when the key was used for another request
// or when the purchase, or a cycle of the period, already has a live
// contract, EREFUSED for a period with an open cycle or without charges.
func (s *Service) Create(ctx context.Context, req callbill.ContractRequest) (*callbill.EContract, error) {
	req.Key, req.Purchase = strings.TrimSpace(req.Key), strings.TrimSpace(req.Purchase)
	if err := Validate(&req); err != nil {
		return nil, err
	}
	kind := callbill.ContractService
	if req.Purchase != "" {
		kind = callbill.ContractPurchase
	}
	var customer callbill.ContractParty
	if req.Customer != nil {
		customer = *req.Customer
	}
	cj, _ := json.Marshal(customer)
	request := callbill.RequestHash("contract", req.Account, req.Purchase, strconv.Itoa(int(req.From)), strconv.Itoa(int(req.To)), string(cj))
	what := fmt.Sprintf("idempotency key %q", req.Key)
	if req.Key == "" {
		what = "the contract's purchase or period"
	}
	var out *callbill.EContract
	err := s.update(ctx, req.Account, what, func(tx Tx, now time.Time) error {
		out = nil
		if req.Key != "" {
			prev, prevReq, err := tx.ContractByKey(ctx, req.Account, req.Key)
			switch {
			case err != nil:
				return err
			case prev != nil && prevReq == request:
				prov, err := provider(ctx, tx)
				if err != nil {
					return err
				}
				shown(prev, now, prov)
				prev.Replayed, out = true, prev
				return nil
			case prev != nil:
				return callbill.Errorf(callbill.ECONFLICT, "idempotency key %q was used for a different request (contract %s)", req.Key, prev.ID)
			}
		}
		name, err := tx.AccountName(ctx, req.Account)
		if err != nil {
			return err
		}
		party := customer
		party.Name = name
		party.Normalize()
		if err := party.Check("customer"); err != nil {
			return err
		}
		prov, err := provider(ctx, tx)
		if err != nil {
			return err
		}
		c := &callbill.EContract{ID: callbill.NewDocumentID("CT", now), Account: req.Account, Kind: kind, Purchase: req.Purchase, From: req.From, To: req.To,
			State: callbill.ContractDraft, Customer: party, Provider: prov, Key: req.Key, CreatedAt: now}
		if kind == callbill.ContractPurchase {
			err = purchaseItems(ctx, tx, c)
		} else {
			err = serviceItems(ctx, tx, c)
		}
		if err != nil {
			return err
		}
		// A concurrent request that took the key or the purchase makes
		// this a unique violation: the run again answers as a retry.
		if err := tx.InsertContract(ctx, c, request); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListInput selects contracts: of one account, or of every account (the
// operator's view), in one state or all ("").
type ListInput struct {
	Account     string
	AllAccounts bool
	State       callbill.ContractState
}

// Validate says what is wrong with the input, every problem joined.
func (in *ListInput) Validate() error {
	var problems []string
	if err := callbill.CheckAccountScope(in.Account, in.AllAccounts); err != nil {
		problems = append(problems, callbill.ErrorMessage(err))
	}
	if in.State != "" && !callbill.ValidContractState(in.State) {
		problems = append(problems, fmt.Sprintf("state must be draft, formal, void or lapsed, not %q", in.State))
	}
	if len(problems) > 0 {
		return callbill.Errorf(callbill.EINVALID, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// List returns contracts newest first, stale drafts shown lapsed and
// drafts with the current provider block. Returns
// EINVALID for a bad input, ENOTFOUND for an unknown account.
func (s *Service) List(ctx context.Context, in ListInput) ([]callbill.EContract, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out []callbill.EContract
	err := s.Store.ViewContracts(ctx, func(tx Tx, now time.Time) error {
		out = nil
		var all []callbill.EContract
		var err error
		if in.AllAccounts {
			all, err = tx.AllContracts(ctx)
		} else {
			all, err = tx.Contracts(ctx, in.Account)
		}
		if err != nil {
			return err
		}
		prov, err := provider(ctx, tx)
		if err != nil {
			return err
		}
		for _, c := range all {
			shown(&c, now, prov)
			if in.State == "" || c.State == in.State {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

// Get returns one of the account's contracts, a stale draft shown lapsed
// and a draft with the current provider block. Returns ENOTFOUND if the
// account has no such contract (another account's is not found either).
func (s *Service) Get(ctx context.Context, account, id string) (*callbill.EContract, error) {
	var c *callbill.EContract
	err := s.Store.ViewContracts(ctx, func(tx Tx, now time.Time) error {
		var err error
		if c, err = tx.Contract(ctx, account, id); err != nil {
			return err
		}
		prov, err := provider(ctx, tx)
		if err == nil {
			shown(c, now, prov)
		}
		return err
	})
	return c, err
}

// change loads one of the account's contracts under its lock, lets fn
// change it and stores it when fn reports a change.
func (s *Service) change(ctx context.Context, account, id string, fn func(tx Tx, c *callbill.EContract, now time.Time) (bool, error)) (*callbill.EContract, error) {
	var out *callbill.EContract
	err := s.update(ctx, account, "contract "+id, func(tx Tx, now time.Time) error {
		c, err := tx.Contract(ctx, account, id)
		if err != nil {
			return err
		}
		c.Lapse(now)
		changed, err := fn(tx, c, now)
		if err != nil {
			return err
		}
		if changed {
			if err := tx.UpdateContract(ctx, c); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func notDraft(c *callbill.EContract, what string) error {
	switch c.State {
	case callbill.ContractFormal:
		return callbill.Errorf(callbill.EREFUSED, "contract %s is formal: only a draft can be %s", c.ID, what)
	case callbill.ContractLapsed:
		return callbill.Errorf(callbill.EREFUSED, "contract %s lapsed on %s (a draft is valid %d days): ask for a new one",
			c.ID, c.Ended.UTC().Format("2006-01-02"), callbill.ContractDraftDays)
	}
	return callbill.Errorf(callbill.EREFUSED, "contract %s is %s: only a draft can be %s", c.ID, c.State, what)
}

// Edit replaces a draft's customer details (the name stays the account's)
// and takes the current provider details. Returns ENOTFOUND for another
// account's or no contract, EREFUSED unless it is a draft, EINVALID for bad
// details.
func (s *Service) Edit(ctx context.Context, account, id string, party callbill.ContractParty) (*callbill.EContract, error) {
	return s.change(ctx, account, id, func(tx Tx, c *callbill.EContract, now time.Time) (bool, error) {
		if c.State != callbill.ContractDraft {
			return false, notDraft(c, "edited")
		}
		party.Name = c.Customer.Name
		party.Normalize()
		if err := party.Check("customer"); err != nil {
			return false, err
		}
		prov, err := provider(ctx, tx)
		if err != nil {
			return false, err
		}
		c.Customer, c.Provider = party, prov
		return true, nil
	})
}

// Confirm makes a draft formal, with the current provider details;
// confirming a formal contract again changes nothing (Replayed). Returns
// ENOTFOUND for another account's or no contract, EREFUSED for a void or
// lapsed one, and EREFUSED while the operator has not set the provider
// details (its Hint says how).
func (s *Service) Confirm(ctx context.Context, account, id string) (*callbill.EContract, error) {
	return s.change(ctx, account, id, func(tx Tx, c *callbill.EContract, now time.Time) (bool, error) {
		if c.State == callbill.ContractFormal {
			c.Replayed = true
			return false, nil
		}
		if c.State != callbill.ContractDraft {
			return false, notDraft(c, "confirmed")
		}
		prov, err := provider(ctx, tx)
		if err != nil {
			return false, err
		}
		if !prov.Configured() {
			return false, errNoProvider(c.ID)
		}
		c.State, c.Confirmed, c.Provider = callbill.ContractFormal, now, prov
		return true, nil
	})
}

// VoidInput voids a contract. The operator may name any account's contract
// by its id alone (Account "").
type VoidInput struct {
	Account  string
	ID       string
	Reason   string // required when the operator voids a formal contract
	Operator bool   // who voids it: the operator, else the tenant
}

// Validate says what is wrong with the input.
func (in *VoidInput) Validate() error {
	var problems []string
	if in.ID == "" {
		problems = append(problems, "name the contract")
	}
	if in.Account == "" && !in.Operator {
		problems = append(problems, "a tenant voids only its own account's contracts")
	}
	if utf8.RuneCountInString(in.Reason) > 500 {
		problems = append(problems, "the reason is longer than 500 characters")
	}
	if len(problems) > 0 {
		return callbill.Errorf(callbill.EINVALID, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// Void voids a contract: a draft by the tenant or the operator, a formal
// one by the operator only, with a reason. Voiding a void contract changes
// nothing (Replayed). A voided purchase contract frees its purchase for a
// new one. Returns ENOTFOUND for another account's or no contract, EREFUSED
// for a lapsed one or a tenant voiding a formal one, EINVALID for a bad
// input or a formal contract voided without a reason.
func (s *Service) Void(ctx context.Context, in VoidInput) (*callbill.EContract, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Account == "" {
		if err := s.Store.ViewContracts(ctx, func(tx Tx, now time.Time) error {
			var err error
			in.Account, err = tx.ContractAccount(ctx, in.ID)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return s.change(ctx, in.Account, in.ID, func(tx Tx, c *callbill.EContract, now time.Time) (bool, error) {
		switch c.State {
		case callbill.ContractVoid:
			c.Replayed = true
			return false, nil
		case callbill.ContractLapsed:
			return false, notDraft(c, "voided")
		case callbill.ContractFormal:
			if !in.Operator {
				return false, callbill.Errorf(callbill.EREFUSED, "contract %s is formal: only the operator can void it (ask through a ticket)", c.ID)
			}
			if in.Reason == "" {
				return false, callbill.Errorf(callbill.EINVALID, "voiding a formal contract needs a reason")
			}
		}
		by := "tenant"
		if in.Operator {
			by = "operator"
		}
		c.State, c.Ended, c.VoidedBy, c.VoidReason = callbill.ContractVoid, now, by, in.Reason
		return true, nil
	})
}
