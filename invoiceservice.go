package callbill

import (
	"context"
	"time"
)

// InvoiceService keeps invoice titles, applications and e-contracts
// (DESIGN §3.11–3.12; sqlstore.Store implements it). The REST API and the
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

	CreateContract(ctx context.Context, req ContractRequest) (*EContract, error)
	Contracts(ctx context.Context, uid string, state ContractState) ([]EContract, error)
	EContract(ctx context.Context, uid, id string) (*EContract, error)
	EditContract(ctx context.Context, uid, id string, party ContractParty) (*EContract, error)
	ConfirmContract(ctx context.Context, uid, id string) (*EContract, error)
	VoidContract(ctx context.Context, uid, id, reason string, operator bool) (*EContract, error)

	Location(ctx context.Context) (*time.Location, error)
}
