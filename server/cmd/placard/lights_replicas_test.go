package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/mqtt/mqtttest"
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

// Among replicas, only the one that owns the key's account sends its
// webhooks and MQTT messages: one delivery per change, not one per
// replica; and when it stops, another takes over and sends.
func TestOnlyTheOwnerOfAKeysAccountSendsItsWebhooksAndMQTTMessages(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	db := pgtest.DB(t)
	broker := mqtttest.Start(t)
	recv, got := webhookReceiver(t)
	withBroker := func(m *Main) { m.Config.MQTTURL = broker.URL() }
	a := replicaOf(t, sb, db, fastPresence, allowLoopbackWebhooks, withBroker)
	b := replicaOf(t, sb, db, fastPresence, allowLoopbackWebhooks, withBroker)
	s := openScreen(t, a, "Desk")
	s.signInThrough(sb, "grace@placard.example")
	sub := mqtttest.Subscribe(t, broker, "placard/desk/presence")
	addLight(t, a, newToken(t, a), `{"name":"desk","account":"grace@placard.example","mqtt":true,"webhooks":["`+recv.URL+`/hook"]}`)
	awaitDelivery(t, got, "Grace's presence", "Busy")

	// Each change: one delivery, one MQTT message. The next change is a
	// barrier: a second replica's copy of the one before would have come.
	count := map[string]int{}
	mqttCount := map[string]int{}
	step := func(availability string) {
		t.Helper()
		sb.setPresence(t, "grace@placard.example", availability, availability)
		deadline := time.After(15 * time.Second)
		for seen := false; !seen; {
			select {
			case d := <-got:
				var p presenceAnswer
				json.Unmarshal(d.body, &p)
				count[p.Availability]++
				seen = p.Availability == availability
			case <-deadline:
				t.Fatalf("no delivery of %s within 15 s", availability)
			}
		}
		for seen := false; !seen; {
			m := sub.Await(t, 15*time.Second, "an MQTT message", func(mqtttest.Message) bool { return true })
			var p presenceAnswer
			json.Unmarshal([]byte(m.Payload), &p)
			if !m.Retain {
				mqttCount[p.Availability]++
			}
			seen = p.Availability == availability && !m.Retain
		}
	}
	for _, availability := range []string{"Away", "Available", "DoNotDisturb", "BeRightBack"} {
		step(availability)
	}
	for _, availability := range []string{"Away", "Available", "DoNotDisturb"} {
		if count[availability] != 1 || mqttCount[availability] != 1 {
			t.Errorf("%s: %d webhook deliveries and %d MQTT messages, want one of each (from the account's owner only)",
				availability, count[availability], mqttCount[availability])
		}
	}

	// The owner stops: the other replica takes the account over, and
	// sends.
	owner, other := a, b
	if int(metric(t, scrape(t, b), "placard_accounts_owned")) == 1 {
		owner, other = b, a
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	sb.setPresence(t, "grace@placard.example", "Busy", "InACall")
	awaitDelivery(t, got, "the change after the owner stopped", "Busy")
	if n := int(metric(t, scrape(t, other), "placard_accounts_owned")); n != 1 {
		t.Errorf("the replica left owns %d accounts", n)
	}
}
