// Package events is the operator's management of webhook endpoints
// (docs/webhooks.md): registering, listing, disabling, the delivery log and
// replays. The rules live here; Store persists inside one transaction and
// decides nothing. Sending is webhook.Deliverer's, which services may not
// import.
package events

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// Store opens the transactions the service works in.
type Store interface {
	// UpdateWebhooks runs fn in one transaction, with its one clock reading.
	UpdateWebhooks(ctx context.Context, fn func(tx Tx, now time.Time) error) error
	// ViewWebhooks runs fn in a read-only transaction.
	ViewWebhooks(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is what the service reads and writes inside a transaction.
type Tx interface {
	// AccountExists returns ENOTFOUND if the account does not exist.
	AccountExists(ctx context.Context, account string) error
	// Endpoints returns every endpoint, disabled ones too, oldest first,
	// with their deliveries counted by status (no secrets).
	Endpoints(ctx context.Context) ([]callbill.WebhookEndpoint, error)
	// Endpoint returns one endpoint as Endpoints does. Returns ENOTFOUND if
	// there is no such endpoint.
	Endpoint(ctx context.Context, id string) (*callbill.WebhookEndpoint, error)
	// InsertEndpoint gives w a new id and signing secret and stores it, the
	// secret only sealed. Returns EINTERNAL if there is no master key.
	InsertEndpoint(ctx context.Context, w *callbill.WebhookEndpoint) error
	// DisableEndpoint disables an enabled endpoint as of at, its pending
	// deliveries failed ("webhook disabled"). It reports false when there
	// is no such enabled endpoint.
	DisableEndpoint(ctx context.Context, id string, at time.Time) (bool, error)
	// Deliveries returns an endpoint's deliveries, newest event first, at
	// most limit, each with its attempts.
	Deliveries(ctx context.Context, endpoint string, limit int) ([]callbill.WebhookDelivery, error)
	// Requeue makes deliveries of the endpoint pending, due at, with a fresh
	// count of attempts: event's, or with event "" every failed one. It
	// returns how many.
	Requeue(ctx context.Context, endpoint, event string, at time.Time) (int, error)
}

// Service manages endpoints.
type Service struct {
	Store Store
}

// AddInput registers an endpoint: its URL, for one account or all, for
// some event kinds or (none) every one.
type AddInput struct {
	URL         string
	Account     string
	AllAccounts bool
	Events      []string
}

// Validate says what is wrong with the input, every problem joined.
func (in *AddInput) Validate() error {
	var errs []error
	if u, err := url.Parse(in.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "webhook URL %q must be an absolute http:// or https:// URL", in.URL))
	}
	if _, bad := callbill.ParseWebhookEvents(strings.Join(in.Events, ",")); bad != "" {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "unknown event kind %q (kinds: %s)", bad, strings.Join(callbill.WebhookEventKinds, ", ")))
	}
	if err := callbill.CheckAccountScope(in.Account, in.AllAccounts); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Add registers an endpoint. The signing secret is returned this once.
// Returns EINVALID for a bad URL or event kind, ENOTFOUND for an unknown
// account.
func (s *Service) Add(ctx context.Context, in AddInput) (*callbill.WebhookEndpoint, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	kinds, _ := callbill.ParseWebhookEvents(strings.Join(in.Events, ","))
	var out *callbill.WebhookEndpoint
	err := s.Store.UpdateWebhooks(ctx, func(tx Tx, now time.Time) error {
		if !in.AllAccounts {
			if err := tx.AccountExists(ctx, in.Account); err != nil {
				return err
			}
		}
		// Stored to the millisecond: the answer shows what a listing will.
		w := &callbill.WebhookEndpoint{URL: in.URL, Account: in.Account, Events: kinds, CreatedAt: time.UnixMilli(now.UnixMilli())}
		if err := tx.InsertEndpoint(ctx, w); err != nil {
			return err
		}
		out = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List returns every endpoint, disabled ones too, oldest first.
func (s *Service) List(ctx context.Context) ([]callbill.WebhookEndpoint, error) {
	var out []callbill.WebhookEndpoint
	err := s.Store.ViewWebhooks(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Endpoints(ctx)
		return err
	})
	return out, err
}

// Get returns one endpoint (no secret). Returns ENOTFOUND for an unknown one.
func (s *Service) Get(ctx context.Context, id string) (*callbill.WebhookEndpoint, error) {
	var out *callbill.WebhookEndpoint
	err := s.Store.ViewWebhooks(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Endpoint(ctx, id)
		return err
	})
	return out, err
}

// Disable stops an endpoint at once: no new deliveries are made for it and
// its pending ones become failed ("webhook disabled"), kept in its log.
// Returns ENOTFOUND for an unknown or already disabled endpoint.
func (s *Service) Disable(ctx context.Context, id string) error {
	return s.Store.UpdateWebhooks(ctx, func(tx Tx, now time.Time) error {
		ok, err := tx.DisableEndpoint(ctx, id, now)
		if err == nil && !ok {
			err = callbill.Errorf(callbill.ENOTFOUND, "webhook %s not found or already disabled", id)
		}
		return err
	})
}

// DeliveriesInput names an endpoint's delivery log and how many of its
// newest deliveries to show: 1..1000; any other limit shows 100.
type DeliveriesInput struct {
	Endpoint string
	Limit    int
}

// Deliveries returns an endpoint's delivery log, newest event first, each
// with its attempts. Returns ENOTFOUND for an unknown endpoint.
func (s *Service) Deliveries(ctx context.Context, in DeliveriesInput) ([]callbill.WebhookDelivery, error) {
	limit := in.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []callbill.WebhookDelivery
	err := s.Store.ViewWebhooks(ctx, func(tx Tx) error {
		if _, err := tx.Endpoint(ctx, in.Endpoint); err != nil {
			return err
		}
		var err error
		out, err = tx.Deliveries(ctx, in.Endpoint, limit)
		return err
	})
	return out, err
}

// ReplayInput names what to send again: one event's delivery (whatever its
// status), or every failed delivery of the endpoint.
type ReplayInput struct {
	Endpoint  string
	Event     string
	AllFailed bool
}

// Validate says what is wrong with the input.
func (in *ReplayInput) Validate() error {
	if in.AllFailed == (in.Event != "") {
		return callbill.Errorf(callbill.EINVALID, "name an event or all failed deliveries")
	}
	return nil
}

// Replay sends deliveries again: they become pending, due now, with a fresh
// count of attempts (a delivered one is sent once more, with the same
// delivery id). It returns how many. Returns ENOTFOUND for an unknown
// endpoint or delivery, EREFUSED for a disabled endpoint.
func (s *Service) Replay(ctx context.Context, in ReplayInput) (int, error) {
	if err := in.Validate(); err != nil {
		return 0, err
	}
	n := 0
	err := s.Store.UpdateWebhooks(ctx, func(tx Tx, now time.Time) error {
		w, err := tx.Endpoint(ctx, in.Endpoint)
		if err != nil {
			return err
		}
		if !w.DisabledAt.IsZero() {
			return callbill.Errorf(callbill.EREFUSED, "webhook %s is disabled", in.Endpoint)
		}
		if n, err = tx.Requeue(ctx, in.Endpoint, in.Event, now); err != nil {
			return err
		}
		if n == 0 && !in.AllFailed {
			return callbill.Errorf(callbill.ENOTFOUND, "no delivery of event %s to webhook %s", in.Event, in.Endpoint)
		}
		return nil
	})
	return n, err
}
