package ingest

import (
	"context"
	"slices"
)

// notify tells Service.Committed, once a transaction has committed, which
// accounts its batches stored calls for (budgets are evaluated from there).
func (im *importer) notify(ctx context.Context, ws ...*work) {
	if im.committed == nil {
		return
	}
	var accts []string
	for _, w := range ws {
		if w != nil && w.rated != nil && w.rated.Calls.Len() > 0 {
			accts = append(accts, w.rated.Accounts...)
		}
	}
	if len(accts) == 0 {
		return
	}
	if len(ws) > 1 {
		slices.Sort(accts)
		accts = slices.Compact(accts)
	}
	im.committed(ctx, accts)
}
