package fleet_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/sqlite"
)

// listing counts the reads of every screen, of one screen, and of every
// screen's status.
type listing struct {
	server.Store
	all, one, statuses atomic.Int64
}

func (l *listing) ScreenStatuses(ctx context.Context) ([]server.ScreenStatus, error) {
	l.statuses.Add(1)
	return l.Store.ScreenStatuses(ctx)
}

func (l *listing) Screens(ctx context.Context) ([]server.Screen, error) {
	l.all.Add(1)
	return l.Store.Screens(ctx)
}

func (l *listing) Screen(ctx context.Context, id string) (server.Screen, error) {
	l.one.Add(1)
	return l.Store.Screen(ctx, id)
}

// fleetOf makes n enrolled screens in a group of threshold after, each
// connected to a fleet on the store, and returns the fleet.
func fleetOf(tb testing.TB, n int, after time.Duration, now func() time.Time) (*fleet.Fleet, *listing, *offlineGauge) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "placard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.CreateGroup(ctx, server.Group{ID: "g1", Name: "Lobby", OfflineAfter: after}); err != nil {
		tb.Fatal(err)
	}
	store := &listing{Store: db}
	gauge := &offlineGauge{}
	f := fleet.New(fleet.Config{Store: store, Replica: "r1", Now: now, Metrics: gauge})
	if err := f.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Close)
	for i := range n {
		id := fmt.Sprintf("s%05d", i)
		if err := db.CreateScreen(ctx, server.Screen{ID: id, Name: "TV " + id, SecretHash: []byte{1}, Enrolled: true, Group: "g1",
			Settings: server.ScreenSettings{Lang: "fr", Clock24: true}}); err != nil {
			tb.Fatal(err)
		}
		f.Connected(id, fleet.Conn{AppVersion: "v1"})
	}
	f.Flush(ctx)
	return f, store, gauge
}

// A check every few seconds reads the screens only of those that are not
// online (or were reported): most of a fleet is online most of the time,
// and listing thousands of screens every few seconds cost more CPU than
// sending them their dashboards. A few screens away are read one by one,
// many at once; either way each is reported.
func TestTheCheckReadsOnlyTheScreensThatAreAway(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	f, store, gauge := fleetOf(t, 40, time.Minute, clk.Now)
	check := func(when string, offline int) {
		t.Helper()
		store.all.Store(0)
		store.one.Store(0)
		f.Flush(ctx)
		if err := f.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if gauge.get() != offline {
			t.Errorf("%s: the gauge says %d offline, want %d", when, gauge.get(), offline)
		}
	}

	check("all online", 0)
	if n, m := store.all.Load(), store.one.Load(); n != 0 || m != 0 {
		t.Errorf("all online: the check listed every screen %d times and read %d one by one, want none", n, m)
	}

	for i := range 3 {
		f.Disconnected(fmt.Sprintf("s%05d", i))
	}
	clk.Add(time.Minute)
	check("3 of 40 away", 3)
	if n, m := store.all.Load(), store.one.Load(); n != 0 || m != 3 {
		t.Errorf("3 of 40 away: every screen listed %d times, %d read one by one; want 0 and 3", n, m)
	}

	for i := 3; i < 20; i++ {
		f.Disconnected(fmt.Sprintf("s%05d", i))
	}
	clk.Add(time.Minute)
	check("20 of 40 away", 20)
	if n, m := store.all.Load(), store.one.Load(); n != 1 || m != 0 {
		t.Errorf("20 of 40 away: every screen listed %d times, %d read one by one; want 1 and 0", n, m)
	}
}

// The background loop says the replica is alive every few seconds, and
// checks the fleet (reading every screen's status) within a tenth of the
// shortest threshold in use: once a minute with the default 15 minutes, so
// that thousands of screens are not read every few seconds for nothing;
// every few seconds when a group's threshold is short.
func TestTheFleetIsCheckedWithinATenthOfItsShortestThreshold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, store, gauge := fleetOf(t, 3, 0, time.Now) // the server's threshold: 15 minutes
		time.Sleep(10*time.Minute + time.Second)
		synctest.Wait()
		if n := store.statuses.Load(); n < 10 || n > 12 {
			t.Errorf("10 minutes with a threshold of 15: the statuses were read %d times, want about once a minute (11)", n)
		}

		ctx := context.Background()
		if _, err := store.UpdateGroup(ctx, "g1", func(g *server.Group) error { g.OfflineAfter = 20 * time.Second; return nil }); err != nil {
			t.Fatal(err)
		}
		f.Disconnected("s00000")
		store.statuses.Store(0)
		time.Sleep(26 * time.Second)
		synctest.Wait()
		if got := gauge.get(); got != 1 {
			t.Errorf("26 s after a screen of a group of 20 s went away, the gauge says %d offline, want 1", got)
		}
		if n := store.statuses.Load(); n < 5 {
			t.Errorf("with a threshold of 20 s the statuses were read %d times in 26 s, want every 5 s", n)
		}
	})
}

// BenchmarkCheckingAFleetOnline is the fleet's check every few seconds
// on a server of 2,000 screens, all online.
func BenchmarkCheckingAFleetOnline(b *testing.B) {
	f, _, _ := fleetOf(b, 2000, time.Minute, time.Now)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := f.Check(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
