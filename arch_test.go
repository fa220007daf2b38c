package callbill_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainKnowsNoAdapter fails the build when the domain package depends,
// even indirectly, on SQL, HTTP or any of callbill's adapters.
func TestDomainKnowsNoAdapter(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "database/sql", dep == "net/http", strings.HasPrefix(dep, "github.com/callbill/callbill/"):
			t.Errorf("the domain package depends on %s", dep)
		}
	}
}

// TestAdaptersKnowNoOtherStatefulAdapter: the stateful adapters (storage,
// servers, background work) are wired together only by cmd/ (and the
// benchmark programs, which are commands too); they may use the domain and
// the pure codecs (cdr, world, export, contractpdf) and internal helpers,
// never one another.
func TestAdaptersKnowNoOtherStatefulAdapter(t *testing.T) {
	const mod = "github.com/callbill/callbill"
	stateful := map[string]bool{}
	for _, p := range []string{"sqlstore", "worker", "api", "console", "bss", "webhook"} {
		stateful[mod+"/"+p] = true
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := f[0]
		if strings.HasPrefix(pkg, mod+"/cmd/") || strings.HasPrefix(pkg, mod+"/bench") {
			continue
		}
		for _, imp := range f[1:] {
			if stateful[imp] {
				t.Errorf("%s imports %s: only cmd/ wires stateful adapters together", pkg, imp)
			}
		}
	}
}

// TestServicesKnowNoSQLOrHTTP: the domain services decide; what they read
// and write goes through the store interfaces declared beside them, and
// they answer callers through Go values, so they depend on neither SQL nor
// HTTP (nor, by the test above, on any stateful adapter).
func TestServicesKnowNoSQLOrHTTP(t *testing.T) {
	const mod = "github.com/callbill/callbill"
	for _, svc := range []string{"ingest", "closing", "ledger", "provision", "invoice", "contract", "jobs", "events", "budget"} {
		out, err := exec.Command("go", "list", "-deps", mod+"/"+svc).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", svc, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "database/sql" || dep == "net/http" {
				t.Errorf("service %s depends on %s", svc, dep)
			}
		}
	}
}
