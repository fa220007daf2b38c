package sqlstore

import (
	"context"
	"time"
)

// checkpointEvery is how often the background checkpointer copies the WAL
// into the database file.
const checkpointEvery = 200 * time.Millisecond

// checkpointer copies committed WAL frames into the SQLite database file in
// the background (PRAGMA wal_checkpoint(PASSIVE)), so that commits only
// append to the WAL: a checkpoint inside a commit made that commit — and
// every post waiting on it — pay for copying the pages of many commits
// before it. PASSIVE never waits for readers or writers; the next writer
// starts the WAL over once all of it is in the database. wal_autocheckpoint
// stays, much higher, as a safety net should this fall behind.
func (s *Store) checkpointer(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			// A failure (a busy database, a closed pool) is retried on the next tick.
			s.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}
