package bss

import (
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
)

// envelope is every successful answer.
type envelope struct {
	Code      string
	Message   string
	RequestId string
	Success   bool
	// QueryResourcePackageInstances also pages at the top level.
	Page     *int `json:",omitempty"`
	PageSize *int `json:",omitempty"`
	Total    *int `json:",omitempty"`
	Data     any
}

func ok(data any) *envelope {
	return &envelope{Code: "Success", Message: "Successful!", Success: true, Data: data}
}

type itemList struct {
	Item []item
}

// billData is Data of the bill APIs; which paging fields it carries depends
// on the API.
type billData struct {
	BillingCycle string
	AccountID    string
	AccountName  string
	PageNum      *int    `json:",omitempty"`
	PageSize     *int    `json:",omitempty"`
	NextToken    *string `json:",omitempty"`
	MaxResults   *int    `json:",omitempty"`
	TotalCount   *int    `json:",omitempty"`
	Items        any
}

func ip(n int) *int { return &n }

// Paging limits (docs/bss.md, "Actions and parameters").
const (
	defaultPageSize = 20
	maxPageSize     = 300
)

// --- parameters

// cycle is the required BillingCycle.
func (r *request) cycle() (callbill.Cycle, error) {
	s := r.get("BillingCycle")
	if s == "" {
		return 0, missing("BillingCycle")
	}
	c, err := callbill.ParseCycle(s)
	if err != nil {
		return 0, invalid("BillingCycle", "it must be YYYY-MM")
	}
	return c, nil
}

func (r *request) boolean(name string) (bool, error) {
	switch strings.ToLower(r.get(name)) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, invalid(name, "it must be true or false")
}

// integer reads an optional integer in [lo, hi].
func (r *request) integer(name string, def, lo, hi int) (int, error) {
	s := r.get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "it must be an integer from %d to %d", lo, hi)
	}
	return n, nil
}

func (r *request) oneOf(name string, values ...string) (string, error) {
	s := r.get(name)
	if s == "" {
		return "", nil
	}
	for _, v := range values {
		if s == v {
			return s, nil
		}
	}
	return "", invalid(name, "it must be one of %s", strings.Join(values, ", "))
}

// pages reads PageNum and PageSize.
func (r *request) pages() (num, size int, err error) {
	if num, err = r.integer("PageNum", 1, 1, 1<<30); err != nil {
		return
	}
	size, err = r.integer("PageSize", defaultPageSize, 1, maxPageSize)
	return
}

// tokens reads NextToken (the offset a previous answer gave; opaque to the
// client) and MaxResults.
func (r *request) tokens() (offset, max int, err error) {
	if t := r.get("NextToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || strconv.Itoa(n) != t {
			return 0, 0, invalid("NextToken", "send back the NextToken of the previous answer unchanged")
		}
		offset = n
	}
	max, err = r.integer("MaxResults", defaultPageSize, 1, maxPageSize)
	return
}

func page(items []item, from, size int) []item {
	if from >= len(items) {
		return []item{}
	}
	return items[from:min(from+size, len(items))]
}

// filter is what the bill APIs filter rows by.
type filter struct {
	product          bool // ProductCode (and PipCode) is empty or ccc
	subscriptionType string
	hideZero         bool
	hidePayableZero  bool // instance bills hide a row only when its payable is 0 too
}

func (r *request) filter() (filter, error) {
	f := filter{product: true}
	for _, name := range []string{"ProductCode", "PipCode"} {
		if v := r.get(name); v != "" && v != ProductCode {
			f.product = false
		}
	}
	var err error
	if f.subscriptionType, err = r.oneOf("SubscriptionType", callbill.SubscriptionTypeSubscription, callbill.SubscriptionTypePayAsYouGo); err != nil {
		return f, err
	}
	f.hideZero, err = r.boolean("IsHideZeroCharge")
	return f, err
}

func (f filter) keep(it *item) bool {
	if !f.product || (f.subscriptionType != "" && it.SubscriptionType != f.subscriptionType) {
		return false
	}
	if f.hideZero && it.gross.IsZero() && (!f.hidePayableZero || it.payable.IsZero()) {
		return false
	}
	return true
}

func keep(items []item, ok func(it *item) bool) []item {
	out := []item{}
	for i := range items {
		if ok(&items[i]) {
			out = append(out, items[i])
		}
	}
	return out
}

// --- reads

func (r *request) accountInfo() (account, error) {
	name, err := r.h.Store.AccountName(r.ctx, r.account)
	return account{UID: r.account, Name: name}, err
}

// bill reads the key's account's bill of the cycle, with the account.
func (r *request) bill(c callbill.Cycle, daily bool) (*callbill.Bill, account, error) {
	a, err := r.accountInfo()
	if err != nil {
		return nil, a, err
	}
	b, err := (&closing.Service{Store: r.h.Store}).Bill(r.ctx, closing.BillInput{Account: r.account, Cycle: c, Daily: daily})
	return b, a, err
}

// --- actions

// queryBillOverview: the cycle's amounts per product detail and
// subscription type. Filters ProductCode, SubscriptionType.
func queryBillOverview(r *request) (*envelope, error) {
	c, err := r.cycle()
	if err != nil {
		return nil, err
	}
	f, err := r.filter()
	if err != nil {
		return nil, err
	}
	f.hideZero = false
	b, a, err := r.bill(c, false)
	if err != nil {
		return nil, err
	}
	items := keep(overview(b, a), f.keep)
	return ok(billData{BillingCycle: c.String(), AccountID: a.UID, AccountName: a.Name, Items: itemList{items}}), nil
}

// billRecords reads and filters the records of QueryBill and QuerySettleBill.
func (r *request) billRecords() (callbill.Cycle, account, []item, error) {
	c, err := r.cycle()
	if err != nil {
		return 0, account{}, nil, err
	}
	f, err := r.filter()
	if err != nil {
		return 0, account{}, nil, err
	}
	typ, err := r.oneOf("Type", ItemSubscription, ItemPayAsYouGo, "Refund", "Adjustment")
	if err != nil {
		return 0, account{}, nil, err
	}
	if _, err := r.boolean("IsDisplayLocalCurrency"); err != nil {
		return 0, account{}, nil, err
	}
	b, a, err := r.bill(c, false)
	if err != nil {
		return 0, a, nil, err
	}
	loc, err := r.h.Store.Location(r.ctx)
	if err != nil {
		return 0, a, nil, err
	}
	recordID := r.get("RecordID")
	items := keep(records(b, a, loc), func(it *item) bool {
		return f.keep(it) && (typ == "" || it.Item == typ) && (recordID == "" || it.RecordID == recordID)
	})
	return c, a, items, nil
}

// queryBill: the cycle's records, paged by PageNum/PageSize.
func queryBill(r *request) (*envelope, error) {
	num, size, err := r.pages()
	if err != nil {
		return nil, err
	}
	c, a, items, err := r.billRecords()
	if err != nil {
		return nil, err
	}
	return ok(billData{BillingCycle: c.String(), AccountID: a.UID, AccountName: a.Name, PageNum: ip(num), PageSize: ip(size),
		TotalCount: ip(len(items)), Items: itemList{page(items, (num-1)*size, size)}}), nil
}

// querySettleBill: the records of QueryBill, paged by NextToken/MaxResults.
func querySettleBill(r *request) (*envelope, error) {
	offset, max, err := r.tokens()
	if err != nil {
		return nil, err
	}
	c, a, items, err := r.billRecords()
	if err != nil {
		return nil, err
	}
	if offset > len(items) {
		return nil, invalid("NextToken", "send back the NextToken of the previous answer unchanged")
	}
	return ok(billData{BillingCycle: c.String(), AccountID: a.UID, AccountName: a.Name, NextToken: next(offset, max, len(items)),
		MaxResults: ip(max), TotalCount: ip(len(items)), Items: itemList{page(items, offset, max)}}), nil
}

func next(offset, max, total int) *string {
	s := ""
	if offset+max < total {
		s = strconv.Itoa(offset + max)
	}
	return &s
}

// instanceItems reads and filters the rows of QueryInstanceBill and
// DescribeInstanceBill: monthly, or one day's (Granularity=DAILY with
// BillingDate) from the daily bill.
func (r *request) instanceItems(describe bool) (callbill.Cycle, account, []item, error) {
	c, err := r.cycle()
	if err != nil {
		return 0, account{}, nil, err
	}
	f, err := r.filter()
	if err != nil {
		return 0, account{}, nil, err
	}
	f.hidePayableZero = true
	byItem, err := r.boolean("IsBillingItem")
	if err != nil {
		return 0, account{}, nil, err
	}
	gran, err := r.oneOf("Granularity", "MONTHLY", "DAILY")
	if err != nil {
		return 0, account{}, nil, err
	}
	day, date := 0, ""
	if gran == "DAILY" {
		date = r.get("BillingDate")
		if date == "" {
			return 0, account{}, nil, missing("BillingDate")
		}
		t, err := time.Parse("2006-01-02", date)
		if err != nil || callbill.NewCycle(t.Year(), t.Month()) != c {
			return 0, account{}, nil, invalid("BillingDate", "it must be a day (YYYY-MM-DD) of the BillingCycle %s", c)
		}
		day = t.Day()
	}
	b, a, err := r.bill(c, day != 0)
	if err != nil {
		return 0, a, nil, err
	}
	lines := b.Lines
	if day != 0 {
		lines = nil
		for _, l := range b.Lines {
			if l.Day == day {
				lines = append(lines, l)
			}
		}
	}
	instance := r.get("InstanceID")
	items := keep(instanceRows(lines, a, byItem, date, describe), func(it *item) bool {
		return f.keep(it) && (instance == "" || it.InstanceID == instance)
	})
	return c, a, items, nil
}

// queryInstanceBill: per instance or per billing item, paged by
// PageNum/PageSize.
func queryInstanceBill(r *request) (*envelope, error) {
	num, size, err := r.pages()
	if err != nil {
		return nil, err
	}
	c, a, items, err := r.instanceItems(false)
	if err != nil {
		return nil, err
	}
	return ok(billData{BillingCycle: c.String(), AccountID: a.UID, AccountName: a.Name, PageNum: ip(num), PageSize: ip(size),
		TotalCount: ip(len(items)), Items: itemList{page(items, (num-1)*size, size)}}), nil
}

// describeInstanceBill: the rows of QueryInstanceBill (plus BillingItemCode
// and the account), filtered by InstanceID, paged by NextToken/MaxResults;
// Data.Items is a plain array.
func describeInstanceBill(r *request) (*envelope, error) {
	offset, max, err := r.tokens()
	if err != nil {
		return nil, err
	}
	c, a, items, err := r.instanceItems(true)
	if err != nil {
		return nil, err
	}
	if offset > len(items) {
		return nil, invalid("NextToken", "send back the NextToken of the previous answer unchanged")
	}
	return ok(billData{BillingCycle: c.String(), AccountID: a.UID, AccountName: a.Name, NextToken: next(offset, max, len(items)),
		MaxResults: ip(max), TotalCount: ip(len(items)), Items: page(items, offset, max)}), nil
}

type balanceData struct {
	AvailableAmount     string
	AvailableCashAmount string
	CreditAmount        string
	MybankCreditAmount  string
	Currency            string
}

// queryAccountBalance: available = cash + credit line − outstanding; cash;
// the credit line.
func queryAccountBalance(r *request) (*envelope, error) {
	st, err := r.h.Store.Status(r.ctx, r.account)
	if err != nil {
		return nil, err
	}
	return ok(balanceData{AvailableAmount: callbill.FormatMoney(st.Standing.Available()),
		AvailableCashAmount: callbill.FormatMoney(st.Standing.Cash), CreditAmount: callbill.FormatMoney(st.Standing.CreditLine),
		MybankCreditAmount: "0.00", Currency: Currency}), nil
}

type packageData struct {
	HostId     string
	PageNum    string
	PageSize   string
	TotalCount string
	Instances  struct{ Instance []packageInstance }
}

type packageInstance struct {
	InstanceId          string
	PackageType         string
	CommodityCode       string
	DeductType          string
	Region              string
	Remark              string
	Status              string
	EffectiveTime       string
	ExpiryTime          string
	RemainingAmount     string
	RemainingAmountUnit string
	TotalAmount         string
	TotalAmountUnit     string
	ApplicableProducts  struct{ Product []string }
}

// packageNames are the Chinese names of voice package types.
var packageNames = map[callbill.PackageType]string{
	callbill.PackageFixedInbound:  "固话呼入语音包",
	callbill.PackageFixedOutbound: "固话呼出语音包",
	callbill.PackageInbound400:    "400号码呼入语音包",
}

const isoUTC = "2006-01-02T15:04:05Z"

func (r *request) isoTime(name string) (time.Time, error) {
	s := r.get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(isoUTC, s)
	if err != nil || len(s) != len(isoUTC) {
		return t, invalid(name, "it must be UTC as yyyy-MM-ddTHH:mm:ssZ")
	}
	return t, nil
}

// queryResourcePackageInstances: the account's voice packages as resource
// packages, expired ones included, filtered by ProductCode and by expiry
// (ExpiryTimeStart ≤ ExpiryTime ≤ ExpiryTimeEnd), paged by PageNum/PageSize.
func queryResourcePackageInstances(r *request) (*envelope, error) {
	num, size, err := r.pages()
	if err != nil {
		return nil, err
	}
	from, err := r.isoTime("ExpiryTimeStart")
	if err != nil {
		return nil, err
	}
	to, err := r.isoTime("ExpiryTimeEnd")
	if err != nil {
		return nil, err
	}
	if _, err := r.boolean("IncludePartner"); err != nil {
		return nil, err
	}
	pkgs, now, err := r.h.Store.VoicePackages(r.ctx, r.account)
	if err != nil {
		return nil, err
	}
	all := []packageInstance{}
	for _, p := range pkgs {
		if (!from.IsZero() && p.Until.Before(from)) || (!to.IsZero() && p.Until.After(to)) {
			continue
		}
		if v := r.get("ProductCode"); v != "" && v != ProductCode {
			continue
		}
		pi := packageInstance{InstanceId: p.ID, PackageType: string(p.Type), CommodityCode: string(callbill.PDVoicePackage),
			DeductType: "Absolute", Remark: packageNames[p.Type] + " " + strconv.FormatInt(p.Minutes, 10) + "分钟",
			Status: "Available", EffectiveTime: p.From.UTC().Format(isoUTC), ExpiryTime: p.Until.UTC().Format(isoUTC),
			RemainingAmount: strconv.FormatInt(p.Remaining, 10), RemainingAmountUnit: "分钟",
			TotalAmount: strconv.FormatInt(p.Minutes, 10), TotalAmountUnit: "分钟"}
		if !now.Before(p.Until) {
			pi.Status = "Expired"
		}
		pi.ApplicableProducts.Product = []string{ProductCode}
		all = append(all, pi)
	}
	d := packageData{HostId: r.host, PageNum: strconv.Itoa(num), PageSize: strconv.Itoa(size), TotalCount: strconv.Itoa(len(all))}
	d.Instances.Instance = []packageInstance{}
	if start := (num - 1) * size; start < len(all) {
		d.Instances.Instance = all[start:min(start+size, len(all))]
	}
	env := ok(d)
	env.Page, env.PageSize, env.Total = ip(num), ip(size), ip(len(all))
	return env, nil
}
