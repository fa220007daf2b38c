package callbill

import (
	"time"

	"github.com/shopspring/decimal"
)

// Webhook payloads of money movements and standing (docs/webhooks.md).

// TopUpEvent is the topup.received payload.
type TopUpEvent struct {
	Account string `json:"account"`
	Amount  string `json:"amount"`
	Cash    string `json:"cash"` // after the top-up and the arrears it settled
	At      string `json:"at"`
	Key     string `json:"key"`    // the idempotency key (topup:ID for a world file's)
	Source  string `json:"source"` // "request" (CLI or API) or "world" (a world file)
}

// NewTopUpEvent describes a top-up of amount at at, cash being the account's
// cash after it.
func NewTopUpEvent(account string, amount, cash decimal.Decimal, at time.Time, key, source string) TopUpEvent {
	return TopUpEvent{Account: account, Amount: FormatMoney(amount), Cash: FormatMoney(cash),
		At: at.UTC().Format(time.RFC3339), Key: key, Source: source}
}

// StandingEvent is the account.overdue, account.stopped and balance.low
// payload.
type StandingEvent struct {
	Account     string `json:"account"`
	State       string `json:"state"`
	Previous    string `json:"previous,omitempty"`
	Available   string `json:"available"`
	Cash        string `json:"cash"`
	CreditLine  string `json:"credit_line"`
	Outstanding string `json:"outstanding"`
	Threshold   string `json:"threshold,omitempty"` // balance.low: the alert level
	Cause       string `json:"cause"`
}

// NewStandingEvent describes standing st in state for cause.
func NewStandingEvent(account string, st *Standing, state AccountState, cause string) StandingEvent {
	return StandingEvent{Account: account, State: string(state), Available: FormatMoney(st.Available()),
		Cash: FormatMoney(st.Cash), CreditLine: FormatMoney(st.CreditLine), Outstanding: FormatMoney(st.Outstanding), Cause: cause}
}
