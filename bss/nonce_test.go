package bss_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbill/callbill/bss"
	"github.com/callbill/callbill/internal/testpg"
)

// TestFutureTimestampReplay: a request signed with a Timestamp 14 minutes
// ahead is accepted once and then refused for as long as that Timestamp is
// acceptable — SignatureNonceUsed while it is, InvalidTimeStamp.Expired
// after — and never accepted again. Nonces used to be forgotten after 16
// minutes, so this request could be replayed from then on.
func TestFutureTimestampReplay(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return testpg.DSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, dsn(t))
			// One clock for the handler (Timestamp) and the store (nonce age).
			t0 := storeNow
			var now atomic.Int64 // read by the server's goroutines
			clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
			now.Store(t0.UnixNano())
			e.store.Now = clock
			srv := e.serve(t, clock)

			ts := t0.Add(14 * time.Minute)
			p := signed("POST", e.keyA.ID, e.keyA.Secret, map[string]string{
				"Action": "QueryAccountBalance", "Timestamp": ts.Format("2006-01-02T15:04:05Z"),
			})
			if a := send(t, srv, "POST", p); a.status != 200 {
				t.Fatalf("first use: %d %s", a.status, a.raw)
			}
			// The finding's replay at 16 minutes, the last acceptable second
			// (29 minutes: 15 after the Timestamp), and on every half minute
			// until well after the nonce could have been forgotten.
			steps := []time.Duration{16*time.Minute + time.Second, 29 * time.Minute, 29*time.Minute + time.Second}
			for d := time.Duration(0); d <= bss.NonceRetention+5*time.Minute; d += 30 * time.Second {
				steps = append(steps, d)
			}
			for _, d := range steps {
				now.Store(t0.Add(d).UnixNano())
				want := "SignatureNonceUsed"
				if d-14*time.Minute > bss.TimestampWindow {
					want = "InvalidTimeStamp.Expired"
				}
				for _, method := range []string{"POST", "GET"} {
					q := p
					if method == "GET" {
						// The same nonce and Timestamp, signed for GET.
						q = signed("GET", e.keyA.ID, e.keyA.Secret, map[string]string{
							"Action": "QueryAccountBalance", "Timestamp": p["Timestamp"], "SignatureNonce": p["SignatureNonce"],
						})
					}
					if a := send(t, srv, method, q); a.status != 400 || a.code() != want {
						t.Errorf("%s %v after the first use: %d %s, want %s", method, d, a.status, a.raw, want)
					}
				}
			}
		})
	}
}

// TestNonceRetention: the store is asked to remember a nonce at least as
// long as any Timestamp that could carry it stays acceptable.
func TestNonceRetention(t *testing.T) {
	if min := 2 * bss.TimestampWindow; bss.NonceRetention < min+time.Minute {
		t.Errorf("NonceRetention %v, want at least %v plus a margin", bss.NonceRetention, min)
	}
}
