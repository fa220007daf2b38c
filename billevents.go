package callbill

import "strconv"

// Event is a webhook event to emit: its kind, the account it concerns and
// its data, the "data" of the body a receiver gets (docs/webhooks.md).
type Event struct {
	Account, Kind string
	Data          any
}

// BillClosedEvent is the data of bill.closed: the closed bill's totals,
// the same as its bill view's.
type BillClosedEvent struct {
	Account  string     `json:"account"`
	Cycle    string     `json:"cycle"`
	Currency string     `json:"currency"`
	Totals   TotalsJSON `json:"totals"`
}

// NewBillClosedEvent is the bill.closed event of a closed bill.
func NewBillClosedEvent(b *Bill) Event {
	return Event{b.Account, EventBillClosed, BillClosedEvent{Account: b.Account, Cycle: b.Cycle.String(), Currency: "CNY", Totals: b.Totals.JSON()}}
}

// ExportDoneEvent is the data of export.done.
type ExportDoneEvent struct {
	Account string `json:"account"`
	Job     int64  `json:"job"`
	Cycle   string `json:"cycle"`
	Rows    int64  `json:"rows"`
	Bytes   int64  `json:"bytes"`
	File    string `json:"file"` // the operator API's download path
}

// NewExportDoneEvent is the export.done event of an account's finished export job.
func NewExportDoneEvent(account string, job int64, cycle string, rows, bytes int64) Event {
	return Event{account, EventExportDone, ExportDoneEvent{Account: account, Job: job, Cycle: cycle, Rows: rows, Bytes: bytes,
		File: "/api/v1/exports/" + strconv.FormatInt(job, 10) + "/file"}}
}
