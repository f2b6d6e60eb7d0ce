package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/sandbox"
)

// enroll approves a waiting screen with the command line, on the
// replicas' database.
func enroll(t *testing.T, s *wsScreen, dbURL string) {
	t.Helper()
	approveOn(t, dbURL, s.waitPhase(15*time.Second, wire.PhasePairing).Pairing.Number)
}

// approveOn approves the waiting screen that shows a pairing number with
// the command line, on the replicas' database, as an administrator does.
func approveOn(t *testing.T, dbURL, number string) {
	t.Helper()
	var out strings.Builder
	if err := run(t.Context(), []string{"screens", "approve", number, "-database", dbURL}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("approving %s: %v\n%s", number, err, out.String())
	}
}

// requests reads the sandbox's count of requests of one endpoint.
func (sb *standalone) requests(t *testing.T, endpoint string) int {
	t.Helper()
	counts, err := sb.ctl.Requests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return counts[endpoint]
}

// notifier is closed and replaced at each change of what it guards.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next change.
func (s *notifier) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *notifier) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// leaseLog is a replica's log (JSON lines): it passes each line on to the
// test's log, and follows the "account lease" lines, written when the
// replica gains or loses an account's lease, to know which accounts it
// owns. A replica that stops writes none: the test knows it stopped.
type leaseLog struct {
	t       *testing.T
	changed *notifier // shared by the replicas started together

	mu      sync.Mutex
	partial []byte // the start of a line not yet written whole
	owned   map[string]bool
}

func (l *leaseLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		line, rest, ok := bytes.Cut(l.partial, []byte("\n"))
		if !ok {
			break
		}
		l.t.Log(string(line))
		var rec struct {
			Msg     string `json:"msg"`
			Account string `json:"account"`
			Owned   bool   `json:"owned"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "account lease" {
			l.owned[rec.Account] = rec.Owned
			l.changed.fire()
		}
		l.partial = append(l.partial[:0], rest...)
	}
	return len(b), nil
}

// accounts is how many accounts the replica owns, as its log says.
func (l *leaseLog) accounts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, owned := range l.owned {
		if owned {
			n++
		}
	}
	return n
}

// owner waits until one of the replicas that run (started together) owns
// the one account they show, as the line of its log that says it gained
// the lease tells, and returns its index.
func owner(t *testing.T, replicas []*proc, within time.Duration) int {
	t.Helper()
	timeout := time.After(within)
	for {
		changed := replicas[0].leases.changed.wait()
		for i, r := range replicas {
			if r.running() && r.leases.accounts() == 1 {
				return i
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no replica owns the account after %v", within)
		}
	}
}

// graphLog reads the sandbox's log of the last Graph requests made with
// a user's tokens.
func (sb *standalone) graphLog(t *testing.T, upn string) []sandbox.GraphRequest {
	t.Helper()
	log, err := sb.ctl.UserRequests(t.Context(), upn)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// lastGraphRequest is the number of the last Graph request made with a
// user's tokens, 0 when none was.
func (sb *standalone) lastGraphRequest(t *testing.T, upn string) int {
	t.Helper()
	log := sb.graphLog(t, upn)
	if len(log) == 0 {
		return 0
	}
	return log[len(log)-1].Seq
}

// graphPoll is one poll of an account as the sandbox saw it: a $batch,
// and the requests in it.
type graphPoll struct {
	at       time.Time
	requests []string
}

// awaitPolls waits until the sandbox has seen n polls of a user's account
// (a $batch each) after its Graph request number after, and returns them.
// A poll is complete when the next one begins, so it waits for n+1.
func (sb *standalone) awaitPolls(t *testing.T, upn string, after, n int, within time.Duration) []graphPoll {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	var polls []graphPoll
	for seen := after; len(polls) <= n; {
		log, err := sb.ctl.UserRequestsAfter(ctx, upn, seen)
		if err != nil {
			t.Fatalf("%d polls of %s's account in %v, want %d: %v", len(polls), upn, within, n+1, err)
		}
		if len(log) > 0 && log[0].Seq > seen+1 {
			t.Fatalf("the sandbox no longer lists %s's Graph requests after number %d: read them more often", upn, seen)
		}
		for _, r := range log {
			switch {
			case r.Endpoint == "graph /$batch":
				polls = append(polls, graphPoll{at: r.At})
			case len(polls) == 0:
				// The rest of a batch that began at or before the mark.
			default:
				polls[len(polls)-1].requests = append(polls[len(polls)-1].requests, r.Endpoint)
			}
			seen = r.Seq
		}
	}
	return polls[:n]
}

// checkPolls checks polls of one account against the poll period: one
// poller waits a whole period after each poll before the next, and reads
// the presence once a poll; a second one would make a gap of half a period
// or less. It returns the shortest and the mean gap.
func checkPolls(t *testing.T, what string, polls []graphPoll, period time.Duration) (shortest, mean time.Duration) {
	t.Helper()
	shortest = time.Hour
	for i, p := range polls {
		if n := strings.Count(strings.Join(p.requests, " "), "graph /me/presence"); n != 1 {
			t.Errorf("%s: poll %d read the presence %d times (%v), want once", what, i+1, n, p.requests)
		}
		if i > 0 {
			shortest = min(shortest, p.at.Sub(polls[i-1].at))
		}
	}
	mean = polls[len(polls)-1].at.Sub(polls[0].at) / time.Duration(len(polls)-1)
	if shortest < period*95/100 {
		t.Errorf("%s: two polls of the account %v apart, with a poll period of %v: more than one replica polls it", what, shortest.Round(time.Millisecond), period)
	}
	if mean > 3*period {
		t.Errorf("%s: the account was polled every %v on average, with a poll period of %v", what, mean.Round(time.Millisecond), period)
	}
	return shortest, mean
}

func TestReplicaProcessesPollEachAccountOnceShareOneSchemaAndFailOver(t *testing.T) {
	t.Parallel()
	const (
		ada    = "ada@placard.example"
		period = time.Second
		polls  = 5
	)
	fast := []string{"-poll-every", period.String(), "-presence-every", period.String()}
	sb := startSandboxProc(t)
	soloDB, db := pgtest.DB(t), pgtest.DB(t)

	// One replica alone: the account's polls as the sandbox counts them.
	var solo []graphPoll
	t.Run("one replica polls an account once per poll period", func(t *testing.T) {
		r := startReplicaProcs(t, 1, sb, soloDB, fast...)[0]
		s := openScreen(t, r.server(), "Solo")
		enroll(t, s, soloDB)
		s.signInThrough(sb, ada)
		solo = sb.awaitPolls(t, ada, sb.lastGraphRequest(t, ada), polls, 30*polls*period)
		shortest, mean := checkPolls(t, "one replica", solo, period)
		t.Logf("one replica: %d polls of the account, %v apart at least, %v on average (poll period %v)", len(solo), shortest.Round(time.Millisecond), mean.Round(time.Millisecond), period)
		r.kill()
	})

	// Three replicas start at once on an empty database.
	replicas := startReplicaProcs(t, 3, sb, db, fast...)
	t.Run("three replicas started at once make one schema", func(t *testing.T) {
		conn, err := pgx.Connect(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var rows int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("schema_version has %d rows (%v), want one", rows, err)
		}
	})

	// Three screens of one account, one on each replica.
	names := []string{"Lobby TV", "Hall", "Foyer"}
	screensOf := make([]*wsScreen, len(replicas)) // by replica
	on := make([]int, len(replicas))              // the replica each screen is connected to now
	for i, r := range replicas {
		on[i] = i
		screensOf[i] = openScreen(t, r.server(), names[i])
		enroll(t, screensOf[i], db)
		screensOf[i].signInThrough(sb, ada)
	}
	signIns := sb.requests(t, "devicecode")
	own := owner(t, replicas, 15*time.Second)

	t.Run("three replicas poll an account shown on each as one does", func(t *testing.T) {
		before := make([]int, len(replicas))
		for i, r := range replicas {
			before[i] = r.metric(t, "placard_graph_polls_total")
		}
		cluster := sb.awaitPolls(t, ada, sb.lastGraphRequest(t, ada), polls, 30*polls*period)
		shortest, mean := checkPolls(t, "three replicas", cluster, period)
		t.Logf("three replicas: %d polls of the account, %v apart at least, %v on average (poll period %v)", len(cluster), shortest.Round(time.Millisecond), mean.Round(time.Millisecond), period)
		if solo != nil {
			rate := func(p []graphPoll) float64 {
				return float64(len(p)-1) * period.Seconds() / p[len(p)-1].at.Sub(p[0].at).Seconds()
			}
			t.Logf("$batch per poll period: %.2f with one replica, %.2f with three", rate(solo), rate(cluster))
		}
		for i, r := range replicas {
			n := r.metric(t, "placard_graph_polls_total") - before[i]
			switch {
			case i == own && n < polls:
				t.Errorf("the owner counted %d polls while the sandbox saw %d", n, polls)
			case i != own && n != 0:
				t.Errorf("replica %d, which does not own the account, polled Graph %d times", i, n)
			}
		}
	})

	t.Run("a presence change reaches every screen of the account", func(t *testing.T) {
		sb.setPresence(t, ada, "Busy", "InACall")
		changed := time.Now()
		for i, s := range screensOf {
			s.waitFor(15*time.Second, "InACall", func(st wire.State) bool {
				return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "InACall"
			})
			t.Logf("the change reached %q on replica %d after %v", s.name, i, time.Since(changed).Round(time.Millisecond))
		}
	})

	took := -1 // the owner after the failover
	// The tokens expire, and the owner dies (most likely before it reads
	// Graph again): another replica takes the account, the account is
	// refreshed once across the cluster, and the screens (the dead
	// replica's reconnected to the others) show fresh data without a new
	// sign-in.
	t.Run("a killed owner's account is taken over with no new sign-in", func(t *testing.T) {
		refreshes := sb.requests(t, "token refresh_token")
		if _, err := sb.ctl.Advance(t.Context(), 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		sb.setPresence(t, ada, "DoNotDisturb", "Presenting")
		killed := time.Now()
		replicas[own].kill()
		survivor := (own + 1) % len(replicas)
		screensOf[own].reconnect(replicas[survivor].server())
		on[own] = survivor
		took = owner(t, replicas, 15*time.Second)
		t.Logf("replica %d owns the account %v after replica %d was killed", took, time.Since(killed).Round(100*time.Millisecond), own)
		for _, s := range screensOf {
			s.waitFor(30*time.Second, "fresh data after the failover", func(st wire.State) bool {
				return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
			})
		}
		if n := sb.requests(t, "devicecode"); n != signIns {
			t.Errorf("%d new device codes after the failover: the account had to sign in again", n-signIns)
		}
		if n := sb.requests(t, "token refresh_token") - refreshes; n != 1 {
			t.Errorf("the account was refreshed %d times across the cluster after its tokens expired, want once", n)
		}
	})
	// An upgrade stops the new owner with SIGTERM: it gives the account
	// up, and the last replica takes it before the lease could have
	// lapsed (the lease outlives the last renewal by LeaseTTL less at
	// most a renewal period).
	t.Run("a replica stopped with SIGTERM hands its account over at once", func(t *testing.T) {
		if took < 0 {
			t.Skip("no replica took the account over")
		}
		last := 3 - own - took
		gained := replicas[last].metric(t, `placard_lease_changes_total{change="gained"}`)
		sb.setPresence(t, ada, "Away", "Away")
		stopped := time.Now()
		if err := replicas[took].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		owner(t, replicas[last:last+1], 15*time.Second)
		handover := time.Since(stopped)
		t.Logf("replica %d owns the account %v after replica %d was stopped", last, handover.Round(100*time.Millisecond), took)
		if bound := LeaseTTL - 3*time.Second; handover >= bound {
			t.Errorf("the account was taken over %v after its owner stopped: the lease lapsed instead of being given up (%v at most)", handover, bound)
		}
		if err := replicas[took].wait(); err != nil {
			t.Errorf("the stopped replica: %v, want a clean exit", err)
		}
		if n := replicas[last].metric(t, `placard_lease_changes_total{change="gained"}`); n != gained+1 {
			t.Errorf("the last replica counted %d leases gained, want one more than %d", n, gained)
		}
		for i, s := range screensOf {
			if on[i] != last {
				s.reconnect(replicas[last].server())
				on[i] = last
			}
			s.waitFor(30*time.Second, "fresh data after the handover", func(st wire.State) bool {
				return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Availability == "Away"
			})
		}
	})
}
