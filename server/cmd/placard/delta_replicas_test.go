package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/screens"
)

// A replica that takes an account over continues its calendar's rounds of
// delta from the deltaLink and events its last owner stored in PostgreSQL:
// the sandbox's log shows no first round of the window after the owner
// stopped, and the events read before stay on the screen.
func TestAReplicaThatTakesAnAccountOverContinuesItsCalendarFromTheStoredDeltaLink(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	db := pgtest.DB(t)
	calendarEvery := func(m *Main) {
		inner := m.Tune
		m.Tune = func(c *screens.Config) {
			inner(c)
			c.PollEvery, c.CalendarEvery = 2*time.Second, 500*time.Millisecond
		}
	}
	a := replicaOf(t, sb, db, calendarEvery)
	b := replicaOf(t, sb, db, calendarEvery)
	onA := openScreen(t, a, "Lobby door")
	onA.signInThrough(sb, lobby)
	onB := openScreen(t, b, "Lobby door, inside")
	onB.signInThrough(sb, lobby)
	sc, err := a.Store.Screen(t.Context(), screenID(t, a, "Lobby door"))
	if err != nil {
		t.Fatal(err)
	}

	shows := func(st wire.State, id string) bool {
		return st.Dashboard != nil && st.Dashboard.Agenda != nil &&
			slices.ContainsFunc(st.Dashboard.Agenda.Today, func(e wire.Event) bool { return e.ID == id && !e.Cancelled })
	}
	book := func(subject string, minutes int) string {
		t.Helper()
		start := time.Now().Add(time.Duration(minutes) * time.Minute).UTC().Truncate(time.Minute)
		ev, err := sb.ctl.BookAs(t.Context(), lobby, "ada@placard.example", map[string]any{"subject": subject,
			"start": map[string]string{"dateTime": start.Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
			"end":   map[string]string{"dateTime": start.Add(15 * time.Minute).Format("2006-01-02T15:04:05"), "timeZone": "UTC"}})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(ev["id"])
	}
	before := book("Walk-through", 5)
	for _, s := range []*wsScreen{onA, onB} {
		s.waitFor(10*time.Second, "the booking", func(st wire.State) bool { return shows(st, before) })
	}
	eventually(t, 10*time.Second, "the rounds stored with the booking", func() (bool, string) {
		st, err := a.Store.CalendarSync(t.Context(), sc.AccountID)
		return err == nil && strings.Contains(string(st.Events), before), fmt.Sprintf("version %d, %v", st.Version, err)
	})

	owner, other, onOther := a, b, onB
	if int(metric(t, scrape(t, b), "placard_accounts_owned")) == 1 {
		owner, other, onOther = b, a, onA
	}
	log, err := sb.ctl.UserRequests(t.Context(), lobby)
	if err != nil || len(log) == 0 {
		t.Fatalf("the lobby's requests: %v %v", log, err)
	}
	mark := log[len(log)-1].Seq
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	after := book("Review", 25)
	onOther.waitFor(15*time.Second, "the booking made after the owner stopped", func(st wire.State) bool {
		if shows(st, after) && !shows(st, before) {
			t.Fatalf("the new owner went on without the events stored: %+v", st.Dashboard.Agenda)
		}
		return shows(st, after)
	})
	if n := int(metric(t, scrape(t, other), "placard_accounts_owned")); n != 1 {
		t.Errorf("the replica left owns %d accounts", n)
	}
	since, err := sb.ctl.UserRequestsAfter(t.Context(), lobby, mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(since) > 0 && since[0].Seq > mark+1 {
		t.Fatalf("the sandbox no longer lists the lobby's requests after %d", mark)
	}
	rounds := 0
	for _, r := range since {
		if r.Endpoint != "graph /me/calendarView/delta" {
			continue
		}
		rounds++
		if r.Round != "next" {
			t.Errorf("request %d read the window again (%s round) after the owner stopped", r.Seq, r.Round)
		}
	}
	if rounds == 0 {
		t.Error("no round of delta after the owner stopped")
	}
}
