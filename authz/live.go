package authz

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
)

// Live keeps a node's snapshot current, so that questions are answered from
// memory (worker.Authorizer refreshes it every 250 ms). A refresh reads:
//
//   - the whole directory, every standing and voice package when the store's
//     change counter moved (world, money, a close) or a price may have
//     changed by time alone (the snapshot's horizon: a price version, a
//     package's start or end, a new cycle);
//   - every live reservation (one query), then
//   - every account's calls versions (one query), and the open spend (and
//     voice packages) of only the accounts whose versions moved.
//
// Reservations are read before spends: a call whose CDR is imported between
// the two reads is counted twice (its reservation and its spend) until the
// next refresh, never not at all.
type Live struct {
	Service *Service
	// Now is the clock the horizon is checked against; nil: time.Now.
	Now func() time.Time

	snap    atomic.Pointer[callbill.AuthSnapshot]
	changes atomic.Pointer[string]
	seen    string
	resv    map[string][]callbill.Reservation // by account, as last read
	horizon time.Time
}

// Snapshot returns the current snapshot; nil before the first refresh.
func (l *Live) Snapshot() *callbill.AuthSnapshot { return l.snap.Load() }

// Changes returns the store's change counter as of the last refresh; ""
// before the first.
func (l *Live) Changes() string {
	if v := l.changes.Load(); v != nil {
		return *v
	}
	return ""
}

// Refresh brings the snapshot up to date (see Live). It is not safe to call
// from several goroutines at once; questions may be asked meanwhile.
func (l *Live) Refresh(ctx context.Context) error {
	store := l.Service.Store
	ch, err := store.Changes(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	snap := l.snap.Load()
	full := snap == nil || ch != l.seen || (!l.horizon.IsZero() && !now.Before(l.horizon))
	if full {
		if snap, err = store.AuthSnapshot(ctx); err != nil {
			return err
		}
		snap.Cap, snap.Built = l.Service.capFor(snap.Cap), now
	}
	// Reservations first, then spends (see Live).
	live, err := store.LiveReservations(ctx, now)
	if err != nil {
		return err
	}
	versions, err := store.SpendVersions(ctx)
	if err != nil {
		return err
	}
	resv := map[string][]callbill.Reservation{}
	for _, r := range live {
		resv[r.Account] = append(resv[r.Account], r)
	}
	current := callbill.CycleOf(now, snap.Loc)
	spends := make(map[string]spendMemo, len(snap.Accounts))
	var stale []string
	for uid := range snap.Accounts {
		key := memoKey(versions.World+"|"+versions.Calls[uid], current)
		if m, ok := l.Service.cached(uid, key); ok {
			spends[uid] = m
		} else {
			spends[uid] = spendMemo{key: key}
			stale = append(stale, uid)
		}
	}
	sort.Strings(stale)
	if err := l.readSpends(ctx, stale, spends, current); err != nil {
		return err
	}
	var packages map[string][]callbill.VoicePackage
	if !full && len(stale) > 0 {
		// Imports consume voice packages; a purchase moves the change
		// counter, and a full refresh reads them all.
		if packages, err = store.Packages(ctx, stale); err != nil {
			return err
		}
	}
	for uid, a := range snap.Accounts {
		m := spends[uid]
		read := !full && containsString(stale, uid)
		if !full && !read && a.Spend.Equal(m.spend) && a.PlatformUsed == m.platform && sameReservations(l.resv[uid], resv[uid]) {
			continue
		}
		a.Spend, a.PlatformUsed, a.Reservations = m.spend, m.platform, resv[uid]
		if read {
			a.Packages = packages[uid]
		}
		if !full {
			snap.Reprice(uid)
		}
	}
	if full {
		snap.Prepare()
		l.snap.Store(snap)
		l.seen = ch
	}
	l.resv = resv
	l.horizon = snap.Horizon()
	l.changes.Store(&ch)
	return nil
}

// readSpends reads the open spend of accounts and memoizes it under the
// keys spends holds for them, into spends.
func (l *Live) readSpends(ctx context.Context, accounts []string, spends map[string]spendMemo, current callbill.Cycle) error {
	svc := &closing.Service{Store: l.Service.Store}
	for start := 0; start < len(accounts); start += closing.MaxSpendAccounts {
		part := accounts[start:min(start+closing.MaxSpendAccounts, len(accounts))]
		read, err := svc.OpenSpend(ctx, part)
		if err != nil {
			return err
		}
		for _, uid := range part {
			m := spendOf(spends[uid].key, read[uid], current)
			l.Service.remember(uid, m)
			spends[uid] = m
		}
	}
	return nil
}

// sameReservations reports whether two reads of an account's reservations
// hold the same.
func sameReservations(a, b []callbill.Reservation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Instance != y.Instance || x.ContactID != y.ContactID || !x.ExpiresAt.Equal(y.ExpiresAt) || !x.Amount.Equal(y.Amount) {
			return false
		}
	}
	return true
}

func containsString(sorted []string, s string) bool {
	i := sort.SearchStrings(sorted, s)
	return i < len(sorted) && sorted[i] == s
}

// sortReservations orders reservations by expiry, then call.
func sortReservations(rs []callbill.Reservation) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := &rs[i], &rs[j]
		if !a.ExpiresAt.Equal(b.ExpiresAt) {
			return a.ExpiresAt.Before(b.ExpiresAt)
		}
		if a.Instance != b.Instance {
			return a.Instance < b.Instance
		}
		return a.ContactID < b.ContactID
	})
}
