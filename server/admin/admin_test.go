package admin_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/sqlite"
)

func TestEachRoleMayWhatItsRoleAllows(t *testing.T) {
	for _, tt := range []struct {
		role                      string
		read, operate, administer bool
	}{
		{server.RoleAdmin, true, true, true},
		{server.RoleOperator, true, true, false},
		{server.RoleViewer, true, false, false},
		{"", false, false, false},
		{"owner", false, false, false},
	} {
		for p, want := range map[admin.Permission]bool{admin.Read: tt.read, admin.Operate: tt.operate, admin.Administer: tt.administer} {
			if got := admin.Can(tt.role, p); got != want {
				t.Errorf("Can(%q, %s) = %v, want %v", tt.role, p, got, want)
			}
		}
	}
}

func newService(t *testing.T) *admin.Service {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &admin.Service{Store: s}
}

// Each operation writes its own audit entry, and one a role does not
// allow changes nothing and says which role it takes.
func TestOperationsAreAuditedAndCheckTheRole(t *testing.T) {
	ctx := context.Background()
	ops := newService(t)
	root := admin.Actor{Who: "the command line (root@pi)", Role: server.RoleAdmin}
	made, err := ops.MakeToken(ctx, root, "dashboards", server.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ops.CheckToken(ctx, made.Secret)
	if err != nil || tok.Role != server.RoleViewer {
		t.Fatalf("the new token proves %+v, %v; want a viewer's", tok, err)
	}
	viewer := admin.TokenActor(tok)
	for name, err := range map[string]error{
		"make a token": func() error { _, err := ops.MakeToken(ctx, viewer, "mine", server.RoleAdmin); return err }(),
		"revoke":       ops.RevokeToken(ctx, viewer, tok.ID),
		"approve":      func() error { _, err := ops.Approve(ctx, viewer, "123456"); return err }(),
		"make a light": func() error {
			_, err := ops.MakeLight(ctx, viewer, lights.New{Name: "x", Account: "ada@placard.example"})
			return err
		}(),
		"revoke a light": func() error { _, err := ops.RevokeLight(ctx, viewer, "l1"); return err }(),
	} {
		if server.ErrorCode(err) != server.EFORBIDDEN || !strings.Contains(server.ErrorMessage(err), "viewer") {
			t.Errorf("a viewer's %s: %v, want forbidden, naming the role", name, err)
		}
	}
	if _, err := ops.ListTokens(ctx, viewer); err != nil {
		t.Errorf("a viewer lists tokens: %v", err)
	}
	if _, err := ops.MakeToken(ctx, root, "x", "owner"); server.ErrorCode(err) != server.EINVALID {
		t.Errorf("a token with role owner: %v, want invalid", err)
	}
	if err := ops.RevokeToken(ctx, root, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.CheckToken(ctx, made.Secret); err != admin.ErrBadToken {
		t.Errorf("a revoked token: %v", err)
	}
	events, err := ops.AuditTrail(ctx, root, 10)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range events {
		trail = append(trail, e.Kind+" "+e.Outcome+" "+e.Detail)
	}
	want := []string{
		"admin_token revoked token " + tok.ID + " (dashboards) by the command line (root@pi)",
		"admin_token created token " + tok.ID + " (dashboards), role viewer, by the command line (root@pi)",
	}
	if strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail:\n%s\nwant:\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
}

// What needs the running server says so on the command line.
func TestScreenChangesNeedTheRunningServer(t *testing.T) {
	ops := newService(t)
	root := admin.Actor{Who: "cli", Role: server.RoleAdmin}
	_, err := ops.Rename(context.Background(), root, "s1", "Lobby")
	if server.ErrorCode(err) != server.EUNAVAILABLE || !strings.Contains(server.ErrorMessage(err), "running edge server") {
		t.Errorf("renaming without a server: %v", err)
	}
}
