package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/world"
)

// RestStore is what the resource routes need (sqlstore.Store).
type RestStore interface {
	AllAccounts(ctx context.Context) ([]callbill.Account, error)
	Account(ctx context.Context, uid string) (*callbill.Account, error)
	PriceOverrides(ctx context.Context) ([]callbill.Price, error)
	VoicePackages(ctx context.Context, uid string) ([]callbill.VoicePackage, time.Time, error)
	Usage(ctx context.Context, uid string, f callbill.UsageFilter) ([]callbill.Call, int64, error)
	ledger.Store    // purchases
	provision.Store // world files
	Location(ctx context.Context) (*time.Location, error)
}

// KeyStore manages access keys (sqlstore.Store).
type KeyStore interface {
	AccessKey(ctx context.Context, id string) (*callbill.AccessKey, error)
	CreateAccessKey(ctx context.Context, uid string) (*callbill.AccessKey, error)
	RevokeAccessKey(ctx context.Context, id string) error
}

func (s *Server) restRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET", "/api/v1/accounts", ScopeOperator, s.listAccounts)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/instances", ScopeAccount, s.instances)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/contract", ScopeAccount, s.contract)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/voice-packages", ScopeAccount, s.voicePackages)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/purchases", ScopeAccount, s.purchase)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/usage", ScopeAccount, s.usage)
	s.handle(mux, "GET", "/api/v1/prices", ScopeTenant, s.prices)
	s.handle(mux, "POST", "/api/v1/world", ScopeOperator, s.applyWorld)
	if s.Keys != nil {
		s.handle(mux, "POST", "/api/v1/accounts/{uid}/accesskeys", ScopeOperator, s.createKey)
		s.handle(mux, "DELETE", "/api/v1/accesskeys/{id}", ScopeOperator, s.revokeKey)
	}
}

type accountSummary struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	accts, err := s.Rest.AllAccounts(r.Context())
	if err != nil {
		return err
	}
	out := []accountSummary{}
	for _, a := range accts {
		out = append(out, accountSummary{a.UID, a.Name, string(a.Kind)})
	}
	return writeJSON(w, http.StatusOK, out)
}

type numberOut struct {
	Number    string `json:"number"`
	Kind      string `json:"kind"`
	Source    string `json:"source"`
	Tier      string `json:"tier,omitempty"`
	Since     string `json:"since,omitempty"`
	Until     string `json:"until,omitempty"`
	AutoRenew bool   `json:"auto_renew,omitempty"`
}

type instanceOut struct {
	ID      string      `json:"id"`
	Mode    string      `json:"mode"`
	Numbers []numberOut `json:"numbers"`
}

func (s *Server) account1(r *http.Request) (*callbill.Account, *time.Location, error) {
	a, err := s.Rest.Account(r.Context(), r.PathValue("uid"))
	if err != nil {
		return nil, nil, err
	}
	loc, err := s.Rest.Location(r.Context())
	return a, loc, err
}

func rfc3339(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

func (s *Server) instances(w http.ResponseWriter, r *http.Request) error {
	a, loc, err := s.account1(r)
	if err != nil {
		return err
	}
	out := []instanceOut{}
	for _, inst := range a.Instances {
		io := instanceOut{ID: inst.ID, Mode: string(inst.Mode), Numbers: []numberOut{}}
		for _, n := range inst.Numbers {
			io.Numbers = append(io.Numbers, numberOut{n.Number, string(n.Kind), string(n.Source), n.Tier,
				rfc3339(n.Since, loc), rfc3339(n.Until, loc), n.AutoRenew})
		}
		out = append(out, io)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) contract(w http.ResponseWriter, r *http.Request) error {
	a, _, err := s.account1(r)
	if err != nil {
		return err
	}
	c := a.Contract
	if c == nil {
		return writeJSON(w, http.StatusOK, map[string]any{"discount": "1", "items": map[string]string{}})
	}
	items := map[string]string{}
	for k, v := range c.Items {
		items[string(k)] = v.String()
	}
	out := map[string]any{"discount": c.Discount.String(), "items": items}
	if c.From != 0 {
		out["from"] = c.From.String()
	}
	if c.To != 0 {
		out["to"] = c.To.String()
	}
	return writeJSON(w, http.StatusOK, out)
}

type packageOut struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Minutes   int64  `json:"minutes"`
	Remaining int64  `json:"remaining"`
	From      string `json:"from"`
	Until     string `json:"until"`
	Status    string `json:"status"`
}

func (s *Server) voicePackages(w http.ResponseWriter, r *http.Request) error {
	ps, now, err := s.Rest.VoicePackages(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	loc, err := s.Rest.Location(r.Context())
	if err != nil {
		return err
	}
	out := []packageOut{}
	for _, p := range ps {
		st := "available"
		if !p.ValidAt(now) {
			st = "expired"
			if now.Before(p.From) {
				st = "not_yet_valid"
			}
		}
		out = append(out, packageOut{p.ID, string(p.Type), p.Minutes, p.Remaining, rfc3339(p.From, loc), rfc3339(p.Until, loc), st})
	}
	return writeJSON(w, http.StatusOK, out)
}

// purchaseIn is a purchase request; its id makes it idempotent.
type purchaseIn struct {
	ID           string `json:"id"`
	VoicePackage *struct {
		Type    string `json:"type"`
		Minutes int64  `json:"minutes"`
	} `json:"voice_package"`
	Seats *struct {
		Instance string `json:"instance"`
		Count    int64  `json:"count"`
		Months   int64  `json:"months"`
	} `json:"seats"`
	NumberRent *struct {
		Number string `json:"number"`
		Months int64  `json:"months"`
	} `json:"number_rent"`
	SipLine *struct {
		Instance string `json:"instance"`
		Lines    int64  `json:"lines"`
		Years    int64  `json:"years"`
	} `json:"sip_line"`
}

func (s *Server) purchase(w http.ResponseWriter, r *http.Request) error {
	var in purchaseIn
	if err := json.NewDecoder(s.jsonBody(w, r)).Decode(&in); err != nil {
		return callbill.Errorf(callbill.EINVALID, "the body must be a JSON purchase: %v", err)
	}
	p := callbill.Purchase{ID: in.ID, Account: r.PathValue("uid")}
	kinds := 0
	if v := in.VoicePackage; v != nil {
		kinds++
		p.Kind, p.PackageType, p.PackageMinutes = callbill.PurchaseVoicePackage, callbill.PackageType(v.Type), v.Minutes
		if _, ok := callbill.PackagePrices[p.PackageType][v.Minutes]; !ok {
			return callbill.Errorf(callbill.EINVALID, "no %s voice package of %d minutes", v.Type, v.Minutes)
		}
	}
	if v := in.Seats; v != nil {
		kinds++
		p.Kind, p.Instance, p.Count, p.Months = callbill.PurchaseSeats, v.Instance, v.Count, v.Months
	}
	if v := in.NumberRent; v != nil {
		kinds++
		p.Kind, p.Number, p.Months = callbill.PurchaseNumberRent, callbill.Digits(v.Number), v.Months
	}
	if v := in.SipLine; v != nil {
		kinds++
		p.Kind, p.Instance, p.Count, p.Years = callbill.PurchaseSipLine, v.Instance, v.Lines, v.Years
	}
	switch {
	case in.ID == "":
		return callbill.Errorf(callbill.EINVALID, "a purchase needs an id (it makes repeating the request safe)")
	case kinds != 1:
		return callbill.Errorf(callbill.EINVALID, "a purchase buys exactly one of voice_package, seats, number_rent, sip_line")
	case (p.Kind == callbill.PurchaseSeats && (p.Count < 1 || p.Months < 1)) || (p.Kind == callbill.PurchaseNumberRent && p.Months < 1) ||
		(p.Kind == callbill.PurchaseSipLine && (p.Count < 1 || p.Years < 1)):
		return callbill.Errorf(callbill.EINVALID, "counts, months and years must be at least 1")
	}
	again, err := s.Ledger.Purchase(r.Context(), p)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if again {
		code = http.StatusOK
	}
	return writeJSON(w, code, map[string]any{"id": p.ID, "account": p.Account, "replayed": again})
}

type usageRow struct {
	Seq             int64  `json:"seq"`
	ContactID       string `json:"contact_id"`
	Instance        string `json:"instance"`
	Direction       string `json:"direction"`
	Caller          string `json:"caller"`
	Callee          string `json:"callee"`
	Start           string `json:"start"`
	End             string `json:"end"`
	Minutes         int64  `json:"minutes"`
	Item            string `json:"item,omitempty"`
	TelecomMinutes  int64  `json:"telecom_minutes"`
	CoveredMinutes  int64  `json:"covered_minutes"`
	PlatformMinutes int64  `json:"platform_minutes"`
	Charge          string `json:"charge"`
	Late            bool   `json:"late,omitempty"`
}

// usage pages through an account's calls of a cycle (用量明细) with keyset
// paging: `after` is the `next` of the previous page.
func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := callbill.UsageFilter{Instance: q.Get("instance"), Item: callbill.Item(q.Get("item")),
		Number: callbill.Digits(q.Get("number")), Direction: callbill.Direction(q.Get("direction")), Desc: q.Get("order") == "desc"}
	var err error
	switch {
	case q.Get("cycle") != "":
		if f.Cycle, err = callbill.ParseCycle(q.Get("cycle")); err != nil {
			return err
		}
	case q.Get("from") != "" && q.Get("to") != "":
		if f.From, err = time.Parse(time.RFC3339, q.Get("from")); err != nil {
			return callbill.Errorf(callbill.EINVALID, "from must be RFC 3339")
		}
		if f.To, err = time.Parse(time.RFC3339, q.Get("to")); err != nil {
			return callbill.Errorf(callbill.EINVALID, "to must be RFC 3339")
		}
	default:
		return callbill.Errorf(callbill.EINVALID, "usage needs cycle=YYYY-MM or from and to (RFC 3339)")
	}
	if o := q.Get("order"); o != "" && o != "asc" && o != "desc" {
		return callbill.Errorf(callbill.EINVALID, "order must be asc or desc")
	}
	if err := f.CheckDirection(); err != nil {
		return err
	}
	if v := q.Get("after"); v != "" {
		if f.After, err = strconv.ParseInt(v, 10, 64); err != nil {
			return callbill.Errorf(callbill.EINVALID, "after must be the next value of the previous page")
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return callbill.Errorf(callbill.EINVALID, "limit must be 1 to 1000")
		}
	}
	// A cycle's page changes only when the account's calls billed in it do
	// (an import or an undo moves its calls version) or the world changes
	// (the change counter): served from memory till then, like a live bill.
	// A page by start time may span cycles and is read every time.
	var version string
	key := r.URL.Path + "?" + r.URL.RawQuery
	if f.Cycle != 0 && s.Changes != nil && s.CallsVersion != nil {
		v, err := s.Changes(r.Context())
		if err != nil {
			return err
		}
		cv, err := s.CallsVersion(r.Context(), r.PathValue("uid"), f.Cycle)
		if err != nil {
			return err
		}
		version = v + "/" + cv
		if body, ok := s.cache.get(key, version); ok {
			return writeBody(w, body)
		}
	}
	calls, next, err := s.Rest.Usage(r.Context(), r.PathValue("uid"), f)
	if err != nil {
		return err
	}
	loc, err := s.Rest.Location(r.Context())
	if err != nil {
		return err
	}
	rows := []usageRow{}
	for _, cl := range calls {
		rows = append(rows, usageRow{Seq: cl.Seq, ContactID: cl.ContactID, Instance: cl.InstanceID, Direction: string(cl.Direction),
			Caller: cl.Caller, Callee: cl.Callee, Start: time.Unix(cl.Start, 0).In(loc).Format(time.RFC3339),
			End: time.Unix(cl.End, 0).In(loc).Format(time.RFC3339), Minutes: cl.Minutes, Item: string(cl.Item),
			TelecomMinutes: cl.TelecomMinutes, CoveredMinutes: cl.CoveredMinutes, PlatformMinutes: cl.PlatformMinutes,
			Charge: callbill.FromMicro(cl.ChargeMicro).String(), Late: cl.Late})
	}
	out := map[string]any{"calls": rows}
	if next != 0 {
		out["next"] = strconv.FormatInt(next, 10)
	}
	body, err := marshalJSON(out)
	if err != nil {
		return err
	}
	if version != "" {
		s.cache.put(key, version, body)
	}
	return writeBody(w, body)
}

type priceOut struct {
	Item  string    `json:"item"`
	Mode  string    `json:"mode"`
	From  string    `json:"from,omitempty"`
	Tiers []tierOut `json:"tiers"`
}

type tierOut struct {
	UpTo  int64  `json:"upto,omitempty"`
	Price string `json:"price"`
}

func pricesOut(ps []callbill.Price, loc *time.Location) []priceOut {
	out := []priceOut{}
	for _, p := range ps {
		po := priceOut{Item: string(p.Item), Mode: string(p.Mode), From: rfc3339(p.From, loc)}
		for _, t := range p.Tiers {
			po.Tiers = append(po.Tiers, tierOut{t.UpTo, callbill.FormatPrice(t.Price)})
		}
		out = append(out, po)
	}
	return out
}

// prices shows the built-in price book and the overrides in force from their dates.
func (s *Server) prices(w http.ResponseWriter, r *http.Request) error {
	overrides, err := s.Rest.PriceOverrides(r.Context())
	if err != nil {
		return err
	}
	loc, err := s.Rest.Location(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"builtin": pricesOut(callbill.BuiltinPrices(), loc), "overrides": pricesOut(overrides, loc)})
}

// applyWorld applies a world file (YAML body): accounts, instances, numbers,
// prices, contracts, top-ups and purchases, all or nothing.
func (s *Server) applyWorld(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Limits.OrDefault().World))
	if err != nil {
		return err
	}
	wd, problems := world.Parse(body)
	if wd != nil { // with problems of form too: checked against the store, refused
		var rep *callbill.ApplyReport
		rep, err = s.Provision.Apply(r.Context(), provision.ApplyInput{World: wd})
		if err == nil {
			return writeJSON(w, http.StatusOK, rep)
		}
		if !errors.As(err, &problems) {
			return err
		}
	}
	list := []map[string]any{}
	for _, p := range problems {
		item := map[string]any{"path": p.Path, "message": p.Message}
		if p.Line > 0 {
			item["line"], item["column"] = p.Line, p.Column
		}
		list = append(list, item)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusUnprocessableEntity)
	return json.NewEncoder(w).Encode(map[string]any{"type": "https://callbill.dev/problems/invalid", "title": "the world file has problems; nothing was applied",
		"status": http.StatusUnprocessableEntity, "code": callbill.EINVALID, "problems": list})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.Keys.CreateAccessKey(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"access_key_id": k.ID, "access_key_secret": k.Secret, "account": k.Account})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.Keys.RevokeAccessKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
