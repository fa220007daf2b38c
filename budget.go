package callbill

import (
	"time"

	"github.com/shopspring/decimal"
)

// Budgets and usage alerts (docs/budgets.md): what a tenant watches in every
// cycle, and the alerts that crossing fires. The rules (what is valid, when a
// threshold is crossed, the month-end forecast) are budget.Service's; these
// are the types the store, the API and the console share.

// BudgetScope is what part of the postpaid spend a budget watches.
type BudgetScope string

const (
	BudgetTotal    BudgetScope = "total"    // the cycle's postpaid payable (the live bill's 预估应付)
	BudgetItem     BudgetScope = "item"     // one billing item's payable, or its minutes
	BudgetInstance BudgetScope = "instance" // one instance's payable
)

// BudgetMeasure is what a budget counts.
type BudgetMeasure string

const (
	BudgetAmount  BudgetMeasure = "amount"  // yuan of postpaid payable, with percentage thresholds
	BudgetMinutes BudgetMeasure = "minutes" // minutes of one item: a usage trigger
)

// Budget is a tenant's budget or usage trigger. It applies to every cycle
// from the one it was set in until it is removed.
type Budget struct {
	ID       string
	Account  string
	Scope    BudgetScope
	Item     Item   // BudgetItem: the item watched
	Instance string // BudgetInstance: the instance watched
	Measure  BudgetMeasure
	// Amount is an amount budget's yuan (whole fen, > 0).
	Amount decimal.Decimal
	// Minutes is a usage trigger's N: it fires when the item's minutes in
	// the cycle exceed N.
	Minutes int64
	// Thresholds are an amount budget's alert levels in percent of Amount,
	// ascending; a usage trigger has the one level 100 (N itself).
	Thresholds []int
	From       Cycle // the first cycle it watches: the one it was set in
	CreatedAt  time.Time
	RemovedAt  time.Time // zero while in force
}

// UsageTriggerThreshold is the threshold a usage trigger's alert is
// recorded under: N minutes is its one level.
const UsageTriggerThreshold = 100

// BudgetAlert is one threshold of one budget crossed in one cycle: fired
// once (the store keeps it unique by budget, cycle and threshold), with
// what the budget saw when it fired.
type BudgetAlert struct {
	Budget    Budget // as it was set (a removed budget's alerts keep it)
	Cycle     Cycle
	Threshold int             // percent of the budget (UsageTriggerThreshold for a usage trigger)
	Level     decimal.Decimal // the amount (or minutes) the threshold stands for
	Actual    decimal.Decimal // the spend (or minutes) that crossed it
	Forecast  decimal.Decimal // the month-end forecast then
	At        time.Time
	Event     string // the budget.threshold event's id
}

// BudgetThresholdEvent is the data of budget.threshold (docs/webhooks.md).
type BudgetThresholdEvent struct {
	Account   string `json:"account"`
	Cycle     string `json:"cycle"`
	Budget    string `json:"budget"` // the budget's id
	Scope     string `json:"scope"`
	Item      string `json:"item,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Measure   string `json:"measure"`
	Threshold int    `json:"threshold"` // percent
	Amount    string `json:"amount"`    // the budget: yuan, or minutes for a usage trigger
	Level     string `json:"level"`     // the threshold's amount (or minutes)
	Actual    string `json:"actual"`    // the spend (or minutes) in the cycle when it fired
	Forecast  string `json:"forecast"`  // the month-end forecast then
	At        string `json:"at"`
}
