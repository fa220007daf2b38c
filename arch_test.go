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
