package admin_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
)

func TestALinkEnrollsUpToItsScreensThenSaysWhyNot(t *testing.T) {
	ctx := context.Background()
	ops := newService(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ops.Now = func() time.Time { return now }
	root := admin.Actor{Who: "cli", Role: server.RoleAdmin}
	g, err := ops.CreateGroup(ctx, root, admin.GroupSpec{Name: "Floor 3", Settings: server.ScreenSettings{Lang: "fr"}})
	if err != nil {
		t.Fatal(err)
	}
	made, err := ops.MakeLink(ctx, root, admin.LinkSpec{Group: g.Group.ID, MaxScreens: 2, ExpiresIn: time.Hour, NamePattern: "Floor 3 – {n}"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(made.Token, admin.LinkPrefix+made.Link.ID+".") || admin.LinkID(made.Token) != made.Link.ID {
		t.Fatalf("token %q for link %s", made.Token, made.Link.ID)
	}

	// Three screens open it at once: two enroll, numbered 1 and 2.
	var wg sync.WaitGroup
	got := make([]admin.Enrollment, 3)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if got[i], err = ops.ClaimLink(ctx, made.Token); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	names := map[string]bool{}
	refused := 0
	for _, e := range got {
		if e.Refused != "" {
			refused++
			if !strings.Contains(e.Refused, "enrolled all the screens it may (2)") || e.Why != wire.LinkUsedUp {
				t.Errorf("the third screen is told %q", e.Refused)
			}
			continue
		}
		if e.Group.ID != g.Group.ID || e.Group.Settings.Lang != "fr" {
			t.Errorf("enrolled into %+v", e.Group)
		}
		names[e.Name] = true
	}
	if refused != 1 || !names["Floor 3 – 1"] || !names["Floor 3 – 2"] {
		t.Errorf("3 screens on a link of 2: %d refused, names %v", refused, names)
	}

	for _, tt := range []struct {
		name  string
		setup func() string // returns the token to open
		says  string
	}{
		{"expired", func() string {
			m, _ := ops.MakeLink(ctx, root, admin.LinkSpec{Group: g.Group.ID, MaxScreens: 5, ExpiresIn: time.Minute})
			now = now.Add(time.Minute)
			return m.Token
		}, "has expired"},
		{"revoked", func() string {
			m, _ := ops.MakeLink(ctx, root, admin.LinkSpec{Group: g.Group.ID, MaxScreens: 5, ExpiresIn: time.Hour})
			if _, err := ops.RevokeLink(ctx, root, m.Link.ID); err != nil {
				t.Fatal(err)
			}
			return m.Token
		}, "was revoked"},
		{"a wrong secret", func() string { return made.Token[:len(made.Token)-2] + "xx" }, "does not work"},
		{"not a link", func() string { return "hello" }, "does not work"},
	} {
		e, err := ops.ClaimLink(ctx, tt.setup())
		if err != nil || !strings.Contains(e.Refused, tt.says) || e.Why == "" {
			t.Errorf("%s: %+v, %v; want it to say %q", tt.name, e, err, tt.says)
		}
	}
	events, _ := ops.AuditTrail(ctx, root, 50)
	var refusals int
	for _, e := range events {
		if e.Kind == server.AuditLink && e.Outcome == "refused" {
			refusals++
		}
	}
	if refusals != 5 {
		t.Errorf("%d refusals audited, want 5", refusals)
	}
}

func TestLinksAreCheckedAndTakeAnAdmin(t *testing.T) {
	ctx := context.Background()
	ops := newService(t)
	root := admin.Actor{Who: "cli", Role: server.RoleAdmin}
	operator := admin.Actor{Who: "op", Role: server.RoleOperator}
	g, err := ops.CreateGroup(ctx, operator, admin.GroupSpec{Name: "Lobby"})
	if err != nil {
		t.Fatalf("an operator makes a group: %v", err)
	}
	if _, err := ops.CreateGroup(ctx, operator, admin.GroupSpec{Name: "Hooks", Webhooks: []string{"https://hooks.example/a"}}); server.ErrorCode(err) != server.EFORBIDDEN {
		t.Errorf("an operator gives a group webhooks: %v, want forbidden", err)
	}
	if _, err := ops.MakeLink(ctx, operator, admin.LinkSpec{Group: g.Group.ID, MaxScreens: 2, ExpiresIn: time.Hour}); server.ErrorCode(err) != server.EFORBIDDEN {
		t.Errorf("an operator makes a link: %v, want forbidden", err)
	}
	for _, tt := range []struct {
		spec admin.LinkSpec
		says string
	}{
		{admin.LinkSpec{Group: g.Group.ID, MaxScreens: 0, ExpiresIn: time.Hour}, "max_screens 0"},
		{admin.LinkSpec{Group: g.Group.ID, MaxScreens: 2, ExpiresIn: time.Second}, "expires_in 1s"},
		{admin.LinkSpec{Group: g.Group.ID, MaxScreens: 2, ExpiresIn: time.Hour, NamePattern: "a\x00{n}"}, "name pattern"},
		{admin.LinkSpec{Group: "nope", MaxScreens: 2, ExpiresIn: time.Hour}, "no group"},
	} {
		if _, err := ops.MakeLink(ctx, root, tt.spec); err == nil || !strings.Contains(server.ErrorMessage(err), tt.says) {
			t.Errorf("MakeLink(%+v): %v, want it to say %q", tt.spec, err, tt.says)
		}
	}
}
