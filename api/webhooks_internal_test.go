package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
	"github.com/shopspring/decimal"
)

func TestWebhookRoutes(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.MasterKey = []byte("0123456789abcdef0123456789abcdef")
	w, ps := world.Parse([]byte(`
accounts:
  - uid: "1001"
    name: 甲
    instances:
      - id: inst-p
        mode: payg
        numbers: [{number: "0571001", kind: fixed, source: ccc}]
`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	as := &Server{OperatorKey: "op-key", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	mux := http.NewServeMux()
	as.webhookRoutes(mux, s)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, path, auth, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %s: %v", method, path, b, err)
			}
		}
		return resp.StatusCode
	}

	if code := do("GET", "/api/v1/webhooks", "", "", nil); code != http.StatusUnauthorized {
		t.Errorf("no key: %d", code)
	}
	var created WebhookJSON
	if code := do("POST", "/api/v1/webhooks", "op-key", `{"url":"https://example.com/hook","account":"1001","events":["topup.received"]}`, &created); code != http.StatusCreated ||
		!strings.HasPrefix(created.ID, "wh_") || !strings.HasPrefix(created.Secret, "whsec_") || created.Account != "1001" ||
		strings.Join(created.Events, ",") != "topup.received" {
		t.Fatalf("create: %d %+v", code, created)
	}
	var problem map[string]any
	for body, want := range map[string]int{
		`{"url":"ftp://example.com"}`:                       http.StatusBadRequest,
		`{"url":"https://x.y","events":["bill.opened"]}`:    http.StatusBadRequest,
		`{"url":"https://x.y","account":"9999"}`:            http.StatusNotFound,
		`not json`:                                          http.StatusBadRequest,
		`{"url":"https://x.y","events":["export.done",""]}`: http.StatusCreated,
	} {
		if code := do("POST", "/api/v1/webhooks", "op-key", body, &problem); code != want {
			t.Errorf("create %s: %d %v", body, code, problem)
		}
	}
	var list []WebhookJSON
	if code := do("GET", "/api/v1/webhooks", "op-key", "", &list); code != 200 || len(list) != 2 {
		t.Fatalf("list: %d %+v", code, list)
	}
	for _, e := range list {
		if e.Secret != "" {
			t.Errorf("the list shows a secret: %+v", e)
		}
	}
	if _, err := (&ledger.Service{Store: s}).TopUp(ctx, ledger.TopUpInput{Account: "1001", Amount: decimal.RequireFromString("5.00"), Key: "k1"}); err != nil {
		t.Fatal(err)
	}
	var one WebhookJSON
	if code := do("GET", "/api/v1/webhooks/"+created.ID, "op-key", "", &one); code != 200 || one.Deliveries["pending"] != 1.0 {
		t.Fatalf("get: %d %+v", code, one)
	}
	var log []DeliveryJSON
	if code := do("GET", "/api/v1/webhooks/"+created.ID+"/deliveries", "op-key", "", &log); code != 200 || len(log) != 1 ||
		log[0].Kind != callbill.EventTopUpReceived || log[0].Status != "pending" || log[0].Delivery != created.ID+":"+log[0].Event ||
		!strings.Contains(string(log[0].Data), `"amount":"5.00"`) || log[0].NextAt == "" {
		t.Fatalf("deliveries: %d %+v", code, log)
	}
	if code := do("GET", "/api/v1/webhooks/"+created.ID+"/deliveries?limit=0", "op-key", "", nil); code != http.StatusBadRequest {
		t.Errorf("limit 0: %d", code)
	}
	ds, _ := s.ClaimDeliveries(ctx, "n1", 0, 1)
	if len(ds) != 1 {
		t.Fatal("nothing to claim")
	}
	s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: created.ID, Event: ds[0].Event, Node: "n1", Code: 200})
	var rep map[string]int
	if code := do("POST", "/api/v1/webhooks/"+created.ID+"/replay", "op-key", "", &rep); code != 200 || rep["replayed"] != 0 {
		t.Errorf("replay failed ones: %d %v", code, rep)
	}
	if code := do("POST", "/api/v1/webhooks/"+created.ID+"/replay", "op-key", `{"event":"`+ds[0].Event+`"}`, &rep); code != 200 || rep["replayed"] != 1 {
		t.Errorf("replay one: %d %v", code, rep)
	}
	if code := do("POST", "/api/v1/webhooks/"+created.ID+"/replay?event=evt_nope", "op-key", "", nil); code != http.StatusNotFound {
		t.Errorf("replay unknown: %d", code)
	}
	if code := do("DELETE", "/api/v1/webhooks/"+created.ID, "op-key", "", &one); code != 200 || one.DisabledAt == "" {
		t.Errorf("disable: %d %+v", code, one)
	}
	if code := do("POST", "/api/v1/webhooks/"+created.ID+"/replay", "op-key", "", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("replay on a disabled webhook: %d", code)
	}
	if code := do("GET", "/api/v1/webhooks/wh_nope/deliveries", "op-key", "", nil); code != http.StatusNotFound {
		t.Errorf("unknown webhook: %d", code)
	}
}
