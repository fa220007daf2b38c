package sqlstore

import (
	"context"
	"time"

	"github.com/callbill/callbill"
)

// Calls streams an account's rated calls billed in a cycle to fn, in
// ingest order (StreamUsage with only the cycle). Returns ENOTFOUND for an
// unknown account.
func (s *Store) Calls(ctx context.Context, uid string, c callbill.Cycle, fn func(loc *time.Location, call *callbill.Call) error) error {
	return s.StreamUsage(ctx, uid, callbill.UsageFilter{Cycle: c}, fn)
}
