package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/demo"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/sqlstore"
)

// BenchmarkPages renders every console page against a store of 1,000,000
// calls (the demo generator: 1,000 accounts, October 2026, as bench/ uses),
// closed. The store is built once and kept in the temporary folder
// ($CALLBILL_CONSOLE_BENCH_DB names another); building it takes about ten
// seconds. The time is the server's: the handler, straight from an
// httptest recorder, session check included. docs/console.md has figures.
//
//	go test -run '^$' -bench Pages -benchtime 50x ./console
func BenchmarkPages(b *testing.B) {
	const calls = 1_000_000
	ctx := context.Background()
	s, cycle := benchStore(b, calls)
	uids, err := s.AccountUIDs(ctx)
	if err != nil {
		b.Fatal(err)
	}
	big := uids[0] // the big tenant: the most calls, every kind of line
	keys, _ := s.AccessKeys(ctx, big)
	var key *callbill.AccessKey
	if len(keys) == 0 {
		if key, err = s.CreateAccessKey(ctx, big); err != nil {
			b.Fatal(err)
		}
	} else if key, err = s.AccessKey(ctx, keys[0].ID); err != nil {
		b.Fatal(err)
	}
	benchInvoices(b, s, big, cycle)
	// A budget and a usage trigger for the 预算 pages (set again as they
	// are, they change nothing).
	bs := &budget.Service{Store: s, Spend: &closing.Service{Store: s}}
	for _, in := range []budget.SetInput{
		{Account: big, Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: callbill.MustDecimal("1000.00")},
		{Account: big, Scope: callbill.BudgetItem, Item: callbill.ItemFixedLineOutbound, Measure: callbill.BudgetMinutes, Minutes: 100_000},
	} {
		if _, err := bs.Set(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	cons := &console.Server{Store: s, OperatorKey: operatorKey, ExportDir: b.TempDir()}
	h := cons.Handler()
	signIn := func(form url.Values) []*http.Cookie {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/console/login", nil))
		login := rec.Result().Cookies()
		m := tokenRE.FindStringSubmatch(rec.Body.String())
		form.Set("csrf", m[1])
		req := httptest.NewRequest("POST", "/console/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range login {
			req.AddCookie(c)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("sign-in: %d", rec.Code)
		}
		return rec.Result().Cookies()
	}
	tenant := signIn(url.Values{"method": {"accesskey"}, "id": {key.ID}, "secret": {key.Secret}})
	operator := signIn(url.Values{"method": {"operator"}, "key": {operatorKey}})
	// A deep usage page: the keyset of a call half-way through the month.
	page, _, err := s.Usage(ctx, big, callbill.UsageFilter{Cycle: cycle, Limit: 1})
	if err != nil || len(page) == 0 {
		b.Fatal("no calls", err)
	}
	var mid int64
	n := 0
	s.StreamUsage(ctx, big, callbill.UsageFilter{Cycle: cycle}, func(_ *time.Location, c *callbill.Call) error {
		n++
		if n == 50_000 {
			mid = c.Seq
			return fmt.Errorf("stop")
		}
		return nil
	})
	a := "/console/a/" + big + "/"
	cy := cycle.String()
	pages := []struct {
		name, path string
		cookies    []*http.Cookie
	}{
		{"overview", a + "overview?cycle=" + cy, tenant},
		{"bill-item-cycle", a + "bill?cycle=" + cy, tenant},
		{"bill-item-day", a + "bill?cycle=" + cy + "&period=day", tenant},
		{"bill-instance-day", a + "bill?cycle=" + cy + "&by=instance&period=day", tenant},
		{"bill-filtered", a + "bill?cycle=" + cy + "&product=ccc&product_detail=ccc_postpaid", tenant},
		{"usage-first-page", a + "usage?cycle=" + cy, tenant},
		{"usage-page-50000", a + "usage?cycle=" + cy + "&after=" + fmt.Sprint(mid), tenant},
		{"usage-outbound", a + "usage?cycle=" + cy + "&direction=outbound&size=100", tenant},
		{"usage-one-day-15th", a + "usage?mode=range&from=" + cy + "-15&to=" + cy + "-15", tenant},
		{"usage-one-day-31st", a + "usage?mode=range&from=" + cy + "-31&to=" + cy + "-31", tenant},
		{"exports", a + "exports", tenant},
		{"packages", a + "packages", tenant},
		{"account", a + "account", tenant},
		{"invoices", a + "invoices", tenant},
		{"contracts", a + "contracts", tenant},
		{"budgets", a + "budgets", tenant},
		{"op-accounts-1000", "/console/op/accounts", operator},
		{"op-topup", "/console/op/topup", operator},
		{"op-keys", "/console/op/keys?account=" + big, operator},
		{"op-invoices-all", "/console/op/invoices?status=all", operator},
		{"op-contracts", "/console/op/contracts", operator},
		{"op-budgets", "/console/op/budgets", operator},
		{"op-tenant-overview", a + "overview?cycle=" + cy, operator},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var worst time.Duration
			times := make([]time.Duration, 0, 64)
			for b.Loop() {
				req := httptest.NewRequest("GET", p.path, nil)
				for _, c := range p.cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				d := time.Since(start)
				times = append(times, d)
				worst = max(worst, d)
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", p.path, rec.Code, rec.Body.String()[:min(rec.Body.Len(), 300)])
				}
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "ms-p99")
			b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max")
		})
	}
}

// benchInvoices gives the big tenant an invoice title, a pending
// application and a formal contract for a purchase, once (the requests
// carry keys, so a later run changes nothing).
func benchInvoices(b *testing.B, s *sqlstore.Store, uid string, cycle callbill.Cycle) {
	inv := &invoice.Service{Store: s}
	b.Helper()
	ctx := context.Background()
	if err := s.SetContractProvider(ctx, demo.Provider()); err != nil {
		b.Fatal(err)
	}
	ts, err := inv.Titles(ctx, uid)
	if err != nil {
		b.Fatal(err)
	}
	if len(ts) == 0 {
		accts, _ := s.Account(ctx, uid)
		kind, tax := callbill.TitleCompany, "91350100M000100Y43"
		if accts.Kind == callbill.AccountIndividual {
			kind, tax = callbill.TitlePerson, ""
		}
		t, err := inv.SaveTitle(ctx, callbill.InvoiceTitle{Account: uid, Kind: kind, Type: callbill.InvoiceGeneral, Name: accts.Name, TaxID: tax})
		if err != nil {
			b.Fatal(err)
		}
		ts = append(ts, *t)
	}
	if _, err := inv.Apply(ctx, invoice.ApplyInput{Account: uid, TitleID: ts[0].ID, AmountFen: 100, Key: "bench-1"}); err != nil {
		b.Fatal(err)
	}
	bill, err := (&closing.Service{Store: s}).Bill(ctx, closing.BillInput{Account: uid, Cycle: cycle})
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range bill.Lines {
		if l.IsPurchase() {
			c, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: uid, Purchase: l.PurchaseID, Key: "bench-1"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := (&contract.Service{Store: s}).Confirm(ctx, uid, c.ID); err != nil {
				b.Fatal(err)
			}
			return
		}
	}
}

// benchStore opens (building it the first time) the store of the page
// benchmark: the demo world of 1,000 accounts and calls in October 2026,
// imported and closed.
func benchStore(b *testing.B, calls int) (*sqlstore.Store, callbill.Cycle) {
	b.Helper()
	ctx := context.Background()
	o := demo.Options{Cycle: callbill.NewCycle(2026, time.October), Accounts: 1000, Calls: calls, Seed: 7}
	path := os.Getenv("CALLBILL_CONSOLE_BENCH_DB")
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("callbill-console-bench-%d-v1.db", calls))
	}
	if strings.HasPrefix(path, "postgres://") {
		// PostgreSQL: built when it holds no account yet.
		s, err := sqlstore.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		if uids, err := s.AccountUIDs(ctx); err != nil {
			b.Fatal(err)
		} else if len(uids) == 0 {
			b.Logf("building %s (%d calls, once)", path, calls)
			loadDemo(b, s, o)
			if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: o.Cycle}); err != nil {
				b.Fatal(err)
			}
		}
		s.MasterKey = []byte("0123456789abcdef0123456789abcdef")
		b.Cleanup(func() { s.Close() })
		return s, o.Cycle
	}
	ready := path + ".ready"
	if _, err := os.Stat(ready); err != nil {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		b.Logf("building %s (%d calls, once)", path, calls)
		s, err := sqlstore.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		loadDemo(b, s, o)
		if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: o.Cycle}); err != nil {
			b.Fatal(err)
		}
		s.Close()
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	s.MasterKey = []byte("0123456789abcdef0123456789abcdef")
	b.Cleanup(func() { s.Close() })
	return s, o.Cycle
}
