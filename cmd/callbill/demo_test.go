package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbill/callbill/contractpdf"
	"github.com/callbill/callbill/demo"
)

// TestDemoContract: the demo sets the provider side of e-contracts, so a
// tenant's contract for a demo purchase can be confirmed and downloaded
// as a PDF that names both parties — with the binary's own CJK font: no
// font file of the machine is read (none is named, and the Debian path the
// PDF once needed is not consulted), as on a bare machine.
func TestDemoContract(t *testing.T) {
	t.Setenv(contractpdf.FontEnv, "")
	dir := t.TempDir()
	if r := runCLI(t, dir, "demo", "--calls", "500", "--no-serve", "--dir", dir); r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	db := filepath.Join(dir, "callbill.db")
	must := func(args ...string) result {
		t.Helper()
		r := runCLI(t, dir, append([]string{"--db", db}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r
	}
	p := demo.Provider()
	if r := must("contract", "provider", "--json"); !strings.Contains(r.stdout, p.Name) || !strings.Contains(r.stdout, p.TaxID) {
		t.Fatalf("the demo's provider: %s", r.stdout)
	}
	r := must("contract", "create", "--account", "1000000000000001", "--purchase", "P-1-1", "--contact", "王芳", "--json")
	var c struct{ ID, Status string }
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Status != "draft" {
		t.Fatalf("create: %s %v", r.stdout, err)
	}
	if r = must("contract", "confirm", "--account", "1000000000000001", c.ID); !strings.Contains(r.stdout, "正式") || !strings.Contains(r.stdout, p.Name) {
		t.Fatalf("confirm: %s", r.stdout)
	}
	pdf := filepath.Join(dir, "c.pdf")
	must("contract", "pdf", "--account", "1000000000000001", c.ID, "-o", pdf)
	if _, err := exec.LookPath("pdftotext"); err != nil && os.Getenv("CI") != "true" {
		t.Logf("no pdftotext (%v): the PDF's text is not checked", err)
		return
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", pdf, "-").CombinedOutput()
	text := strings.Join(strings.Fields(string(out)), "")
	if err != nil || !strings.Contains(text, p.Name) || !strings.Contains(text, c.ID) || strings.Contains(text, "未配置") {
		t.Errorf("the PDF: %v\n%s", err, out)
	}
}
