package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInvoiceAndContractCommands runs the invoice and contract commands
// through the built binary on the golden scenario.
func TestInvoiceAndContractCommands(t *testing.T) {
	dir := copyScenario(t)
	must := func(want int, args ...string) result {
		t.Helper()
		r := runCLI(t, dir, args...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	must(0, "apply", "-f", "world.yaml")
	must(0, "bill", "close", "2026-10")
	const acct = "1000000000000001"

	r := must(0, "invoice", "list", "--account", acct, "--json")
	var list struct {
		Invoiceable struct {
			InvoiceableFen int64 `json:"invoiceable_fen"`
		} `json:"invoiceable"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Invoiceable.InvoiceableFen <= 0 {
		t.Fatalf("invoiceable: %s %v", r.stdout, err)
	}

	must(exitUsage, "invoice", "title", "add", "--account", acct)
	r = must(exitError, "invoice", "title", "add", "--account", acct, "--kind", "company", "--name", "杭州示例科技有限公司", "--tax-id", "91330100MA27XL4X70")
	if !strings.Contains(r.stderr, "wrong check character") {
		t.Errorf("bad tax ID: %s", r.stderr)
	}
	r = must(0, "invoice", "title", "add", "--account", acct, "--kind", "company", "--name", "杭州示例科技有限公司", "--tax-id", "91330100MA27XL4X76", "--json")
	var title struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &title); err != nil || title.ID == "" {
		t.Fatalf("title: %s", r.stdout)
	}
	if r = must(0, "invoice", "title", "list", "--account", acct); !hasRow(r.stdout, title.ID, "企业") {
		t.Errorf("title list: %s", r.stdout)
	}

	r = must(0, "invoice", "apply", "--account", acct, "--title", title.ID, "--amount", "100.00", "--key", "a1", "--json")
	var app struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.stdout), &app); err != nil || app.Status != "pending" {
		t.Fatalf("apply: %s", r.stdout)
	}
	if r = must(0, "invoice", "apply", "--account", acct, "--title", title.ID, "--amount", "100.00", "--key", "a1"); !strings.Contains(r.stdout, "applied before") {
		t.Errorf("replay: %s", r.stdout)
	}
	if r = must(exitError, "invoice", "apply", "--account", acct, "--title", title.ID, "--amount", "99999999.00"); !strings.Contains(r.stderr, "more than the invoiceable") {
		t.Errorf("over: %s", r.stderr)
	}
	if r = must(0, "invoice", "list", "--status", "pending"); !hasRow(r.stdout, app.ID, "审核中") {
		t.Errorf("queue: %s", r.stdout)
	}
	must(exitUsage, "invoice", "issue", app.ID)
	if r = must(0, "invoice", "issue", app.ID, "--number", "12345678"); !strings.Contains(r.stdout, "发票号码 12345678") {
		t.Errorf("issue: %s", r.stdout)
	}
	if r = must(exitError, "invoice", "withdraw", "--account", acct, app.ID); !strings.Contains(r.stderr, "not pending") {
		t.Errorf("withdraw issued: %s", r.stderr)
	}
	r = must(0, "invoice", "apply", "--account", acct, "--title", title.ID, "--amount", "1.00", "--json")
	json.Unmarshal([]byte(r.stdout), &app)
	if r = must(0, "invoice", "reject", app.ID, "--reason", "抬头有误"); !strings.Contains(r.stdout, "驳回原因 抬头有误") {
		t.Errorf("reject: %s", r.stdout)
	}

	// Contracts. A draft made before the provider is set says so, and its
	// confirmation is refused with the command that sets it.
	r = must(0, "contract", "create", "--account", acct, "--purchase", "P-3", "--contact", "李四", "--phone", "13800138000", "--json")
	var c struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Status != "draft" {
		t.Fatalf("create: %s", r.stdout)
	}
	if r = must(0, "contract", "show", "--account", acct, c.ID); !strings.Contains(r.stdout, "乙方 （待运营方配置") {
		t.Errorf("a draft without provider: %s", r.stdout)
	}
	if r = must(exitError, "contract", "confirm", "--account", acct, c.ID); !strings.Contains(r.stderr, "callbill contract provider") {
		t.Errorf("confirm without provider: %s", r.stderr)
	}
	must(0, "contract", "provider", "--name", "示例云通信有限公司", "--address", "北京市朝阳区", "--tax-id", "91350100M000100Y43")
	if r = must(0, "contract", "provider"); !strings.Contains(r.stdout, "示例云通信有限公司") {
		t.Errorf("provider: %s", r.stdout)
	}
	must(exitError, "contract", "create", "--account", acct, "--purchase", "P-3")
	must(0, "contract", "edit", "--account", acct, c.ID, "--contact", "王五", "--phone", "0571-88880001")
	if r = must(exitError, "contract", "pdf", "--account", acct, c.ID); !strings.Contains(r.stderr, "only a formal contract") {
		t.Errorf("pdf of a draft: %s", r.stderr)
	}
	if r = must(0, "contract", "confirm", "--account", acct, c.ID); !strings.Contains(r.stdout, c.ID+"  正式") || !strings.Contains(r.stdout, "王五") {
		t.Errorf("confirm: %s", r.stdout)
	}
	if r = must(0, "contract", "list", "--account", acct); !hasRow(r.stdout, c.ID, "正式") {
		t.Errorf("list: %s", r.stdout)
	}
	{
		pdf := filepath.Join(dir, "c.pdf")
		must(0, "contract", "pdf", "--account", acct, c.ID, "-o", pdf)
		if _, err := exec.LookPath("pdftotext"); err == nil || os.Getenv("CI") == "true" {
			out, err := exec.Command("pdftotext", "-enc", "UTF-8", pdf, "-").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "云呼叫中心产品购买合同") || !strings.Contains(string(out), "示例云通信有限公司") ||
				!strings.Contains(string(out), "号码月租") {
				t.Errorf("pdf text: %v\n%s", err, out)
			}
		}
	}
	if r = must(exitError, "contract", "void", "--account", acct, c.ID); !strings.Contains(r.stderr, "reason") {
		t.Errorf("void without a reason: %s", r.stderr)
	}
	if r = must(0, "contract", "void", "--account", acct, c.ID, "--reason", "工单 42"); !strings.Contains(r.stdout, "已作废（operator）工单 42") {
		t.Errorf("void: %s", r.stdout)
	}
	must(exitUsage, "contract", "frobnicate")
	must(exitUsage, "invoice", "frobnicate")
}
