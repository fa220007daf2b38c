package bss_test

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"
)

// TestOpenCycleOwesNothing: the open cycle (2026-11, the scenario's 400
// minimums so far) is an estimate — its pay-as-you-go rows are neither paid
// nor outstanding, and its records are not settled (PayUnsettle) until the
// close — while the closed 2026-10 keeps its paid records.
func TestOpenCycleOwesNothing(t *testing.T) {
	e := newEnv(t)
	c := client(t, e.srv, e.keyA.ID, e.keyA.Secret)
	ov := bssopenapi.CreateQueryBillOverviewRequest()
	ov.BillingCycle = "2026-11"
	resp, err := c.QueryBillOverview(ov)
	if err != nil {
		t.Fatal(err)
	}
	payable := 0.0
	for _, it := range resp.Data.Items.Item {
		payable += it.PretaxAmount
		if it.OutstandingAmount != 0 || it.PaymentAmount != 0 || it.CashAmount != 0 {
			t.Errorf("open overview item %s %s: outstanding %v paid %v cash %v", it.CommodityCode, it.SubscriptionType,
				it.OutstandingAmount, it.PaymentAmount, it.CashAmount)
		}
	}
	if len(resp.Data.Items.Item) == 0 || payable == 0 {
		t.Fatalf("the open cycle has nothing to estimate: %+v", resp.Data.Items.Item)
	}
	for _, cy := range []struct{ cycle, status string }{{"2026-11", "PayUnsettle"}, {"2026-10", "PayFinish"}} {
		qb := bssopenapi.CreateQueryBillRequest()
		qb.BillingCycle = cy.cycle
		bills, err := c.QueryBill(qb)
		if err != nil {
			t.Fatal(err)
		}
		if len(bills.Data.Items.Item) == 0 {
			t.Fatalf("%s: no records", cy.cycle)
		}
		for _, it := range bills.Data.Items.Item {
			if it.SubscriptionType == "PayAsYouGo" && it.Status != cy.status || it.SubscriptionType == "Subscription" && it.Status != "PayFinish" {
				t.Errorf("%s record %s (%s): %s", cy.cycle, it.RecordID, it.SubscriptionType, it.Status)
			}
			if cy.cycle == "2026-11" && (it.OutstandingAmount != 0 || it.PaymentAmount != 0) {
				t.Errorf("open record %s: outstanding %v paid %v", it.RecordID, it.OutstandingAmount, it.PaymentAmount)
			}
		}
	}
}
