package callbill

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// E-contracts (电子合同): docs/rules.md, "E-contracts"; docs/invoices.md. The discount
// agreement of an account is Contract (model.go); a document the tenant
// signs is an EContract.

// ContractKind says what an e-contract covers.
type ContractKind string

const (
	ContractPurchase ContractKind = "purchase" // one prepaid purchase (one contract per purchase)
	ContractService  ContractKind = "service"  // postpaid usage over closed cycles From..To
)

// ContractState is the state of an e-contract.
type ContractState string

const (
	ContractDraft  ContractState = "draft"  // the tenant may edit the party details, confirm or void it
	ContractFormal ContractState = "formal" // confirmed; only the operator may void it
	ContractVoid   ContractState = "void"   // voided (by the tenant as a draft, or by the operator)
	ContractLapsed ContractState = "lapsed" // a draft not confirmed within ContractDraftDays
)

// ValidContractState reports whether s names a state.
func ValidContractState(s ContractState) bool {
	return s == ContractDraft || s == ContractFormal || s == ContractVoid || s == ContractLapsed
}

// ContractDraftDays is how long a draft stays valid: Alibaba's draft for an
// unpaid order lapses after 30 days; every callbill purchase is paid when it
// is made, so the rule applies to every draft not confirmed within 30 days
// of its creation (docs/invoices.md).
const ContractDraftDays = 30

// MaxServiceCycles is the longest period a service contract covers.
const MaxServiceCycles = 24

// ContractParty is one side of a contract.
type ContractParty struct {
	Name        string `json:"name"`
	Address     string `json:"address,omitempty"`
	Contact     string `json:"contact,omitempty"` // 联系人
	Phone       string `json:"phone,omitempty"`
	Email       string `json:"email,omitempty"`
	TaxID       string `json:"tax_id,omitempty"` // unified social credit code
	Bank        string `json:"bank,omitempty"`
	BankAccount string `json:"bank_account,omitempty"`
}

// Normalize trims the fields like InvoiceTitle.Normalize.
func (p *ContractParty) Normalize() {
	for _, f := range []*string{&p.Name, &p.Address, &p.Contact, &p.Phone, &p.Email, &p.Bank} {
		*f = strings.TrimSpace(*f)
	}
	p.TaxID = strings.ToUpper(strings.TrimSpace(p.TaxID))
	p.BankAccount = strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(p.BankAccount))
}

// Check validates a (normalized) party; what is given must be well formed.
func (p *ContractParty) Check(side string) error {
	if p.Name == "" {
		return Errorf(EINVALID, "the %s needs a name", side)
	}
	for _, f := range []struct{ name, v string }{{"name", p.Name}, {"address", p.Address}, {"contact", p.Contact},
		{"bank", p.Bank}, {"email", p.Email}} {
		if utf8.RuneCountInString(f.v) > 100 {
			return Errorf(EINVALID, "the %s's %s is longer than 100 characters", side, f.name)
		}
	}
	if p.Phone != "" {
		if err := CheckPhone(p.Phone); err != nil {
			return Errorf(EINVALID, "the %s's %s", side, err.Error())
		}
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			return Errorf(EINVALID, "the %s's email %q is not an e-mail address", side, p.Email)
		}
	}
	if p.TaxID != "" {
		if err := CheckCreditCode(p.TaxID); err != nil {
			return Errorf(EINVALID, "the %s's %s", side, err.Error())
		}
	}
	if p.BankAccount != "" {
		if err := CheckBankAccount(p.BankAccount); err != nil {
			return Errorf(EINVALID, "the %s's %s", side, err.Error())
		}
	}
	return nil
}

// DefaultProvider is what the operator's command line shows as the
// provider side while none is set (`callbill contract provider --name …`).
// It is never a contract's party: a draft made before the provider is set
// carries none, and a contract is confirmed only with the operator's own
// (contract.Service.Confirm). Drafts and contracts of earlier versions may
// carry it; Configured treats it as no provider.
var DefaultProvider = ContractParty{
	Name:    "云呼叫中心服务提供方（未配置）",
	Address: "（运营方请用 callbill contract provider 设置名称、地址、税号与开户行）",
}

// Configured reports whether p is a provider block the operator set: not
// empty and not the placeholder that stood for none before.
func (p *ContractParty) Configured() bool {
	return p.Name != "" && p.Name != DefaultProvider.Name
}

// CheckProvider validates a (normalized) provider block as the operator
// sets it: a party, whose name is not the placeholder's.
func (p *ContractParty) CheckProvider() error {
	if err := p.Check("provider"); err != nil {
		return err
	}
	if !p.Configured() {
		return Errorf(EINVALID, "the provider needs its own name, not the placeholder %q", p.Name)
	}
	return nil
}

// ProviderHint tells the operator how to set the provider side of
// contracts; tenants never see it (Error.Hint).
const ProviderHint = "the operator sets them once with: callbill contract provider --name … --address … --tax-id … --bank … --bank-account … --phone …"

// ContractItem is one line of a contract.
type ContractItem struct {
	Cycle         string `json:"cycle"` // YYYY-MM the line is billed in
	ProductDetail string `json:"product_detail"`
	Item          string `json:"item"`
	Description   string `json:"description"` // product detail and item names (and instance or number)
	Usage         string `json:"usage"`
	UsageUnit     string `json:"usage_unit"`
	UnitPrice     string `json:"unit_price,omitempty"` // a purchase's; service lines sum several prices
	PriceUnit     string `json:"price_unit,omitempty"`
	Original      string `json:"original"`
	Discount      string `json:"discount"`
	Payable       string `json:"payable"`
}

// ContractRequest asks for a draft: for a purchase, or for the postpaid
// usage of the closed cycles From..To.
type ContractRequest struct {
	Account  string
	Purchase string
	From, To Cycle
	Customer *ContractParty // nil: the account's name; the name is always the account's
	Key      string         // idempotency key
}

// EContract is an e-contract.
type EContract struct {
	ID         string
	Account    string
	Kind       ContractKind
	Purchase   string // purchase contracts
	From, To   Cycle  // service contracts
	State      ContractState
	Customer   ContractParty // 甲方: the tenant
	Provider   ContractParty // 乙方: the operator
	Items      []ContractItem
	Original   decimal.Decimal
	Discount   decimal.Decimal
	Payable    decimal.Decimal
	Key        string
	CreatedAt  time.Time
	Confirmed  time.Time // became formal
	Ended      time.Time // voided or lapsed
	VoidedBy   string    // tenant, operator
	VoidReason string
	Replayed   bool // the key was used before for the same request
}

// LapsesAt is when a draft lapses.
func (c *EContract) LapsesAt() time.Time {
	return c.CreatedAt.Add(ContractDraftDays * 24 * time.Hour)
}

// Lapse turns a draft past its 30 days into a lapsed contract (as of now)
// and reports whether it did.
func (c *EContract) Lapse(now time.Time) bool {
	if c.State != ContractDraft || now.Before(c.LapsesAt()) {
		return false
	}
	c.State, c.Ended = ContractLapsed, c.LapsesAt()
	return true
}

// Title is the contract's heading.
func (c *EContract) Title() string {
	if c.Kind == ContractPurchase {
		return "云呼叫中心产品购买合同"
	}
	return "云呼叫中心服务合同"
}
