package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
)

// TestReserveAndRelease: POST holds a call's price (201, then 200 for the
// same call), a call the money does not pay for is refused (422) with the
// reason, bad bodies are 400, DELETE releases (and again is harmless).
func TestReserveAndRelease(t *testing.T) {
	srv, s, _, _ := setupServer(t)
	if _, err := (&ledger.Service{Store: s}).TopUp(context.Background(), ledger.TopUpInput{Account: "1001", Amount: callbill.MustDecimal("0.75"), Key: "t1"}); err != nil {
		t.Fatal(err)
	}
	const path = "/api/v1/calls/inst-p/c-1/reserve"
	code, body := request(t, srv.URL, "POST", path, "", "", `{"number":"0571001","direction":"outbound","seconds":90}`)
	var r struct {
		Instance, Account, Amount string
		ContactID                 string `json:"contact_id"`
		Seconds                   int64
		ExpiresAt                 string `json:"expires_at"`
		Replayed                  bool
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != http.StatusCreated || r.Amount != "0.30" || r.Seconds != 90 ||
		r.Account != "1001" || r.ContactID != "c-1" || !strings.HasSuffix(r.ExpiresAt, "+08:00") || r.Replayed {
		t.Fatalf("reserve: %d %s", code, body)
	}
	if code, body := request(t, srv.URL, "POST", path, "", "", `{"number":"0571001","direction":"outbound"}`); code != http.StatusOK || !strings.Contains(body, `"replayed":true`) {
		t.Fatalf("again: %d %s", code, body)
	}
	// 0.45 left: 3 minutes of the 10 asked for.
	if code, body := request(t, srv.URL, "POST", "/api/v1/calls/inst-p/c-2/reserve", "", "", `{"number":"0571001","direction":"outbound","seconds":600}`); code != http.StatusCreated ||
		!strings.Contains(body, `"seconds":180`) || !strings.Contains(body, `"amount":"0.45"`) {
		t.Fatalf("granted less: %d %s", code, body)
	}
	if code, body := request(t, srv.URL, "POST", "/api/v1/calls/inst-p/c-3/reserve", "", "", `{"number":"0571001","direction":"outbound"}`); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `"code":"refused"`) || !strings.Contains(body, "cannot pay for one minute") {
		t.Fatalf("nothing left: %d %s", code, body)
	}
	for _, bad := range []string{`{"number":"0571001"}`, `{"number":"0571001","direction":"up"}`, `{"direction":"inbound"}`, `{"number":"0571001","direction":"inbound","seconds":-1}`, `[`, `{"x":1}`} {
		if code, body := request(t, srv.URL, "POST", "/api/v1/calls/inst-p/c-4/reserve", "", "", bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	if code, _ := request(t, srv.URL, "POST", "/api/v1/calls/nope/c-4/reserve", "", "", `{"number":"0571001","direction":"outbound"}`); code != http.StatusNotFound {
		t.Errorf("unknown instance: %d", code)
	}
	for _, want := range []string{`{"released":true}`, `{"released":false}`} {
		if code, body := request(t, srv.URL, "DELETE", path, "", "", ""); code != http.StatusOK || strings.TrimSpace(body) != want {
			t.Errorf("release: %d %s, want %s", code, body, want)
		}
	}
}

// BenchmarkReserveRoundTrip takes a reservation and releases it over the API
// (an httptest server on loopback, SQLite), one after the other: the call
// platform's round trip per started call. It reports the reserve's p50 and
// p99 (docs/benchmarks.md).
func BenchmarkReserveRoundTrip(b *testing.B) {
	srv, s, _, _ := setupServer(b)
	if _, err := (&ledger.Service{Store: s}).TopUp(context.Background(), ledger.TopUpInput{Account: "1001", Amount: callbill.MustDecimal("100000"), Key: "t1"}); err != nil {
		b.Fatal(err)
	}
	do := func(method, path, body string) (time.Duration, int) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		path := "/api/v1/calls/inst-p/bench-" + strconv.Itoa(i) + "/reserve"
		d, code := do("POST", path, `{"number":"0571001","direction":"outbound","seconds":300}`)
		if code != http.StatusCreated {
			b.Fatalf("reserve: %d", code)
		}
		lat = append(lat, d)
		if _, code := do("DELETE", path, ""); code != http.StatusOK {
			b.Fatalf("release: %d", code)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
