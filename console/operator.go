package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/internal/httperr"
	"github.com/callbill/callbill/ledger"
	"github.com/shopspring/decimal"
)

type opAccountsData struct {
	Table                           table
	Accounts, Normal, Overdue, Stop int
	Owing                           int    // accounts with arrears (outstanding > 0), whatever their state
	Outstanding                     string // their arrears, summed
}

// opAccounts lists every account with its state and arrears. The cards
// count accounts by state (an account whose credit line covers its
// arrears is still normal) and, apart from that, the accounts that owe and
// what they owe together: the two arrears cards agree.
func (s *Server) opAccounts(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "op.accounts"
	sts, err := s.Store.AccountStandings(r.Context())
	if err != nil {
		return err
	}
	d := opAccountsData{Accounts: len(sts)}
	owed := decimal.Zero
	d.Table = table{ID: "accounts-table", Empty: v.T("empty.accounts"), Cols: []col{
		{Key: "uid", Label: v.T("col.uid")}, {Key: "name", Label: v.T("col.name")}, {Key: "state", Label: v.T("acct.state")},
		{Key: "cash", Label: v.T("acct.cash"), Num: true}, {Key: "credit_line", Label: v.T("acct.credit"), Num: true},
		{Key: "outstanding", Label: v.T("acct.outstanding"), Num: true}, {Key: "available", Label: v.T("acct.available"), Num: true},
		{Key: "actions", Label: v.T("col.action")}}}
	for _, st := range sts {
		switch st.State {
		case callbill.StateNormal:
			d.Normal++
		case callbill.StateOverdue:
			d.Overdue++
		case callbill.StateStopped:
			d.Stop++
		}
		sd := st.Standing
		owed = owed.Add(sd.Outstanding)
		if sd.Outstanding.IsPositive() {
			d.Owing++
		}
		d.Table.Rows = append(d.Table.Rows, []cell{link(st.UID, "/console/a/"+url.PathEscape(st.UID)+"/overview"), txt(st.Name),
			code(string(st.State), v.T("state."+string(st.State))), code(callbill.FormatMoney(sd.Cash), Money(sd.Cash)),
			code(callbill.FormatMoney(sd.CreditLine), Money(sd.CreditLine)), code(callbill.FormatMoney(sd.Outstanding), Money(sd.Outstanding)),
			code(callbill.FormatMoney(sd.Available()), Money(sd.Available())),
			cell{Text: v.T("op.topup"), V: "topup", Href: "/console/op/topup?account=" + url.QueryEscape(st.UID)}})
	}
	d.Outstanding = Money(owed)
	return s.render(w, r, v, "op_accounts", d)
}

type opCloseData struct {
	Cycle  string
	Closed []string
}

func (s *Server) opClosePage(w http.ResponseWriter, r *http.Request, v *view) error {
	loc, err := s.Store.Location(r.Context())
	if err != nil {
		return err
	}
	return s.showClose(w, r, v, opCloseData{Cycle: (callbill.CycleOf(s.Now(), loc) - 1).String()})
}

func (s *Server) showClose(w http.ResponseWriter, r *http.Request, v *view, d opCloseData) error {
	v.Nav = "op.close"
	return s.render(w, r, v, "op_close", d)
}

// opClose closes a cycle (and every earlier open one).
func (s *Server) opClose(w http.ResponseWriter, r *http.Request, v *view) error {
	d := opCloseData{Cycle: strings.TrimSpace(r.PostFormValue("cycle"))}
	c, err := callbill.ParseCycle(d.Cycle)
	if err != nil {
		v.Error = v.errorText(err)
		v.status = http.StatusBadRequest
		return s.showClose(w, r, v, d)
	}
	if r.PostFormValue("confirm") != "yes" {
		v.Error = v.T("op.close.confirm_needed")
		v.status = http.StatusBadRequest
		return s.showClose(w, r, v, d)
	}
	rep, err := s.bills().Close(r.Context(), closing.CloseInput{Cycle: c})
	if err != nil {
		if code := callbill.ErrorCode(err); code == callbill.EINTERNAL {
			return err
		}
		v.Error = v.errorText(err)
		v.status = httperr.Status(callbill.ErrorCode(err))
		return s.showClose(w, r, v, d)
	}
	s.Log.Info("console closed a cycle", "cycle", c.String(), "session_via", v.Sess.Via, "user", v.Sess.User)
	if rep.AlreadyClosed {
		v.Flash = v.T("op.close.already") + " " + c.String()
	} else {
		for _, cy := range rep.Closed {
			d.Closed = append(d.Closed, cy.String())
		}
		v.Flash = v.T("op.close.done") + " " + strings.Join(d.Closed, ", ")
	}
	return s.showClose(w, r, v, d)
}

type opTopUpData struct {
	Accounts []option
	Amount   string
	Key      string
	Entry    *callbill.LedgerEntry
}

func (s *Server) opTopUpPage(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.showTopUp(w, r, v, r.URL.Query().Get("account"), "")
}

func (s *Server) showTopUp(w http.ResponseWriter, r *http.Request, v *view, uid, amount string) error {
	v.Nav = "op.topup"
	sts, err := s.Store.AccountStandings(r.Context())
	if err != nil {
		return err
	}
	d := opTopUpData{Amount: amount, Key: newToken()}
	for _, st := range sts {
		d.Accounts = append(d.Accounts, option{st.UID, st.UID + " " + st.Name, st.UID == uid})
	}
	return s.render(w, r, v, "op_topup", d)
}

// opTopUp records a top-up. The form's key (new with every page) is the
// idempotency key: sending the same form twice moves the money once.
func (s *Server) opTopUp(w http.ResponseWriter, r *http.Request, v *view) error {
	uid, raw, key := r.PostFormValue("account"), strings.TrimSpace(r.PostFormValue("amount")), r.PostFormValue("key")
	if !formKey.MatchString(key) {
		return v.errf(callbill.EINVALID, "err.form_key")
	}
	amount, err := callbill.ParseAmount(raw)
	if err == nil && !amount.IsPositive() {
		err = v.errf(callbill.EINVALID, "err.amount_positive")
	}
	if err != nil {
		v.Error, v.status = v.errorText(err), http.StatusBadRequest
		return s.showTopUp(w, r, v, uid, raw)
	}
	res, err := (&ledger.Service{Store: s.Store}).TopUp(r.Context(), ledger.TopUpInput{Account: uid, Amount: amount, Key: "console-topup:" + key})
	if err != nil {
		if callbill.ErrorCode(err) == callbill.EINTERNAL {
			return err
		}
		v.Error, v.status = v.errorText(err), httperr.Status(callbill.ErrorCode(err))
		return s.showTopUp(w, r, v, uid, raw)
	}
	if res.Replayed {
		v.Flash = v.T("op.topup.replayed")
	} else {
		v.Flash = v.T("op.topup.done") + " " + uid + " " + Money(amount) + "; " + v.T("acct.cash") + " " + Money(res.Entry.Balance)
	}
	s.Log.Info("console recorded a top-up", "account", uid, "amount", callbill.FormatMoney(amount), "replayed", res.Replayed)
	return s.showTopUp(w, r, v, uid, "")
}

type opKeysData struct {
	Accounts []option // the filter: all, or one account
	Owners   []option // whom a key is made for, when the filter shows all
	Account  string
	Table    table
	New      *callbill.AccessKey
}

// opKeys lists an account's AccessKeys, or every account's under 全部
// (the default), where the form to make one asks for its account.
func (s *Server) opKeys(w http.ResponseWriter, r *http.Request, v *view) error {
	if id := r.URL.Query().Get("revoked"); id != "" {
		v.Flash = v.T("op.keys.revoked") + " " + id
	}
	return s.showKeys(w, r, v, r.URL.Query().Get("account"), nil)
}

func (s *Server) showKeys(w http.ResponseWriter, r *http.Request, v *view, uid string, created *callbill.AccessKey) error {
	ctx := r.Context()
	v.Nav = "op.keys"
	sts, err := s.Store.AccountStandings(ctx)
	if err != nil {
		return err
	}
	var keys []callbill.AccessKeyInfo
	if uid == "" { // the form's "all"
		keys, err = s.Store.AllAccessKeys(ctx)
	} else {
		keys, err = s.Store.AccessKeys(ctx, uid)
	}
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	d := opKeysData{Account: uid, New: created, Accounts: []option{{"", v.T("all"), uid == ""}}}
	for _, st := range sts {
		d.Accounts = append(d.Accounts, option{st.UID, st.UID + " " + st.Name, st.UID == uid})
		d.Owners = append(d.Owners, option{st.UID, st.UID + " " + st.Name, false})
	}
	d.Table = table{ID: "keys-table", Empty: v.T("empty.keys"), Cols: []col{
		{Key: "id", Label: "AccessKey ID"}, {Key: "account", Label: v.T("col.uid")}, {Key: "created_at", Label: v.T("col.created")},
		{Key: "status", Label: v.T("col.status")}, {Key: "actions", Label: v.T("col.action")}}}
	for _, k := range keys {
		st, action := code("active", v.T("key.active")), cell{}
		if !k.RevokedAt.IsZero() {
			st = code("revoked", v.T("key.revoked")+" "+dateTime(k.RevokedAt, loc))
		} else {
			action = cell{Text: v.T("key.revoke"), V: "revoke", Post: true, Href: "/console/op/keys/" + url.PathEscape(k.ID) + "/revoke?account=" + url.QueryEscape(uid)}
		}
		d.Table.Rows = append(d.Table.Rows, []cell{txt(k.ID), txt(k.Account), code(k.CreatedAt.In(loc).Format(time.RFC3339), dateTime(k.CreatedAt, loc)), st, action})
	}
	return s.render(w, r, v, "op_keys", d)
}

// opCreateKey makes an AccessKey and shows its secret this once.
func (s *Server) opCreateKey(w http.ResponseWriter, r *http.Request, v *view) error {
	uid := r.PostFormValue("account")
	if uid == "" {
		v.Error, v.status = v.T("op.keys.choose"), http.StatusBadRequest
		return s.showKeys(w, r, v, "", nil)
	}
	k, err := s.Store.CreateAccessKey(r.Context(), uid)
	if err != nil {
		return err
	}
	s.Log.Info("console created an AccessKey", "account", uid, "id", k.ID)
	v.Flash = v.T("op.keys.created")
	return s.showKeys(w, r, v, uid, k)
}

// opRevokeKey revokes an AccessKey at once (its console sessions end too).
func (s *Server) opRevokeKey(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if err := s.Store.RevokeAccessKey(r.Context(), id); err != nil {
		return err
	}
	s.Log.Info("console revoked an AccessKey", "id", id)
	http.Redirect(w, r, "/console/op/keys?account="+url.QueryEscape(r.URL.Query().Get("account"))+"&revoked="+url.QueryEscape(id), http.StatusSeeOther)
	return nil
}
