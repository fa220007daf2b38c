package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/events"
)

// WebhookStore keeps webhook endpoints and their delivery logs (sqlstore.Store).
type WebhookStore = events.Store

// webhookRoutes registers the operator's webhook routes (docs/webhooks.md).
func (s *Server) webhookRoutes(mux *http.ServeMux, store WebhookStore) {
	st := &events.Service{Store: store}
	s.handle(mux, "POST", "/api/v1/webhooks", ScopeOperator, s.addWebhook(st))
	s.handle(mux, "GET", "/api/v1/webhooks", ScopeOperator, s.listWebhooks(st))
	s.handle(mux, "GET", "/api/v1/webhooks/{id}", ScopeOperator, s.getWebhook(st))
	s.handle(mux, "DELETE", "/api/v1/webhooks/{id}", ScopeOperator, s.disableWebhook(st))
	s.handle(mux, "GET", "/api/v1/webhooks/{id}/deliveries", ScopeOperator, s.webhookDeliveries(st))
	s.handle(mux, "POST", "/api/v1/webhooks/{id}/replay", ScopeOperator, s.replayWebhook(st))
}

// WebhookJSON is an endpoint as the API and `callbill webhook list --json` show it.
type WebhookJSON struct {
	ID         string         `json:"id"`
	URL        string         `json:"url"`
	Account    string         `json:"account"` // "" = every account
	Events     []string       `json:"events"`  // [] = every kind
	Secret     string         `json:"secret,omitempty"`
	CreatedAt  string         `json:"created_at"`
	DisabledAt string         `json:"disabled_at,omitempty"`
	Deliveries map[string]any `json:"deliveries"`
}

// ToWebhookJSON converts an endpoint; the secret is there only when just created.
func ToWebhookJSON(w *callbill.WebhookEndpoint) WebhookJSON {
	out := WebhookJSON{ID: w.ID, URL: w.URL, Account: w.Account, Events: append([]string{}, w.Events...), Secret: w.Secret,
		CreatedAt: w.CreatedAt.UTC().Format(time.RFC3339),
		Deliveries: map[string]any{callbill.DeliveryPending: w.Pending, callbill.DeliveryDelivered: w.Delivered,
			callbill.DeliveryFailed: w.Failed}}
	if !w.DisabledAt.IsZero() {
		out.DisabledAt = w.DisabledAt.UTC().Format(time.RFC3339)
	}
	return out
}

// AttemptJSON is one attempt of a delivery.
type AttemptJSON struct {
	N          int    `json:"n"`
	At         string `json:"at"`
	Node       string `json:"node"`
	Code       int    `json:"code"` // 0: no answer
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// DeliveryJSON is one event's delivery to an endpoint, with its attempts.
type DeliveryJSON struct {
	Delivery    string          `json:"delivery"` // the Callbill-Delivery header: endpoint:event
	Event       string          `json:"event"`
	Kind        string          `json:"kind"`
	Account     string          `json:"account"`
	At          string          `json:"at"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"` // failed attempts since queued or replayed
	NextAt      string          `json:"next_at,omitempty"`
	LastCode    int             `json:"last_code,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	DeliveredAt string          `json:"delivered_at,omitempty"`
	Data        json.RawMessage `json:"data"`
	Log         []AttemptJSON   `json:"log"`
}

const msLayout = "2006-01-02T15:04:05.000Z07:00"

// ToDeliveryJSON converts a delivery of an endpoint's log.
func ToDeliveryJSON(d *callbill.WebhookDelivery) DeliveryJSON {
	out := DeliveryJSON{Delivery: d.DeliveryID(), Event: d.Event, Kind: d.Kind, Account: d.Account,
		At: d.At.UTC().Format(time.RFC3339), Status: d.Status, Attempts: d.Attempts, LastCode: d.LastCode,
		LastError: d.LastError, Data: json.RawMessage(d.Payload), Log: []AttemptJSON{}}
	if !json.Valid(out.Data) {
		out.Data = json.RawMessage("null")
	}
	if d.Status == callbill.DeliveryPending {
		out.NextAt = d.NextAt.UTC().Format(msLayout)
	}
	if !d.DeliveredAt.IsZero() {
		out.DeliveredAt = d.DeliveredAt.UTC().Format(msLayout)
	}
	for _, a := range d.Log {
		out.Log = append(out.Log, AttemptJSON{N: a.N, At: a.At.UTC().Format(msLayout), Node: a.Node, Code: a.Code,
			Error: a.Error, DurationMS: a.Duration.Milliseconds()})
	}
	return out
}

func (s *Server) addWebhook(st *events.Service) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			URL     string   `json:"url"`
			Account string   `json:"account"`
			Events  []string `json:"events"`
		}
		if err := json.NewDecoder(s.jsonBody(w, r)).Decode(&in); err != nil {
			return callbill.Errorf(callbill.EINVALID, `the body must be JSON {"url": URL, "account": UID or "", "events": [KIND…]}: %v`, err)
		}
		ep, err := st.Add(r.Context(), events.AddInput{URL: in.URL, Account: in.Account, AllAccounts: in.Account == "", Events: in.Events})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, ToWebhookJSON(ep))
	}
}

func (s *Server) listWebhooks(st *events.Service) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		eps, err := st.List(r.Context())
		if err != nil {
			return err
		}
		out := []WebhookJSON{}
		for i := range eps {
			out = append(out, ToWebhookJSON(&eps[i]))
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) getWebhook(st *events.Service) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ep, err := st.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, ToWebhookJSON(ep))
	}
}

func (s *Server) disableWebhook(st *events.Service) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := st.Disable(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		ep, err := st.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, ToWebhookJSON(ep))
	}
}

// webhookDeliveries is an endpoint's delivery log, newest event first
// (?limit=N, at most 1000, default 100).
func (s *Server) webhookDeliveries(st *events.Service) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit := 0
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return callbill.Errorf(callbill.EINVALID, "limit must be between 1 and 1000")
			}
			limit = n
		}
		ds, err := st.Deliveries(r.Context(), events.DeliveriesInput{Endpoint: r.PathValue("id"), Limit: limit})
		if err != nil {
			return err
		}
		out := []DeliveryJSON{}
		for i := range ds {
			out = append(out, ToDeliveryJSON(&ds[i]))
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// replayWebhook sends deliveries again: one event's ({"event": ID} or
// ?event=ID), else every failed one.
func (s *Server) replayWebhook(st *events.Service) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Event string `json:"event"`
		}
		if err := json.NewDecoder(s.jsonBody(w, r)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			return callbill.Errorf(callbill.EINVALID, `the body must be empty or JSON {"event": EVENT_ID}: %v`, err)
		}
		if in.Event == "" {
			in.Event = r.URL.Query().Get("event")
		}
		n, err := st.Replay(r.Context(), events.ReplayInput{Endpoint: r.PathValue("id"), Event: in.Event, AllFailed: in.Event == ""})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"replayed": n})
	}
}
