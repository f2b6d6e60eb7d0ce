package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/screens"
)

// replicaOf starts an edge server on a PostgreSQL database shared with
// others, pointed at a placard sandbox shared with them too: a replica.
func replicaOf(t *testing.T, sb *standalone, dbURL string, tune ...func(*Main)) *Main {
	t.Helper()
	quick := func(m *Main) {
		m.Config.AutoEnroll = true
		inner := m.Tune
		m.Tune = func(c *screens.Config) {
			inner(c)
			c.LeaseRenew = 300 * time.Millisecond
			c.PresenceEvery = 500 * time.Millisecond
		}
	}
	all := append([]func(*Main){pointedAt(sb), onPostgres(dbURL), quick}, tune...)
	return testServer(t, all...)
}

// signInThrough signs a screen in by approving its code on the sandbox's
// phone page, and waits for its dashboard with data.
func (s *wsScreen) signInThrough(sb *standalone, upn string) wire.State {
	s.t.Helper()
	code := s.waitPhase(15*time.Second, wire.PhaseCode).Code.UserCode
	sb.approve(s.t, code, upn)
	return s.waitFor(30*time.Second, "dashboard with data", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && !st.Dashboard.Fresh.IsZero()
	})
}

// setPresence changes a user's presence in the sandbox, as Teams would.
func (sb *standalone) setPresence(t *testing.T, upn, availability, activity string) {
	t.Helper()
	body := `{"availability":"` + availability + `","activity":"` + activity + `"}`
	res, err := sb.client.Post(sb.URL+"/sandbox/api/users/"+upn+"/presence", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("setting %s's presence: %s", upn, res.Status)
	}
}

// replicaMetric reads one of a replica's metrics.
func replicaMetric(t *testing.T, m *Main, name string) int {
	t.Helper()
	res, err := http.Get(m.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return int(metric(t, string(b), name))
}

func TestAdministratorsActOnAScreenOfAnotherReplica(t *testing.T) {
	sb := startSandbox(t)
	db := pgtest.DB(t)
	a := replicaOf(t, sb, db)
	b := replicaOf(t, sb, db, func(m *Main) {
		m.Config.AutoEnroll = false
		inner := m.Tune
		m.Tune = func(c *screens.Config) {
			inner(c)
			// Only word from the other replica can enroll the screen
			// quickly: its own look at its record comes a minute late.
			c.EnrollPoll = time.Minute
		}
	})
	const within = 2 * time.Second

	// Approved on a, the screen on b asks for a code at once (not at its
	// next look at its record).
	hall := openScreen(t, b, "Hall")
	number := hall.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number
	start := time.Now()
	if _, err := a.Screens.Approve(t.Context(), number, "the test"); err != nil {
		t.Fatal(err)
	}
	code := hall.waitPhase(15*time.Second, wire.PhaseCode).Code.UserCode
	t.Logf("approval reached the other replica in %v", time.Since(start))
	id := screenID(t, b, "Hall")

	// Renamed on a: shown on b.
	if _, err := a.Screens.Rename(t.Context(), id, "Great Hall", "the test"); err != nil {
		t.Fatal(err)
	}
	hall.waitFor(within, "the new name", func(st wire.State) bool { return st.Screen.Name == "Great Hall" })

	// Signed out on a: the screen on b goes back to signing in.
	sb.approve(t, code, "grace@placard.example")
	hall.waitFor(30*time.Second, "the dashboard", func(st wire.State) bool { return st.Phase == wire.PhaseDashboard })
	start = time.Now()
	if _, err := a.Screens.SignOut(t.Context(), id, "the test"); err != nil {
		t.Fatal(err)
	}
	hall.waitFor(within, "the sign-out", func(st wire.State) bool { return st.Phase != wire.PhaseDashboard })
	t.Logf("sign-out reached the other replica in %v", time.Since(start))

	// Revoked on a: the screen's connection to b is denied and closed.
	raw := dialRaw(t, b, hall.client, "Hall")
	raw.next(t, "a state", func(m wire.Message) bool { _, ok := m.(wire.State); return ok })
	start = time.Now()
	if _, err := a.Screens.Revoke(t.Context(), id, "the test"); err != nil {
		t.Fatal(err)
	}
	raw.next(t, "a denial", func(m wire.Message) bool { _, ok := m.(wire.Denied); return ok })
	if d := time.Since(start); d > within {
		t.Errorf("the revocation took %v to reach the other replica", d)
	}
}
