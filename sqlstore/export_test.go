package sqlstore

// SetFoldTailAt makes s fold its tail of call blocks once it holds n blocks.
func SetFoldTailAt(s *Store, n int64) {
	s.tail.mu.Lock()
	s.tail.foldAt = n
	s.tail.mu.Unlock()
}

// BlocksByPlace counts s's call blocks in the index by account and in the
// tail; PostgreSQL has no tail.
func BlocksByPlace(s *Store) (indexed, tail int64, err error) {
	if s.dialect != dialectSQLite {
		err = s.db.QueryRow(`SELECT COUNT(*) FROM call_blocks`).Scan(&indexed)
		return indexed, 0, err
	}
	err = s.db.QueryRow(`SELECT COUNT(*) FILTER (WHERE tail = 0), COUNT(*) FILTER (WHERE tail = 1) FROM call_blocks`).Scan(&indexed, &tail)
	return indexed, tail, err
}
