package bss_test

import (
	"context"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/shopspring/decimal"
)

// amt is an SDK amount (float64) as the bill prints it.
func amt(f float64) string { return decimal.NewFromFloat(f).StringFixed(2) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// checkRow compares an SDK row with a bill line of `bill show --json`
// (by billing item when byItem, else by instance).
func checkRow(t *testing.T, where string, it bssopenapi.Item, l callbill.LineJSON, byItem bool) {
	t.Helper()
	type pair struct{ name, got, want string }
	ps := []pair{
		{"InstanceID", it.InstanceID, l.Instance},
		{"CommodityCode", it.CommodityCode, l.ProductDetail},
		{"ProductDetail", it.ProductDetail, callbill.ProductDetailName[callbill.ProductDetail(l.ProductDetail)]},
		{"ProductCode", it.ProductCode, "ccc"},
		{"ProductName", it.ProductName, "云呼叫中心"},
		{"SubscriptionType", it.SubscriptionType, l.SubscriptionType},
		{"PretaxGrossAmount", amt(it.PretaxGrossAmount), l.Original},
		{"InvoiceDiscount", amt(it.InvoiceDiscount), l.Discount},
		{"PretaxAmount", amt(it.PretaxAmount), l.Payable},
		{"OutstandingAmount", amt(it.OutstandingAmount), l.Outstanding},
		{"PaymentAmount", amt(it.PaymentAmount), dec(l.Payable).Sub(dec(l.Outstanding)).StringFixed(2)},
		{"CashAmount", amt(it.CashAmount), dec(l.Payable).Sub(dec(l.Outstanding)).StringFixed(2)},
		{"Currency", it.Currency, "CNY"},
	}
	if byItem {
		ps = append(ps,
			pair{"BillingItem", it.BillingItem, callbill.ItemName[callbill.Item(l.Item)]},
			pair{"ListPrice", it.ListPrice, l.UnitPrice},
			pair{"ListPriceUnit", it.ListPriceUnit, l.PriceUnit},
			pair{"Usage", it.Usage, l.Usage},
			pair{"UsageUnit", it.UsageUnit, l.UsageUnit},
			pair{"DeductedByResourcePackage", it.DeductedByResourcePackage, l.DeductedByPackage})
	}
	want := "PayAsYouGoBill"
	if l.SubscriptionType == "Subscription" {
		want = "SubscriptionOrder"
	}
	ps = append(ps, pair{"Item", it.Item, want})
	for _, p := range ps {
		if p.got != p.want {
			t.Errorf("%s: %s = %q, want %q", where, p.name, p.got, p.want)
		}
	}
}

// TestSDK drives the official v1 Go SDK through every supported action and
// checks its numbers against the bill `callbill bill show --json` shows.
func TestSDK(t *testing.T) { testSDK(t, newEnv(t)) }

// TestSDKPostgres runs the same on PostgreSQL (skipped without
// $CALLBILL_TEST_PG, except under CI).
func TestSDKPostgres(t *testing.T) { testSDK(t, newEnvOn(t, testpg.DSN(t))) }

func testSDK(t *testing.T, e *env) {
	c := client(t, e.srv, e.keyA.ID, e.keyA.Secret)
	bill := e.bill(t, uidA, callbill.View{})
	if len(bill.Lines) < 10 {
		t.Fatalf("the scenario bill has %d lines; want a bill with many", len(bill.Lines))
	}

	t.Run("QueryBillOverview", func(t *testing.T) {
		req := bssopenapi.CreateQueryBillOverviewRequest()
		req.BillingCycle = "2026-10"
		resp, err := c.QueryBillOverview(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != "Success" || !resp.Success || resp.RequestId == "" {
			t.Errorf("envelope: Code %q Success %v RequestId %q", resp.Code, resp.Success, resp.RequestId)
		}
		if resp.Data.AccountID != uidA || resp.Data.AccountName != "杭州示例科技有限公司" || resp.Data.BillingCycle != "2026-10" {
			t.Errorf("Data: %+v", resp.Data)
		}
		// Expected: the bill's lines summed per product detail and subscription type.
		type key struct{ pd, st string }
		want := map[key][4]decimal.Decimal{}
		for _, l := range bill.Lines {
			k := key{l.ProductDetail, l.SubscriptionType}
			s := want[k]
			s[0], s[1], s[2], s[3] = s[0].Add(dec(l.Original)), s[1].Add(dec(l.Discount)), s[2].Add(dec(l.Payable)), s[3].Add(dec(l.Outstanding))
			want[k] = s
		}
		items := resp.Data.Items.Item
		if len(items) != len(want) {
			t.Fatalf("%d items, want %d: %+v", len(items), len(want), items)
		}
		var gross, disc, pay, out, roundDown decimal.Decimal
		for _, it := range items {
			w, ok := want[key{it.CommodityCode, it.SubscriptionType}]
			if !ok {
				t.Errorf("unexpected item %s %s", it.CommodityCode, it.SubscriptionType)
				continue
			}
			got := [4]string{amt(it.PretaxGrossAmount), amt(it.InvoiceDiscount), amt(it.PretaxAmount), amt(it.OutstandingAmount)}
			for i := range got {
				if got[i] != w[i].StringFixed(2) {
					t.Errorf("%s %s: amount %d = %s, want %s", it.CommodityCode, it.SubscriptionType, i, got[i], w[i].StringFixed(2))
				}
			}
			if it.ProductDetail != callbill.ProductDetailName[callbill.ProductDetail(it.CommodityCode)] || it.ProductCode != "ccc" ||
				it.Currency != "CNY" {
				t.Errorf("item classification: %+v", it)
			}
			gross, disc = gross.Add(dec(got[0])), disc.Add(dec(got[1]))
			pay, out = pay.Add(dec(got[2])), out.Add(dec(got[3]))
			roundDown = roundDown.Add(dec(it.RoundDownDiscount))
		}
		for _, p := range [][2]string{{gross.StringFixed(2), bill.Totals.Original}, {disc.StringFixed(2), bill.Totals.Discount},
			{pay.StringFixed(2), bill.Totals.Payable}, {out.StringFixed(2), bill.Totals.Outstanding}} {
			if p[0] != p[1] {
				t.Errorf("overview total %s, bill total %s", p[0], p[1])
			}
		}
		if !roundDown.Equal(dec(bill.Totals.RoundDown)) {
			t.Errorf("RoundDownDiscount sums to %s, bill round_down %s", roundDown, bill.Totals.RoundDown)
		}
		// Filters.
		req = bssopenapi.CreateQueryBillOverviewRequest()
		req.BillingCycle, req.ProductCode, req.SubscriptionType = "2026-10", "ccc", "Subscription"
		resp, err = c.QueryBillOverview(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range resp.Data.Items.Item {
			if it.SubscriptionType != "Subscription" || it.Item != "SubscriptionOrder" {
				t.Errorf("SubscriptionType filter let through %+v", it)
			}
		}
		if len(resp.Data.Items.Item) != 3 {
			t.Errorf("%d subscription items, want 3 (seats, number, voice package)", len(resp.Data.Items.Item))
		}
		req.ProductCode, req.SubscriptionType = "ecs", ""
		if resp, err = c.QueryBillOverview(req); err != nil || len(resp.Data.Items.Item) != 0 {
			t.Errorf("ProductCode=ecs: %v %+v", err, resp.Data.Items.Item)
		}
	})

	// records: one per product detail's postpaid lines and one per purchase.
	type rec struct{ gross, disc, pay, out decimal.Decimal }
	wantRecords := map[string]rec{}
	for _, l := range bill.Lines {
		id := l.PurchaseID
		if id == "" {
			id = "2026-10-" + l.ProductDetail
		}
		r := wantRecords[id]
		r.gross, r.disc = r.gross.Add(dec(l.Original)), r.disc.Add(dec(l.Discount))
		r.pay, r.out = r.pay.Add(dec(l.Payable)), r.out.Add(dec(l.Outstanding))
		wantRecords[id] = r
	}
	checkRecords := func(t *testing.T, items []bssopenapi.Item) {
		t.Helper()
		if len(items) != len(wantRecords) {
			t.Fatalf("%d records, want %d", len(items), len(wantRecords))
		}
		seen := map[string]bool{}
		var pay decimal.Decimal
		for _, it := range items {
			w, ok := wantRecords[it.RecordID]
			if !ok || seen[it.RecordID] {
				t.Errorf("unexpected or repeated record %q", it.RecordID)
				continue
			}
			seen[it.RecordID] = true
			got := [4]string{amt(it.PretaxGrossAmount), amt(it.InvoiceDiscount), amt(it.PretaxAmount), amt(it.OutstandingAmount)}
			exp := [4]string{w.gross.StringFixed(2), w.disc.StringFixed(2), w.pay.StringFixed(2), w.out.StringFixed(2)}
			if got != exp {
				t.Errorf("record %s: amounts %v, want %v", it.RecordID, got, exp)
			}
			if it.Status != "PayFinish" {
				t.Errorf("record %s: Status %s, want PayFinish (the bill is paid)", it.RecordID, it.Status)
			}
			pay = pay.Add(dec(got[2]))
		}
		if pay.StringFixed(2) != bill.Totals.Payable {
			t.Errorf("records' PretaxAmount sums to %s, bill payable %s", pay.StringFixed(2), bill.Totals.Payable)
		}
	}

	t.Run("QueryBill", func(t *testing.T) {
		var all []bssopenapi.Item
		for page := 1; ; page++ {
			req := bssopenapi.CreateQueryBillRequest()
			req.BillingCycle, req.PageNum, req.PageSize = "2026-10", requests.NewInteger(page), requests.NewInteger(2)
			resp, err := c.QueryBill(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Data.TotalCount != len(wantRecords) || resp.Data.PageNum != page || resp.Data.PageSize != 2 {
				t.Errorf("page %d: TotalCount %d PageNum %d PageSize %d", page, resp.Data.TotalCount, resp.Data.PageNum, resp.Data.PageSize)
			}
			all = append(all, resp.Data.Items.Item...)
			if len(resp.Data.Items.Item) < 2 {
				break
			}
		}
		checkRecords(t, all)
		// Type filter.
		req := bssopenapi.CreateQueryBillRequest()
		req.BillingCycle, req.Type = "2026-10", "SubscriptionOrder"
		resp, err := c.QueryBill(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data.Items.Item) != 3 {
			t.Errorf("Type=SubscriptionOrder: %d records, want the 3 purchases", len(resp.Data.Items.Item))
		}
		for _, it := range resp.Data.Items.Item {
			if it.SubOrderId == "" || it.PaymentTime != "2026-10-01 09:00:00" {
				t.Errorf("purchase record %s: SubOrderId %q PaymentTime %q", it.RecordID, it.SubOrderId, it.PaymentTime)
			}
		}
	})

	t.Run("QuerySettleBill", func(t *testing.T) {
		var all []bssopenapi.Item
		token := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("NextToken never ends")
			}
			req := bssopenapi.CreateQuerySettleBillRequest()
			req.BillingCycle, req.MaxResults, req.NextToken = "2026-10", requests.NewInteger(2), token
			resp, err := c.QuerySettleBill(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Data.TotalCount != len(wantRecords) || resp.Data.MaxResults != 2 {
				t.Errorf("TotalCount %d MaxResults %d", resp.Data.TotalCount, resp.Data.MaxResults)
			}
			all = append(all, resp.Data.Items.Item...)
			if token = resp.Data.NextToken; token == "" {
				break
			}
		}
		checkRecords(t, all)
	})

	t.Run("QueryInstanceBill", func(t *testing.T) {
		query := func(t *testing.T, byItem bool, size int, set func(*bssopenapi.QueryInstanceBillRequest)) []bssopenapi.Item {
			t.Helper()
			var all []bssopenapi.Item
			for page := 1; ; page++ {
				req := bssopenapi.CreateQueryInstanceBillRequest()
				req.BillingCycle, req.PageNum, req.PageSize = "2026-10", requests.NewInteger(page), requests.NewInteger(size)
				req.IsBillingItem = requests.NewBoolean(byItem)
				if set != nil {
					set(req)
				}
				resp, err := c.QueryInstanceBill(req)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, resp.Data.Items.Item...)
				if page*size >= resp.Data.TotalCount {
					if len(all) != resp.Data.TotalCount {
						t.Errorf("paged %d rows, TotalCount %d", len(all), resp.Data.TotalCount)
					}
					return all
				}
			}
		}
		// By billing item: one row per bill line, in line order.
		rows := query(t, true, 5, nil)
		if len(rows) != len(bill.Lines) {
			t.Fatalf("%d rows, want %d lines", len(rows), len(bill.Lines))
		}
		for i := range rows {
			checkRow(t, "by item, line "+bill.Lines[i].Item, rows[i], bill.Lines[i], true)
		}
		// By instance.
		byInst := e.bill(t, uidA, callbill.View{ByInstance: true})
		rows = query(t, false, 3, nil)
		if len(rows) != len(byInst.Lines) {
			t.Fatalf("%d rows, want %d", len(rows), len(byInst.Lines))
		}
		for i := range rows {
			checkRow(t, "by instance "+byInst.Lines[i].Instance, rows[i], byInst.Lines[i], false)
		}
		// IsHideZeroCharge drops the lines whose 原价 and 应付 are 0.
		nonzero := 0
		for _, l := range bill.Lines {
			if dec(l.Original).IsPositive() || dec(l.Payable).IsPositive() {
				nonzero++
			}
		}
		rows = query(t, true, 300, func(r *bssopenapi.QueryInstanceBillRequest) { r.IsHideZeroCharge = requests.NewBoolean(true) })
		if len(rows) != nonzero || nonzero == len(bill.Lines) {
			t.Errorf("IsHideZeroCharge: %d rows, want %d of %d", len(rows), nonzero, len(bill.Lines))
		}
		// Daily: every day of the daily bill, and a day without lines.
		daily := e.bill(t, uidA, callbill.View{Daily: true})
		days := map[string][]callbill.LineJSON{}
		for _, l := range daily.Lines {
			days[l.Date] = append(days[l.Date], l)
		}
		if len(days) < 5 {
			t.Fatalf("the daily bill has %d days", len(days))
		}
		days["2026-10-02"] = nil
		for date, lines := range days {
			rows := query(t, true, 4, func(r *bssopenapi.QueryInstanceBillRequest) {
				r.Granularity, r.BillingDate = "DAILY", date
			})
			if len(rows) != len(lines) {
				t.Errorf("%s: %d rows, want %d", date, len(rows), len(lines))
				continue
			}
			for i := range rows {
				checkRow(t, date+" "+lines[i].Item, rows[i], lines[i], true)
				if rows[i].BillingDate != date {
					t.Errorf("%s: BillingDate %q", date, rows[i].BillingDate)
				}
			}
		}
	})

	t.Run("DescribeInstanceBill", func(t *testing.T) {
		describe := func(t *testing.T, instance string) []bssopenapi.Item {
			var all []bssopenapi.Item
			token := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("NextToken never ends")
				}
				req := bssopenapi.CreateDescribeInstanceBillRequest()
				req.BillingCycle, req.MaxResults, req.NextToken = "2026-10", requests.NewInteger(4), token
				req.IsBillingItem, req.InstanceID = requests.NewBoolean(true), instance
				resp, err := c.DescribeInstanceBill(req)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Data.MaxResults != 4 || resp.Data.AccountID != uidA {
					t.Errorf("MaxResults %d AccountID %s", resp.Data.MaxResults, resp.Data.AccountID)
				}
				all = append(all, resp.Data.Items...)
				if token = resp.Data.NextToken; token == "" {
					if len(all) != resp.Data.TotalCount {
						t.Errorf("paged %d rows, TotalCount %d", len(all), resp.Data.TotalCount)
					}
					return all
				}
			}
		}
		rows := describe(t, "")
		if len(rows) != len(bill.Lines) {
			t.Fatalf("%d rows, want %d", len(rows), len(bill.Lines))
		}
		for i := range rows {
			checkRow(t, "describe "+bill.Lines[i].Item, rows[i], bill.Lines[i], true)
			if rows[i].BillingItemCode != bill.Lines[i].Item {
				t.Errorf("BillingItemCode %q, want %q", rows[i].BillingItemCode, bill.Lines[i].Item)
			}
		}
		var want []callbill.LineJSON
		for _, l := range bill.Lines {
			if l.Instance == "ccc-hz-002" {
				want = append(want, l)
			}
		}
		rows = describe(t, "ccc-hz-002")
		if len(rows) != len(want) {
			t.Fatalf("InstanceID filter: %d rows, want %d", len(rows), len(want))
		}
		for i := range rows {
			checkRow(t, "describe ccc-hz-002", rows[i], want[i], true)
		}
	})

	t.Run("QueryAccountBalance", func(t *testing.T) {
		resp, err := c.QueryAccountBalance(bssopenapi.CreateQueryAccountBalanceRequest())
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.store.Status(context.Background(), uidA)
		if err != nil {
			t.Fatal(err)
		}
		d := resp.Data
		if d.AvailableAmount != st.Standing.Available().StringFixed(2) || d.AvailableCashAmount != st.Standing.Cash.StringFixed(2) ||
			d.CreditAmount != st.Standing.CreditLine.StringFixed(2) || d.MybankCreditAmount != "0.00" || d.Currency != "CNY" {
			t.Errorf("balance %+v, want available %s cash %s credit %s", d, st.Standing.Available(), st.Standing.Cash, st.Standing.CreditLine)
		}
		// The cash is what the ledger left: 5000 topped up, less the
		// purchases and the 2026-09 and 2026-10 bills.
		ledger, err := e.store.Ledger(context.Background(), uidA)
		if err != nil || len(ledger) == 0 {
			t.Fatal(err)
		}
		if want := ledger[len(ledger)-1].Balance.StringFixed(2); d.AvailableCashAmount != want || want == "5000.00" {
			t.Errorf("AvailableCashAmount %s, want %s", d.AvailableCashAmount, want)
		}
	})

	t.Run("QueryResourcePackageInstances", func(t *testing.T) {
		st, err := e.store.Status(context.Background(), uidA)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Packages) != 1 {
			t.Fatalf("%d packages in the status", len(st.Packages))
		}
		p := st.Packages[0]
		resp, err := c.QueryResourcePackageInstances(bssopenapi.CreateQueryResourcePackageInstancesRequest())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Total != 1 || resp.Page != 1 || resp.PageSize != 20 || resp.Data.TotalCount != "1" || resp.Data.PageNum != "1" ||
			resp.Data.PageSize != "20" || len(resp.Data.Instances.Instance) != 1 {
			t.Fatalf("paging: %+v", resp)
		}
		in := resp.Data.Instances.Instance[0]
		if in.InstanceId != p.ID || in.PackageType != string(p.Type) || in.Status != "Available" ||
			in.TotalAmount != "10000" || in.RemainingAmount != decimal.NewFromInt(p.Remaining).String() ||
			in.RemainingAmountUnit != "分钟" || in.TotalAmountUnit != "分钟" ||
			in.EffectiveTime != "2026-10-01T01:00:00Z" || in.ExpiryTime != "2027-01-01T01:00:00Z" ||
			len(in.ApplicableProducts.Product) != 1 || in.ApplicableProducts.Product[0] != "ccc" {
			t.Errorf("package %+v, want %+v", in, p)
		}
		// The covered minutes of the bill came out of it.
		var covered int64
		for _, l := range bill.Lines {
			covered += dec(l.DeductedByPackage).IntPart()
		}
		if p.Remaining != 10000-covered {
			t.Errorf("remaining %d, want 10000 − %d", p.Remaining, covered)
		}
		// Expiry filter.
		req := bssopenapi.CreateQueryResourcePackageInstancesRequest()
		req.ExpiryTimeEnd = "2026-12-31T00:00:00Z"
		if resp, err = c.QueryResourcePackageInstances(req); err != nil || resp.Total != 0 {
			t.Errorf("ExpiryTimeEnd filter: %v total %d", err, resp.Total)
		}
		// After its expiry (the store's clock) it is listed as Expired.
		e.store.Now = func() time.Time { return time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC) }
		defer func() { e.store.Now = func() time.Time { return storeNow } }()
		resp, err = c.QueryResourcePackageInstances(bssopenapi.CreateQueryResourcePackageInstancesRequest())
		if err != nil || len(resp.Data.Instances.Instance) != 1 || resp.Data.Instances.Instance[0].Status != "Expired" {
			t.Errorf("after expiry: %v %+v", err, resp.Data.Instances)
		}
	})
}
