package provision_test

import (
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/provision"
)

// Movements replay by time; at equal times top-ups come first, so that a
// purchase can spend cash that came in at the same moment; otherwise the
// file's order holds.
func TestReplayOrder(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	w := &callbill.World{
		TopUps: []callbill.TopUp{{ID: "T2", At: t0.Add(time.Hour)}, {ID: "T1", At: t0}, {ID: "T3", At: t0}},
		Purchases: []callbill.Purchase{{ID: "P1", At: t0}, {ID: "P0", At: t0.Add(-time.Hour)}, {ID: "P2", At: t0},
			{ID: "P3", At: t0.Add(time.Hour)}},
	}
	var got []string
	for _, m := range provision.ReplayOrder(w) {
		if m.TopUp != nil {
			got = append(got, m.TopUp.ID)
		} else {
			got = append(got, m.Purchase.ID)
		}
	}
	if g, want := strings.Join(got, " "), "P0 T1 T3 P1 P2 T2 P3"; g != want {
		t.Errorf("order %q, want %q", g, want)
	}
}
