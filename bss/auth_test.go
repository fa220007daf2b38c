package bss_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
	"github.com/callbill/callbill/bss"
)

// serverError asserts that err is the SDK's ServerError with code and status.
func serverError(t *testing.T, err error, status int, code string) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want a ServerError %s, got %v", code, err)
	}
	if se.ErrorCode() != code || se.HttpStatus() != status {
		t.Errorf("ServerError %d %s (%s), want %d %s", se.HttpStatus(), se.ErrorCode(), se.Message(), status, code)
	}
	if se.RequestId() == "" {
		t.Errorf("ServerError without RequestId")
	}
	return se
}

func overviewRequest() *bssopenapi.QueryBillOverviewRequest {
	req := bssopenapi.CreateQueryBillOverviewRequest()
	req.BillingCycle = "2026-10"
	return req
}

func TestWrongSecret(t *testing.T) {
	e := newEnv(t)
	_, err := client(t, e.srv, e.keyA.ID, "not-the-secret").QueryBillOverview(overviewRequest())
	se := serverError(t, err, 400, "SignatureDoesNotMatch")
	// The SDK compares the server's string to sign with its own: equal
	// strings mean the secret is wrong, not the signing.
	if !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
		t.Errorf("the server's StringToSign differs from the SDK's: Recommend %q, Message %q", se.Recommend(), se.Message())
	}
}

func TestTimestamp(t *testing.T) {
	e := newEnv(t)
	// Through the SDK: the server's clock 20 minutes off either way.
	for _, skew := range []time.Duration{20 * time.Minute, -20 * time.Minute} {
		srv := e.serve(t, func() time.Time { return time.Now().Add(skew) })
		_, err := client(t, srv, e.keyA.ID, e.keyA.Secret).QueryBillOverview(overviewRequest())
		serverError(t, err, 400, "InvalidTimeStamp.Expired")
	}
	// By hand: stale, and malformed.
	for ts, code := range map[string]string{
		time.Now().UTC().Add(-16 * time.Minute).Format("2006-01-02T15:04:05Z"): "InvalidTimeStamp.Expired",
		time.Now().UTC().Add(14 * time.Minute).Format("2006-01-02T15:04:05Z"):  "",
		time.Now().UTC().Format("2006-01-02 15:04:05"):                         "InvalidTimeStamp.Format",
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"):                    "InvalidTimeStamp.Format",
		time.Now().Format(time.RFC3339) + "x":                                  "InvalidTimeStamp.Format",
	} {
		a := send(t, e.srv, "POST", signed("POST", e.keyA.ID, e.keyA.Secret,
			map[string]string{"Action": "QueryAccountBalance", "Timestamp": ts}))
		if code == "" && a.status != 200 || code != "" && (a.status != 400 || a.code() != code) {
			t.Errorf("Timestamp %s: %d %s, want %q", ts, a.status, a.raw, code)
		}
	}
}

// recorder remembers the last request the SDK sent.
type recorder struct {
	method, url string
	body        []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.method, r.url = req.Method, req.URL.String()
	if req.Body != nil {
		r.body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(r.body))
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestReplayedNonce(t *testing.T) {
	e := newEnv(t)
	// A real SDK request, sent again as it was.
	rec := &recorder{}
	c := client(t, e.srv, e.keyA.ID, e.keyA.Secret)
	c.SetTransport(rec)
	if _, err := c.QueryAccountBalance(bssopenapi.CreateQueryAccountBalanceRequest()); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(rec.method, rec.url, bytes.NewReader(rec.body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"Code":"SignatureNonceUsed"`) {
		t.Errorf("replayed SDK request: %d %s", resp.StatusCode, body)
	}

	// By hand, and a forged request does not burn the nonce it carries.
	p := signed("POST", e.keyA.ID, e.keyA.Secret, map[string]string{"Action": "QueryAccountBalance"})
	forged := map[string]string{}
	for k, v := range p {
		forged[k] = v
	}
	forged["Signature"] = bss.Sign(bss.StringToSign("POST", forged), "guessed")
	if a := send(t, e.srv, "POST", forged); a.status != 400 || a.code() != "SignatureDoesNotMatch" {
		t.Errorf("forged: %d %s", a.status, a.raw)
	}
	if a := send(t, e.srv, "POST", p); a.status != 200 {
		t.Errorf("first use after a forged request with the same nonce: %d %s", a.status, a.raw)
	}
	if a := send(t, e.srv, "POST", p); a.status != 400 || a.code() != "SignatureNonceUsed" {
		t.Errorf("replayed: %d %s", a.status, a.raw)
	}
	// A nonce is per key: B may use the nonce A used.
	pb := signed("POST", e.keyB.ID, e.keyB.Secret, map[string]string{"Action": "QueryAccountBalance", "SignatureNonce": p["SignatureNonce"]})
	if a := send(t, e.srv, "POST", pb); a.status != 200 {
		t.Errorf("B with A's nonce: %d %s", a.status, a.raw)
	}
}

func TestUnknownAndRevokedKey(t *testing.T) {
	e := newEnv(t)
	_, err := client(t, e.srv, "LTAInotakey0000000000", "secret").QueryBillOverview(overviewRequest())
	serverError(t, err, 400, "InvalidAccessKeyId.NotFound")

	c := client(t, e.srv, e.keyB.ID, e.keyB.Secret)
	if _, err := c.QueryBillOverview(overviewRequest()); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeAccessKey(context.Background(), e.keyB.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.QueryBillOverview(overviewRequest())
	serverError(t, err, 400, "InvalidAccessKeyId.NotFound")
}

// TestScope: a key acts for its own account; it never sees another's bills.
func TestScope(t *testing.T) {
	e := newEnv(t)
	cb := client(t, e.srv, e.keyB.ID, e.keyB.Secret)
	req := bssopenapi.CreateQueryInstanceBillRequest()
	req.BillingCycle, req.IsBillingItem = "2026-10", requests.NewBoolean(true)
	resp, err := cb.QueryInstanceBill(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data.AccountID != uidB || resp.Data.TotalCount != 1 {
		t.Fatalf("B's instance bill: %+v", resp.Data)
	}
	it := resp.Data.Items.Item[0]
	if it.InstanceID != "ccc-sz-001" || it.OwnerID != uidB || amt(it.OutstandingAmount) != "0.03" || amt(it.PretaxAmount) != "0.09" {
		t.Errorf("B's row: %+v", it)
	}
	qb := bssopenapi.CreateQueryBillRequest()
	qb.BillingCycle = "2026-10"
	bills, err := cb.QueryBill(qb)
	if err != nil {
		t.Fatal(err)
	}
	if len(bills.Data.Items.Item) != 1 || bills.Data.Items.Item[0].Status != "PayUnclear" { // closed, 0.03 outstanding
		t.Errorf("B's records: %+v", bills.Data.Items.Item)
	}
	bal, err := cb.QueryAccountBalance(bssopenapi.CreateQueryAccountBalanceRequest())
	if err != nil {
		t.Fatal(err)
	}
	// cash 0, credit line 100, 0.03 owed.
	if bal.Data.AvailableAmount != "99.97" || bal.Data.AvailableCashAmount != "0.00" || bal.Data.CreditAmount != "100.00" {
		t.Errorf("B's balance: %+v", bal.Data)
	}
	pk, err := cb.QueryResourcePackageInstances(bssopenapi.CreateQueryResourcePackageInstancesRequest())
	if err != nil || pk.Total != 0 || len(pk.Data.Instances.Instance) != 0 {
		t.Errorf("B sees packages: %v %+v", err, pk.Data)
	}

	// A asking for B's bill by BillOwnerId is refused, for its own is served.
	ca := client(t, e.srv, e.keyA.ID, e.keyA.Secret)
	req.BillOwnerId = requests.NewInteger64(1000000000000002)
	_, err = ca.QueryInstanceBill(req)
	serverError(t, err, 400, "InvalidParameter")
	qb.BillOwnerId = requests.Integer(uidB)
	_, err = ca.QueryBill(qb)
	serverError(t, err, 400, "InvalidParameter")
	req.BillOwnerId = requests.Integer(uidA)
	resp, err = ca.QueryInstanceBill(req)
	if err != nil || resp.Data.AccountID != uidA {
		t.Errorf("A with its own BillOwnerId: %v %+v", err, resp.Data.AccountID)
	}
	for _, it := range resp.Data.Items.Item {
		if it.InstanceID == "ccc-sz-001" {
			t.Errorf("A sees B's instance")
		}
	}
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t)
	c := client(t, e.srv, e.keyA.ID, e.keyA.Secret)

	// Through the SDK.
	_, err := c.QueryBillOverview(bssopenapi.CreateQueryBillOverviewRequest())
	serverError(t, err, 400, "MissingBillingCycle")
	req := overviewRequest()
	req.BillingCycle = "2026-13"
	_, err = c.QueryBillOverview(req)
	serverError(t, err, 400, "InvalidParameter")
	qb := bssopenapi.CreateQueryBillRequest()
	qb.BillingCycle, qb.PageSize = "2026-10", requests.NewInteger(301)
	_, err = c.QueryBill(qb)
	serverError(t, err, 400, "InvalidParameter")
	qi := bssopenapi.CreateQueryInstanceBillRequest()
	qi.BillingCycle, qi.Granularity = "2026-10", "DAILY"
	_, err = c.QueryInstanceBill(qi)
	serverError(t, err, 400, "MissingBillingDate")
	qi.BillingDate = "2026-11-01"
	_, err = c.QueryInstanceBill(qi)
	serverError(t, err, 400, "InvalidParameter")
	di := bssopenapi.CreateDescribeInstanceBillRequest()
	di.BillingCycle, di.NextToken = "2026-10", "not-a-token"
	_, err = c.DescribeInstanceBill(di)
	serverError(t, err, 400, "InvalidParameter")
	// An action this endpoint does not serve, through the SDK's common request.
	cr := requests.NewCommonRequest()
	cr.Domain, cr.Version, cr.ApiName, cr.Product = c.Domain, bss.Version, "QueryOrders", "BssOpenApi"
	_, err = c.ProcessCommonRequest(cr)
	serverError(t, err, 404, "InvalidApi.NotFound")

	// By hand.
	ok := map[string]string{"Action": "QueryAccountBalance"}
	for _, name := range []string{"AccessKeyId", "Signature", "Timestamp", "SignatureNonce"} {
		p := signed("POST", e.keyA.ID, e.keyA.Secret, ok)
		delete(p, name)
		if a := send(t, e.srv, "POST", p); a.status != 400 || a.code() != "Missing"+name {
			t.Errorf("without %s: %d %s", name, a.status, a.raw)
		}
	}
	for _, c := range []struct {
		extra  map[string]string
		status int
		code   string
	}{
		{map[string]string{"Action": "DescribeRegions"}, 404, "InvalidApi.NotFound"},
		{map[string]string{"Action": "QueryAccountBalance", "Version": "2014-05-26"}, 404, "InvalidVersion"},
		{map[string]string{"Action": "QueryAccountBalance", "SignatureMethod": "HMAC-SHA256"}, 400, "InvalidParameter"},
		{map[string]string{"Action": "QueryAccountBalance", "Format": "XML"}, 400, "InvalidParameter"},
		{map[string]string{"Action": "QueryAccountBalance", "AccessKeyId": strings.Repeat("x", 500)}, 400, "InvalidAccessKeyId.NotFound"},
		{map[string]string{"Action": "QueryInstanceBill", "BillingCycle": "2026-10", "IsBillingItem": "yes"}, 400, "InvalidParameter"},
		{map[string]string{"Action": "QueryBill", "BillingCycle": "2026-10", "SubscriptionType": "Monthly"}, 400, "InvalidParameter"},
		{map[string]string{"Action": "QueryResourcePackageInstances", "ExpiryTimeStart": "2026-10-01"}, 400, "InvalidParameter"},
		{map[string]string{"Action": "QueryAccountBalance", "OwnerId": uidB}, 400, "InvalidParameter"},
	} {
		for _, method := range []string{"GET", "POST"} {
			a := send(t, e.srv, method, signed(method, e.keyA.ID, e.keyA.Secret, c.extra))
			if a.status != c.status || a.code() != c.code {
				t.Errorf("%s %v: %d %s, want %d %s", method, c.extra, a.status, a.raw, c.status, c.code)
			}
		}
	}
	// GET and POST both work; a GET signed as POST does not.
	for _, method := range []string{"GET", "POST"} {
		if a := send(t, e.srv, method, signed(method, e.keyA.ID, e.keyA.Secret, ok)); a.status != 200 || a.code() != "Success" {
			t.Errorf("%s: %d %s", method, a.status, a.raw)
		}
	}
	if a := send(t, e.srv, "GET", signed("POST", e.keyA.ID, e.keyA.Secret, ok)); a.code() != "SignatureDoesNotMatch" {
		t.Errorf("GET signed as POST: %d %s", a.status, a.raw)
	}
	// Parameters split between the query string and the form body are
	// signed together; a name given twice is refused.
	p := signed("POST", e.keyA.ID, e.keyA.Secret, ok)
	for _, dup := range []bool{false, true} {
		q := "Action=QueryAccountBalance"
		if dup {
			q += "&Action=QueryAccountBalance"
		}
		body := strings.Builder{}
		for k, v := range p {
			if k != "Action" {
				body.WriteString("&" + k + "=" + bss.PercentEncode(v))
			}
		}
		r, _ := http.NewRequest("POST", e.srv.URL+"/?"+q, strings.NewReader(body.String()[1:]))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := map[bool]int{false: 200, true: 400}[dup]; resp.StatusCode != want {
			t.Errorf("query + body (dup %v): %d %s", dup, resp.StatusCode, raw)
		}
	}
	// Other paths and methods.
	for _, r := range []struct{ method, path string }{{"GET", "/favicon.ico"}, {"PUT", "/"}} {
		req, _ := http.NewRequest(r.method, e.srv.URL+r.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 405 {
			t.Errorf("%s %s: %d", r.method, r.path, resp.StatusCode)
		}
	}
}

// TestInternalError: a store failure is a 500 InternalError with a generic
// message; the real error goes to the log only.
func TestInternalError(t *testing.T) {
	e := newEnv(t)
	e.store.Close()
	a := send(t, e.srv, "POST", signed("POST", e.keyA.ID, e.keyA.Secret, map[string]string{"Action": "QueryAccountBalance"}))
	if a.status != 500 || a.code() != "InternalError" || strings.Contains(a.raw, "sql") || strings.Contains(a.raw, "closed") {
		t.Errorf("%d %s", a.status, a.raw)
	}
	if !strings.Contains(e.logBuf.String(), "database is closed") {
		t.Errorf("the real error is not logged: %s", e.logBuf)
	}
}

// TestDarabonbaV2Params sends a request shaped like the newer SDK's RPC
// requests with SignatureAlgorithm "v2" (darabonba-openapi DoRPCRequest):
// Format=json in lower case, no SignatureType, everything in the query of a
// POST with no body.
func TestDarabonbaV2Params(t *testing.T) {
	e := newEnv(t)
	p := map[string]string{
		"Action": "QueryBillOverview", "Format": "json", "Version": bss.Version,
		"Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"), "SignatureNonce": nonce(),
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "AccessKeyId": e.keyA.ID, "BillingCycle": "2026-10",
	}
	p["Signature"] = bss.Sign(bss.StringToSign("POST", p), e.keyA.Secret)
	q := make([]string, 0, len(p))
	for k, v := range p {
		q = append(q, bss.PercentEncode(k)+"="+bss.PercentEncode(v))
	}
	resp, err := http.Post(e.srv.URL+"/?"+strings.Join(q, "&"), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"Code":"Success"`) {
		t.Errorf("%d %s", resp.StatusCode, raw)
	}
}
