package sqlstore

import (
	"context"

	"github.com/callbill/callbill"
)

// Keyed requests (money movements, purchases, contracts, invoice
// applications, jobs) look their key up before they insert, under the
// account's lock, and keys are unique per account. A unique violation can
// still reach the insert: on PostgreSQL from a writer the lock does not
// order, or a key some other path of the same account took in between.
// The violation means the other request committed first. The request then
// runs once more in a new transaction, whose look-up finds the winner and
// answers as any retry does: replayed for the same request, ECONFLICT for
// another. It is never an internal error.

// retryUnique runs run, which runs its own transaction and must set afresh
// whatever it fills in, and runs it once more after a unique violation. A
// second violation is ECONFLICT naming what, the caller's key (the only
// thing named: nothing of another account).
func (s *Store) retryUnique(what string, run func() error) error {
	err := run()
	if err == nil || !s.isUniqueViolation(err) {
		return err
	}
	if err = run(); err != nil && s.isUniqueViolation(err) {
		return callbill.Errorf(callbill.ECONFLICT, "%s was taken by a concurrent request; retry it", what)
	}
	return err
}

// keyedTx runs fn in a transaction, and in a new one once more after a
// unique violation (retryUnique).
func (s *Store) keyedTx(ctx context.Context, what string, fn func(tx *Tx) error) error {
	return s.retryUnique(what, func() error { return s.inTx(ctx, fn) })
}
