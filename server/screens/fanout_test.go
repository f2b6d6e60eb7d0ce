package screens_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/screens"
)

// slowPolls polls once when an account's source starts, and then only
// when a test pokes it.
func slowPolls(c *screens.Config) {
	c.PollEvery = time.Hour
	c.CalendarEvery = time.Hour
}

// shownOn signs a first screen in as upn and has n-1 more screens show the
// same account (recorded as signed in, as screens that were before a
// restart), each on its dashboard with Graph's data. It returns the
// screens and the account's id.
func shownOn(t *testing.T, h *harness, upn string, n int) ([]string, string) {
	t.Helper()
	first := h.screen("Screen 1")
	h.signIn(first, upn)
	acct := accountOf(t, h, first)
	ids := []string{first}
	for i := 2; i <= n; i++ {
		sc, _, err := h.m.Open(t.Context(), fmt.Sprintf("Screen %d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.UpdateScreen(t.Context(), sc.ID, func(sc *server.Screen) error {
			sc.AccountID = acct
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := h.m.Attach(t.Context(), sc.ID, screens.Hello{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sc.ID)
	}
	for _, id := range ids[1:] { // the first one's was read by signIn
		h.wait(id, 10*time.Second, "dashboard with data", func(st wire.State) bool {
			return st.Phase == wire.PhaseDashboard && !st.Dashboard.Fresh.IsZero()
		})
	}
	return ids, acct
}

// awaitActivity waits until every screen shows the activity.
func awaitActivity(h *harness, ids []string, activity string) {
	h.t.Helper()
	for _, id := range ids {
		h.wait(id, 10*time.Second, "activity "+activity, func(st wire.State) bool {
			return st.Dashboard != nil && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == activity
		})
	}
}

// A change of an account is encoded once for all its screens that show the
// same view (time zone and privacy), however many they are: only each
// screen's own part is made per screen. Each change is one snapshot made
// by Bump, not a poll: a poll after screens moved to another zone also
// reads the calendar's window in that zone, a second snapshot whose
// encodings fell on either side of the count.
func TestOneEncodeServesEveryScreenOfAnAccountWithTheSameView(t *testing.T) {
	h := newHarness(t, slowPolls)
	const n = 30
	ids, acct := shownOn(t, h, "ada@placard.example", n)

	before := screens.Encodes(h.m)
	screens.Bump(h.m, acct)
	awaitActivity(h, ids, "1")
	if got := screens.Encodes(h.m) - before; got != 1 {
		t.Errorf("%d encodings of one change for %d screens with the same view, want 1", got, n)
	}

	// A third of the screens show Tokyo's time: two views, two encodings.
	for _, id := range ids[:n/3] {
		if _, err := h.store.UpdateScreen(t.Context(), id, func(sc *server.Screen) error {
			sc.Settings.TimeZone = "Asia/Tokyo"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := h.m.ReloadSettings(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		h.wait(id, 10*time.Second, "Tokyo's time", func(st wire.State) bool { return st.Screen.TimeZone == "Asia/Tokyo" })
	}
	before = screens.Encodes(h.m)
	screens.Bump(h.m, acct)
	awaitActivity(h, ids, "2")
	if got := screens.Encodes(h.m) - before; got != 2 {
		t.Errorf("%d encodings of one change for screens in two time zones, want 2", got)
	}
}

// Snapshots of an account made by many goroutines at once, while its
// screens reconnect (each reconnection renders the screen's latest
// snapshot on yet another goroutine): no screen is ever sent an older
// snapshot after a newer one, and each ends on the last.
func TestAnOlderSnapshotNeverOverwritesANewerOneOnAScreen(t *testing.T) {
	h := newHarness(t, slowPolls)
	ids, acct := shownOn(t, h, "grace@placard.example", 6)
	for _, id := range ids {
		for len(h.pub.states(id)) > 0 {
			<-h.pub.states(id)
		}
	}
	const writers, each = 4, 50
	last := strconv.Itoa(writers * each)

	// Each screen's states are read as they come, in order.
	errs := make(chan error, len(ids))
	var readers sync.WaitGroup
	for _, id := range ids {
		readers.Go(func() {
			seen := 0
			deadline := time.After(30 * time.Second)
			for {
				select {
				case st := <-h.pub.states(id):
					if st.Dashboard == nil || st.Dashboard.Presence == nil {
						errs <- fmt.Errorf("screen %s left its dashboard: %s", id, st.Phase)
						return
					}
					n, err := strconv.Atoi(st.Dashboard.Presence.Activity)
					if err != nil {
						continue // Graph's, from before the first change
					}
					if n < seen {
						errs <- fmt.Errorf("screen %s was sent change %d after change %d", id, n, seen)
						return
					}
					seen = n
					if st.Dashboard.Presence.Activity == last {
						return
					}
				case <-deadline:
					errs <- fmt.Errorf("screen %s ended on change %d, not %s", id, seen, last)
					return
				}
			}
		})
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range writers {
		wg.Go(func() {
			for range each {
				screens.Bump(h.m, acct)
			}
		})
	}
	// Screens reconnect meanwhile: a new connection is sent the screen's
	// state again, rendered on the connection's goroutine.
	var reconnecting sync.WaitGroup
	for _, id := range ids {
		reconnecting.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := h.m.Attach(context.Background(), id, screens.Hello{}); err != nil {
					t.Error(err)
					return
				}
				h.m.Detach(id)
			}
		})
	}
	wg.Wait()
	close(stop)
	reconnecting.Wait()
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
