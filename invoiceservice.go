package callbill

import (
	"context"
	"time"
)

// InvoiceService keeps invoice titles and applications (DESIGN §3.11;
// sqlstore.Store implements it; e-contracts are contract.Service). The REST API and the
// console both work through it.
type InvoiceService interface {
	InvoiceTitles(ctx context.Context, uid string) ([]InvoiceTitle, error)
	InvoiceTitle(ctx context.Context, uid, id string) (*InvoiceTitle, error)
	SaveInvoiceTitle(ctx context.Context, t InvoiceTitle) (*InvoiceTitle, error)
	DeleteInvoiceTitle(ctx context.Context, uid, id string) error
	Invoiceable(ctx context.Context, uid string) (*Invoiceable, error)
	ApplyInvoice(ctx context.Context, req InvoiceRequest) (*InvoiceApplication, error)
	InvoiceApplications(ctx context.Context, uid string, state InvoiceState) ([]InvoiceApplication, error)
	InvoiceApplication(ctx context.Context, uid, id string) (*InvoiceApplication, error)
	WithdrawInvoice(ctx context.Context, uid, id string) (*InvoiceApplication, error)
	IssueInvoice(ctx context.Context, id, number, date string) (*InvoiceApplication, error)
	RejectInvoice(ctx context.Context, id, reason string) (*InvoiceApplication, error)

	Location(ctx context.Context) (*time.Location, error)
}
