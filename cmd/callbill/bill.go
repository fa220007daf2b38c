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
	"github.com/callbill/callbill/world"
	"github.com/mattn/go-runewidth"
)

func (a *app) apply(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	file := fs.String("f", "", "world file (YAML)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
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
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "applied %s: %d accounts, %d instances, %d numbers, %d prices; %d top-ups and %d purchases new, %d applied before\n",
		*file, rep.Accounts, rep.Instances, rep.Numbers, rep.Prices, rep.TopUps, rep.Purchases, rep.Skipped)
	return nil
}

func (a *app) billClose(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bill close", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("bill close needs one cycle, YYYY-MM")
	}
	c, err := callbill.ParseCycle(pos[0])
	if err != nil {
		return usagef("%s", err)
	}
	s, err := a.open(ctx)
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
	names := make([]string, len(rep.Closed))
	for i, cy := range rep.Closed {
		names[i] = cy.String()
	}
	fmt.Fprintf(a.stdout, "closed %s\n", strings.Join(names, ", "))
	return nil
}

func (a *app) billShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bill show", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	cycle := fs.String("cycle", "", "billing cycle YYYY-MM")
	by := fs.String("by", "item", "item or instance")
	period := fs.String("period", "cycle", "cycle or day")
	asJSON := fs.Bool("json", false, "print JSON (DESIGN §4.4)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
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
		return usagef("%s", err)
	}
	s, err := a.open(ctx)
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
	printBill(a.stdout, &j, view)
	return nil
}

// printBill prints a bill as the console's table, with its Chinese column
// names. An open cycle's payable is an estimate and nothing is owed before
// the close: its payable column says 预估应付 and its outstanding shows "—"
// (docs/decisions.md, "Open cycle preview").
func printBill(w io.Writer, b *callbill.BillJSON, v callbill.View) {
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
	var header []string
	if v.Daily {
		header = append(header, "日期")
	}
	if v.ByInstance {
		header = append(header, "产品明细", "实例", "原价", "优惠金额", payable, "欠费金额")
	} else {
		header = append(header, "产品明细", "实例", "计费项", "号码", "单价", "用量", "抵扣", "原价", "优惠金额", payable, "欠费金额")
	}
	rows := [][]string{header}
	for _, l := range b.Lines {
		var r []string
		if v.Daily {
			r = append(r, l.Date)
		}
		pd := callbill.ProductDetailName[callbill.ProductDetail(l.ProductDetail)]
		inst := l.Instance
		if inst == "" {
			inst = "-"
		}
		if v.ByInstance {
			r = append(r, pd, inst, l.Original, l.Discount, l.Payable, owed(l.SubscriptionType, l.Outstanding))
		} else {
			item := callbill.ItemName[callbill.Item(l.Item)]
			if l.Band > 0 {
				item += fmt.Sprintf("（第%d档）", l.Band)
			}
			num := l.Number
			if num == "" {
				num = "-"
			}
			r = append(r, pd, inst, item, num, l.UnitPrice+" "+l.PriceUnit, l.Usage+" "+l.UsageUnit, l.DeductedByPackage,
				l.Original, l.Discount, l.Payable, owed(l.SubscriptionType, l.Outstanding))
		}
		rows = append(rows, r)
	}
	t := b.Totals
	total := make([]string, len(header))
	total[0] = "合计"
	n := len(header)
	total[n-4], total[n-3], total[n-2], total[n-1] = t.Original, t.Discount, t.Payable, owed("", t.Outstanding)
	rows = append(rows, total)
	widths := make([]int, len(header))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	numeric := func(i int) bool { return i >= n-4 }
	for ri, r := range rows {
		if ri == len(rows)-1 {
			fmt.Fprintln(w, strings.Repeat("-", sum(widths)+2*(n-1)))
		}
		var sb strings.Builder
		for i, c := range r {
			if i > 0 {
				sb.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-runewidth.StringWidth(c))
			if numeric(i) && ri > 0 {
				sb.WriteString(pad + c)
			} else {
				sb.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(sb.String(), " "))
	}
	if open {
		fmt.Fprintf(w, "原价 %s  优惠 %s  预估应付 %s（抹零 %s）  已付 %s  欠费 —（出账时从余额扣款，之后才可能欠费）\n",
			t.Original, t.Discount, t.Payable, t.RoundDown, t.Paid)
	} else {
		fmt.Fprintf(w, "原价 %s  优惠 %s  应付 %s（抹零 %s）  已付 %s  欠费 %s\n",
			t.Original, t.Discount, t.Payable, t.RoundDown, t.Paid, t.Outstanding)
	}
	for _, a := range b.Adjustments {
		corr := ""
		if a.Corrects != "" {
			corr = "，更正 " + a.Corrects
		}
		fmt.Fprintf(w, "调账 %s %s：%s%s（%s）\n", a.At, a.Amount, a.Reason, corr, a.Key)
	}
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
