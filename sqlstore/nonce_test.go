package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/sqlstore"
)

// TestUseNonce: a nonce is refused for as long as the caller asked it to be
// kept, to the second, and per key; then it is forgotten.
func TestUseNonce(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		start := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
		now := start
		s.Now = func() time.Time { return now }
		const keep = 32 * time.Minute
		use := func(key, nonce string) string {
			t.Helper()
			err := s.UseNonce(ctx, key, nonce, keep)
			if err != nil && callbill.ErrorCode(err) != callbill.ECONFLICT {
				t.Fatalf("%v: UseNonce(%s, %s): %v", now.Sub(start), key, nonce, err)
			}
			return callbill.ErrorCode(err)
		}
		if c := use("LTAIa", "n1"); c != "" {
			t.Fatalf("first use: %s", c)
		}
		if c := use("LTAIb", "n1"); c != "" {
			t.Errorf("another key's nonce: %s", c)
		}
		// Refused up to and including keep after the first use; a refused
		// use does not extend it.
		for _, d := range []time.Duration{0, time.Second, 16 * time.Minute, 29 * time.Minute, keep - time.Second, keep} {
			now = start.Add(d)
			if c := use("LTAIa", "n1"); c != callbill.ECONFLICT {
				t.Errorf("%v after the first use: %q, want %s", d, c, callbill.ECONFLICT)
			}
		}
		now = start.Add(keep + time.Second)
		if c := use("LTAIa", "n1"); c != "" {
			t.Errorf("%v after the first use: %q, want it forgotten", keep+time.Second, c)
		}
		// And it is remembered again from this use.
		now = now.Add(keep)
		if c := use("LTAIa", "n1"); c != callbill.ECONFLICT {
			t.Errorf("reused nonce forgotten early: %q", c)
		}
		if err := s.UseNonce(ctx, "LTAIa", "n2", 0); callbill.ErrorCode(err) != callbill.EINTERNAL {
			t.Errorf("keep 0: %v", err)
		}
	})
}
