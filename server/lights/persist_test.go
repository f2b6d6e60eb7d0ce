package lights_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/secret"
)

// A webhook secret is kept sealed with the server's key: a copy of the
// database forges no webhook, and a server with another key sends none.
func TestAWebhookSecretIsKeptSealed(t *testing.T) {
	srv, got := receiver(t, nil)
	store := newStore(t)
	made, err := lights.Create(t.Context(), store, testBox, lights.New{Name: "desk", Account: "ada@placard.example", Webhooks: []string{srv.URL + "/hook"}}, "test", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.Light(t.Context(), made.Light.ID)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(made.WebhookSecret, "whsec_"))
	if !secret.Sealed(stored.WebhookSecret) || bytes.Contains(stored.WebhookSecret, []byte(made.WebhookSecret)) ||
		bytes.Contains(stored.WebhookSecret, []byte(strings.TrimPrefix(made.WebhookSecret, "whsec_"))) || bytes.Contains(stored.WebhookSecret, key) {
		t.Fatalf("the store keeps the webhook secret unsealed: %q", stored.WebhookSecret)
	}
	if _, err := lights.Create(t.Context(), store, nil, lights.New{Name: "lamp", Account: "ada@placard.example", Webhooks: []string{srv.URL}}, "test", time.Now(), nil); err == nil || !strings.Contains(err.Error(), "PLACARD_KEY") {
		t.Errorf("a key with webhooks and no box to seal with: %v", err)
	}

	// Another server's key: the secret does not open, nothing is sent.
	other, _ := secret.NewBox(bytes.Repeat([]byte{7}, secret.KeySize))
	logged := make(lines, 64)
	wrong := lights.NewService(lights.Config{Store: store, Box: other, Follow: (&accounts{}).follow, Log: slogTo(logged),
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: time.Hour, Timeout: 5 * time.Second, Attempts: 1, RetryWait: time.Millisecond}})
	if err := wrong.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	awaitLog(t, logged, "does not open with this server's key")
	wrong.Close()
	select {
	case r := <-got:
		t.Fatalf("a webhook went out with a secret that did not open: %s", r.header)
	default:
	}

	// The server's own key: it opens, and deliveries verify.
	right := lights.NewService(lights.Config{Store: store, Box: testBox, Follow: (&accounts{}).follow,
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: time.Hour, Timeout: 5 * time.Second, Attempts: 1, RetryWait: time.Millisecond}})
	if err := right.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer right.Close()
	select {
	case r := <-got:
		if err := verifyStandard(made.WebhookSecret, r.header, r.body); err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
}

// A secret stored in plain text before secrets were sealed is sealed when
// the server starts, and keeps signing as before.
func TestAWebhookSecretKeptInPlainTextIsSealedAtStart(t *testing.T) {
	srv, got := receiver(t, nil)
	store := newStore(t)
	const old = "whsec_MfKQ9r6jEuMGdlp7VxnfmUldmwiP6Tc7b8L7Vh0i/Wk=" // as the release before sealing made them
	if err := store.CreateLight(t.Context(), server.Light{ID: "lold", Name: "old", Account: "ada@placard.example",
		Hash: make([]byte, 32), Webhooks: []string{srv.URL + "/hook"}, WebhookSecret: []byte(old), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := lights.NewService(lights.Config{Store: store, Box: testBox, Follow: (&accounts{}).follow,
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: time.Hour, Timeout: 5 * time.Second, Attempts: 1, RetryWait: time.Millisecond}})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stored, err := store.Light(t.Context(), "lold")
	if err != nil || !secret.Sealed(stored.WebhookSecret) || bytes.Contains(stored.WebhookSecret, []byte(old[6:])) {
		t.Fatalf("after the start, the store keeps %q, %v: want it sealed", stored.WebhookSecret, err)
	}
	if plain, err := testBox.Open(stored.WebhookSecret, "light-webhook-secret:lold"); err != nil || string(plain) != old {
		t.Errorf("the sealed secret opens to %q, %v", plain, err)
	}
	select {
	case r := <-got:
		if err := verifyStandard(old, r.header, r.body); err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
}

// presences is a FollowFunc that tells each follower what the test says.
type presences struct{ tell chan server.Presence }

func (p *presences) follow(_ context.Context, _ string, f lights.Follower) (func(), error) {
	go func() {
		for pr := range p.tell {
			f.Presence(pr)
		}
	}()
	return func() {}, nil
}

// What a key served is kept: a new service (a restart) serves it, stale,
// while Graph has not answered, instead of "unknown"; and updated is when
// the presence took its value, not when it was read again.
func TestAKeysLastPresenceIsKeptAcrossARestart(t *testing.T) {
	store := newStore(t)
	made, err := lights.Create(t.Context(), store, testBox, lights.New{Name: "desk", Account: "ada@placard.example"}, "test", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := made.Light.ID
	busySince := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	first := &presences{tell: make(chan server.Presence, 4)}
	s := lights.NewService(lights.Config{Store: store, Box: testBox, Follow: first.follow})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	first.tell <- server.Presence{Availability: "Busy", Activity: "InACall", SignedIn: true, Updated: busySince}
	awaitView(t, s, id, "Busy", func(v lights.View) bool { return v.Presence.Availability == "Busy" })
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, _ := store.Light(t.Context(), id)
		if l.LastPresence.Availability == "Busy" && l.LastPresence.Updated.Equal(busySince) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the presence was not kept within 10 s: %+v", l.LastPresence)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(first.tell)
	s.Close()

	second := &presences{tell: make(chan server.Presence, 4)}
	s = lights.NewService(lights.Config{Store: store, Box: testBox, Follow: second.follow})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer close(second.tell)
	v, _, _, _ := s.Watch(t.Context(), id)
	if p := v.Presence; p.Availability != "Busy" || !p.Stale || !p.Updated.Equal(busySince) {
		t.Errorf("at the start: %+v, want Busy, stale, updated %v", p, busySince)
	}
	// The account's watch has no answer from Graph yet.
	second.tell <- server.Presence{Availability: "PresenceUnknown", Activity: "PresenceUnknown", Stale: true, SignedIn: true, Updated: time.Now()}
	// Then Graph answers the same.
	second.tell <- server.Presence{Availability: "Busy", Activity: "InACall", SignedIn: true, Updated: time.Now()}
	v = awaitView(t, s, id, "fresh", func(v lights.View) bool { return !v.Presence.Stale })
	if p := v.Presence; p.Availability != "Busy" || !p.Updated.Equal(busySince) {
		t.Errorf("once Graph answered the same: %+v, want Busy updated %v", p, busySince)
	}
	now := time.Now()
	second.tell <- server.Presence{Availability: "Away", Activity: "Away", SignedIn: true, Updated: now}
	v = awaitView(t, s, id, "Away", func(v lights.View) bool { return v.Presence.Availability == "Away" })
	if !v.Presence.Updated.Equal(now) {
		t.Errorf("a change's updated: %v, want %v", v.Presence.Updated, now)
	}
}

// awaitView waits for the key's view to satisfy ok, on its change channel.
func awaitView(t *testing.T, s *lights.Service, id, what string, ok func(lights.View) bool) lights.View {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		v, changed, _, found := s.Watch(t.Context(), id)
		if !found {
			t.Fatalf("no key %s", id)
		}
		if ok(v) {
			return v
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %s view within 10 s: %+v", what, v.Presence)
		}
	}
}

func slogTo(l lines) *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
