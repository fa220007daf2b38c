package callbill

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Mode is an instance's payment mode.
type Mode string

const (
	ModePayg         Mode = "payg"
	ModeSubscription Mode = "subscription"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModePayg || m == ModeSubscription }

// NumberKind is the kind of a phone number.
type NumberKind string

const (
	NumberFixed NumberKind = "fixed"
	Number400   NumberKind = "400"
)

// NumberSource tells who provides a number's telecom service (docs/rules.md, "What a call is charged").
type NumberSource string

const (
	SourceCCC        NumberSource = "ccc"
	SourceThirdParty NumberSource = "third_party"
	SourceOwn        NumberSource = "own"
)

// Direction of a call.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// AccountKind is the real-name identity of an account.
type AccountKind string

const (
	AccountEnterprise AccountKind = "enterprise"
	AccountIndividual AccountKind = "individual"
)

// Item is a billing item (计费项): docs/rules.md, "Billing items and the
// price book". The order of the constants is
// the item order used wherever lines are ordered.
type Item string

const (
	ItemCallCenterSoftware Item = "CallCenterSoftware"
	ItemFixedLineInbound   Item = "FixedLineInbound"
	ItemFixedLineOutbound  Item = "FixedLineOutbound"
	ItemInbound400         Item = "Inbound_400"
	ItemInbound400Minimum  Item = "Inbound_400_Minimum"
	ItemRecordStorage      Item = "RecordStorage"
	ItemNumberRent         Item = "NumberRent"
	ItemVoicePackage       Item = "VoicePackage"
	ItemSipLine            Item = "SipLine"
)

// Items lists every billing item in line order.
var Items = []Item{ItemCallCenterSoftware, ItemFixedLineInbound, ItemFixedLineOutbound,
	ItemInbound400, ItemInbound400Minimum, ItemRecordStorage, ItemNumberRent, ItemVoicePackage, ItemSipLine}

// ItemOrder returns the position of an item in the item table
// (docs/rules.md, "Billing items and the price book").
func ItemOrder(it Item) int {
	for i, x := range Items {
		if x == it {
			return i
		}
	}
	return len(Items)
}

// ItemName is the Chinese name shown on bills.
var ItemName = map[Item]string{
	ItemCallCenterSoftware: "坐席平台费",
	ItemFixedLineInbound:   "固话呼入",
	ItemFixedLineOutbound:  "固话呼出",
	ItemInbound400:         "400号码呼入",
	ItemInbound400Minimum:  "400号码月最低消费补足",
	ItemRecordStorage:      "录音存储费",
	ItemNumberRent:         "号码月租",
	ItemVoicePackage:       "语音包",
	ItemSipLine:            "SIP线路对接维护费",
}

// ProductDetail is a product detail (产品明细): docs/rules.md, "Product
// details and subscription types"; in line order.
type ProductDetail string

const (
	PDPostpaid     ProductDetail = "ccc_postpaid"
	PDSubscription ProductDetail = "ccc_subscription"
	PDNumber       ProductDetail = "ccc_number"
	PDVoicePackage ProductDetail = "ccc_voice_package"
	PDSip          ProductDetail = "ccc_sip"
)

// ProductDetails lists the product details in line order.
var ProductDetails = []ProductDetail{PDPostpaid, PDSubscription, PDNumber, PDVoicePackage, PDSip}

// ProductDetailOrder returns the position of a product detail in the table
// of docs/rules.md, "Product details and subscription types".
func ProductDetailOrder(pd ProductDetail) int {
	for i, x := range ProductDetails {
		if x == pd {
			return i
		}
	}
	return len(ProductDetails)
}

// ProductDetailName is the Chinese name of a product detail.
var ProductDetailName = map[ProductDetail]string{
	PDPostpaid:     "云呼叫中心（后付费）",
	PDSubscription: "云呼叫中心包年包月",
	PDNumber:       "云呼叫中心号码",
	PDVoicePackage: "云呼叫中心语音包",
	PDSip:          "云呼叫中心SIP线路",
}

// UsageProductDetail is the product detail of an instance's usage lines.
func UsageProductDetail(m Mode) ProductDetail {
	if m == ModeSubscription {
		return PDSubscription
	}
	return PDPostpaid
}

// Subscription types of a line.
const (
	SubscriptionTypePayAsYouGo   = "PayAsYouGo"
	SubscriptionTypeSubscription = "Subscription"
)

// DefaultRetentionMonths is how long recordings are kept unless the account says otherwise.
const DefaultRetentionMonths = 6

// Account is a tenant (主账户), identified by its UID.
type Account struct {
	UID                      string
	Name                     string
	Kind                     AccountKind
	CreditLine               decimal.Decimal
	Contract                 *Contract
	RecordingRetentionMonths int
	Instances                []Instance
	// Allowance (延期免停) and GraceDays: how far below 0 available may go,
	// and for how long below that, before the account is stopped.
	Allowance decimal.Decimal
	GraceDays int
	// LowBalanceAlert, when set, records an alert when available falls below it.
	LowBalanceAlert *decimal.Decimal
	Path            string // where a world file declares it, for problems
}

// Contract is an account's discount agreement (docs/rules.md, "Contract discounts"). A rate r means
// the tenant pays r of the original (0.8 = 八折).
type Contract struct {
	Discount decimal.Decimal
	Items    map[Item]decimal.Decimal
	From, To Cycle // 0 = open
}

// RateFor returns the rate for item in cycle c (1 when no contract applies).
func (c *Contract) RateFor(item Item, cycle Cycle) decimal.Decimal {
	if c == nil || (c.From != 0 && cycle < c.From) || (c.To != 0 && cycle > c.To) {
		return one
	}
	if r, ok := c.Items[item]; ok {
		return r
	}
	if c.Discount.IsZero() {
		return one
	}
	return c.Discount
}

// Instance is a call-center instance of an account.
type Instance struct {
	ID      string
	Account string
	Mode    Mode
	Numbers []Number
}

// Number is a phone number registered on an instance.
type Number struct {
	Number   string // digits only
	Instance string
	Kind     NumberKind
	Source   NumberSource
	Tier     string    // 400 tier, e.g. 普通
	Since    time.Time // zero: always
	Until    time.Time // zero: open-ended
	// AutoRenew renews the rent from cash 7 days before it runs out (while
	// a server runs).
	AutoRenew bool
}

// InService reports whether the number serves calls starting at t.
func (n *Number) InService(t time.Time) bool {
	return (n.Since.IsZero() || !t.Before(n.Since)) && (n.Until.IsZero() || t.Before(n.Until))
}

// InServiceDuring reports whether the number is in service at any time in [from, to).
func (n *Number) InServiceDuring(from, to time.Time) bool {
	return (n.Since.IsZero() || n.Since.Before(to)) && (n.Until.IsZero() || n.Until.After(from))
}

// Minimum400 is the monthly minimum spend of each 400 tier (docs/rules.md, "The 400 monthly minimum").
var Minimum400 = map[string]decimal.Decimal{
	"普通": MustDecimal("375"), "优选": MustDecimal("750"), "精选": MustDecimal("1500"),
	"金牌": MustDecimal("2500"), "白金": MustDecimal("5000"), "VIP": MustDecimal("12500"),
	"VVIP": MustDecimal("20000"),
}

// TopUp adds cash to an account.
type TopUp struct {
	ID      string
	Account string
	Amount  decimal.Decimal
	At      time.Time
	Path    string // where it came from, for problems
}

// PurchaseKind tells what a purchase buys.
type PurchaseKind string

const (
	PurchaseVoicePackage PurchaseKind = "voice_package"
	PurchaseSeats        PurchaseKind = "seats"
	PurchaseNumberRent   PurchaseKind = "number_rent"
	PurchaseSipLine      PurchaseKind = "sip_line"
)

// Purchase is a prepaid purchase, settled at its time (docs/rules.md, "Prepaid purchases").
type Purchase struct {
	ID      string
	Account string
	At      time.Time
	Kind    PurchaseKind

	PackageType    PackageType // voice package
	PackageMinutes int64
	Instance       string // seats, SIP line; number rent: the number's instance
	Count          int64  // seats or lines
	Months         int64  // seats, number rent
	Years          int64  // SIP line
	Number         string // number rent

	Path string
}

// World is what a world file declares (docs/rules.md, "World files"), already parsed and
// checked for form; the store checks it against what is stored.
type World struct {
	Timezone string // "" keeps the current one
	// FirstCycle is billing.first_cycle, the first billable cycle; 0 keeps
	// the current setting (by default 24 months before the current cycle).
	FirstCycle Cycle
	// MaxCallSeconds is billing.max_call_seconds; 0 keeps the current
	// setting (DefaultMaxCallSeconds unless set).
	MaxCallSeconds int64
	Prices         []Price
	Accounts       []Account
	TopUps         []TopUp
	Purchases      []Purchase

	// Problems are the problems of the file's form. A world with problems
	// is never applied: it is checked against the store, so that one report
	// lists every problem, and refused whole.
	Problems Problems
	// Unread holds the entries that have problems, with what of them could
	// be read (a field with a problem is left empty): what they name is
	// checked against the store all the same.
	Unread WorldEntries
	// Positions locates paths of the file (entries, and the fields the
	// store checks), for problems found against the store.
	Positions map[string]Position
}

// WorldEntries are accounts, top-ups and purchases of a world file.
type WorldEntries struct {
	Accounts  []Account
	TopUps    []TopUp
	Purchases []Purchase
}

// Locate sets p's line and column to those of its path, or of the nearest
// entry or field above it that the world file located.
func (w *World) Locate(p *Problem) {
	for path := p.Path; path != ""; path = parentPath(path) {
		if pos, ok := w.Positions[path]; ok {
			p.Line, p.Column = pos.Line, pos.Column
			return
		}
	}
}

// parentPath is the path one step up: "a.b[1]" → "a.b" → "a" → "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// Digits keeps only the digits of a phone number: numbers compare on digits
// only (docs/rules.md, "Numbers and service numbers").
func Digits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == len(s) {
		return s // digits already: nothing to copy (call authorization asks this a million times a second)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// ApplyReport counts what applying a world file did.
type ApplyReport struct {
	Accounts, Instances, Numbers, Prices int
	TopUps, Purchases                    int // newly applied
	Skipped                              int // top-ups and purchases applied before with the same content
}
