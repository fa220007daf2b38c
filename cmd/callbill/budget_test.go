package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
)

// TestBudgetCommands runs budget set, list and remove through the built
// binary: an import that crosses thresholds says so before its summary
// line, and the list shows the cycle's spend, forecast and alerts.
func TestBudgetCommands(t *testing.T) {
	dir := t.TempDir()
	world := `
accounts:
  - uid: "5001"
    name: 预算
    instances:
      - id: ccc-b
        mode: payg
        numbers: [{number: "057150001", kind: fixed, source: ccc}]
`
	// Two 10-minute outbound calls (0.15 a minute: 3.00) early in the
	// current cycle, whatever today is.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	start := callbill.CycleOf(time.Now(), sh).Start(sh).Unix() + 60
	csv := "contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
		fmt.Sprintf("b1,ccc-b,outbound,057150001,13800000000,%d,%d\n", start, start+600) +
		fmt.Sprintf("b2,ccc-b,outbound,057150001,13800000000,%d,%d\n", start+1, start+601)
	for name, body := range map[string]string{"world.yaml": world, "calls.csv": csv} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(want int, args ...string) result {
		t.Helper()
		r := runCLI(t, dir, args...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	must(0, "apply", "-f", "world.yaml")
	must(exitUsage, "budget", "set", "--account", "5001")
	must(exitUsage, "budget", "set", "--account", "5001", "--minutes", "10")
	must(exitUsage, "budget", "set", "--account", "5001", "--amount", "1.00", "--minutes", "10")
	must(exitUsage, "budget", "set", "--account", "5001", "--amount", "1.00", "--thresholds", "half")
	if r := must(exitError, "budget", "set", "--account", "5001", "--amount", "1.00", "--thresholds", "50,2000"); !strings.Contains(r.stderr, "outside 1 … 1000") {
		t.Errorf("a threshold of 2000%%: %s", r.stderr)
	}
	must(exitError, "budget", "set", "--account", "9999", "--amount", "1.00")
	r := must(0, "budget", "set", "--account", "5001", "--amount", "3.00")
	if !strings.Contains(r.stdout, "总费用, 3.00 per cycle, alerts at 50% 80% 100%") {
		t.Errorf("set: %s", r.stdout)
	}
	must(0, "budget", "set", "--account", "5001", "--item", "FixedLineOutbound", "--minutes", "15")

	r = must(0, "import", "calls.csv")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) < 3 || lines[len(lines)-3] != "budgets: 4 threshold(s) crossed (budget.threshold webhooks; callbill budget list)" ||
		!strings.HasPrefix(lines[len(lines)-2], "import imp-") ||
		!strings.HasPrefix(lines[len(lines)-1], "imported 2, duplicates 0, rejected 0") {
		t.Errorf("import:\n%s", r.stderr)
	}
	r = must(0, "import", "calls.csv") // duplicates: nothing more
	if strings.Contains(r.stderr, "budgets:") {
		t.Errorf("again:\n%s", r.stderr)
	}

	r = must(0, "budget", "list", "--account", "5001", "--json")
	var list []struct {
		ID, Measure, Actual, Amount string
		Alerts                      []struct{ Threshold int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %s %v", r.stdout, err)
	}
	if list[0].Actual != "3.00" || len(list[0].Alerts) != 3 || list[1].Measure != "minutes" || list[1].Actual != "20" || len(list[1].Alerts) != 1 {
		t.Errorf("list: %+v", list)
	}
	r = must(0, "budget", "list")
	if !strings.Contains(r.stdout, "预算ID") || !strings.Contains(r.stdout, "50% 80% 100%") || !strings.Contains(r.stdout, "> 15 分钟") ||
		!strings.Contains(r.stdout, "已超出") || !strings.Contains(r.stdout, "100.0%") {
		t.Errorf("table:\n%s", r.stdout)
	}
	must(0, "budget", "remove", "--account", "5001", list[0].ID)
	must(exitError, "budget", "remove", "--account", "5001", list[0].ID)
	must(exitUsage, "budget", "remove", "--account", "5001")
	r = must(0, "budget", "list", "--account", "5001", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0].Measure != "minutes" {
		t.Errorf("after the removal: %s", r.stdout)
	}
}
