package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// view is what the layout and every page template see.
type view struct {
	s       *Server
	r       *http.Request
	lang    string
	started time.Time
	status  int

	Sess    *callbill.ConsoleSession
	UID     string            // the account the page is about ("" on operator pages)
	Account *callbill.Account // that account
	Title   string
	Nav     string // the active navigation entry
	Flash   string
	Error   string
	Refresh int // seconds; a page that follows a running job reloads itself
	Data    any
	Form    map[string]string // what the last form sent, after an error (flash)
	// ErrorFor names the form the Error is about: the page shows it there
	// rather than at the top.
	ErrorFor string
}

// T translates a message key into the view's language.
func (v *view) T(key string) string { return translate(v.lang, key) }

// short cuts a value the request gave to a length fit for a message.
func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// errf is an error of the console's own, worded in the view's language:
// the text of key, formatted with args.
func (v *view) errf(code, key string, args ...any) error {
	return localized{callbill.Errorf(code, v.T(key), args...)}
}

// localized is an error already worded in the page's language, which
// errorText shows as it is. It carries its code (callbill.ErrorCode).
type localized struct{ e *callbill.Error }

func (l localized) Error() string { return l.e.Message }
func (l localized) Unwrap() error { return l.e }

// Lang is the page's language: zh or en.
func (v *view) Lang() string { return v.lang }

// HTMLLang is the page's language as a BCP 47 tag.
func (v *view) HTMLLang() string {
	if v.lang == "en" {
		return "en"
	}
	return "zh-CN"
}

// CSRF is the session's form token.
func (v *view) CSRF() string {
	if v.Sess == nil {
		return ""
	}
	return v.Sess.CSRF
}

// Static is the path of the embedded assets, versioned by their content.
func (v *view) Static() string { return "/console/static" }

// Version busts caches when the assets change.
func (v *view) Version() string { return v.s.version }

// LangURL switches the language and comes back to this page.
func (v *view) LangURL(lang string) string {
	back := "/console/"
	if v.r != nil && v.r.Method == http.MethodGet {
		back = v.r.URL.RequestURI()
	}
	return "/console/lang?to=" + lang + "&back=" + url.QueryEscape(back)
}

// A is a path under the viewed account's pages.
func (v *view) A(rest string) string { return "/console/a/" + url.PathEscape(v.UID) + "/" + rest }

// AccountName is the viewed account's name.
func (v *view) AccountName() string {
	if v.Account == nil {
		return ""
	}
	return v.Account.Name
}

// Invoicing reports whether the store has invoices and contracts (the
// operator's queue and contracts pages).
func (v *view) Invoicing() bool { return v.s.invoiceService() != nil }

// OperatorView reports whether an operator is looking at a tenant's pages.
func (v *view) OperatorView() bool { return v.Sess != nil && v.Sess.Operator && v.UID != "" }

// Who names the signed-in principal.
func (v *view) Who() string {
	if v.Sess == nil {
		return ""
	}
	switch v.Sess.Via {
	case callbill.SessionViaPassword:
		return v.Sess.User
	case callbill.SessionViaAccessKey:
		return v.Sess.KeyID
	}
	return v.T("who.operator")
}

// Unit is a price or usage unit of a bill line in the view's language:
// the API, the CLI and the exports keep the specification's Chinese units
// (docs/rules.md, "Bill totals and JSON"); an English page names them in English.
func (v *view) Unit(u string) string {
	if v.lang == "en" {
		if en, ok := unitEN[u]; ok {
			return en
		}
	}
	return u
}

var unitEN = map[string]string{
	"元/分钟": "yuan/min", "元/坐席/月": "yuan/seat/month", "元/号码/月": "yuan/number/month", "元/GB/月": "yuan/GB/month",
	"元/个": "yuan/package", "元/线路/年": "yuan/line/year",
	"分钟": "min", "坐席·月": "seat-months", "号码·月": "number-months", "GB": "GB", "个": "packages", "线路·年": "line-years",
}

// ItemName is a billing item's name in the view's language.
func (v *view) ItemName(it callbill.Item) string { return itemName(v.lang, it) }

// PDName is a product detail's name in the view's language.
func (v *view) PDName(pd callbill.ProductDetail) string { return pdName(v.lang, pd) }

func itemName(lang string, it callbill.Item) string {
	if lang == "en" {
		if n, ok := itemNameEN[it]; ok {
			return n
		}
		return string(it)
	}
	if n, ok := callbill.ItemName[it]; ok {
		return n
	}
	return string(it)
}

func pdName(lang string, pd callbill.ProductDetail) string {
	if lang == "en" {
		if n, ok := pdNameEN[pd]; ok {
			return n
		}
		return string(pd)
	}
	if n, ok := callbill.ProductDetailName[pd]; ok {
		return n
	}
	return string(pd)
}

var itemNameEN = map[callbill.Item]string{
	callbill.ItemCallCenterSoftware: "Platform fee",
	callbill.ItemFixedLineInbound:   "Fixed-line inbound",
	callbill.ItemFixedLineOutbound:  "Fixed-line outbound",
	callbill.ItemInbound400:         "400 inbound",
	callbill.ItemInbound400Minimum:  "400 monthly minimum top-up",
	callbill.ItemRecordStorage:      "Recording storage",
	callbill.ItemNumberRent:         "Number rent",
	callbill.ItemVoicePackage:       "Voice package",
	callbill.ItemSipLine:            "SIP line maintenance",
}

var pdNameEN = map[callbill.ProductDetail]string{
	callbill.PDPostpaid:     "Cloud Call Center (pay-as-you-go)",
	callbill.PDSubscription: "Cloud Call Center (subscription)",
	callbill.PDNumber:       "Cloud Call Center numbers",
	callbill.PDVoicePackage: "Cloud Call Center voice packages",
	callbill.PDSip:          "Cloud Call Center SIP lines",
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"money": func(x any) string {
		switch d := x.(type) {
		case decimal.Decimal:
			return Money(d)
		case string:
			return MoneyString(d)
		}
		return ""
	},
	"int":  func(n int64) string { return Int(n) },
	"eq2":  func(a, b any) bool { return a == b },
	"join": strings.Join,
	// sel is a select's name, label and options (template "select").
	"sel": func(name, label string, opts []option) map[string]any {
		return map[string]any{"Name": name, "Label": label, "Options": opts, "Auto": name == "cycle"}
	},
	"withCSRF": func(t table, csrf string) table { t.CSRF = csrf; return t },
	// pick is a select with its own id (template "pick").
	"pick": func(name, id, label string, opts []option) map[string]any {
		return map[string]any{"Name": name, "ID": id, "Label": label, "Options": opts}
	},
	// input is a text field (template "input"): name, id, label, value, max
	// length, then flags: "required", "wide", or an inputmode ("decimal",
	// "tel", "email", "numeric").
	"input": func(name, id, label, value string, max int, flags ...string) map[string]any {
		m := map[string]any{"Name": name, "ID": id, "Label": label, "Value": value, "Max": max}
		for _, f := range flags {
			switch f {
			case "required":
				m["Required"] = true
			case "wide":
				m["Wide"] = true
			default:
				m["Mode"] = f
			}
		}
		return m
	},
	// formerror is the view and a form's name (template "formerror").
	"formerror": func(v *view, form string) map[string]any { return map[string]any{"V": v, "For": form} },
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
