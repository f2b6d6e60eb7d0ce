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

// graphPolls reads a replica's count of Graph polls from /metrics.
func graphPolls(t *testing.T, m *Main) int {
	t.Helper()
	return replicaMetric(t, m, "placard_graph_polls_total")
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

func TestReplicasShowOneAccountReadByOneOwner(t *testing.T) {
	sb := startSandbox(t)
	db := pgtest.DB(t)
	a := replicaOf(t, sb, db)
	b := replicaOf(t, sb, db)

	lobby := openScreen(t, a, "Lobby TV")
	lobby.signInThrough(sb, "ada@placard.example")
	hall := openScreen(t, b, "Hall")
	hall.signInThrough(sb, "ada@placard.example")

	// One replica owns the account: it alone reads Graph.
	sc, err := a.Store.Screen(t.Context(), screenID(t, a, "Lobby TV"))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := a.Cluster.Owner(t.Context(), sc.AccountID)
	if err != nil || (owner != a.Replica && owner != b.Replica) {
		t.Fatalf("the account's owner is %q (%v), want one of the replicas", owner, err)
	}
	ownerM, other := a, b
	if owner == b.Replica {
		ownerM, other = b, a
	}
	before := graphPolls(t, other)

	// A change of presence reaches the screens of both replicas.
	sb.setPresence(t, "ada@placard.example", "DoNotDisturb", "Presenting")
	for _, s := range []*wsScreen{lobby, hall} {
		s.waitFor(15*time.Second, "Presenting", func(st wire.State) bool {
			return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
		})
	}
	// Counted at the sandbox, the account costs what it costs with one
	// replica: one batch per poll period (500 ms here), not one per
	// replica; a slow machine only polls less.
	batches := sb.requests(t, "graph /$batch")
	time.Sleep(4 * time.Second) // a window of eight poll periods
	if n := sb.requests(t, "graph /$batch") - batches; n < 1 || n > 11 {
		t.Errorf("%d Graph batches in eight poll periods of one account shown on two replicas, want at most 8 and a margin (two pollers would make 16)", n)
	}
	if n := graphPolls(t, other); n != before {
		t.Errorf("the replica that does not own the account polled Graph %d times", n-before)
	}
	if graphPolls(t, ownerM) == 0 {
		t.Error("the owner never polled Graph")
	}
	if replicaMetric(t, ownerM, "placard_accounts_owned") != 1 || replicaMetric(t, other, "placard_accounts_owned") != 0 {
		t.Errorf("accounts owned: %d by the owner, %d by the other", replicaMetric(t, ownerM, "placard_accounts_owned"), replicaMetric(t, other, "placard_accounts_owned"))
	}

	// The owner stops: the other replica takes the account over, with
	// the tokens in the database, and its screen keeps fresh data.
	if err := ownerM.Close(); err != nil {
		t.Fatal(err)
	}
	survivor := lobby
	if other == b {
		survivor = hall
	}
	sb.setPresence(t, "ada@placard.example", "BeRightBack", "BeRightBack")
	survivor.waitFor(20*time.Second, "BeRightBack after the owner stopped", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Availability == "BeRightBack"
	})
	if owner, _ := other.Cluster.Owner(t.Context(), sc.AccountID); owner != other.Replica {
		t.Errorf("after the owner stopped, the account's owner is %q", owner)
	}
	if replicaMetric(t, other, `placard_lease_changes_total{change="gained"}`) == 0 {
		t.Error("the survivor counted no lease change")
	}
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
