package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/ingest"
)

// TestBudgetRoutes: a tenant sets, lists and removes its own budgets over
// the API — an invalid one answers 400 with the rule, one below the spend
// fires at once, the same one again is 200 and unchanged — and sees where
// each stands (actual, forecast, thresholds reached, alerts); the
// operator lists every account's budgets and alerts.
func TestBudgetRoutes(t *testing.T) {
	srv, s, _, _ := setupServer(t)
	ctx := context.Background()
	s.Now = func() time.Time { return time.Date(2026, 10, 20, 12, 0, 0, 0, time.FixedZone("CST", 8*3600)) }
	k, err := s.CreateAccessKey(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	// 20 minutes out on a CCC fixed number: 3.00.
	start := time.Date(2026, 10, 2, 9, 0, 0, 0, time.UTC).Unix()
	c := callbill.CDR{ContactID: "b1", InstanceID: "inst-p", Direction: callbill.Outbound, Caller: "0571001", Callee: "13800000000", Start: start, End: start + 1200}
	if _, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: &sliceSource{rows: []callbill.CDR{c}}}); err != nil {
		t.Fatal(err)
	}
	tenant := func(method, path, body string) (int, string) {
		return request(t, srv.URL, method, path, k.ID, k.Secret, body)
	}

	code, body := tenant("POST", "/api/v1/accounts/1001/budgets", `{"scope":"total","amount":"5.00","thresholds":[50,80,50]}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "given twice") {
		t.Errorf("thresholds twice: %d %s", code, body)
	}
	code, body = tenant("POST", "/api/v1/accounts/1001/budgets", `{"scope":"item","item":"NumberRent","amount":"5.00"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "purchases are paid when made") {
		t.Errorf("a prepaid item: %d %s", code, body)
	}
	code, body = tenant("POST", "/api/v1/accounts/1001/budgets", `{"scope":"instance","instance":"inst-q","amount":"5.00"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "not an instance of account 1001") {
		t.Errorf("another account's instance: %d %s", code, body)
	}
	code, body = tenant("POST", "/api/v1/accounts/1001/budgets", `{"scope":"total","amount":"5.001"}`)
	if code != http.StatusBadRequest {
		t.Errorf("an amount of a tenth of a fen: %d %s", code, body)
	}
	code, body = tenant("POST", "/api/v1/accounts/1001/budgets", `{"scope":"total","amount":"5.00"}`)
	var set api.BudgetSetJSON
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &set) != nil || len(set.Fired) != 1 || set.Fired[0].Threshold != 50 ||
		set.Fired[0].Actual != "3.00" || set.Fired[0].Level != "2.50" || fmt.Sprint(set.Budget.Thresholds) != "[50 80 100]" {
		t.Fatalf("set: %d %s", code, body)
	}
	code, body = tenant("POST", "/api/v1/accounts/1001/budgets", `{"scope":"total","amount":"5.00","thresholds":[100,80,50]}`)
	if code != http.StatusOK || !strings.Contains(body, `"unchanged":true`) || !strings.Contains(body, set.Budget.ID) {
		t.Errorf("the same again: %d %s", code, body)
	}
	code, body = tenant("POST", "/api/v1/accounts/1001/budgets", `{"scope":"item","item":"FixedLineOutbound","measure":"minutes","minutes":100}`)
	if code != http.StatusCreated || !strings.Contains(body, `"minutes":100`) || !strings.Contains(body, `"fired":[]`) {
		t.Errorf("a usage trigger: %d %s", code, body)
	}
	code, body = tenant("GET", "/api/v1/accounts/1001/budgets", "")
	var list struct {
		Cycle   string                 `json:"cycle"`
		Budgets []api.BudgetStatusJSON `json:"budgets"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || list.Cycle != "2026-10" || len(list.Budgets) != 2 {
		t.Fatalf("list: %d %s", code, body)
	}
	// 3.00 of 5.00 by the 20th: 60 %, 4.65 by the 31st; 20 of 100 minutes, 31 forecast.
	b0, b1 := list.Budgets[0], list.Budgets[1]
	if b0.Actual != "3.00" || b0.Forecast != "4.65" || b0.Used != "60.0" || fmt.Sprint(b0.Reached) != "[50]" || len(b0.Alerts) != 1 {
		t.Errorf("total: %+v", b0)
	}
	if b1.Actual != "20" || b1.Forecast != "31" || b1.Used != "20.0" || len(b1.Reached) != 0 || b1.Amount != "" {
		t.Errorf("trigger: %+v", b1)
	}
	code, body = tenant("GET", "/api/v1/accounts/1001/budget-alerts?cycle=2026-10", "")
	if code != 200 || strings.Count(body, `"threshold":50`) != 1 {
		t.Errorf("alerts: %d %s", code, body)
	}
	if code, body = tenant("GET", "/api/v1/accounts/1001/budget-alerts?limit=0", ""); code != http.StatusBadRequest {
		t.Errorf("limit 0: %d %s", code, body)
	}
	// The operator sees every account's; a tenant does not reach them.
	if code, body = request(t, srv.URL, "GET", "/api/v1/budgets", "", "", ""); code != 200 || strings.Count(body, `"id":"bgt_`) != 2 {
		t.Errorf("operator's budgets: %d %s", code, body)
	}
	if code, body = request(t, srv.URL, "GET", "/api/v1/budget-alerts?account=1001", "", "", ""); code != 200 || !strings.Contains(body, set.Budget.ID) {
		t.Errorf("operator's alerts: %d %s", code, body)
	}
	if code, _ = tenant("GET", "/api/v1/budgets", ""); code != http.StatusNotFound {
		t.Errorf("a tenant asking for every account's budgets: %d", code)
	}
	code, body = tenant("DELETE", "/api/v1/accounts/1001/budgets/"+set.Budget.ID, "")
	if code != 200 || !strings.Contains(body, `"removed_at"`) {
		t.Errorf("remove: %d %s", code, body)
	}
	if code, _ = tenant("DELETE", "/api/v1/accounts/1001/budgets/"+set.Budget.ID, ""); code != http.StatusNotFound {
		t.Errorf("remove again: %d", code)
	}
}
