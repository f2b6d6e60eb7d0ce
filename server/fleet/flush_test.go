package fleet_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/sqlite"
)

// heldStatuses holds the writes of screen statuses while hold is set,
// until released.
type heldStatuses struct {
	server.Store
	hold     atomic.Bool
	entered  chan struct{}
	released chan struct{}
	written  atomic.Bool
}

func (h *heldStatuses) UpdateScreenStatus(ctx context.Context, id string, fn func(*server.ScreenStatus) error) (server.ScreenStatus, error) {
	if h.hold.CompareAndSwap(true, false) {
		close(h.entered)
		<-h.released
		defer h.written.Store(true)
	}
	return h.Store.UpdateScreenStatus(ctx, id, fn)
}

// Flush returns once what was queued before it is written, also what the
// background writer took and is still writing: a check that runs after
// it (and Close) sees every screen that went away.
func TestFlushWaitsForTheWritesTheBackgroundWriterTook(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateScreen(ctx, server.Screen{ID: "s1", Name: "TV", SecretHash: []byte{1}, Enrolled: true}); err != nil {
		t.Fatal(err)
	}
	store := &heldStatuses{Store: db, entered: make(chan struct{}), released: make(chan struct{})}
	f := fleet.New(fleet.Config{Store: store, Replica: "r1"})
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	f.Connected("s1", fleet.Conn{AppVersion: "v1"})
	f.Flush(ctx)

	// The background writer takes the change and is held writing it.
	store.hold.Store(true)
	f.Disconnected("s1")
	select {
	case <-store.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the background writer did not write the change within 10 s")
	}
	flushed := make(chan bool)
	go func() {
		f.Flush(ctx)
		flushed <- store.written.Load()
	}()
	// Released a moment later: a Flush that does not wait has returned
	// by then, before the write.
	time.AfterFunc(200*time.Millisecond, func() { close(store.released) })
	if !<-flushed {
		t.Fatal("Flush returned while the background writer was still writing what it took")
	}
	all, err := db.ScreenStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Connected {
		t.Errorf("after Flush the statuses are %+v, want s1 not connected", all)
	}
}
