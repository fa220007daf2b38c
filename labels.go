package callbill

// Label is a code's name for people: Chinese (the CLI's tables, the
// console's default) and English (the console's other language). Codes
// stay codes wherever a program reads them (JSON, the API); people read
// labels. Every adapter takes them from here, so that the CLI and the
// console say the same.
type Label struct{ Zh, En string }

// In returns the label in lang: "en" for English, Chinese otherwise.
func (l Label) In(lang string) string {
	if lang == "en" {
		return l.En
	}
	return l.Zh
}

// AccountStateLabel names account states.
var AccountStateLabel = map[AccountState]Label{
	StateNormal:  {"正常", "Normal"},
	StateOverdue: {"欠费", "Overdue"},
	StateStopped: {"停机", "Stopped"},
}

// LedgerKindLabel names the kinds of ledger entries.
var LedgerKindLabel = map[LedgerKind]Label{
	LedgerTopUp:    {"充值", "Top-up"},
	LedgerPurchase: {"购买", "Purchase"},
	LedgerDeduct:   {"账单扣款", "Bill deduction"},
	LedgerSettle:   {"欠费结清", "Arrears settled"},
	LedgerAdjust:   {"调账", "Adjustment"},
}

// PackageTypeLabel names voice package types.
var PackageTypeLabel = map[PackageType]Label{
	PackageFixedInbound:  {"固话呼入语音包", "Fixed-line inbound package"},
	PackageFixedOutbound: {"固话呼出语音包", "Fixed-line outbound package"},
	PackageInbound400:    {"400呼入语音包", "400 inbound package"},
}

// NumberKindLabel names number kinds.
var NumberKindLabel = map[NumberKind]Label{
	NumberFixed: {"固话", "Fixed line"},
	Number400:   {"400号码", "400 number"},
}

// NumberSourceLabel names where a number comes from (docs/rules.md, "Numbers and service numbers").
var NumberSourceLabel = map[NumberSource]Label{
	SourceCCC:        {"云呼叫中心号码", "Call-center number"},
	SourceThirdParty: {"第三方号码", "Third-party number"},
	SourceOwn:        {"自有线路", "Own line"},
}

// TitleKindLabel names invoice title kinds.
var TitleKindLabel = map[TitleKind]Label{
	TitleCompany: {"企业", "Company"},
	TitlePerson:  {"个人", "Person"},
}

// InvoiceStateLabel names the states of invoice applications.
var InvoiceStateLabel = map[InvoiceState]Label{
	InvoicePending:   {"审核中", "Pending"},
	InvoiceIssued:    {"已开具", "Issued"},
	InvoiceRejected:  {"已驳回", "Rejected"},
	InvoiceWithdrawn: {"已撤回", "Withdrawn"},
}

// ContractStateLabel names the states of e-contracts.
var ContractStateLabel = map[ContractState]Label{
	ContractDraft:  {"草稿", "Draft"},
	ContractFormal: {"正式", "Formal"},
	ContractVoid:   {"已作废", "Void"},
	ContractLapsed: {"已失效", "Lapsed"},
}

// BudgetScopeLabel names budget scopes.
var BudgetScopeLabel = map[BudgetScope]Label{
	BudgetTotal:    {"总费用", "Total spend"},
	BudgetItem:     {"计费项", "Billing item"},
	BudgetInstance: {"实例", "Instance"},
}

// BudgetMeasureLabel names what budgets count.
var BudgetMeasureLabel = map[BudgetMeasure]Label{
	BudgetAmount:  {"金额预算", "Amount budget"},
	BudgetMinutes: {"用量提醒（分钟）", "Usage trigger (minutes)"},
}

// ImportStatusLabel names the statuses of import records.
var ImportStatusLabel = map[string]Label{
	ImportRunning: {"导入中", "Running"},
	ImportDone:    {"已完成", "Done"},
	ImportFailed:  {"失败", "Failed"},
	ImportUndone:  {"已撤销", "Undone"},
}

// LabelOf returns the label of code in m, or the code itself in both
// languages when it has none, so that an unknown code shows rather than
// a blank.
func LabelOf[K ~string](m map[K]Label, code K) Label {
	if l, ok := m[code]; ok {
		return l
	}
	return Label{string(code), string(code)}
}

// CodeLabels gives every label above under a key "kind.code" — the
// console's message keys ("state.normal", "ledger.topup", "pkg.…",
// "numkind.…", "numsource.…", "titlekind.…", "invstate.…", "constate.…", "bscope.…", "bmeasure.…",
// "impstate.…").
func CodeLabels() map[string]Label {
	out := map[string]Label{}
	add := func(prefix, code string, l Label) { out[prefix+"."+code] = l }
	for k, l := range AccountStateLabel {
		add("state", string(k), l)
	}
	for k, l := range LedgerKindLabel {
		add("ledger", string(k), l)
	}
	for k, l := range PackageTypeLabel {
		add("pkg", string(k), l)
	}
	for k, l := range NumberKindLabel {
		add("numkind", string(k), l)
	}
	for k, l := range NumberSourceLabel {
		add("numsource", string(k), l)
	}
	for k, l := range TitleKindLabel {
		add("titlekind", string(k), l)
	}
	for k, l := range InvoiceStateLabel {
		add("invstate", string(k), l)
	}
	for k, l := range ContractStateLabel {
		add("constate", string(k), l)
	}
	for k, l := range BudgetScopeLabel {
		add("bscope", string(k), l)
	}
	for k, l := range BudgetMeasureLabel {
		add("bmeasure", string(k), l)
	}
	for k, l := range ImportStatusLabel {
		add("impstate", k, l)
	}
	return out
}
