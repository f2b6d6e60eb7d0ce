package screens_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// replicas are edge servers on one sandbox, one store and one cluster,
// each with its own log.
type replicas struct {
	cluster *memCluster
	logs    map[string]*logWatch
}

// asReplica makes a harness's manager replica name of the cluster, with
// leases renewed quickly and polls every 200 ms.
func (rs *replicas) asReplica(name string) func(*screens.Config) {
	log := newLogWatch()
	rs.logs[name] = log
	return func(c *screens.Config) {
		c.Cluster = rs.cluster.replica(name)
		c.LeaseRenew = 100 * time.Millisecond
		c.Log = log.logger()
		fastPolls(c)
	}
}

func newReplicas() *replicas {
	return &replicas{cluster: newMemCluster(time.Second), logs: map[string]*logWatch{}}
}

// refreshHold holds a replica's refresh-token requests at its transport,
// as a replica paused in the middle of a refresh would, until released.
type refreshHold struct {
	held    chan struct{} // closed when the first is held
	release chan struct{}
	once    sync.Once
	free    sync.Once
}

func holdRefreshes(t *testing.T, h *harness) *refreshHold {
	rh := &refreshHold{held: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(rh.let) // before the manager's Close, which waits for it
	h.sent.mu.Lock()
	defer h.sent.mu.Unlock()
	h.sent.before = func(r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") || r.Body == nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !strings.Contains(string(body), "grant_type=refresh_token") {
			return
		}
		rh.once.Do(func() { close(rh.held) })
		<-rh.release
	}
	return rh
}

func (rh *refreshHold) await(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-rh.held:
	case <-time.After(within):
		t.Fatalf("no refresh within %v", within)
	}
}

// let sends what is held, and every refresh after.
func (rh *refreshHold) let() { rh.free.Do(func() { close(rh.release) }) }

// showOn shows an account on a new screen of a harness, as a screen of the
// account's that connects to that replica does.
func showOn(t *testing.T, h *harness, name, accountID string) string {
	t.Helper()
	ctx := context.Background()
	sc, _, err := h.m.Open(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.UpdateScreen(ctx, sc.ID, func(s *server.Screen) error { s.AccountID = accountID; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Attach(ctx, sc.ID, screens.Hello{}); err != nil {
		t.Fatal(err)
	}
	return sc.ID
}

// A replica that cannot open an account's token cache (sealed with
// another key) gives the account's lease up, says so in its log, and a
// replica that can open it takes over: the account's screens on both get
// its data again.
func TestAReplicaThatCannotOpenAnAccountsTokensGivesItsLeaseUp(t *testing.T) {
	rs := newReplicas()
	a := newHarness(t, rs.asReplica("a"))
	b := a.replica(newBox(t), rs.asReplica("b")) // another key
	onA := a.screen("Lobby TV")
	a.signIn(onA, "ada@placard.example")
	acct := accountOf(t, a, onA)
	rs.cluster.awaitOwner(t, acct, "a", 5*time.Second)
	// Ada signs in again on b's screen: her cache is sealed with b's key
	// now, which a cannot open.
	onB := b.screen("Hall TV")
	b.signIn(onB, "ada@placard.example")

	line, _ := rs.logs["a"].await(t, 0, 10*time.Second, "cannot open an account's token cache")
	if !strings.Contains(line, "ada@placard.example") {
		t.Errorf("the log line names no account: %s", line)
	}
	rs.cluster.awaitOwner(t, acct, "b", 10*time.Second)
	// b polls her now, and a's screen shows what b reads.
	if err := a.sb.SetPresence("ada@placard.example", "DoNotDisturb", "Presenting"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		h  *harness
		id string
	}{{a, onA}, {b, onB}} {
		s.h.wait(s.id, 15*time.Second, "the new presence", func(st wire.State) bool {
			return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting" && !st.Dashboard.Stale
		})
	}
}

// A replica whose refresh is refused does not end the account when the
// refusal says nothing of the account as it is now: another sign-in
// replaced its session while the refresh was on its way (the refused
// token was an old session's), or another replica owns the account by
// then (its lease lapsed while it was paused). Ending it there would sign
// the account out of every screen and delete tokens that work.
func TestARefusedRefreshEndsNoAccountItDoesNotSpeakFor(t *testing.T) {
	t.Run("a new sign-in replaced the session", func(t *testing.T) {
		rs := newReplicas()
		a := newHarnessOn(t, sandbox.Options{AccessTokenLifetime: 2 * time.Second}, rs.asReplica("a"))
		b := a.replica(nil, rs.asReplica("b"))
		onA := a.screen("Lobby TV")
		a.signIn(onA, "ada@placard.example")
		acct := accountOf(t, a, onA)
		rs.cluster.awaitOwner(t, acct, "a", 5*time.Second)

		hold := holdRefreshes(t, a)
		hold.await(t, 10*time.Second)
		// Her password is reset, and she signs in again, on b's screen.
		if err := a.sb.Revoke("ada@placard.example"); err != nil {
			t.Fatal(err)
		}
		onB := b.screen("Hall TV")
		b.signIn(onB, "ada@placard.example")
		from := rs.logs["a"].count()
		hold.let() // a's refresh of the old session is refused
		line, _ := rs.logs["a"].await(t, from, 10*time.Second, "an account's session ended", "reading Microsoft Graph")
		if strings.HasPrefix(line, "an account's session ended") {
			t.Fatalf("a ended the account her new sign-in renewed: %s", line)
		}
		// a reads the new session's tokens and polls on.
		if err := a.sb.SetPresence("ada@placard.example", "DoNotDisturb", "Presenting"); err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			h  *harness
			id string
		}{{a, onA}, {b, onB}} {
			s.h.wait(s.id, 15*time.Second, "the new presence", func(st wire.State) bool {
				return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
			})
		}
		if _, err := a.store.TokenCache(context.Background(), acct); err != nil {
			t.Errorf("her tokens: %v", err)
		}
	})

	t.Run("another replica owns the account", func(t *testing.T) {
		rs := newReplicas()
		a := newHarnessOn(t, sandbox.Options{AccessTokenLifetime: 2 * time.Second}, rs.asReplica("a"))
		b := a.replica(nil, rs.asReplica("b"))
		onA := a.screen("Lobby TV")
		a.signIn(onA, "ada@placard.example")
		acct := accountOf(t, a, onA)
		rs.cluster.awaitOwner(t, acct, "a", 5*time.Second)
		onB := showOn(t, b, "Hall TV", acct)
		b.waitPhase(onB, 10*time.Second, wire.PhaseDashboard)

		holdA, holdB := holdRefreshes(t, a), holdRefreshes(t, b)
		holdA.await(t, 10*time.Second)
		// a is cut off while its refresh is on its way: its lease lapses,
		// and b takes the account over (its own refresh waits).
		from := rs.logs["a"].count()
		rs.cluster.cutOff("a")
		rs.logs["a"].await(t, from, 10*time.Second, "owned=false")
		rs.cluster.awaitOwner(t, acct, "b", 10*time.Second)
		if err := a.sb.Revoke("ada@placard.example"); err != nil {
			t.Fatal(err)
		}
		from = rs.logs["a"].count()
		holdA.let()
		line, _ := rs.logs["a"].await(t, from, 10*time.Second, "an account's session ended", "no longer owns the account")
		if strings.HasPrefix(line, "an account's session ended") {
			t.Fatalf("a, which no longer owns the account, ended it: %s", line)
		}
		// Her session did end: the owner says so, and both screens
		// return to signing in.
		holdB.let()
		rs.logs["b"].await(t, 0, 10*time.Second, "an account's session ended")
		for _, s := range []struct {
			h  *harness
			id string
		}{{a, onA}, {b, onB}} {
			// The owner's screens say why; another replica's hear that
			// the account was signed out.
			st := s.h.waitPhase(s.id, 10*time.Second, wire.PhaseError)
			if st.Problem.Kind != wire.ProblemRefreshFailed && st.Problem.Kind != wire.ProblemSignedOut {
				t.Errorf("screen %s shows %+v", s.id, st.Problem)
			}
		}
	})
}
