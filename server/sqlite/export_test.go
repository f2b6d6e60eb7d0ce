package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

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

// WaitQueued waits until at least n writes wait for the writer.
func (s *Store) WaitQueued(ctx context.Context, n int) error {
	for {
		s.w.mu.Lock()
		q, queued := len(s.w.queue), s.w.queued
		s.w.mu.Unlock()
		if q >= n {
			return nil
		}
		select {
		case <-queued:
		case <-ctx.Done():
			return fmt.Errorf("%d writes queued, waiting for %d: %w", q, n, ctx.Err())
		}
	}
}

// Write runs fn as one of the store's writes.
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.do(ctx, fn)
}

// Legacy are the migrations of the schema before the shared queries.
func Legacy() []string { return legacy }
