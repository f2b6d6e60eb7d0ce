package main

import (
	"net/http"
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
			c.PollEvery = 500 * time.Millisecond
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
	if err := sb.ctl.SetPresence(t.Context(), upn, availability, activity); err != nil {
		t.Fatal(err)
	}
}

func TestAdministratorsActOnAScreenOfAnotherReplicaWithinTwoSeconds(t *testing.T) {
	sb := startSandbox(t)
	db := pgtest.DB(t)
	a := replicaOf(t, sb, db)
	b := replicaOf(t, sb, db, func(m *Main) {
		m.Config.AutoEnroll = false
		inner := m.Tune
		m.Tune = func(c *screens.Config) {
			inner(c)
			// Only word from the other replica can enroll the screen
			// within the bound: its own look at its record comes a
			// minute late.
			c.EnrollPoll = time.Minute
		}
	})
	token := newToken(t, a)
	// act makes an administrator's request on a. The bound runs from its
	// answer to the frame on b; the frame may come first (the answer
	// waits for the word to the other replicas), so the time from the
	// request is said too.
	type request struct{ sent, answered time.Time }
	act := func(what, method, path, body string) request {
		t.Helper()
		r := request{sent: time.Now()}
		if status, answer := call(t, a, token, method, path, body); status != http.StatusOK {
			t.Fatalf("%s on replica A: %d %v", what, status, answer)
		}
		r.answered = time.Now()
		return r
	}
	const within, patience = 2 * time.Second, 15 * time.Second
	took := func(what string, r request) {
		t.Helper()
		if d := time.Since(r.answered); d > within {
			t.Errorf("%s on replica A took %v after its answer to reach the screen on replica B, want %v at most", what, d, within)
		}
		t.Logf("%s on replica A reached the screen on replica B within %v of the request (answered in %v)",
			what, time.Since(r.sent).Round(time.Millisecond), r.answered.Sub(r.sent).Round(time.Millisecond))
	}

	// Approved on a: the screen on b asks for a code.
	hall := openScreen(t, b, "Hall")
	number := hall.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number
	req := act("the approval", "POST", "/admin/api/screens/approve", `{"pairing_number":"`+number+`"}`)
	code := hall.waitPhase(patience, wire.PhaseCode).Code.UserCode
	took("the approval", req)
	id := screenID(t, b, "Hall")

	// Renamed on a: shown on b.
	req = act("the rename", "PUT", "/admin/api/screens/"+id+"/name", `{"name":"Great Hall"}`)
	hall.waitFor(patience, "the new name", func(st wire.State) bool { return st.Screen.Name == "Great Hall" })
	took("the rename", req)

	// Signed out on a: the screen on b goes back to signing in.
	sb.approve(t, code, "grace@placard.example")
	hall.waitFor(30*time.Second, "the dashboard", func(st wire.State) bool { return st.Phase == wire.PhaseDashboard })
	req = act("the sign-out", "POST", "/admin/api/screens/"+id+"/sign-out", "")
	hall.waitFor(patience, "the sign-out", func(st wire.State) bool { return st.Phase != wire.PhaseDashboard })
	took("the sign-out", req)

	// Revoked on a: the screen's connection to b is denied and closed.
	raw := dialRaw(t, b, hall.client, "Hall")
	raw.next(t, "a state", func(m wire.Message) bool { _, ok := m.(wire.State); return ok })
	req = act("the revocation", "POST", "/admin/api/screens/"+id+"/revoke", "")
	raw.next(t, "a denial", func(m wire.Message) bool { _, ok := m.(wire.Denied); return ok })
	took("the revocation", req)
}
