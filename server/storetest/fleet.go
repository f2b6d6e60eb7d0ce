package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
)

func group(id, name string) server.Group {
	return server.Group{ID: id, Name: name,
		Settings:     server.ScreenSettings{TimeZone: "Europe/Paris", Clock24: true, Lang: "fr", Privacy: true, Hours: "07:00-19:00", SignIn: server.SignInQR, NoQuickBook: true, Actions: true},
		SharedSignIn: true, OfflineAfter: 90 * time.Minute,
		Webhooks: []string{"https://hooks.example/fleet"}, WebhookSecret: bytes.Repeat([]byte{4}, 32), CreatedAt: at}
}

func testGroups(t *testing.T, s server.Store) {
	ctx := context.Background()
	if all, err := s.Groups(ctx); err != nil || len(all) != 0 {
		t.Fatalf("a new store has groups: %v, %v", all, err)
	}
	lobby, floor := group("g1", "Lobby"), group("g2", "Floor 3")
	floor.Settings, floor.SharedSignIn, floor.OfflineAfter, floor.Webhooks, floor.WebhookSecret = server.ScreenSettings{}, false, 0, nil, nil
	for _, g := range []server.Group{lobby, floor} {
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Group(ctx, "g1")
	if err != nil || !reflect.DeepEqual(got, lobby) {
		t.Errorf("Group(g1) = %+v, %v\nwant %+v", got, err, lobby)
	}
	if got, err := s.Group(ctx, "g2"); err != nil || got.Webhooks != nil || len(got.WebhookSecret) != 0 || got.OfflineAfter != 0 || got.SharedSignIn {
		t.Errorf("Group(g2) = %+v, %v; want nothing set", got, err)
	}
	all, err := s.Groups(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "Floor 3" || all[1].Name != "Lobby" {
		t.Fatalf("Groups = %+v, %v; want Floor 3 then Lobby (by name)", all, err)
	}
	updated, err := s.UpdateGroup(ctx, "g1", func(g *server.Group) error {
		g.Settings.Lang, g.ID = "de", "changed"
		return nil
	})
	if err != nil || updated.Settings.Lang != "de" || updated.ID != "g1" {
		t.Fatalf("UpdateGroup = %+v, %v", updated, err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateGroup(ctx, "g1", func(g *server.Group) error { g.Name = "half"; return boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateGroup returned %v, want the function's error", err)
	}
	if got, _ := s.Group(ctx, "g1"); got.Name != "Lobby" || got.Settings.Lang != "de" {
		t.Errorf("after a failed update: %+v", got)
	}
	if err := s.DeleteGroup(ctx, "g2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Group(ctx, "g2"); !server.IsNotFound(err) {
		t.Errorf("a deleted group: %v", err)
	}
}

func testGroupNames(t *testing.T, s server.Store) {
	ctx := context.Background()
	if err := s.CreateGroup(ctx, group("g1", "Lobby")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, group("g2", "Lobby")); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second group named Lobby: %v, want a conflict", err)
	}
	if err := s.CreateGroup(ctx, group("g1", "Other")); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second group with id g1: %v, want a conflict", err)
	}
	if err := s.CreateGroup(ctx, group("g3", "Floor 3")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateGroup(ctx, "g3", func(g *server.Group) error { g.Name = "Lobby"; return nil }); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("renaming a group to another's name: %v, want a conflict", err)
	}
	if got, _ := s.Group(ctx, "g3"); got.Name != "Floor 3" {
		t.Errorf("a refused rename changed the name to %q", got.Name)
	}
}

func link(id string) server.Link {
	return server.Link{ID: id, Group: "g1", Hash: bytes.Repeat([]byte{8}, 32), MaxScreens: 2, Used: 0,
		ExpiresAt: at.Add(24 * time.Hour), NamePattern: "Floor 3 – {n}", CreatedBy: "admin token a1", CreatedAt: at}
}

func testLinks(t *testing.T, s server.Store) {
	ctx := context.Background()
	a, b := link("k1"), link("k2")
	b.CreatedAt, b.NamePattern = at.Add(time.Minute), ""
	for _, l := range []server.Link{b, a} {
		if err := s.CreateLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateLink(ctx, link("k1")); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second link k1: %v, want a conflict", err)
	}
	got, err := s.Link(ctx, "k1")
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("Link(k1) = %+v, %v\nwant %+v", got, err, a)
	}
	all, err := s.Links(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "k1" || all[1].ID != "k2" {
		t.Fatalf("Links = %+v, %v; want k1 then k2 (oldest first)", all, err)
	}
	revoked, err := s.UpdateLink(ctx, "k1", func(l *server.Link) error { l.RevokedAt = at.Add(time.Hour); return nil })
	if err != nil || !revoked.RevokedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("revoking: %+v, %v", revoked, err)
	}
	if got, _ := s.Link(ctx, "k1"); !got.RevokedAt.Equal(at.Add(time.Hour)) || got.Used != 0 {
		t.Errorf("after revoking: %+v", got)
	}
}

// Screens opened with one link at once each count: a link of 2 enrolls
// 2, whoever comes first.
func testConcurrentLinkUses(t *testing.T, s server.Store) {
	ctx := context.Background()
	if err := s.CreateLink(ctx, link("k1")); err != nil {
		t.Fatal(err)
	}
	full := errors.New("used up")
	var wg sync.WaitGroup
	results := make(chan error, 10)
	numbers := make(chan int, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.UpdateLink(ctx, "k1", func(l *server.Link) error {
				if l.Used >= l.MaxScreens {
					return full
				}
				l.Used++
				return nil
			})
			if err == nil {
				numbers <- l.Used
			}
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	close(numbers)
	var ok, refused int
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, full):
			refused++
		default:
			t.Fatal(err)
		}
	}
	seen := map[int]bool{}
	for n := range numbers {
		seen[n] = true
	}
	if ok != 2 || refused != 8 || !seen[1] || !seen[2] {
		t.Errorf("10 uses of a link of 2 at once: %d counted (numbers %v), %d refused; want 2 (1 and 2) and 8", ok, seen, refused)
	}
}

func testScreenStatuses(t *testing.T, s server.Store) {
	ctx := context.Background()
	st := server.ScreenStatus{ScreenID: "s1", Replica: "r1", Connected: true, Phase: "dashboard", Shows: "ada@placard.example",
		AppVersion: "v1.2.3", Browser: "Chrome", Since: at, AlertedAt: at.Add(time.Minute), OnlineUntil: at.Add(2 * time.Minute), Touch: true}
	if err := s.PutScreenStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	st2 := server.ScreenStatus{ScreenID: "s2", Replica: "r2"}
	if err := s.PutScreenStatus(ctx, st2); err != nil {
		t.Fatal(err)
	}
	all, err := s.ScreenStatuses(ctx)
	if err != nil || len(all) != 2 || !reflect.DeepEqual(all[0], st) || !reflect.DeepEqual(all[1], st2) {
		t.Fatalf("ScreenStatuses = %+v, %v\nwant %+v and %+v", all, err, st, st2)
	}
	// Another replica takes the screen over: its word replaces the
	// first's.
	st.Replica, st.Connected, st.AlertedAt = "r2", false, time.Time{}
	if err := s.PutScreenStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateScreenStatus(ctx, "s1", func(st *server.ScreenStatus) error {
		st.Phase, st.ScreenID = "code", "changed"
		return nil
	})
	if err != nil || got.Phase != "code" || got.Replica != "r2" || got.ScreenID != "s1" || !got.AlertedAt.IsZero() {
		t.Fatalf("UpdateScreenStatus = %+v, %v", got, err)
	}
	if err := s.DeleteScreenStatus(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.ScreenStatuses(ctx); len(all) != 1 || all[0].ScreenID != "s2" {
		t.Errorf("after deleting s1: %+v", all)
	}
}

func testReplicas(t *testing.T, s server.Store) {
	ctx := context.Background()
	old := server.Replica{Name: "gone", Seen: at.Add(-48 * time.Hour), StartedAt: at.Add(-72 * time.Hour)}
	a := server.Replica{Name: "a", Seen: at, StartedAt: at.Add(-time.Hour)}
	b := server.Replica{Name: "b", Seen: at.Add(-time.Minute), StartedAt: at.Add(-time.Hour)}
	for _, r := range []server.Replica{old, b, a} {
		if err := s.PutReplica(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	a.Seen = at.Add(time.Second)
	if err := s.PutReplica(ctx, a); err != nil {
		t.Fatal(err)
	}
	all, err := s.Replicas(ctx)
	if err != nil || len(all) != 2 || all[0] != a || all[1] != b {
		t.Errorf("Replicas = %+v, %v; want a then b, and the one gone for two days forgotten", all, err)
	}
}
