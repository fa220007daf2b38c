package worker

import (
	"testing"

	"github.com/callbill/callbill"
)

// TestAutoCloseJobIsRetried: the automatic close asks the queue to try a
// failed attempt again (jobs.Service.Enqueue, RetryFailedAfter), under the
// one key every node uses.
func TestAutoCloseJobIsRetried(t *testing.T) {
	r := autoCloseJob(callbill.NewCycle(2026, 11))
	if r.Kind != callbill.JobClose || r.Key != "close:2026-11" || r.Params != `{"cycle":"2026-11"}` || r.RetryFailedAfter != CloseRetry || CloseRetry <= 0 {
		t.Fatalf("%+v", r)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}
