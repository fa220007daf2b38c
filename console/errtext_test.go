package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
)

// TestErrorTexts: every message of the title and party rules has a
// Chinese text, which keeps the values it names.
func TestErrorTexts(t *testing.T) {
	ok := callbill.InvoiceTitle{Kind: callbill.TitleCompany, Type: callbill.InvoiceSpecial, Name: "苏州云帆保险代理有限公司",
		TaxID: "91350100M000100Y43", Bank: "招商银行", BankAccount: "6225881234567890", Address: "苏州", Phone: "0512-66668888"}
	if err := ok.Check(callbill.AccountEnterprise); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("长", 101)
	titles := []struct {
		change func(*callbill.InvoiceTitle)
		acct   callbill.AccountKind
		want   string
	}{
		{func(x *callbill.InvoiceTitle) { x.Kind = "club" }, callbill.AccountEnterprise, "抬头类型须为企业或个人"},
		{func(x *callbill.InvoiceTitle) { x.Type = "vat" }, callbill.AccountEnterprise, "发票类型须为"},
		{func(x *callbill.InvoiceTitle) { x.Name = "" }, callbill.AccountEnterprise, "请填写发票抬头名称"},
		{func(x *callbill.InvoiceTitle) { x.Address = long }, callbill.AccountEnterprise, "地址不能超过 100 个字符"},
		{func(x *callbill.InvoiceTitle) {}, callbill.AccountIndividual, "增值税专用发票仅限企业账户"},
		{func(x *callbill.InvoiceTitle) { x.Kind = callbill.TitlePerson }, callbill.AccountEnterprise, "增值税专用发票只能开给企业抬头"},
		{func(x *callbill.InvoiceTitle) { x.TaxID, x.BankAccount = "", "" }, callbill.AccountEnterprise, "增值税专用发票还需填写抬头的纳税人识别号、银行账号"},
		{func(x *callbill.InvoiceTitle) { x.Type = callbill.InvoiceGeneral }, callbill.AccountIndividual, "个人账户的发票抬头只能是个人"},
		{func(x *callbill.InvoiceTitle) {
			x.Type, x.Kind, x.TaxID = callbill.InvoiceGeneral, callbill.TitlePerson, ""
		}, callbill.AccountEnterprise, "企业账户的发票抬头只能是企业"},
		{func(x *callbill.InvoiceTitle) { x.Type, x.Kind = callbill.InvoiceGeneral, callbill.TitlePerson }, callbill.AccountIndividual, "个人抬头不填写纳税人识别号"},
		{func(x *callbill.InvoiceTitle) { x.Type, x.TaxID = callbill.InvoiceGeneral, "" }, callbill.AccountEnterprise, "企业抬头须填写纳税人识别号"},
		{func(x *callbill.InvoiceTitle) { x.TaxID = "9135" }, callbill.AccountEnterprise, "纳税人识别号「9135」应为 18 位"},
		{func(x *callbill.InvoiceTitle) { x.TaxID = "91350100M000100I43" }, callbill.AccountEnterprise, "含有不允许的字符 I（"},
		{func(x *callbill.InvoiceTitle) { x.TaxID = "91350100M000100Y40" }, callbill.AccountEnterprise, "校验位错误：末位是 0，按前 17 位应为 3"},
		{func(x *callbill.InvoiceTitle) { x.BankAccount = "123" }, callbill.AccountEnterprise, "银行账号「123」应为 8 至 32 位数字"},
		{func(x *callbill.InvoiceTitle) { x.Phone = "110" }, callbill.AccountEnterprise, "电话「110」不是有效的电话号码"},
	}
	for i, tc := range titles {
		x := ok
		tc.change(&x)
		err := x.Check(tc.acct)
		if err == nil {
			t.Fatalf("title %d: no error", i)
		}
		zh, found := errorZH(callbill.ErrorMessage(err))
		if !found || !strings.Contains(zh, tc.want) {
			t.Errorf("title %d: %q → %q, want %q", i, err, zh, tc.want)
		}
		if got := errorText("en", err); got != callbill.ErrorMessage(err) {
			t.Errorf("English: %q", got)
		}
	}
	parties := map[string]callbill.ContractParty{
		"甲方地址不能超过 100 个字符":       {Name: "x", Address: long},
		"甲方联系人不能超过 100 个字符":      {Name: "x", Contact: long},
		"甲方电话「12」不是有效的电话号码":      {Name: "x", Phone: "12"},
		"甲方电子邮箱「a@」格式不正确":        {Name: "x", Email: "a@"},
		"甲方纳税人识别号「X」应为 18 位":     {Name: "x", TaxID: "X"},
		"甲方银行账号「1」应为 8 至 32 位数字": {Name: "x", BankAccount: "1"},
	}
	for want, p := range parties {
		err := p.Check("customer")
		if zh, found := errorZH(callbill.ErrorMessage(err)); !found || !strings.Contains(zh, want) {
			t.Errorf("party: %q → %q, want %q", err, zh, want)
		}
	}
	if got := errorText("zh", callbill.Errorf(callbill.EINTERNAL, "disk on fire")); got != translate("zh", "error.internal") {
		t.Errorf("internal: %q", got)
	}
}

// TestTextsExist: every text key the code and the templates use has both
// languages.
func TestTextsExist(t *testing.T) {
	re := regexp.MustCompile(`\bT\(?\s*"([a-z_.]+)"`)
	n := 0
	filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".html")) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			if strings.HasSuffix(m[1], ".") { // a prefix: some texts have it
				found := false
				for k := range messages {
					found = found || strings.HasPrefix(k, m[1])
				}
				if !found {
					t.Errorf("%s: no text starts with %q", path, m[1])
				}
				continue
			}
			if texts, ok := messages[m[1]]; !ok || texts[0] == "" || texts[1] == "" {
				t.Errorf("%s: text %q is missing", path, m[1])
			}
		}
		return nil
	})
	if n < 200 {
		t.Fatalf("only %d texts found", n)
	}
	for k, texts := range messages {
		if strings.Count(texts[0], "%s") != strings.Count(texts[1], "%s") {
			t.Errorf("%s: the languages take different arguments", k)
		}
	}
}

// TestBudgetErrorTexts: every message of the budget rules has its Chinese
// text, keeping the values it names.
func TestBudgetErrorTexts(t *testing.T) {
	ok := budget.SetInput{Account: "1", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: callbill.MustDecimal("100")}
	trigger := budget.SetInput{Account: "1", Scope: callbill.BudgetItem, Item: callbill.ItemFixedLineOutbound, Measure: callbill.BudgetMinutes, Minutes: 10}
	cases := []struct {
		in   budget.SetInput
		want string
	}{
		{func() budget.SetInput { x := ok; x.Account = ""; return x }(), "预算须指定账户"},
		{func() budget.SetInput { x := ok; x.Item = callbill.ItemFixedLineInbound; return x }(), "总费用预算不指定计费项或实例"},
		{func() budget.SetInput {
			x := ok
			x.Scope, x.Item, x.Instance = callbill.BudgetItem, callbill.ItemFixedLineInbound, "i"
			return x
		}(), "计费项预算不指定实例"},
		{func() budget.SetInput { x := ok; x.Scope, x.Item = callbill.BudgetItem, callbill.ItemSipLine; return x }(), "「SipLine」不可选"},
		{func() budget.SetInput { x := trigger; x.Item = callbill.ItemRecordStorage; return x }(), "按分钟计费的计费项：「RecordStorage」"},
		{func() budget.SetInput { x := ok; x.Scope = callbill.BudgetInstance; return x }(), "实例预算须指定实例"},
		{func() budget.SetInput { x := ok; x.Scope = "day"; return x }(), "预算范围「day」无效"},
		{func() budget.SetInput { x := ok; x.Measure = "calls"; return x }(), "预算类型「calls」无效"},
		{func() budget.SetInput { x := ok; x.Minutes = 3; return x }(), "金额预算只设金额"},
		{func() budget.SetInput { x := ok; x.Amount = callbill.MustDecimal("0"); return x }(), "预算金额须大于 0，最多 1000000000.00 元"},
		{func() budget.SetInput { x := ok; x.Thresholds = make([]int, 11); return x }(), "最多 10 个提醒阈值（填写了 11 个）"},
		{func() budget.SetInput { x := ok; x.Thresholds = []int{0}; return x }(), "提醒阈值 0% 超出范围：须为 1% 至 1000%"},
		{func() budget.SetInput { x := ok; x.Thresholds = []int{80, 80}; return x }(), "提醒阈值 80% 重复"},
		{func() budget.SetInput { x := trigger; x.Scope, x.Item = callbill.BudgetTotal, ""; return x }(), "用量提醒须针对一个计费项"},
		{func() budget.SetInput { x := trigger; x.Minutes = 0; return x }(), "用量提醒的分钟数须为 1 至 1000000000"},
		{func() budget.SetInput { x := trigger; x.Thresholds = []int{50}; return x }(), "不设金额或阈值"},
	}
	for i, c := range cases {
		err := c.in.Validate()
		if err == nil {
			t.Fatalf("%d: no error", i)
		}
		zh, found := errorZH(callbill.ErrorMessage(err))
		if !found || !strings.Contains(zh, c.want) {
			t.Errorf("%d: %q → %q, want %q", i, err, zh, c.want)
		}
	}
	// Set's own refusals (budget.Service.Set).
	for msg, want := range map[string]string{
		"instance ccc-9 is not an instance of account 1001":                           "实例 ccc-9 不属于账户 1001",
		"account 1001 has 50 budgets already, the most it may have; remove one first": "预算已达上限（50 个）",
	} {
		if zh, found := errorZH(msg); !found || !strings.Contains(zh, want) {
			t.Errorf("%q → %q", msg, zh)
		}
	}
}

// TestImportErrorTexts: the refusals of an undo read in Chinese with the
// values they name.
func TestImportErrorTexts(t *testing.T) {
	for msg, want := range map[string]string{
		"import imp-7 cannot be undone: 12 of its calls are billed in closed cycles (2026-09, 2026-10), and a closed bill never changes; nothing was changed. Correct those bills with an adjustment":                                                     "导入 imp-7 无法撤销：其中 12 条通话计入已关闭账期（2026-09, 2026-10）",
		"import imp-7 cannot be undone: without it, 3 later calls of account 1001 billed in closed cycles (2026-10) would take other voice-package minutes, and a closed bill never changes; nothing was changed. Correct those bills with an adjustment": "账户 1001 在其后导入、计入已关闭账期（2026-10）的 3 条通话",
		"no import imp-9 (callbill import list shows them)":                                "没有导入 imp-9",
		`"x" is not an import id (imp-N, as ` + "`callbill import list`" + ` shows it)`:    "「x」不是导入ID",
		"import imp-7 is still storing calls of more accounts; undo it again when it ends": "导入 imp-7 仍在写入",
	} {
		if zh, ok := errorZH(msg); !ok || !strings.Contains(zh, want) {
			t.Errorf("%q → %q, want %q", msg, zh, want)
		}
	}
}
