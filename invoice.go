package callbill

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Invoices (发票): docs/rules.md, "Invoices"; docs/invoices.md. Amounts are integers in
// fen, as in Alibaba's invoice APIs (ApplyInvoice.InvoiceAmount).

// TitleKind says whom an invoice title names: a company or a person. It
// must match the account's real-name identity (enterprise → company,
// individual → person).
type TitleKind string

const (
	TitleCompany TitleKind = "company"
	TitlePerson  TitleKind = "person"
)

// InvoiceType is the kind of VAT invoice.
type InvoiceType string

const (
	InvoiceGeneral InvoiceType = "general" // 增值税普通发票
	InvoiceSpecial InvoiceType = "special" // 增值税专用发票
)

// InvoiceTypeName is the Chinese name of an invoice type.
var InvoiceTypeName = map[InvoiceType]string{InvoiceGeneral: "增值税普通发票", InvoiceSpecial: "增值税专用发票"}

// InvoiceState is the state of an invoice application.
type InvoiceState string

const (
	InvoicePending   InvoiceState = "pending"   // waiting for the operator
	InvoiceIssued    InvoiceState = "issued"    // the operator issued it (number and date)
	InvoiceRejected  InvoiceState = "rejected"  // the operator refused it (reason)
	InvoiceWithdrawn InvoiceState = "withdrawn" // the tenant took it back while pending
)

// ValidInvoiceState reports whether s names a state ("" is not one).
func ValidInvoiceState(s InvoiceState) bool {
	return s == InvoicePending || s == InvoiceIssued || s == InvoiceRejected || s == InvoiceWithdrawn
}

// InvoiceTitle is an invoice title (发票抬头) of an account.
type InvoiceTitle struct {
	ID          string
	Account     string
	Kind        TitleKind
	Type        InvoiceType // the invoice type the title is for; special titles carry every special field
	Name        string      // 抬头: the company's or person's name
	TaxID       string      // 纳税人识别号: the unified social credit code (company titles)
	Bank        string      // 开户银行
	BankAccount string      // 银行账号, digits
	Address     string      // 注册地址
	Phone       string      // 注册电话
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Normalize trims the fields, upper-cases the tax ID and drops the spaces
// and hyphens people type in bank account numbers.
func (t *InvoiceTitle) Normalize() {
	t.Name, t.Bank, t.Address, t.Phone = strings.TrimSpace(t.Name), strings.TrimSpace(t.Bank), strings.TrimSpace(t.Address), strings.TrimSpace(t.Phone)
	t.TaxID = strings.ToUpper(strings.TrimSpace(t.TaxID))
	t.BankAccount = strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(t.BankAccount))
}

// Check validates a (normalized) title for an account of the given kind.
// It returns EINVALID naming the first problem.
func (t *InvoiceTitle) Check(acct AccountKind) error {
	switch t.Kind {
	case TitleCompany, TitlePerson:
	default:
		return Errorf(EINVALID, "title kind must be company or person, not %q", t.Kind)
	}
	switch t.Type {
	case InvoiceGeneral, InvoiceSpecial:
	default:
		return Errorf(EINVALID, "invoice type must be general (增值税普通发票) or special (增值税专用发票), not %q", t.Type)
	}
	if t.Name == "" {
		return Errorf(EINVALID, "the title needs a name (抬头)")
	}
	for _, f := range []struct{ name, v string }{{"name", t.Name}, {"bank", t.Bank}, {"address", t.Address}} {
		if utf8.RuneCountInString(f.v) > 100 {
			return Errorf(EINVALID, "%s is longer than 100 characters", f.name)
		}
	}
	if t.Type == InvoiceSpecial {
		if err := SpecialInvoiceAllowed(t, acct); err != nil {
			return err
		}
	}
	switch {
	case t.Kind == TitleCompany && acct == AccountIndividual:
		return Errorf(EINVALID, "an individual account's titles name a person: a company title needs an enterprise account (the title must match the account's real-name identity)")
	case t.Kind == TitlePerson && acct != AccountIndividual:
		return Errorf(EINVALID, "an enterprise account's titles name the company: a person title needs an individual account (the title must match the account's real-name identity)")
	case t.Kind == TitlePerson && t.TaxID != "":
		return Errorf(EINVALID, "a person title has no tax ID")
	case t.Kind == TitleCompany && t.TaxID == "":
		return Errorf(EINVALID, "a company title needs its tax ID (纳税人识别号, the unified social credit code)")
	}
	if t.TaxID != "" {
		if err := CheckCreditCode(t.TaxID); err != nil {
			return err
		}
	}
	if t.BankAccount != "" {
		if err := CheckBankAccount(t.BankAccount); err != nil {
			return err
		}
	}
	if t.Phone != "" {
		if err := CheckPhone(t.Phone); err != nil {
			return err
		}
	}
	return nil
}

// SpecialInvoiceAllowed tells whether a special VAT invoice (增值税专用发票)
// may be made out to the title: it needs an enterprise account, a company
// title and its tax ID, bank, bank account, address and phone.
func SpecialInvoiceAllowed(t *InvoiceTitle, acct AccountKind) error {
	if acct == AccountIndividual {
		return Errorf(EINVALID, "a special VAT invoice (增值税专用发票) needs an enterprise account; individual accounts get general invoices")
	}
	if t.Kind != TitleCompany {
		return Errorf(EINVALID, "a special VAT invoice (增值税专用发票) is made out to a company title")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"tax ID", t.TaxID}, {"bank", t.Bank}, {"bank account", t.BankAccount},
		{"address", t.Address}, {"phone", t.Phone}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Errorf(EINVALID, "a special VAT invoice (增值税专用发票) needs the title's %s", strings.Join(missing, ", "))
	}
	return nil
}

// creditCodeChars are the 31 characters of a unified social credit code
// (GB 32100-2015: digits and capitals without I, O, S, V, Z), in value order.
const creditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditCodeWeights are 3^i mod 31 for the first 17 positions.
var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CreditCodeCheck returns the check character of the first 17 characters of
// a unified social credit code, false when one of them is not allowed.
func CreditCodeCheck(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditCodeChars, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * creditCodeWeights[i]
	}
	return creditCodeChars[(31-sum%31)%31], true
}

// CheckCreditCode validates a unified social credit code (统一社会信用代码,
// GB 32100-2015): 18 characters, the first two a registration authority and
// an organization type, then the 9-character organization code with its own
// check character (GB 11714), the last the check character over the first 17.
func CheckCreditCode(s string) error {
	if len(s) != 18 {
		return Errorf(EINVALID, "tax ID %q must be the 18-character unified social credit code (统一社会信用代码)", s)
	}
	for i := 0; i < 18; i++ {
		if strings.IndexByte(creditCodeChars, s[i]) < 0 {
			return Errorf(EINVALID, "tax ID %q: %q is not allowed in a unified social credit code (digits and capitals other than I, O, S, V, Z)", s, s[i])
		}
	}
	want, _ := CreditCodeCheck(s[:17])
	if s[17] != want {
		return Errorf(EINVALID, "tax ID %q: wrong check character %c (the first 17 characters give %c)", s, s[17], want)
	}
	return nil
}

// CheckBankAccount validates a bank account number: 8 to 32 digits (spaces
// and hyphens are dropped by Normalize).
func CheckBankAccount(s string) error {
	if len(s) < 8 || len(s) > 32 || Digits(s) != s {
		return Errorf(EINVALID, "bank account %q must be 8 to 32 digits", s)
	}
	return nil
}

// CheckPhone validates a phone number as written on an invoice or contract:
// a mobile number (1[3-9] and 9 digits), a landline with its area code
// (0, 2 or 3 more digits, then 7 or 8; e.g. 0571-88880001), or a 400/800
// service number (10 digits); an optional +86, spaces, hyphens and
// parentheses around the area code, and an extension after "转".
func CheckPhone(s string) error {
	bad := Errorf(EINVALID, "phone %q is not a phone number (a mobile number, a landline with its area code such as 0571-88880001, or a 400/800 number)", s)
	if len(s) > 40 {
		return bad
	}
	main, ext := s, ""
	if i := strings.Index(s, "转"); i >= 0 {
		main, ext = s[:i], s[i+len("转"):]
	}
	for _, r := range main {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune("+ -()", r) {
			return bad
		}
	}
	if ext != "" && (Digits(ext) != ext || len(ext) > 6) {
		return bad
	}
	d := Digits(main)
	if strings.HasPrefix(strings.TrimSpace(main), "+") {
		if !strings.HasPrefix(d, "86") {
			return bad
		}
		d = strings.TrimPrefix(d, "86")
	}
	switch {
	case len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9':
		return nil
	case (strings.HasPrefix(d, "400") || strings.HasPrefix(d, "800")) && len(d) == 10:
		return nil
	case d != "" && d[0] == '0' && len(d) >= 10 && len(d) <= 12:
		return nil
	}
	return bad
}

// InvoiceApplication is an invoice application and what became of it.
type InvoiceApplication struct {
	ID          string
	Account     string
	Title       InvoiceTitle // as it was when applied for
	Type        InvoiceType
	AmountFen   int64
	Remark      string
	State       InvoiceState
	Key         string
	CreatedAt   time.Time
	InvoiceNo   string // issued
	InvoiceDate string // issued, YYYY-MM-DD
	Reason      string // rejected
	DecidedAt   time.Time
	Replayed    bool // the key was used before for the same request: nothing new was applied for
}

// Invoiceable is what an account may still invoice.
type Invoiceable struct {
	Account        string
	PaidFen        int64 // paid for consumption (purchases, bill deductions and settlements, net of adjustments)
	IssuedFen      int64 // invoiced
	PendingFen     int64 // applied for, not decided yet
	InvoiceableFen int64 // PaidFen − IssuedFen − PendingFen, never below 0
	OwedFen        int64 // arrears: while above 0 no application is accepted
}

// Fen converts an amount in yuan with at most 2 decimals to fen.
func Fen(d decimal.Decimal) int64 { return d.Shift(fenPlaces).Round(0).IntPart() }

// FromFen converts fen to yuan.
func FromFen(n int64) decimal.Decimal { return decimal.New(n, -fenPlaces) }

// FormatFen prints an amount in fen as yuan with two decimals ("12.34").
func FormatFen(n int64) string { return FormatMoney(FromFen(n)) }

// ParseFen parses an amount in yuan ("12.34") into fen; it must be positive.
func ParseFen(s string) (int64, error) {
	d, err := ParseAmount(s)
	if err != nil {
		return 0, err
	}
	if !d.IsPositive() {
		return 0, Errorf(EINVALID, "amount %q must be positive", s)
	}
	return Fen(d), nil
}

// CheckInvoiceNumber validates an invoice number: 8 to 20 digits (the
// 8-digit number of a paper invoice, the 20-digit number of a fully
// digitalized e-invoice, 数电发票).
func CheckInvoiceNumber(s string) error {
	if len(s) < 8 || len(s) > 20 || Digits(s) != s {
		return Errorf(EINVALID, "invoice number %q must be 8 to 20 digits", s)
	}
	return nil
}

// ParseInvoiceDate parses an invoice date, YYYY-MM-DD.
func ParseInvoiceDate(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "invoice date %q must be YYYY-MM-DD", s)
	}
	return t, nil
}
