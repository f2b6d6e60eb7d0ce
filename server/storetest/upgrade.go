package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/placard/placard/server"
)

// Before is what a database holds before an upgrade. Each backend writes
// it, with SQL of its own, into its schema as the last release before the
// stores shared their queries left it (sqlite: user_version 4; postgres:
// schema_version 3), then opens a store on it.
type Before struct {
	// Screen is as the upgraded store reads it; Settings its settings as
	// the last release wrote them.
	Screen   server.Screen
	Settings []byte
	// Account has a token cache, TokenCache, at version 1.
	Account    server.Account
	TokenCache []byte
	// AdminToken was made before tokens had a role.
	AdminToken server.AdminToken
	Light      server.Light
	Audit      server.AuditEvent
}

// OldData is the Before every backend writes.
func OldData() Before {
	// The old schema has none of the fleet's columns.
	sc := screen("old")
	sc.Group, sc.Overrides, sc.Link, sc.Note = "", nil, "", ""
	// Nor the settings of room panels: a screen that was not refused
	// quick booking may act (book) as it did.
	sc.Settings = server.ScreenSettings{TimeZone: "Europe/Paris", Clock24: true, Lang: "fr", Privacy: true, Hours: "07:00-19:00",
		SignIn: server.SignInBoth, Actions: true}
	return Before{
		Screen: sc,
		Settings: []byte(`{"TimeZone":"Europe/Paris","Clock24":true,"Lang":"fr","Privacy":true,"Hours":"07:00-19:00",` +
			`"SignIn":"both","NoQuickBook":false}`),
		Account:    server.Account{ID: "oid.tid", Username: "ada@placard.example", DisplayName: "Ada Lovelace", TenantID: "tid", SignedInAt: at},
		TokenCache: []byte("sealed cache"),
		AdminToken: server.AdminToken{ID: "aold", Name: "ops laptop", Hash: bytes.Repeat([]byte{7}, 32), CreatedAt: at},
		Light: server.Light{ID: "lold", Name: "desk-ada", Account: "ada@placard.example", Hash: bytes.Repeat([]byte{5}, 32),
			MQTT: true, Webhooks: []string{"https://hooks.example/a"}, WebhookSecret: bytes.Repeat([]byte{3}, 32), CreatedAt: at},
		Audit: server.AuditEvent{Time: at, Kind: server.AuditSignIn, ScreenID: "old", ScreenName: "Lobby old",
			Account: "ada@placard.example", Outcome: "success", Detail: "before the upgrade"},
	}
}

// RunUpgrade checks that a database the previous release left opens with
// this one: what it held reads back as it was, and every kind of record
// can be written. open writes OldData into a database of the old schema
// and opens a store on it.
func RunUpgrade(t *testing.T, open func(t *testing.T, old Before) server.Store) {
	ctx := context.Background()
	old := OldData()
	s := open(t, old)
	defer s.Close()

	if got, err := s.Screen(ctx, old.Screen.ID); err != nil || !equalScreens(got, old.Screen) {
		t.Errorf("the screen after the upgrade: %+v, %v\nwant %+v", got, err, old.Screen)
	}
	if got, err := s.Account(ctx, old.Account.ID); err != nil || got != old.Account {
		t.Errorf("the account after the upgrade: %+v, %v; want %+v", got, err, old.Account)
	}
	blob, v, err := s.TokenCacheVersion(ctx, old.Account.ID, 0)
	if err != nil || !bytes.Equal(blob, old.TokenCache) || v != 1 {
		t.Errorf("the token cache after the upgrade: %q v%d %v; want %q v1", blob, v, err, old.TokenCache)
	}
	if _, err := s.PutTokenCacheIf(ctx, old.Account.ID, []byte("refreshed"), 1); err != nil {
		t.Errorf("writing over the old token cache: %v", err)
	}
	tok, err := s.AdminToken(ctx, old.AdminToken.ID)
	if err != nil || tok.Name != old.AdminToken.Name || !bytes.Equal(tok.Hash, old.AdminToken.Hash) || !tok.CreatedAt.Equal(at) {
		t.Errorf("the admin token after the upgrade: %+v, %v", tok, err)
	}
	if tok.Role != server.RoleAdmin {
		t.Errorf("an admin token made before roles has role %q, want %q: it could do everything", tok.Role, server.RoleAdmin)
	}
	l, err := s.Light(ctx, old.Light.ID)
	if err != nil || l.Name != old.Light.Name || !bytes.Equal(l.Hash, old.Light.Hash) || !l.MQTT ||
		fmt.Sprint(l.Webhooks) != fmt.Sprint(old.Light.Webhooks) || !bytes.Equal(l.WebhookSecret, old.Light.WebhookSecret) || !l.CreatedAt.Equal(at) {
		t.Errorf("the light after the upgrade: %+v, %v", l, err)
	}
	if got, err := s.Audit(ctx, 10); err != nil || len(got) != 1 || got[0].Detail != old.Audit.Detail || !got[0].Time.Equal(at) {
		t.Errorf("the audit trail after the upgrade: %+v, %v", got, err)
	}

	// New records of every kind go in beside the old ones.
	if err := s.CreateScreen(ctx, screen("new")); err != nil {
		t.Errorf("a new screen: %v", err)
	}
	if _, err := s.UpdateScreen(ctx, old.Screen.ID, func(sc *server.Screen) error {
		sc.Name, sc.Group, sc.Overrides = "Renamed", "g1", []string{"lang"}
		return nil
	}); err != nil {
		t.Errorf("updating the old screen: %v", err)
	}
	if got, err := s.Screen(ctx, old.Screen.ID); err != nil || got.Group != "g1" || len(got.Overrides) != 1 {
		t.Errorf("the old screen put in a group: %+v, %v", got, err)
	}
	if err := s.CreateGroup(ctx, group("g1", "Lobby")); err != nil {
		t.Errorf("a new group: %v", err)
	}
	if err := s.CreateLink(ctx, link("k1")); err != nil {
		t.Errorf("a new provisioning link: %v", err)
	}
	if err := s.PutScreenStatus(ctx, server.ScreenStatus{ScreenID: old.Screen.ID, Replica: "r1", Connected: true}); err != nil {
		t.Errorf("a screen's status: %v", err)
	}
	if err := s.CreateAdminToken(ctx, server.AdminToken{ID: "anew", Hash: []byte{1}, Role: server.RoleOperator, CreatedAt: at.Add(time.Hour)}); err != nil {
		t.Errorf("a new admin token: %v", err)
	}
	if got, err := s.AdminToken(ctx, "anew"); err != nil || got.Role != server.RoleOperator {
		t.Errorf("a new operator's token: %+v, %v", got, err)
	}
	if err := s.AppendAudit(ctx, server.AuditEvent{Time: at.Add(time.Hour), Kind: server.AuditSignOut}); err != nil {
		t.Errorf("a new audit event: %v", err)
	}
	if got, err := s.Audit(ctx, 10); err != nil || len(got) != 2 || got[0].Kind != server.AuditSignOut || got[0].ID <= got[1].ID {
		t.Errorf("the audit trail after a new event: %+v, %v", got, err)
	}
}
