package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
)

func (a *app) apply(fs *flag.FlagSet) runner {
	file := fs.String("f", "", "the world `FILE` (YAML)")
	return func(ctx context.Context, pos []string) error {
		if *file == "" || len(pos) > 0 {
			return usagef("apply needs -f FILE")
		}
		// A world with problems is still checked against the store (Apply
		// refuses it with those found there too); only an unreadable file
		// stops here.
		w, problems := world.ParseFile(*file)
		if w == nil {
			return problems
		}
		s, err := a.open(ctx, sqlstore.Create)
		if err != nil {
			return err
		}
		rep, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w})
		if err != nil {
			s.Discard() // a new database the world did not go into is not kept
			return err
		}
		defer s.Close()
		if s.Created() {
			fmt.Fprintf(a.stderr, "created a new database at %s\n", s.Where())
		}
		fmt.Fprintf(a.stdout, "applied %s: %d accounts, %d instances, %d numbers, %d prices; %d top-ups and %d purchases new, %d applied before\n",
			*file, rep.Accounts, rep.Instances, rep.Numbers, rep.Prices, rep.TopUps, rep.Purchases, rep.Skipped)
		return nil
	}
}

func (a *app) billClose(fs *flag.FlagSet) runner {
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("bill close needs one cycle, YYYY-MM")
		}
		c, err := callbill.ParseCycle(pos[0])
		if err != nil {
			return usagef("%s", errorText(err))
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		rep, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: c})
		if err != nil {
			return err
		}
		if rep.AlreadyClosed {
			fmt.Fprintf(a.stdout, "%s was already closed; nothing changed\n", c)
			return nil
		}
		fmt.Fprintf(a.stdout, "closed %s\n", cycleList(rep.Closed))
		if len(rep.WithoutCalls) > 0 {
			fmt.Fprintf(a.stderr, "warning: no account had a call billed in %s; calls of %s imported from now on are billed in the next open cycle as late calls\n",
				cycleList(rep.WithoutCalls), cycleList(rep.WithoutCalls))
		}
		return nil
	}
}

// cycleList names cycles: "2026-09, 2026-10".
func cycleList(cs []callbill.Cycle) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}

func (a *app) billShow(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	cycle := fs.String("cycle", "", "the billing cycle, as `YYYY-MM`")
	by := fs.String("by", "item", "`item|instance`: lines by billing item, or summed by instance")
	period := fs.String("period", "cycle", "`cycle|day`: the whole cycle, or day by day")
	asJSON := fs.Bool("json", false, "print JSON (docs/design.md §4.4)")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || *cycle == "" || len(pos) > 0 {
			return usagef("bill show needs --account UID and --cycle YYYY-MM")
		}
		if *by != "item" && *by != "instance" {
			return usagef("--by must be item or instance")
		}
		if *period != "cycle" && *period != "day" {
			return usagef("--period must be cycle or day")
		}
		c, err := callbill.ParseCycle(*cycle)
		if err != nil {
			return usagef("%s", errorText(err))
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		view := callbill.View{ByInstance: *by == "instance", Daily: *period == "day"}
		bill, err := (&closing.Service{Store: s}).Bill(ctx, closing.BillInput{Account: *acct, Cycle: c, Daily: view.Daily})
		if err != nil {
			return err
		}
		j := bill.JSON(view)
		if *asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			return enc.Encode(j)
		}
		return printBill(a.stdout, &j, view)
	}
}

// printBill prints a bill as the console's table, with its Chinese column
// names; amounts and counts are aligned right. An open cycle's payable is an
// estimate and nothing is owed before the close: its payable column says
// 预估应付 and its outstanding shows "—" (docs/rules.md, "Open cycle
// preview").
func printBill(w io.Writer, b *callbill.BillJSON, v callbill.View) error {
	open := b.Status == callbill.BillStatusOpen
	status, payable := "已出账", "应付金额"
	if open {
		status, payable = "未出账 · 预估（实时预览）", "预估应付"
	}
	owed := func(subscriptionType, s string) string {
		if callbill.SettledAtClose(b.Status, subscriptionType) {
			return "—"
		}
		return s
	}
	fmt.Fprintf(w, "账单 %s  账户 %s  %s\n", b.Cycle, b.Account, status)
	var cols []column
	if v.Daily {
		cols = append(cols, left("日期"))
	}
	cols = append(cols, left("产品明细"), left("实例"))
	if !v.ByInstance {
		cols = append(cols, left("计费项"), left("号码"), left("单价"), left("用量"), right("抵扣"))
	}
	cols = append(cols, right("原价"), right("优惠金额"), right(payable), right("欠费金额"))
	t := newTable(cols...)
	for _, l := range b.Lines {
		var r []string
		if v.Daily {
			r = append(r, l.Date)
		}
		inst := l.Instance
		if inst == "" {
			inst = "-"
		}
		r = append(r, callbill.ProductDetailName[callbill.ProductDetail(l.ProductDetail)], inst)
		if !v.ByInstance {
			item := callbill.ItemName[callbill.Item(l.Item)]
			if l.Band > 0 {
				item += fmt.Sprintf("（第%d档）", l.Band)
			}
			num := l.Number
			if num == "" {
				num = "-"
			}
			r = append(r, item, num, l.UnitPrice+" "+l.PriceUnit, l.Usage+" "+l.UsageUnit, l.DeductedByPackage)
		}
		t.row(append(r, l.Original, l.Discount, l.Payable, owed(l.SubscriptionType, l.Outstanding))...)
	}
	tt := b.Totals
	total := make([]string, len(cols))
	total[0] = "合计"
	n := len(cols)
	total[n-4], total[n-3], total[n-2], total[n-1] = tt.Original, tt.Discount, tt.Payable, owed("", tt.Outstanding)
	t.rule()
	t.row(total...)
	if err := t.write(w); err != nil {
		return err
	}
	if open {
		fmt.Fprintf(w, "原价 %s  优惠 %s  预估应付 %s（抹零 %s）  已付 %s  欠费 —（出账时从余额扣款，之后才可能欠费）\n",
			tt.Original, tt.Discount, tt.Payable, tt.RoundDown, tt.Paid)
	} else {
		fmt.Fprintf(w, "原价 %s  优惠 %s  应付 %s（抹零 %s）  已付 %s  欠费 %s\n",
			tt.Original, tt.Discount, tt.Payable, tt.RoundDown, tt.Paid, tt.Outstanding)
	}
	for _, a := range b.Adjustments {
		corr := ""
		if a.Corrects != "" {
			corr = "，更正 " + a.Corrects
		}
		fmt.Fprintf(w, "调账 %s %s：%s%s（%s）\n", a.At, a.Amount, a.Reason, corr, a.Key)
	}
	return nil
}
