package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sqlite"
)

// TestWritesQueuedBehindACommitShareTheNextOneAndFailAlone: writes that
// wait while another is committed are committed together, in one
// transaction, and one that fails (a screen that exists) is rolled back
// alone.
func TestWritesQueuedBehindACommitShareTheNextOneAndFailAlone(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range []string{"held", "taken"} {
		if err := s.CreateScreen(ctx, server.Screen{ID: id, Name: id, SecretHash: []byte{1}, CreatedAt: now, LastSeen: now}); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Commits()

	// A write that holds the writer until the others have queued.
	running, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := s.UpdateScreen(ctx, "held", func(sc *server.Screen) error {
			close(running)
			<-release
			sc.Name = "held on"
			return nil
		})
		held <- err
	}()
	<-running
	const audits = 20
	errs := make(chan error, audits+1)
	var wg sync.WaitGroup
	for i := range audits {
		wg.Go(func() {
			errs <- s.AppendAudit(ctx, server.AuditEvent{Time: now, Kind: "test", ScreenID: fmt.Sprint(i), Outcome: "ok"})
		})
	}
	var conflict error
	wg.Go(func() {
		conflict = s.CreateScreen(ctx, server.Screen{ID: "taken", Name: "again", SecretHash: []byte{1}, CreatedAt: now, LastSeen: now})
	})
	waitQueued(t, s, audits+1)
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("an audit event: %v", err)
		}
	}
	if server.ErrorCode(conflict) != server.ECONFLICT {
		t.Errorf("creating a screen that exists, beside other writes: %v, want a conflict", conflict)
	}
	if got := s.Commits() - before; got != 2 {
		t.Errorf("%d commits for the held write and %d queued behind it, want 2", got, audits+1)
	}
	events, err := s.Audit(ctx, 100)
	if err != nil || len(events) != audits {
		t.Fatalf("%d audit events (%v), want %d: every write but the failed one is kept", len(events), err, audits)
	}
	if sc, err := s.Screen(ctx, "taken"); err != nil || sc.Name != "taken" {
		t.Errorf("the screen that existed is %+v, %v: the failed write changed it", sc, err)
	}
	if sc, err := s.Screen(ctx, "held"); err != nil || sc.Name != "held on" {
		t.Errorf("the held write: %+v, %v", sc, err)
	}
}

// TestAWriteAfterCloseIsRefused: a closed store writes nothing and says so.
func TestAWriteAfterCloseIsRefused(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, server.Account{ID: "a", Username: "ada@placard.example"}); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// waitQueued waits until n writes queue behind the one the test holds.
func waitQueued(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitQueued(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// TestAWriteThatFailsOrPanicsInABatchIsRolledBackAlone: writes that queue
// behind a commit share the next one; a write that fails after writing
// (an error, or a panic in its callback) leaves nothing of itself in it,
// and the writes beside it are kept.
func TestAWriteThatFailsOrPanicsInABatchIsRolledBackAlone(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateScreen(ctx, server.Screen{ID: "held", Name: "held", SecretHash: []byte{1}, CreatedAt: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	insert := func(ctx context.Context, tx *sql.Tx, screen string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit (time, kind, screen_id, screen_name, account, outcome, detail) VALUES (?, 'test', ?, '', '', 'ok', '')`, now.UnixMilli(), screen)
		return err
	}
	errFailed := errors.New("failed after its insert")
	cases := []struct {
		screen string
		fn     func(ctx context.Context, tx *sql.Tx) error
		want   func(error) bool
	}{
		{"kept before", func(ctx context.Context, tx *sql.Tx) error { return insert(ctx, tx, "kept before") }, func(err error) bool { return err == nil }},
		{"failed", func(ctx context.Context, tx *sql.Tx) error {
			if err := insert(ctx, tx, "failed"); err != nil {
				return err
			}
			return errFailed
		}, func(err error) bool { return errors.Is(err, errFailed) }},
		{"panicked", func(ctx context.Context, tx *sql.Tx) error {
			if err := insert(ctx, tx, "panicked"); err != nil {
				return err
			}
			panic("a callback's bug")
		}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "a callback's bug") }},
		{"kept after", func(ctx context.Context, tx *sql.Tx) error { return insert(ctx, tx, "kept after") }, func(err error) bool { return err == nil }},
	}

	running, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := s.UpdateScreen(ctx, "held", func(sc *server.Screen) error {
			close(running)
			<-release
			return nil
		})
		held <- err
	}()
	<-running
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		// One at a time, so that they queue in order.
		wg.Go(func() { errs[i] = s.Write(ctx, c.fn) })
		waitQueued(t, s, i+1)
	}
	before := s.Commits()
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := s.Commits() - before; got != 2 {
		t.Errorf("%d commits for the held write and the %d queued behind it, want 2 (one batch)", got, len(cases))
	}
	events, err := s.Audit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range events {
		stored[e.ScreenID] = true
	}
	for i, c := range cases {
		if !c.want(errs[i]) {
			t.Errorf("the write %q returned %v", c.screen, errs[i])
		}
		if kept := errs[i] == nil; stored[c.screen] != kept {
			t.Errorf("the row of the write %q is stored: %v, want %v", c.screen, stored[c.screen], kept)
		}
	}

	// A panic in a write alone, in a transaction of its own, is its
	// failure too, and the store goes on.
	_, err = s.UpdateScreen(ctx, "held", func(sc *server.Screen) error { panic("a callback's bug") })
	if err == nil || !strings.Contains(err.Error(), "a callback's bug") {
		t.Errorf("an update whose callback panicked: %v", err)
	}
	if err := s.AppendAudit(ctx, server.AuditEvent{Time: now, Kind: "test", ScreenID: "later", Outcome: "ok"}); err != nil {
		t.Errorf("a write after a panic: %v", err)
	}
}
