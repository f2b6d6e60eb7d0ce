package main

import (
	"testing"
	"time"

	"github.com/placard/placard/server/internal/pgtest"
)

// A replica that does not own an account serves, from its first event,
// the presence its light last had: never PresenceUnknown (a light going
// dark) while the account has one.
func TestANewReplicasFirstEventIsTheAccountsPresenceNotUnknown(t *testing.T) {
	sb := startSandbox(t)
	db := pgtest.DB(t)
	a := replicaOf(t, sb, db, fastPresence)
	s := openScreen(t, a, "Desk")
	s.signInThrough(sb, "grace@placard.example")
	_, key := addLight(t, a, newToken(t, a), `{"name":"desk","account":"grace@placard.example"}`)
	before, _ := awaitPresence(t, a, key, 15*time.Second, "Grace's presence on a", func(p presenceAnswer) bool { return !p.Stale && p.Availability == "Busy" })

	// Kept in the store by a (the replica that saw it first).
	awaitStored(t, a, "desk", "Busy")

	// b starts now: its first event comes before it has read anything of
	// the account.
	b := replicaOf(t, sb, db, fastPresence)
	events, _ := openStream(t, b, key, "")
	_, first := nextEvent(t, events, 10*time.Second, "the first event on b")
	if first.Availability != "Busy" || first.Color != "#C4314B" || !first.Updated.Equal(before.Updated) {
		t.Errorf("b's first event: %+v, want Busy (red) updated %v, as a serves it", first, before.Updated)
	}
}

// awaitStored waits until the store keeps availability as the last
// presence of the light key named name.
func awaitStored(t *testing.T, m *Main, name, availability string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all, err := m.Store.Lights(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range all {
			if l.Name == name && l.LastPresence.Availability == availability {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store does not keep %s's presence %s within 10 s: %+v", name, availability, all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A key made on one replica and read at once on another, which has not
// followed the account yet: the stream's first event is the account's
// presence, not PresenceUnknown.
func TestAStreamOnAReplicaThatDoesNotOwnTheAccountStartsWithItsPresence(t *testing.T) {
	sb := startSandbox(t)
	db := pgtest.DB(t)
	a := replicaOf(t, sb, db, fastPresence)
	b := replicaOf(t, sb, db, fastPresence)
	s := openScreen(t, a, "Desk")
	s.signInThrough(sb, "grace@placard.example")
	_, key := addLight(t, a, newToken(t, a), `{"name":"desk","account":"grace@placard.example"}`)
	events, _ := openStream(t, b, key, "")
	_, first := nextEvent(t, events, 10*time.Second, "the first event on b")
	if first.Availability != "Busy" || first.Color != "#C4314B" {
		t.Errorf("b's first event: %+v, want Busy (red): the account's presence, read by a", first)
	}
}
