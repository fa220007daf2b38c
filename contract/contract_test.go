package contract_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contract"
	"github.com/shopspring/decimal"
)

// memStore keeps contracts in memory: the rules run without a database.
type memStore struct {
	now       time.Time
	names     map[string]string
	contracts map[string]*stored // by id
	purchases map[string]*contract.BilledLine
	lines     map[string][]contract.BilledLine // by account
	closed    callbill.Cycle
	provider  *callbill.ContractParty
}

type stored struct {
	c       callbill.EContract
	request string
}

func newMem() *memStore {
	return &memStore{now: time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC), names: map[string]string{"1001": "甲公司", "1002": "乙公司"},
		contracts: map[string]*stored{}, purchases: map[string]*contract.BilledLine{}, lines: map[string][]contract.BilledLine{}}
}

func (m *memStore) UpdateContracts(ctx context.Context, account, what string, fn func(tx contract.Tx, now time.Time) error) error {
	if _, ok := m.names[account]; !ok {
		return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", account)
	}
	return fn(m, m.now)
}

func (m *memStore) ViewContracts(ctx context.Context, fn func(tx contract.Tx, now time.Time) error) error {
	return fn(m, m.now)
}

func (m *memStore) AccountName(ctx context.Context, account string) (string, error) {
	if n, ok := m.names[account]; ok {
		return n, nil
	}
	return "", callbill.Errorf(callbill.ENOTFOUND, "account %s not found", account)
}

func (m *memStore) ContractAccount(ctx context.Context, id string) (string, error) {
	if s, ok := m.contracts[id]; ok {
		return s.c.Account, nil
	}
	return "", callbill.Errorf(callbill.ENOTFOUND, "contract %s not found", id)
}

func (m *memStore) Contract(ctx context.Context, account, id string) (*callbill.EContract, error) {
	if s, ok := m.contracts[id]; ok && s.c.Account == account {
		c := s.c
		return &c, nil
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "contract %s not found", id)
}

func (m *memStore) ContractByKey(ctx context.Context, account, key string) (*callbill.EContract, string, error) {
	for _, s := range m.contracts {
		if s.c.Account == account && s.c.Key == key {
			c := s.c
			return &c, s.request, nil
		}
	}
	return nil, "", nil
}

func (m *memStore) AllContracts(ctx context.Context) ([]callbill.EContract, error) {
	return m.contractsOf("", true)
}

func (m *memStore) Contracts(ctx context.Context, account string) ([]callbill.EContract, error) {
	if _, ok := m.names[account]; !ok {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", account)
	}
	return m.contractsOf(account, false)
}

func (m *memStore) contractsOf(account string, all bool) ([]callbill.EContract, error) {
	var out []callbill.EContract
	for _, s := range m.contracts {
		if all || s.c.Account == account {
			out = append(out, s.c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func (m *memStore) LiveContracts(ctx context.Context, account, purchase string, from, to callbill.Cycle) ([]callbill.EContract, error) {
	var out []callbill.EContract
	for _, s := range m.contracts {
		c := s.c
		live := c.Account == account && (c.State == callbill.ContractDraft || c.State == callbill.ContractFormal)
		if live && ((purchase != "" && c.Purchase == purchase) ||
			(purchase == "" && c.Kind == callbill.ContractService && c.From <= to && c.To >= from)) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) Purchase(ctx context.Context, account, id string) (*contract.BilledLine, error) {
	if p, ok := m.purchases[account+"/"+id]; ok {
		return p, nil
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "purchase %s not found", id)
}

func (m *memStore) PostpaidLines(ctx context.Context, account string, from, to callbill.Cycle) ([]contract.BilledLine, error) {
	var out []contract.BilledLine
	for _, l := range m.lines[account] {
		if l.Cycle >= from && l.Cycle <= to {
			out = append(out, l)
		}
	}
	return out, nil
}

func (m *memStore) ClosedThrough(ctx context.Context) (callbill.Cycle, error) { return m.closed, nil }

func (m *memStore) Provider(ctx context.Context) (*callbill.ContractParty, error) {
	return m.provider, nil
}

func (m *memStore) LapseDrafts(ctx context.Context, account string, createdBy time.Time) error {
	for _, s := range m.contracts {
		if s.c.Account == account && s.c.State == callbill.ContractDraft && !s.c.CreatedAt.After(createdBy) {
			s.c.State, s.c.Ended = callbill.ContractLapsed, s.c.LapsesAt()
		}
	}
	return nil
}

func (m *memStore) InsertContract(ctx context.Context, c *callbill.EContract, request string) error {
	m.contracts[c.ID] = &stored{*c, request}
	return nil
}

func (m *memStore) UpdateContract(ctx context.Context, c *callbill.EContract) error {
	m.contracts[c.ID].c = *c
	return nil
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func fixture() (*memStore, *contract.Service) {
	m := newMem()
	m.purchases["1001/P1"] = &contract.BilledLine{Cycle: callbill.NewCycle(2026, time.October), ProductDetail: callbill.PDVoicePackage,
		Item: callbill.ItemVoicePackage, UnitPrice: "1450", PriceUnit: "元/个", UsageUnit: "个",
		Usage: dec("1"), Original: dec("1450.00"), Discount: dec("145.00"), Payable: dec("1305.00")}
	oct, sep := callbill.NewCycle(2026, time.October), callbill.NewCycle(2026, time.September)
	m.lines["1001"] = []contract.BilledLine{
		{Cycle: sep, ProductDetail: callbill.PDPostpaid, Item: callbill.ItemFixedLineOutbound, UnitPrice: "0.15", PriceUnit: "元/分钟", UsageUnit: "分钟",
			Usage: dec("100"), Original: dec("15.00"), Discount: dec("0"), Payable: dec("15.00")},
		// Two bands of one item in October: one line with the summed amounts and no unit price.
		{Cycle: oct, ProductDetail: callbill.PDPostpaid, Item: callbill.ItemCallCenterSoftware, UnitPrice: "0.0499", PriceUnit: "元/分钟", UsageUnit: "分钟",
			Usage: dec("200000"), Original: dec("9980.00"), Discount: dec("998.00"), Payable: dec("8982.00")},
		{Cycle: oct, ProductDetail: callbill.PDPostpaid, Item: callbill.ItemCallCenterSoftware, UnitPrice: "0.0449", PriceUnit: "元/分钟", UsageUnit: "分钟",
			Usage: dec("100"), Original: dec("4.49"), Discount: dec("0.45"), Payable: dec("4.04")},
		// A free line is left out.
		{Cycle: oct, ProductDetail: callbill.PDPostpaid, Item: callbill.ItemFixedLineInbound, UnitPrice: "0", PriceUnit: "元/分钟", UsageUnit: "分钟",
			Usage: dec("50"), Original: dec("0"), Discount: dec("0"), Payable: dec("0")},
	}
	m.closed = oct
	return m, &contract.Service{Store: m}
}

func code(err error) string { return callbill.ErrorCode(err) }

func TestCreatePurchaseContractOncePerPurchaseAndKey(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	req := callbill.ContractRequest{Account: "1001", Purchase: "P1", Key: "k1", Customer: &callbill.ContractParty{Name: "ignored", Address: " 杭州 "}}
	c, err := s.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != callbill.ContractDraft || c.Customer.Name != "甲公司" || c.Customer.Address != "杭州" || c.Provider != (callbill.ContractParty{}) ||
		!c.Payable.Equal(dec("1305")) || len(c.Items) != 1 || c.Items[0].Payable != "1305.00" || c.Items[0].Usage != "1" ||
		!strings.HasPrefix(c.ID, "CT20261110-") {
		t.Fatalf("contract %+v", c)
	}
	again, err := s.Create(ctx, req)
	if err != nil || !again.Replayed || again.ID != c.ID {
		t.Fatalf("the same key and request: %+v, %v", again, err)
	}
	other := req
	other.Customer = &callbill.ContractParty{Address: "上海"}
	if _, err := s.Create(ctx, other); code(err) != callbill.ECONFLICT || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("the same key, another request: %v", err)
	}
	other.Key = "k2"
	if _, err := s.Create(ctx, other); code(err) != callbill.ECONFLICT || !strings.Contains(err.Error(), "one contract per purchase") {
		t.Errorf("a second contract for the purchase: %v", err)
	}
	if _, err := s.Void(ctx, contract.VoidInput{Account: "1001", ID: c.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, other); err != nil {
		t.Errorf("a voided contract frees its purchase: %v", err)
	}
	for name, r := range map[string]callbill.ContractRequest{
		"unknown purchase":           {Account: "1001", Purchase: "P9"},
		"another account's purchase": {Account: "1002", Purchase: "P1"},
		"unknown account":            {Account: "9999", Purchase: "P1"},
	} {
		if _, err := s.Create(ctx, r); code(err) != callbill.ENOTFOUND {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(m.contracts) != 2 {
		t.Errorf("%d contracts stored, want 2", len(m.contracts))
	}
}

func TestServiceContractSumsClosedLines(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	sep, oct := callbill.NewCycle(2026, time.September), callbill.NewCycle(2026, time.October)
	c, err := s.Create(ctx, callbill.ContractRequest{Account: "1001", From: sep, To: oct})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != 2 {
		t.Fatalf("items %+v: want September's outbound and October's platform fee", c.Items)
	}
	plat := c.Items[1]
	if plat.Cycle != "2026-10" || plat.Usage != "200100" || plat.UnitPrice != "" || plat.PriceUnit != "" ||
		plat.Original != "9984.49" || plat.Discount != "998.45" || plat.Payable != "8986.04" {
		t.Errorf("two bands summed: %+v", plat)
	}
	if c.Items[0].UnitPrice != "0.15" || !c.Payable.Equal(dec("9001.04")) || !c.Original.Equal(dec("9999.49")) {
		t.Errorf("contract %+v", c)
	}
	if _, err := s.Create(ctx, callbill.ContractRequest{Account: "1001", From: oct, To: oct}); code(err) != callbill.ECONFLICT {
		t.Errorf("a cycle under two contracts: %v", err)
	}
	m.closed = sep
	if _, err := s.Create(ctx, callbill.ContractRequest{Account: "1002", From: oct, To: oct}); code(err) != callbill.EREFUSED ||
		!strings.Contains(err.Error(), "closed through 2026-09") {
		t.Errorf("an open cycle: %v", err)
	}
	m.closed = oct
	if _, err := s.Create(ctx, callbill.ContractRequest{Account: "1002", From: oct, To: oct}); code(err) != callbill.EREFUSED ||
		!strings.Contains(err.Error(), "nothing to contract") {
		t.Errorf("no charges: %v", err)
	}
}

func TestRequestForm(t *testing.T) {
	oct := callbill.NewCycle(2026, time.October)
	for name, r := range map[string]callbill.ContractRequest{
		"both":     {Purchase: "P1", From: oct, To: oct},
		"neither":  {},
		"half":     {From: oct},
		"reversed": {From: oct, To: oct - 1},
		"too long": {From: oct - callbill.MaxServiceCycles, To: oct},
	} {
		if err := contract.Validate(&r); code(err) != callbill.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := contract.Validate(&callbill.ContractRequest{From: oct - callbill.MaxServiceCycles + 1, To: oct}); err != nil {
		t.Errorf("the longest period: %v", err)
	}
}

func TestStatesConfirmEditVoidLapse(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	c, err := s.Create(ctx, callbill.ContractRequest{Account: "1001", Purchase: "P1"})
	if err != nil {
		t.Fatal(err)
	}
	m.provider = &callbill.ContractParty{Name: "示例云通信有限公司"}
	e, err := s.Edit(ctx, "1001", c.ID, callbill.ContractParty{Name: "改名", Contact: "王芳"})
	if err != nil || e.Customer.Name != "甲公司" || e.Customer.Contact != "王芳" || e.Provider.Name != "示例云通信有限公司" {
		t.Fatalf("edit: %+v %v", e, err)
	}
	if _, err := s.Edit(ctx, "1002", c.ID, callbill.ContractParty{}); code(err) != callbill.ENOTFOUND {
		t.Errorf("another account edits: %v", err)
	}
	m.now = m.now.Add(time.Hour)
	f, err := s.Confirm(ctx, "1001", c.ID)
	if err != nil || f.State != callbill.ContractFormal || !f.Confirmed.Equal(m.now) {
		t.Fatalf("confirm: %+v %v", f, err)
	}
	if again, err := s.Confirm(ctx, "1001", c.ID); err != nil || !again.Replayed {
		t.Errorf("confirm again: %+v %v", again, err)
	}
	if _, err := s.Edit(ctx, "1001", c.ID, callbill.ContractParty{}); code(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "formal") {
		t.Errorf("edit a formal one: %v", err)
	}
	if _, err := s.Void(ctx, contract.VoidInput{Account: "1001", ID: c.ID}); code(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "only the operator") {
		t.Errorf("tenant voids a formal one: %v", err)
	}
	if _, err := s.Void(ctx, contract.VoidInput{ID: c.ID, Operator: true}); code(err) != callbill.EINVALID {
		t.Errorf("operator voids a formal one without a reason: %v", err)
	}
	if _, err := s.Void(ctx, contract.VoidInput{ID: c.ID, Reason: "x"}); code(err) != callbill.EINVALID {
		t.Errorf("a tenant naming no account: %v", err)
	}
	v, err := s.Void(ctx, contract.VoidInput{ID: c.ID, Reason: " 重签 ", Operator: true})
	if err != nil || v.State != callbill.ContractVoid || v.VoidedBy != "operator" || v.VoidReason != "重签" || !v.Ended.Equal(m.now) {
		t.Fatalf("operator void: %+v %v", v, err)
	}
	if again, err := s.Void(ctx, contract.VoidInput{Account: "1001", ID: c.ID}); err != nil || !again.Replayed {
		t.Errorf("void again: %+v %v", again, err)
	}
	if got := m.contracts[c.ID].c; got.State != callbill.ContractVoid || got.VoidReason != "重签" {
		t.Errorf("stored %+v", got)
	}

	// A draft lapses 30 days after it was made: shown lapsed at once,
	// stored lapsed by the next change, and nothing more can happen to it.
	d, err := s.Create(ctx, callbill.ContractRequest{Account: "1001", Purchase: "P1", Key: "later"})
	if err != nil {
		t.Fatal(err)
	}
	m.now = d.CreatedAt.Add(callbill.ContractDraftDays * 24 * time.Hour)
	if got, _ := s.Get(ctx, "1001", d.ID); got.State != callbill.ContractLapsed {
		t.Errorf("after 30 days: %s", got.State)
	}
	if lapsed, err := s.List(ctx, contract.ListInput{Account: "1001", State: callbill.ContractLapsed}); err != nil || len(lapsed) != 1 {
		t.Errorf("lapsed list: %v %v", lapsed, err)
	}
	if _, err := s.Confirm(ctx, "1001", d.ID); code(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "lapsed on") {
		t.Errorf("confirm a lapsed draft: %v", err)
	}
	if m.contracts[d.ID].c.State != callbill.ContractLapsed {
		t.Errorf("not stored lapsed: %s", m.contracts[d.ID].c.State)
	}
	if replay, err := s.Create(ctx, callbill.ContractRequest{Account: "1001", Purchase: "P1", Key: "later"}); err != nil ||
		!replay.Replayed || replay.State != callbill.ContractLapsed {
		t.Errorf("replaying the key of a lapsed draft: %+v %v", replay, err)
	}
}

// TestConfirmNeedsProvider: while the operator has not set the provider
// side (乙方), a draft shows none and confirming it is refused with a
// message the tenant can act on and a hint for the operator; once it is
// set, the draft shows it and is confirmed with it, and a formal contract
// keeps it. The placeholder that earlier versions stored counts as none.
func TestConfirmNeedsProvider(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	c, err := s.Create(ctx, callbill.ContractRequest{Account: "1001", Purchase: "P1", Customer: &callbill.ContractParty{Contact: "王芳"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Provider.Configured() || c.Provider != (callbill.ContractParty{}) {
		t.Fatalf("a draft without a provider set: %+v", c.Provider)
	}
	for _, prov := range []*callbill.ContractParty{nil, &callbill.DefaultProvider, {}} {
		m.provider = prov
		_, err := s.Confirm(ctx, "1001", c.ID)
		msg := callbill.ErrorMessage(err)
		if code(err) != callbill.EREFUSED || !strings.Contains(msg, "not configured") || !strings.Contains(msg, "contact your operator") ||
			strings.Contains(msg, "callbill contract provider") {
			t.Errorf("confirm with provider %+v: %v", prov, err)
		}
		if !strings.Contains(err.Error(), "callbill contract provider --name") {
			t.Errorf("the operator's hint is missing: %v", err)
		}
		if got := m.contracts[c.ID].c; got.State != callbill.ContractDraft || !got.Confirmed.IsZero() {
			t.Errorf("a refused confirmation changed the draft: %+v", got)
		}
	}
	if p, err := s.Provider(ctx); err != nil || p != callbill.DefaultProvider {
		t.Errorf("the operator's view of no provider: %+v %v", p, err)
	}
	// A draft stored with the old placeholder shows none.
	m.contracts[c.ID].c.Provider = callbill.DefaultProvider
	if got, err := s.Get(ctx, "1001", c.ID); err != nil || got.Provider != (callbill.ContractParty{}) {
		t.Errorf("a draft stored with the placeholder: %+v %v", got, err)
	}

	m.provider = &callbill.ContractParty{Name: "示例云通信有限公司", Address: "北京市朝阳区"}
	if got, err := s.Get(ctx, "1001", c.ID); err != nil || got.Provider != *m.provider {
		t.Errorf("the draft shows the provider set since: %+v %v", got, err)
	}
	if ls, err := s.List(ctx, contract.ListInput{Account: "1001"}); err != nil || len(ls) != 1 || ls[0].Provider != *m.provider {
		t.Errorf("the list shows the provider set since: %+v %v", ls, err)
	}
	f, err := s.Confirm(ctx, "1001", c.ID)
	if err != nil || f.State != callbill.ContractFormal || f.Provider.Name != "示例云通信有限公司" || m.contracts[c.ID].c.Provider != *m.provider {
		t.Fatalf("confirm once the provider is set: %+v %v", f, err)
	}
	// A formal contract keeps the provider it was confirmed with.
	m.provider = &callbill.ContractParty{Name: "新的提供方有限公司"}
	if got, err := s.Get(ctx, "1001", c.ID); err != nil || got.Provider.Name != "示例云通信有限公司" {
		t.Errorf("a formal contract after the provider changed: %+v %v", got, err)
	}
}

func TestCheckProvider(t *testing.T) {
	for _, p := range []callbill.ContractParty{{}, callbill.DefaultProvider, {Name: "示例云通信有限公司", Phone: "12"}} {
		if err := p.CheckProvider(); code(err) != callbill.EINVALID {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if p := (callbill.ContractParty{Name: "示例云通信有限公司"}); p.CheckProvider() != nil || !p.Configured() {
		t.Errorf("a provider with a name is refused")
	}
}

func TestListInput(t *testing.T) {
	for _, in := range []contract.ListInput{{}, {Account: "1001", AllAccounts: true}, {Account: "1001", State: "signed"}} {
		if err := in.Validate(); code(err) != callbill.EINVALID {
			t.Errorf("%+v: %v", in, err)
		}
	}
	ctx := context.Background()
	_, s := fixture()
	s.Create(ctx, callbill.ContractRequest{Account: "1001", Purchase: "P1"})
	if all, err := s.List(ctx, contract.ListInput{AllAccounts: true}); err != nil || len(all) != 1 {
		t.Errorf("all accounts: %v %v", all, err)
	}
	if none, err := s.List(ctx, contract.ListInput{Account: "1002"}); err != nil || len(none) != 0 {
		t.Errorf("another account: %v %v", none, err)
	}
	if _, err := s.List(ctx, contract.ListInput{Account: "9999"}); code(err) != callbill.ENOTFOUND {
		t.Errorf("unknown account: %v", err)
	}
}
