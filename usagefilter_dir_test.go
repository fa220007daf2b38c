package callbill

import "testing"

func TestCheckDirection(t *testing.T) {
	for d, ok := range map[Direction]bool{"": true, Inbound: true, Outbound: true, "Inbound": false, "both": false} {
		f := UsageFilter{Direction: d}
		if err := f.CheckDirection(); (err == nil) != ok || (err != nil && ErrorCode(err) != EINVALID) {
			t.Errorf("%q: %v", d, err)
		}
	}
}
