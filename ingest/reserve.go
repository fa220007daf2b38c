package ingest

import "context"

// ReservationTx is how an import batch releases reservations
// (docs/authorization.md).
type ReservationTx interface {
	// ReservedAccounts returns which of accounts (sorted) hold a
	// reservation.
	ReservedAccounts(ctx context.Context, accounts []string) (map[string]bool, error)
	// ReleaseReservations deletes the reservations of calls; a call without
	// one is no error.
	ReleaseReservations(ctx context.Context, calls []Identity) error
}

// release deletes the reservations of the calls the batch stores, in its
// transaction: from its commit the call counts in the open spend (the
// aggregates it adds to) and no longer in what its reservation held, never
// both and never neither for a reader of one snapshot. A batch whose
// accounts hold no reservation (every file import of past calls) pays one
// query for it.
func release(ctx context.Context, tx Tx, w *work) error {
	held, err := tx.ReservedAccounts(ctx, w.accounts)
	if err != nil || len(held) == 0 {
		return err
	}
	var calls []Identity
	for _, row := range w.stored {
		c := &w.rows[row].cdr
		if inst := w.insts[c.InstanceID]; inst != nil && held[inst.Account] {
			calls = append(calls, Identity{c.InstanceID, c.ContactID})
		}
	}
	if len(calls) == 0 {
		return nil
	}
	return tx.ReleaseReservations(ctx, calls)
}
