package api

import (
	"time"

	"github.com/callbill/callbill"
)

// AccountJSON is an account as `account show --json` and the API show it:
// amounts are strings with two decimals.
type AccountJSON struct {
	Account     string        `json:"account"`
	Name        string        `json:"name"`
	Cash        string        `json:"cash"`
	CreditLine  string        `json:"credit_line"`
	Outstanding string        `json:"outstanding"`
	Available   string        `json:"available"`
	State       string        `json:"state"`
	Allowance   string        `json:"allowance"`
	GraceDays   int           `json:"grace_days"`
	LowBalance  string        `json:"low_balance_alert,omitempty"`
	Packages    []PackageJSON `json:"voice_packages"`
	Numbers     []NumberJSON  `json:"numbers"`
	Alerts      []EventJSON   `json:"alerts"`
	Events      []EventJSON   `json:"events"`
}

// PackageJSON is a voice package with what is left of it.
type PackageJSON struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Minutes   int64  `json:"minutes"`
	Remaining int64  `json:"remaining"`
	Expires   string `json:"expires"`
}

// NumberJSON is a number with its rent.
type NumberJSON struct {
	Number    string `json:"number"`
	Instance  string `json:"instance"`
	Kind      string `json:"kind"`
	Source    string `json:"source"`
	PaidUntil string `json:"paid_until,omitempty"`
}

// EventJSON is a state transition or an alert.
type EventJSON struct {
	At    string `json:"at"`
	State string `json:"state,omitempty"`
	Cause string `json:"cause"`
}

// Account renders an account's status; times are in the billing time zone.
func Account(st *callbill.AccountStatus, loc *time.Location) AccountJSON {
	ts := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05") }
	j := AccountJSON{Account: st.UID, Name: st.Name, Cash: callbill.FormatMoney(st.Standing.Cash),
		CreditLine: callbill.FormatMoney(st.Standing.CreditLine), Outstanding: callbill.FormatMoney(st.Standing.Outstanding),
		Available: callbill.FormatMoney(st.Standing.Available()), State: string(st.State), Allowance: callbill.FormatMoney(st.Standing.Allowance),
		GraceDays: st.GraceDays, Packages: []PackageJSON{}, Numbers: []NumberJSON{}, Events: []EventJSON{}, Alerts: []EventJSON{}}
	if st.LowBelow != nil {
		j.LowBalance = callbill.FormatMoney(*st.LowBelow)
	}
	for _, p := range st.Packages {
		j.Packages = append(j.Packages, PackageJSON{p.ID, string(p.Type), p.Minutes, p.Remaining, ts(p.Until)})
	}
	for _, n := range st.Numbers {
		nj := NumberJSON{Number: n.Number.Number, Instance: n.Instance, Kind: string(n.Kind), Source: string(n.Source)}
		if !n.PaidUntil.IsZero() {
			nj.PaidUntil = ts(n.PaidUntil)
		}
		j.Numbers = append(j.Numbers, nj)
	}
	for _, e := range st.Events {
		if e.Kind == "alert" {
			j.Alerts = append(j.Alerts, EventJSON{At: ts(e.At), Cause: e.Cause})
		} else {
			j.Events = append(j.Events, EventJSON{At: ts(e.At), State: string(e.State), Cause: e.Cause})
		}
	}
	return j
}
