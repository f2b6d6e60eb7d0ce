package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/secret"
)

// A group's webhook secret is shown once and stored sealed with the
// server's key, bound to the group: a copy of the database holds nothing
// that signs the group's alerts. New webhooks get a new secret.
func TestAGroupsWebhookSecretIsStoredSealed(t *testing.T) {
	ctx := context.Background()
	ops := newService(t)
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	ops.Box = box
	root := admin.Actor{Who: "cli", Role: server.RoleAdmin}
	stored := func(id, shown string) []byte {
		t.Helper()
		g, err := ops.Store.Group(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !secret.Sealed(g.WebhookSecret) || strings.Contains(string(g.WebhookSecret), strings.TrimPrefix(shown, "whsec_")) {
			t.Fatalf("the stored secret of group %s is not sealed: %q", id, g.WebhookSecret)
		}
		plain, err := box.Open(g.WebhookSecret, fleet.SecretLabel(id))
		if err != nil || string(plain) != shown {
			t.Fatalf("the stored secret opens to %q, %v; want the one shown", plain, err)
		}
		return g.WebhookSecret
	}

	made, err := ops.CreateGroup(ctx, root, admin.GroupSpec{Name: "Lobby", Webhooks: []string{"https://alerts.example/one"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(made.WebhookSecret, "whsec_") || made.Group.WebhookSecret != nil {
		t.Fatalf("made %q, group's %q: want a secret shown once, none in the group returned", made.WebhookSecret, made.Group.WebhookSecret)
	}
	first := stored(made.Group.ID, made.WebhookSecret)
	if _, err := box.Open(first, fleet.SecretLabel("gother")); err == nil {
		t.Fatal("the secret opens for another group's id")
	}

	changed, err := ops.UpdateGroup(ctx, root, made.Group.ID, admin.GroupSpec{Name: "Lobby", Webhooks: []string{"https://alerts.example/two"}})
	if err != nil {
		t.Fatal(err)
	}
	if changed.WebhookSecret == "" || changed.WebhookSecret == made.WebhookSecret {
		t.Fatalf("new webhooks got secret %q, the old one was %q", changed.WebhookSecret, made.WebhookSecret)
	}
	stored(made.Group.ID, changed.WebhookSecret)

	// Without the key, no secret is made, and no group with webhooks.
	ops.Box = nil
	if _, err := ops.CreateGroup(ctx, root, admin.GroupSpec{Name: "Floor 3", Webhooks: []string{"https://alerts.example/three"}}); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("a group with webhooks and no key to seal its secret: %v", err)
	}
}
