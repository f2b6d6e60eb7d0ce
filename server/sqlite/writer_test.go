package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
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
	for s.Queued() != audits+1 {
		runtime.Gosched()
	}
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
