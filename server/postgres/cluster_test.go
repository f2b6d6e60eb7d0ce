package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/postgres"
)

// replicas returns n clusters of one database, as n replicas see it.
func replicas(t *testing.T, n int, lease time.Duration) []*postgres.Cluster {
	t.Helper()
	url := pgtest.DB(t)
	out := make([]*postgres.Cluster, n)
	for i := range out {
		s := open(t, url)
		t.Cleanup(func() { s.Close() })
		out[i] = postgres.NewCluster(s, string(rune('a'+i)), lease, nil)
	}
	return out
}

func owns(t *testing.T, c *postgres.Cluster, acct string) bool {
	t.Helper()
	until, err := c.Own(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	return !until.IsZero()
}

func TestOneReplicaOwnsAnAccountUntilItLetsGoOrStopsRenewing(t *testing.T) {
	// The lease is long beside a round trip to a busy database, so that
	// the holder cannot lose it between two of the checks below.
	r := replicas(t, 2, 5*time.Second)
	a, b := r[0], r[1]
	if !owns(t, a, "acct") {
		t.Fatal("the first replica to ask did not get the account")
	}
	if owns(t, b, "acct") {
		t.Fatal("a second replica owns an account another holds")
	}
	if !owns(t, a, "acct") {
		t.Fatal("the owner could not renew its lease")
	}
	if !owns(t, b, "other") {
		t.Error("another account is free for the second replica")
	}
	if err := a.Release(t.Context(), "acct"); err != nil {
		t.Fatal(err)
	}
	if !owns(t, b, "acct") {
		t.Fatal("a released account was not taken over at once")
	}
	// b stops renewing: a takes the account once the lease lapsed, and
	// b's late data is refused.
	deadline := time.Now().Add(30 * time.Second)
	for !owns(t, a, "acct") {
		if time.Now().After(deadline) {
			t.Fatal("a lapsed lease was never taken over")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := b.PublishSource(t.Context(), "acct", []byte("old")); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a replica whose lease lapsed published data: %v", err)
	}
	if owner, _ := b.Owner(t.Context(), "acct"); owner != a.Replica() {
		t.Errorf("Owner = %q, want %q", owner, a.Replica())
	}
}

// A replica serves screens before its LISTEN is up: once it is, a resync
// covers what other replicas published meanwhile, which PostgreSQL does not
// queue for a connection that was not listening.
func TestChangesBeginWithAResyncOnceListening(t *testing.T) {
	r := replicas(t, 2, 10*time.Second)
	a, b := r[0], r[1]
	if err := a.PublishScreen(t.Context(), "s1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	select {
	case got := <-b.Changes(ctx):
		if got.Kind != server.ChangeResync {
			t.Errorf("first change heard %+v, want a resync", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no resync once listening: a change published before is lost until the next periodic read")
	}
}

func TestChangesReachTheOtherReplicas(t *testing.T) {
	r := replicas(t, 2, 10*time.Second)
	a, b := r[0], r[1]
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fromA, fromB := a.Changes(ctx), b.Changes(ctx)
	// LISTEN takes effect once the connection is up: publish until heard.
	if !owns(t, a, "acct") {
		t.Fatal("a does not own the account")
	}
	data := []byte(`{"name":"Ada"}`)
	heard := func(ch <-chan server.Change, want server.Change, publish func()) {
		t.Helper()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(10 * time.Second)
		publish()
		for {
			select {
			case got := <-ch:
				if got.Kind == want.Kind && got.ID == want.ID && string(got.Data) == string(want.Data) {
					return
				}
				if got.Kind != server.ChangeResync {
					t.Fatalf("heard %+v, want %+v", got, want)
				}
			case <-tick.C:
				publish()
			case <-deadline:
				t.Fatalf("%+v never heard", want)
			}
		}
	}
	heard(fromB, server.Change{Kind: server.ChangeSource, ID: "acct"}, func() {
		if err := a.PublishSource(t.Context(), "acct", data); err != nil {
			t.Fatal(err)
		}
	})
	if got, _, err := b.SourceData(t.Context(), "acct"); err != nil || string(got) != string(data) {
		t.Errorf("SourceData = %q, %v", got, err)
	}
	heard(fromA, server.Change{Kind: server.ChangeScreen, ID: "s1"}, func() {
		if err := b.PublishScreen(t.Context(), "s1"); err != nil {
			t.Fatal(err)
		}
	})
	// A command: its message, whatever it holds.
	msg := []byte(`{"type":"identify","data":{"name":"Lobby | TV","number":"482913"}}`)
	heard(fromA, server.Change{Kind: server.ChangeCommand, ID: "s1", Data: msg}, func() {
		if err := b.PublishCommand(t.Context(), "s1", msg); err != nil {
			t.Fatal(err)
		}
	})
	select {
	case got := <-fromA:
		if got.Kind != server.ChangeScreen && got.Kind != server.ChangeCommand {
			t.Errorf("a heard its own change or another: %+v", got)
		}
	case <-time.After(300 * time.Millisecond):
	}
	if _, _, err := a.SourceData(t.Context(), "nobody"); !server.IsNotFound(err) {
		t.Errorf("the data of an account nobody published: %v", err)
	}
}

func TestTheLimitOfCodesHoldsForEveryReplicaTogether(t *testing.T) {
	r := replicas(t, 3, 10*time.Second)
	allowed := 0
	var retry time.Time
	for i := range 9 {
		ok, at, err := r[i%3].AllowCode(t.Context(), 5, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		} else {
			retry = at
		}
	}
	if allowed != 5 {
		t.Errorf("%d codes allowed across three replicas, want 5", allowed)
	}
	if d := time.Until(retry); d < 30*time.Second || d > 61*time.Second {
		t.Errorf("a refused code may be asked for again in %v, want about a minute", d)
	}
}
