package contractpdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contractpdf"
	"github.com/shopspring/decimal"
)

// Needs skips a PDF test when pdftotext is missing, except under CI
// (CI=true), where it fails: the PDF must be checked there. The font is the
// binary's own.
func Needs(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("pdftotext"); err != nil {
		missing = append(missing, "pdftotext (apt-get install poppler-utils)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing under CI: %s", strings.Join(missing, ", "))
	}
	t.Skipf("missing: %s", strings.Join(missing, ", "))
}

// Text returns the text of a PDF, by pdftotext.
func Text(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	return string(out)
}

func sample() *callbill.EContract {
	c := &callbill.EContract{ID: "CT20270601-0123456789", Account: "3001", Kind: callbill.ContractService,
		From: callbill.NewCycle(2026, 9), To: callbill.NewCycle(2026, 10), State: callbill.ContractFormal,
		Customer: callbill.ContractParty{Name: "杭州示例科技有限公司", Address: "杭州市西湖区文三路1号", Contact: "李四", Phone: "0571-88880001",
			TaxID: "91330100MA27XL4X76", Bank: "招商银行杭州分行", BankAccount: "5719000012345678"},
		Provider:  callbill.ContractParty{Name: "示例云通信有限公司", Address: "北京市朝阳区望京东路8号", TaxID: "91350100M000100Y43"},
		Original:  decimal.RequireFromString("1290.50"),
		Discount:  decimal.RequireFromString("56.00"),
		Payable:   decimal.RequireFromString("1234.50"),
		CreatedAt: time.Date(2027, 5, 20, 10, 0, 0, 0, time.UTC),
		Confirmed: time.Date(2027, 6, 1, 2, 0, 0, 0, time.UTC),
	}
	for i := 0; i < 40; i++ { // several pages
		c.Items = append(c.Items, callbill.ContractItem{Cycle: "2026-10", ProductDetail: "ccc_postpaid", Item: "CallCenterSoftware",
			Description: "云呼叫中心（后付费） 坐席平台费", Usage: "200", UsageUnit: "分钟", Original: "9.98", Discount: "0.00", Payable: "9.98"})
	}
	return c
}

func TestContractPDFText(t *testing.T) {
	Needs(t)
	var buf bytes.Buffer
	loc, _ := time.LoadLocation("Asia/Shanghai")
	if err := contractpdf.Write(&buf, sample(), loc, ""); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 400_000 {
		t.Errorf("the PDF is %d bytes: the font is not subset", buf.Len())
	}
	if os.Getenv("CALLBILL_KEEP_PDF") != "" {
		os.WriteFile(os.Getenv("CALLBILL_KEEP_PDF"), buf.Bytes(), 0o644)
	}
	text := Text(t, buf.Bytes())
	for _, want := range []string{"云呼叫中心服务合同", "甲方（客户）", "乙方（服务提供方）", "杭州示例科技有限公司", "示例云通信有限公司",
		"合同标的与金额", "1234.50", "1290.50", "壹仟贰佰叁拾肆元伍角", "CT20270601-0123456789", "2026-09", "签订日期：2027-06-01",
		"91330100MA27XL4X76", "页码 2/2"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
}

// TestContractPDFWithoutProvider: a formal contract confirmed before the
// provider had to be set (an earlier version stored a placeholder whose
// text told the operator what command to run) shows a neutral mark for
// the provider side, never that instruction.
func TestContractPDFWithoutProvider(t *testing.T) {
	Needs(t)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for _, prov := range []callbill.ContractParty{callbill.DefaultProvider, {}} {
		c := sample()
		c.Items = c.Items[:1]
		c.Provider = prov
		var buf bytes.Buffer
		if err := contractpdf.Write(&buf, c, loc, ""); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(Text(t, buf.Bytes())), "")
		if !strings.Contains(text, "名称："+contractpdf.Unconfigured) || !strings.Contains(text, "乙方（盖章）："+contractpdf.Unconfigured) ||
			strings.Contains(text, "callbill") || strings.Contains(text, "未配置") {
			t.Errorf("provider %+v: the PDF's text is\n%s", prov, text)
		}
	}
}

func TestOnlyFormalContractsAndAMissingFont(t *testing.T) {
	c := sample()
	c.State = callbill.ContractDraft
	if err := contractpdf.Write(&bytes.Buffer{}, c, time.UTC, ""); callbill.ErrorCode(err) != callbill.EREFUSED {
		t.Errorf("a draft: %v", err)
	}
	// A font file named by the operator that cannot be read: a code that
	// is not "internal", naming the setting to fix.
	err := contractpdf.Write(&bytes.Buffer{}, sample(), time.UTC, "/nonexistent/font.ttf")
	if callbill.ErrorCode(err) != callbill.EUNAVAILABLE || !strings.Contains(err.Error(), "/nonexistent/font.ttf") || !strings.Contains(err.Error(), contractpdf.FontEnv) {
		t.Errorf("a missing font: %v", err)
	}
}

func TestAmountInWords(t *testing.T) {
	for in, want := range map[string]string{
		"0": "零元整", "0.05": "伍分", "0.50": "伍角整", "9.98": "玖元玖角捌分", "35": "叁拾伍元整", "100.05": "壹佰元零伍分",
		"1010": "壹仟零壹拾元整", "1001": "壹仟零壹元整", "10005": "壹万零伍元整", "1234.56": "壹仟贰佰叁拾肆元伍角陆分",
		"100000005": "壹亿零伍元整", "1000000": "壹佰万元整", "20300": "贰万零叁佰元整", "120000000.1": "壹亿贰仟万元壹角整",
	} {
		if got := contractpdf.AmountInWords(decimal.RequireFromString(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
