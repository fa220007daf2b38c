package console

import (
	"errors"
	"regexp"
	"strings"

	"github.com/callbill/callbill"
)

// errorText is an error's message in the page's language. The rules live
// in the root package, the domain services and the store, which word their
// errors in English (the API's and the CLI's language); a Chinese page
// shows them translated by the patterns below, keeping the values they
// name. A message no pattern knows is shown after a Chinese word for its
// kind (TestErrorTexts checks that the rules' messages are known, and
// TestErrorPagesInLanguage those the console's pages can meet).
func errorText(lang string, err error) string {
	msg := callbill.ErrorMessage(err)
	if callbill.ErrorCode(err) == callbill.EINTERNAL {
		return translate(lang, "error.internal")
	}
	if lang == "en" || errors.As(err, new(localized)) {
		return msg
	}
	if zh, ok := errorZH(msg); ok {
		return zh
	}
	// A message no pattern knows yet: say in Chinese what kind of error
	// it is, then the message as it is (TestErrorPagesInLanguage checks
	// that the console's own requests never come to this).
	return translate(lang, "errcode."+callbill.ErrorCode(err)) + msg
}

// errorText is an error's message in the view's language, and for an
// operator also what the operator does about it (the error's Hint), which
// a tenant never sees.
func (v *view) errorText(err error) string {
	msg := errorText(v.lang, err)
	var e *callbill.Error
	if v.Sess != nil && v.Sess.Operator && errors.As(err, &e) && e.Hint != "" {
		msg += " " + hintText(v.lang, e.Hint)
	}
	return msg
}

// hintText is an operator's hint in the page's language.
func hintText(lang, hint string) string {
	if hint == callbill.ProviderHint {
		return translate(lang, "con.no_provider_howto")
	}
	return hint
}

// errorZH translates a domain message into Chinese.
func errorZH(msg string) (string, bool) {
	for _, p := range errorPatterns {
		if m := p.re.FindStringSubmatch(msg); m != nil {
			return p.zh(m), true
		}
	}
	return "", false
}

var fieldZH = map[string]string{
	"name": "名称", "bank": "开户银行", "address": "地址", "contact": "联系人", "email": "电子邮箱",
	"tax ID": "纳税人识别号", "bank account": "银行账号", "phone": "电话",
}

var verbZH = map[string]string{
	"edited": "修改", "confirmed": "确认", "voided": "作废", "issued": "开具", "rejected": "驳回", "withdrawn": "撤回",
}

func fieldList(s string) string {
	var out []string
	for _, f := range strings.Split(s, ", ") {
		if zh, ok := fieldZH[f]; ok {
			f = zh
		}
		out = append(out, f)
	}
	return strings.Join(out, "、")
}

func word(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

func invState(s string) string { return translate("zh", "invstate."+s) }
func conState(s string) string { return translate("zh", "constate."+s) }

type errorPattern struct {
	re *regexp.Regexp
	zh func(m []string) string
}

func pat(re string, zh func(m []string) string) errorPattern {
	return errorPattern{regexp.MustCompile(re), zh}
}

func lit(s string) func([]string) string { return func([]string) string { return s } }

var errorPatterns []errorPattern

func init() {
	errorPatterns = []errorPattern{
		// Titles (InvoiceTitle.Check, SpecialInvoiceAllowed).
		pat(`^title kind must be company or person`, lit("抬头类型须为企业或个人。")),
		pat(`^invoice type must be general`, lit("发票类型须为增值税普通发票或增值税专用发票。")),
		pat(`^the title needs a name`, lit("请填写发票抬头名称。")),
		pat(`^(name|bank|address|contact|email) is longer than (\d+) characters$`, func(m []string) string {
			return fieldZH[m[1]] + "不能超过 " + m[2] + " 个字符。"
		}),
		pat(`^a special VAT invoice \(增值税专用发票\) needs an enterprise account`, lit("增值税专用发票仅限企业账户开具；个人账户只能开具增值税普通发票。")),
		pat(`^a special VAT invoice \(增值税专用发票\) is made out to a company title`, lit("增值税专用发票只能开给企业抬头。")),
		pat(`^a special VAT invoice \(增值税专用发票\) needs the title's (.+)$`, func(m []string) string {
			return "增值税专用发票还需填写抬头的" + fieldList(m[1]) + "。"
		}),
		pat(`^an individual account's titles name a person`, lit("个人账户的发票抬头只能是个人：抬头须与账户的实名认证主体一致。")),
		pat(`^an enterprise account's titles name the company`, lit("企业账户的发票抬头只能是企业：抬头须与账户的实名认证主体一致。")),
		pat(`^a person title has no tax ID`, lit("个人抬头不填写纳税人识别号。")),
		pat(`^a company title needs its tax ID`, lit("企业抬头须填写纳税人识别号（统一社会信用代码）。")),
		pat(`^tax ID "(.*)" must be the 18-character`, func(m []string) string {
			return "纳税人识别号「" + m[1] + "」应为 18 位统一社会信用代码。"
		}),
		pat(`^tax ID "(.*)": '(.+)' is not allowed`, func(m []string) string {
			return "纳税人识别号「" + m[1] + "」含有不允许的字符 " + m[2] + "（统一社会信用代码由数字和除 I、O、S、V、Z 以外的大写字母组成）。"
		}),
		pat(`^tax ID "(.*)": wrong check character (.) \(the first 17 characters give (.)\)`, func(m []string) string {
			return "纳税人识别号「" + m[1] + "」校验位错误：末位是 " + m[2] + "，按前 17 位应为 " + m[3] + "。"
		}),
		pat(`^bank account "(.*)" must be 8 to 32 digits`, func(m []string) string {
			return "银行账号「" + m[1] + "」应为 8 至 32 位数字。"
		}),
		pat(`^phone "(.*)" is not a phone number`, func(m []string) string {
			return "电话「" + m[1] + "」不是有效的电话号码（手机号、带区号的固定电话如 0571-88880001，或 400/800 号码）。"
		}),
		pat(`^email "(.*)" is not an e-mail address`, func(m []string) string {
			return "电子邮箱「" + m[1] + "」格式不正确。"
		}),
		pat(`^account \S+ has (\d+) invoice titles, the most`, func(m []string) string {
			return "发票抬头已达上限（" + m[1] + " 个），请先删除一个。"
		}),

		// Applications.
		pat(`^the account owes ([0-9.]+) \(欠费\)`, func(m []string) string {
			return "账户欠费 " + MoneyString(m[1]) + "，请先结清欠费再申请发票。"
		}),
		pat(`^the amount ([0-9.]+) is more than the invoiceable ([0-9.]+)`, func(m []string) string {
			return "申请金额 " + MoneyString(m[1]) + " 超过可开票金额 " + MoneyString(m[2]) + "。"
		}),
		pat(`^an invoice amount must be a positive`, lit("开票金额须大于 0。")),
		pat(`^the remark is longer than (\d+) characters`, func(m []string) string { return "备注不能超过 " + m[1] + " 个字符。" }),
		pat(`^invoice application (\S+) is (\w+), not pending: only a pending application can be (\w+)`, func(m []string) string {
			return "发票申请 " + m[1] + " 当前为「" + invState(m[2]) + "」：只有审核中的申请可以" + word(verbZH, m[3]) + "。"
		}),
		pat(`^invoice number "(.*)" must be 8 to 20 digits`, func(m []string) string {
			return "发票号码「" + m[1] + "」应为 8 至 20 位数字。"
		}),
		pat(`^invoice date "(.*)" must be YYYY-MM-DD`, func(m []string) string {
			return "开票日期「" + m[1] + "」的格式应为 YYYY-MM-DD。"
		}),
		pat(`^invoice date (\S+) is before the application \((\S+)\)`, func(m []string) string {
			return "开票日期 " + m[1] + " 早于申请日期 " + m[2] + "。"
		}),
		pat(`^invoice date (\S+) is in the future`, func(m []string) string { return "开票日期 " + m[1] + " 晚于今天。" }),
		pat(`^invoice number (\S+) was issued before`, func(m []string) string { return "发票号码 " + m[1] + " 已经使用过。" }),
		pat(`^rejecting an application needs a reason`, lit("驳回申请须填写原因。")),
		pat(`^the reason is longer than (\d+) characters`, func(m []string) string { return "原因不能超过 " + m[1] + " 个字符。" }),
		pat(`^idempotency key .* was used for a different request`, lit("该表单已提交过其他内容，请刷新页面后重试。")),

		// Cycles, bills, usage and money (the pages' filters, closing, top-ups).
		pat(`^billing cycle "(.*)" must be YYYY-MM`, func(m []string) string { return "账期「" + m[1] + "」的格式应为 YYYY-MM。" }),
		pat(`^(?:a bill's cycle|the cycle to close) must be a month`, lit("账期须为一个月份（YYYY-MM）。")),
		pat(`^cycle (\S+) is after (\S+): no bill can exist that far ahead`, func(m []string) string {
			return "账期 " + m[1] + " 晚于 " + m[2] + "：还不可能有这么远的账单。"
		}),
		pat(`^cycle (\S+) is before the first billable cycle (\S+) \(billing.first_cycle\): no bill exists there`, func(m []string) string {
			return "账期 " + m[1] + " 早于首个计费账期 " + m[2] + "：该账期没有账单。"
		}),
		pat(`^cycle (\S+) is before the first billable cycle (\S+) \(billing.first_cycle\): there is nothing to close`, func(m []string) string {
			return "账期 " + m[1] + " 早于首个计费账期 " + m[2] + "：没有可关闭的账期。"
		}),
		pat(`^cycle (\S+) has not ended yet \(it ends (.+)\)`, func(m []string) string {
			return "账期 " + m[1] + " 尚未结束（结束于 " + m[2] + "），不能关闭；其未出账账单可实时预览。"
		}),
		pat(`^direction must be inbound or outbound`, lit("呼叫方向须为呼入或呼出。")),
		pat(`^account (\S+) not found`, func(m []string) string { return "账户 " + m[1] + " 不存在。" }),
		pat(`^("(?:[^"\\]|\\.)*") is not a plain decimal number such as (\S+) \(digits, a point and at most (\d+) decimals`, func(m []string) string {
			return "金额 " + m[1] + " 不是有效的数字：只能有数字和小数点，最多 " + m[3] + " 位小数，不带正负号、货币符号或科学计数法，例如 " + m[2] + "。"
		}),
		pat(`^("(?:[^"\\]|\\.)*") has more than (\d+) decimals`, func(m []string) string {
			return "金额 " + m[1] + " 超过 " + m[2] + " 位小数。"
		}),
		pat(`^("(?:[^"\\]|\\.)*") is (?:more than|beyond) the largest amount, (\S+)`, func(m []string) string {
			return "金额 " + m[1] + " 超过允许的最大金额 " + m[2] + "。"
		}),
		pat(`^a top-up must be a positive amount`, lit("充值金额须大于 0，最多两位小数。")),

		// Budgets (budget.SetInput.Validate, budget.Service.Set).
		pat(`^an amount budget watches a postpaid item \(purchases are paid when made\): "(.*)" is not one of`, func(m []string) string {
			return "金额预算只能针对后付费计费项（预付购买在购买时已支付）：「" + m[1] + "」不可选。"
		}),
		pat(`^a usage trigger counts the minutes of an item billed in minutes: "(.*)" is not one of`, func(m []string) string {
			return "用量提醒只能针对按分钟计费的计费项：「" + m[1] + "」不可选。"
		}),
		pat(`^a budget needs an account`, lit("预算须指定账户。")),
		pat(`^a budget on the total names no item or instance`, lit("总费用预算不指定计费项或实例。")),
		pat(`^a budget on an item names no instance`, lit("计费项预算不指定实例。")),
		pat(`^a budget on an instance names the instance and no item`, lit("实例预算须指定实例，且不指定计费项。")),
		pat(`^budget scope "(.*)" is not total, item or instance`, func(m []string) string {
			return "预算范围「" + m[1] + "」无效：须为总费用、计费项或实例。"
		}),
		pat(`^budget measure "(.*)" is not amount or minutes`, func(m []string) string {
			return "预算类型「" + m[1] + "」无效：须为金额或分钟。"
		}),
		pat(`^an amount budget has an amount, not minutes`, lit("金额预算只设金额，不设分钟数。")),
		pat(`^a budget's amount must be more than 0.00 and at most (\S+) yuan, in whole fen`, func(m []string) string {
			return "预算金额须大于 0，最多 " + m[1] + " 元，精确到分。"
		}),
		pat(`^at most (\d+) thresholds per budget, not (\d+)`, func(m []string) string {
			return "每个预算最多 " + m[1] + " 个提醒阈值（填写了 " + m[2] + " 个）。"
		}),
		pat(`^threshold (-?\d+)% is outside 1 … (\d+) %`, func(m []string) string {
			return "提醒阈值 " + m[1] + "% 超出范围：须为 1% 至 " + m[2] + "%。"
		}),
		pat(`^threshold (\d+)% is given twice`, func(m []string) string { return "提醒阈值 " + m[1] + "% 重复。" }),
		pat(`^a usage trigger counts the minutes of one item`, lit("用量提醒须针对一个计费项的分钟数。")),
		pat(`^a usage trigger's minutes must be 1 … (\d+)`, func(m []string) string {
			return "用量提醒的分钟数须为 1 至 " + m[1] + "。"
		}),
		pat(`^a usage trigger fires once its minutes are exceeded`, lit("用量提醒在分钟数超过设定值时提醒一次，不设金额或阈值。")),
		pat(`^instance (\S+) is not an instance of account (\S+)`, func(m []string) string {
			return "实例 " + m[1] + " 不属于账户 " + m[2] + "。"
		}),
		pat(`^account \S+ has (\d+) budgets already`, func(m []string) string {
			return "预算已达上限（" + m[1] + " 个），请先删除一个。"
		}),

		// Contracts.
		pat(`^purchase (\S+) already has contract (\S+) \((\w+)\)`, func(m []string) string {
			return "订单 " + m[1] + " 已有合同 " + m[2] + "（" + conState(m[3]) + "）：每笔订单只有一份有效合同。"
		}),
		pat(`^purchase (\S+) already has a contract`, func(m []string) string { return "订单 " + m[1] + " 已有有效合同。" }),
		pat(`^cycle (\S+) is not closed yet`, func(m []string) string {
			return "账期 " + m[1] + " 尚未出账：服务合同只涵盖已出账的账期。"
		}),
		pat(`^contract (\S+) already covers (\S+)\.\.(\S+):`, func(m []string) string {
			return "合同 " + m[1] + " 已涵盖 " + m[2] + " 至 " + m[3] + "：同一账期的用量只能在一份有效合同中。"
		}),
		pat(`^account \S+ has no postpaid charges in (\S+)\.\.(\S+)`, func(m []string) string {
			return m[1] + " 至 " + m[2] + " 没有后付费费用，无需服务合同。"
		}),
		pat(`^the period's first cycle (\S+) is after its last (\S+)`, func(m []string) string {
			return "起始账期 " + m[1] + " 晚于结束账期 " + m[2] + "。"
		}),
		pat(`^a service contract covers at most (\d+) cycles`, func(m []string) string { return "服务合同最多涵盖 " + m[1] + " 个账期。" }),
		pat(`^a contract needs a purchase, or a period`, lit("请选择订单，或选择服务期间（起止账期）。")),
		pat(`^a contract is for a purchase or for a period`, lit("合同只能针对一笔订单或一个服务期间。")),
		pat(`^contract (\S+) is formal: only the operator can void it`, func(m []string) string {
			return "合同 " + m[1] + " 已是正式合同：只有运营方可以作废（请提交工单）。"
		}),
		pat(`^contract (\S+) lapsed on (\S+)`, func(m []string) string {
			return "合同 " + m[1] + " 已于 " + m[2] + " 失效（草稿有效期 30 天），请重新起草。"
		}),
		pat(`^contract (\S+) is (\w+): only a draft can be (\w+)`, func(m []string) string {
			return "合同 " + m[1] + " 当前为「" + conState(m[2]) + "」：只有草稿可以" + word(verbZH, m[3]) + "。"
		}),
		pat(`^contract (\S+) cannot be confirmed yet: the service provider's details \(乙方\) are not configured`, func(m []string) string {
			return "合同 " + m[1] + " 暂不能确认：服务提供方（乙方）信息尚未由运营方配置，请联系运营方。"
		}),
		pat(`^the provider needs its own name`, lit("请填写服务提供方（乙方）自己的名称。")),

		// Imports (ingest.Imports).
		pat(`^import (\S+) cannot be undone: (\d+) of its calls are billed in closed cycles \(([^)]*)\)`, func(m []string) string {
			return "导入 " + m[1] + " 无法撤销：其中 " + m[2] + " 条通话计入已关闭账期（" + m[3] + "），已关闭账期的账单不再变更；未做任何变更。请以调账更正这些账单。"
		}),
		pat(`^import (\S+) cannot be undone: without it, (\d+) later calls of account (\S+) billed in closed cycles \(([^)]*)\)`, func(m []string) string {
			return "导入 " + m[1] + " 无法撤销：撤销后，账户 " + m[3] + " 在其后导入、计入已关闭账期（" + m[4] + "）的 " + m[2] +
				" 条通话将改用语音包分钟数，而已关闭账期的账单不再变更；未做任何变更。请以调账更正这些账单。"
		}),
		pat(`^no import (\S+) \(`, func(m []string) string { return "没有导入 " + m[1] + "（导入记录页列出所有导入）。" }),
		pat(`^"(.*)" is not an import id`, func(m []string) string { return "「" + m[1] + "」不是导入ID（格式为 imp-N）。" }),
		pat(`^import (\S+) is still storing calls`, func(m []string) string {
			return "导入 " + m[1] + " 仍在写入更多账户的通话：请在其结束后再撤销。"
		}),
		pat(`^voiding a formal contract needs a reason`, lit("作废正式合同须填写原因。")),
		pat(`^the customer's (.+)$`, func(m []string) string {
			if zh, ok := errorZH(m[1]); ok {
				return "甲方" + zh
			}
			return "甲方：" + m[1]
		}),
	}
}
