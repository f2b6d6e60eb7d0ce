package sqlite

// Commits is how many transactions the store has committed.
func (s *Store) Commits() int {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.w.commits
}

// Queued is how many writes wait for the writer.
func (s *Store) Queued() int {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return len(s.w.queue)
}
