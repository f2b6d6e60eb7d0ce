// Package storetest is the conformance suite every server.Store backend
// passes: run it from the backend's tests with a constructor of empty
// stores.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
)

// Run runs the suite; newStore returns an empty store, closed by the
// suite.
func Run(t *testing.T, newStore func(t *testing.T) server.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s server.Store)
	}{
		{"ScreenRoundTrip", testScreenRoundTrip},
		{"EverySettingIsSet", func(t *testing.T, _ server.Store) { testEverySettingIsSet(t) }},
		{"CreateScreenRefusesADuplicateID", testDuplicateScreen},
		{"MissingRecordsAreNotFound", testNotFound},
		{"UpdateScreenAppliesTheChange", testUpdateScreen},
		{"UpdateScreenErrorChangesNothing", testUpdateScreenError},
		{"ConcurrentUpdatesAllApply", testConcurrentUpdates},
		{"ScreensListsOldestFirst", testScreensOrder},
		{"DeleteScreen", testDeleteScreen},
		{"AccountRoundTripAndReplace", testAccounts},
		{"TokenCacheIsKeptAsGiven", testTokenCache},
		{"TokenCacheIsNeverWrittenOverANewerOne", testTokenCacheVersions},
		{"TokenCacheVersionsNeverRepeatAcrossADelete", testTokenCacheVersionsAcrossDelete},
		{"AuditIsNewestFirstAndLimited", testAudit},
		{"AdminTokens", testAdminTokens},
		{"Lights", testLights},
		{"UpdateLightKeepsTheLastPresence", testUpdateLight},
		{"Groups", testGroups},
		{"GroupNamesAreUnique", testGroupNames},
		{"Links", testLinks},
		{"ConcurrentLinkUsesAllCount", testConcurrentLinkUses},
		{"ScreenStatuses", testScreenStatuses},
		{"SignInLinks", testSignInLinks},
		{"EachStepOfASignInLinkIsTakenOnce", testConcurrentSignInLinkSteps},
		{"CalendarSyncs", testCalendarSyncs},
		{"RoomMarks", testRoomMarks},
		{"Replicas", testReplicas},
		{"SettingsArePutOnceEvenByRacers", testSettings},
		{"Ping", func(t *testing.T, s server.Store) {
			if err := s.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.f(t, s)
		})
	}
}

var at = time.Date(2026, 11, 23, 9, 30, 15, 123_000_000, time.UTC)

func screen(id string) server.Screen {
	return server.Screen{
		ID: id, Name: "Lobby " + id, SecretHash: []byte{1, 2, 3, byte(len(id))},
		Enrolled: true, PairingNumber: "123456", AccountID: "acct-" + id,
		// Every setting differs from its zero value, so that each is
		// seen to be kept (testEverySettingIsSet).
		Settings: server.ScreenSettings{TimeZone: "Europe/Paris", Clock24: true, Lang: "fr", Privacy: true, Hours: "07:00-19:00",
			SignIn: server.SignInBoth, NoQuickBook: true, Layout: server.LayoutRoom, Actions: true, AutoRelease: true,
			ReleaseAfterMinutes: 15, Rooms: server.AddressesOf([]string{"floor2@placard.example", "aurora@placard.example"}),
			People: server.AddressesOf([]string{"ada@placard.example"}), PeopleGroup: "0b7d1e9c-5f1a-4c36-9f4e-1d2a3b4c5d6e"},
		Group: "g-" + id, Overrides: []string{"lang", "time_zone"}, Link: "k-" + id, Note: "The link has expired.",
		CreatedAt: at, LastSeen: at.Add(time.Minute),
	}
}

// testEverySettingIsSet checks that the screens of the suite set every
// setting, a new one included: a setting a backend forgets to keep is
// then seen by the round trips.
func testEverySettingIsSet(t *testing.T) {
	v := reflect.ValueOf(screen("a").Settings)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("the suite's screen leaves the setting %s at its zero value: set it, so that the stores are seen to keep it", v.Type().Field(i).Name)
		}
	}
}

// RunReopen checks that what a store keeps outlives it, as it must across
// a restart of the server. newPlace makes an empty place (a file, a
// database) and returns how to open a store on it; each call opens a new
// store on the same place.
func RunReopen(t *testing.T, newPlace func(t *testing.T) func(t *testing.T) server.Store) {
	t.Run("ScreenSettingsOutliveTheStore", func(t *testing.T) {
		testSettingsOutliveTheStore(t, newPlace(t))
	})
}

func testSettingsOutliveTheStore(t *testing.T, open func(t *testing.T) server.Store) {
	ctx := context.Background()
	reopen := func(s server.Store) server.Store {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatalf("closing the store: %v", err)
		}
		return open(t)
	}
	s := open(t)
	defer func() { s.Close() }()
	refused := screen("a")
	allowed := screen("b")
	allowed.Settings = server.ScreenSettings{}
	for _, sc := range []server.Screen{refused, allowed} {
		if err := s.CreateScreen(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(s)
	for _, want := range []server.Screen{refused, allowed} {
		got, err := s.Screen(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Settings != want.Settings {
			t.Errorf("screen %s after reopening: settings %+v, want %+v", want.ID, got.Settings, want.Settings)
		}
	}
	// An administrator's change is kept too, both ways.
	for _, id := range []string{"a", "b"} {
		if _, err := s.UpdateScreen(ctx, id, func(sc *server.Screen) error {
			sc.Settings.NoQuickBook = !sc.Settings.NoQuickBook
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(s)
	for id, want := range map[string]bool{"a": false, "b": true} {
		got, err := s.Screen(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Settings.NoQuickBook != want {
			t.Errorf("screen %s after a change and reopening: quick booking refused %v, want %v", id, got.Settings.NoQuickBook, want)
		}
	}
}

func equalScreens(a, b server.Screen) bool {
	return a.ID == b.ID && a.Name == b.Name && bytes.Equal(a.SecretHash, b.SecretHash) &&
		a.Enrolled == b.Enrolled && a.PairingNumber == b.PairingNumber && a.AccountID == b.AccountID &&
		a.Settings == b.Settings && a.CreatedAt.Equal(b.CreatedAt) && a.LastSeen.Equal(b.LastSeen) &&
		a.Group == b.Group && slices.Equal(a.Overrides, b.Overrides) && a.Link == b.Link && a.Note == b.Note
}

func testScreenRoundTrip(t *testing.T, s server.Store) {
	ctx := context.Background()
	want := screen("a")
	if err := s.CreateScreen(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Screen(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !equalScreens(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func testDuplicateScreen(t *testing.T, s server.Store) {
	ctx := context.Background()
	if err := s.CreateScreen(ctx, screen("a")); err != nil {
		t.Fatal(err)
	}
	err := s.CreateScreen(ctx, screen("a"))
	if server.ErrorCode(err) != server.ECONFLICT {
		t.Fatalf("second CreateScreen: %v, want a conflict", err)
	}
}

func testNotFound(t *testing.T, s server.Store) {
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["Screen"] = s.Screen(ctx, "nope")
	_, checks["UpdateScreen"] = s.UpdateScreen(ctx, "nope", func(*server.Screen) error { return nil })
	checks["DeleteScreen"] = s.DeleteScreen(ctx, "nope")
	_, checks["Account"] = s.Account(ctx, "nope")
	checks["DeleteAccount"] = s.DeleteAccount(ctx, "nope")
	_, checks["TokenCache"] = s.TokenCache(ctx, "nope")
	checks["DeleteTokenCache"] = s.DeleteTokenCache(ctx, "nope")
	_, checks["AdminToken"] = s.AdminToken(ctx, "nope")
	checks["DeleteAdminToken"] = s.DeleteAdminToken(ctx, "nope")
	_, checks["Group"] = s.Group(ctx, "nope")
	_, checks["UpdateGroup"] = s.UpdateGroup(ctx, "nope", func(*server.Group) error { return nil })
	checks["DeleteGroup"] = s.DeleteGroup(ctx, "nope")
	_, checks["Link"] = s.Link(ctx, "nope")
	_, checks["UpdateLink"] = s.UpdateLink(ctx, "nope", func(*server.Link) error { return nil })
	_, checks["UpdateScreenStatus"] = s.UpdateScreenStatus(ctx, "nope", func(*server.ScreenStatus) error { return nil })
	checks["DeleteScreenStatus"] = s.DeleteScreenStatus(ctx, "nope")
	for op, err := range checks {
		if !server.IsNotFound(err) {
			t.Errorf("%s of a missing record: %v, want not found", op, err)
		}
	}
}

func testUpdateScreen(t *testing.T, s server.Store) {
	ctx := context.Background()
	if err := s.CreateScreen(ctx, screen("a")); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateScreen(ctx, "a", func(sc *server.Screen) error {
		sc.Name, sc.AccountID, sc.Enrolled = "Kitchen", "", false
		sc.Settings.Privacy = false
		sc.ID = "changed" // the id cannot change
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Screen(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !equalScreens(got, stored) || stored.Name != "Kitchen" || stored.AccountID != "" || stored.Enrolled || stored.Settings.Privacy {
		t.Errorf("after update: returned %+v, stored %+v", got, stored)
	}
}

func testUpdateScreenError(t *testing.T, s server.Store) {
	ctx := context.Background()
	if err := s.CreateScreen(ctx, screen("a")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := s.UpdateScreen(ctx, "a", func(sc *server.Screen) error {
		sc.Name = "half-done"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateScreen returned %v, want the function's error", err)
	}
	got, _ := s.Screen(ctx, "a")
	if got.Name != screen("a").Name {
		t.Errorf("a failed update was applied: name %q", got.Name)
	}
}

func testConcurrentUpdates(t *testing.T, s server.Store) {
	ctx := context.Background()
	sc := screen("a")
	sc.PairingNumber = ""
	if err := s.CreateScreen(ctx, sc); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateScreen(ctx, "a", func(sc *server.Screen) error {
				sc.PairingNumber += fmt.Sprint(i % 10)
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.Screen(ctx, "a")
	if len(got.PairingNumber) != 20 {
		t.Errorf("20 concurrent appends left %q: updates were lost", got.PairingNumber)
	}
}

func testScreensOrder(t *testing.T, s server.Store) {
	ctx := context.Background()
	for i, id := range []string{"c", "a", "b"} {
		sc := screen(id)
		sc.CreatedAt = at.Add(time.Duration(i) * time.Hour)
		if err := s.CreateScreen(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Screens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids string
	for _, sc := range all {
		ids += sc.ID
	}
	if ids != "cab" {
		t.Errorf("Screens in order %q, want cab (oldest first)", ids)
	}
}

func testDeleteScreen(t *testing.T, s server.Store) {
	ctx := context.Background()
	if err := s.CreateScreen(ctx, screen("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteScreen(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Screen(ctx, "a"); !server.IsNotFound(err) {
		t.Errorf("a deleted screen: %v", err)
	}
}

func testAccounts(t *testing.T, s server.Store) {
	ctx := context.Background()
	a := server.Account{ID: "oid.tid", Username: "ada@placard.example", DisplayName: "Ada Lovelace", TenantID: "tid", SignedInAt: at}
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.DisplayName = "Ada King"
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatalf("replacing an account: %v", err)
	}
	got, err := s.Account(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "Ada King" || got.Username != a.Username || !got.SignedInAt.Equal(at) {
		t.Errorf("got %+v", got)
	}
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account(ctx, a.ID); !server.IsNotFound(err) {
		t.Errorf("a deleted account: %v", err)
	}
}

func testTokenCache(t *testing.T, s server.Store) {
	ctx := context.Background()
	blob := []byte{0, 1, 2, 255, 'x'}
	if err := s.PutTokenCache(ctx, "a", blob); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTokenCache(ctx, "a", append(blob, 7)); err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenCache(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append(blob, 7)) {
		t.Errorf("got %v", got)
	}
	if err := s.DeleteTokenCache(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenCache(ctx, "a"); !server.IsNotFound(err) {
		t.Errorf("a deleted cache: %v", err)
	}
}

func testAudit(t *testing.T, s server.Store) {
	ctx := context.Background()
	for i := range 5 {
		e := server.AuditEvent{Time: at.Add(time.Duration(i) * time.Second), Kind: server.AuditSignIn,
			ScreenID: "a", ScreenName: "Lobby", Account: "ada@placard.example", Outcome: "success", Detail: fmt.Sprint(i)}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Detail != "4" || got[2].Detail != "2" || !got[0].Time.Equal(at.Add(4*time.Second)) || got[0].ID == 0 {
		t.Errorf("Audit(3) = %+v, want events 4, 3, 2", got)
	}
	if _, err := s.Audit(ctx, 0); server.ErrorCode(err) != server.EINVALID {
		t.Errorf("Audit(0): %v, want invalid", err)
	}
}

func testAdminTokens(t *testing.T, s server.Store) {
	ctx := context.Background()
	if all, err := s.AdminTokens(ctx); err != nil || len(all) != 0 {
		t.Fatalf("a new store has admin tokens: %v, %v", all, err)
	}
	a := server.AdminToken{ID: "a1", Name: "ops laptop", Hash: bytes.Repeat([]byte{7}, 32), Role: server.RoleViewer, CreatedAt: at}
	// A token made with no role is an admin's, as those made before
	// roles were.
	b := server.AdminToken{ID: "b2", Name: "", Hash: bytes.Repeat([]byte{9}, 32), CreatedAt: at.Add(time.Minute)}
	for _, tok := range []server.AdminToken{b, a} {
		if err := s.CreateAdminToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAdminToken(ctx, server.AdminToken{ID: "a1", Hash: []byte{1}, CreatedAt: at}); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second token with id a1: %v, want a conflict", err)
	}
	got, err := s.AdminToken(ctx, "a1")
	if err != nil || got.Name != a.Name || !bytes.Equal(got.Hash, a.Hash) || got.Role != a.Role || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("AdminToken(a1) = %+v, %v; want %+v", got, err, a)
	}
	if got, err := s.AdminToken(ctx, "b2"); err != nil || got.Role != server.RoleAdmin {
		t.Errorf("AdminToken(b2) = %+v, %v; want role %s", got, err, server.RoleAdmin)
	}
	all, err := s.AdminTokens(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "a1" || all[1].ID != "b2" {
		t.Fatalf("AdminTokens = %+v, %v; want a1 then b2 (oldest first)", all, err)
	}
	if err := s.DeleteAdminToken(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminToken(ctx, "a1"); !server.IsNotFound(err) {
		t.Errorf("a deleted token: %v", err)
	}
	if all, _ := s.AdminTokens(ctx); len(all) != 1 {
		t.Errorf("%d tokens after a deletion, want 1", len(all))
	}
}

func testLights(t *testing.T, s server.Store) {
	ctx := context.Background()
	if all, err := s.Lights(ctx); err != nil || len(all) != 0 {
		t.Fatalf("a new store has light keys: %v, %v", all, err)
	}
	a := server.Light{ID: "l1", Name: "desk-ada", Account: "ada@placard.example", AccountID: "oid-ada.tid-contoso", Hash: bytes.Repeat([]byte{7}, 32),
		MQTT: true, Webhooks: []string{"https://hooks.example/a", "http://10.0.0.2/b"}, WebhookSecret: bytes.Repeat([]byte{3}, 32), CreatedAt: at}
	b := server.Light{ID: "l2", Name: "hall", Account: "grace@placard.example", Hash: bytes.Repeat([]byte{9}, 32), CreatedAt: at.Add(time.Minute)}
	for _, l := range []server.Light{b, a} {
		if err := s.CreateLight(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateLight(ctx, server.Light{ID: "l1", Name: "other", Hash: []byte{1}, CreatedAt: at}); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second light with id l1: %v, want a conflict", err)
	}
	if err := s.CreateLight(ctx, server.Light{ID: "l3", Name: "hall", Hash: []byte{1}, CreatedAt: at}); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second light named hall: %v, want a conflict", err)
	}
	got, err := s.Light(ctx, "l1")
	if err != nil || got.Name != a.Name || got.Account != a.Account || got.AccountID != a.AccountID || !bytes.Equal(got.Hash, a.Hash) || !got.MQTT ||
		fmt.Sprint(got.Webhooks) != fmt.Sprint(a.Webhooks) || !bytes.Equal(got.WebhookSecret, a.WebhookSecret) || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("Light(l1) = %+v, %v; want %+v", got, err, a)
	}
	if got, err := s.Light(ctx, "l2"); err != nil || got.MQTT || len(got.Webhooks) != 0 {
		t.Errorf("Light(l2) = %+v, %v; want no MQTT and no webhook", got, err)
	}
	all, err := s.Lights(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "l1" || all[1].ID != "l2" {
		t.Fatalf("Lights = %+v, %v; want l1 then l2 (oldest first)", all, err)
	}
	if err := s.DeleteLight(ctx, "l1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Light(ctx, "l1"); !server.IsNotFound(err) {
		t.Errorf("a deleted light: %v", err)
	}
	if err := s.DeleteLight(ctx, "l1"); !server.IsNotFound(err) {
		t.Errorf("deleting a deleted light: %v, want not found", err)
	}
	if all, _ := s.Lights(ctx); len(all) != 1 {
		t.Errorf("%d lights after a deletion, want 1", len(all))
	}
}

func testUpdateLight(t *testing.T, s server.Store) {
	ctx := context.Background()
	l := server.Light{ID: "l1", Name: "desk-ada", Account: "ada@placard.example", Hash: bytes.Repeat([]byte{7}, 32),
		Webhooks: []string{"https://hooks.example/a"}, WebhookSecret: []byte("plain"), CreatedAt: at}
	if err := s.CreateLight(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLight(ctx, server.Light{ID: "l2", Name: "hall", Hash: []byte{1}, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Light(ctx, "l1"); err != nil || got.LastPresence != (server.Presence{}) {
		t.Errorf("a new light's last presence: %+v, %v; want none", got.LastPresence, err)
	}
	last := server.Presence{Availability: "Busy", Activity: "InACall", SignedIn: true, Updated: at.Add(time.Hour)}
	sealed := append([]byte{1}, bytes.Repeat([]byte{0xEE}, 60)...)
	got, err := s.UpdateLight(ctx, "l1", func(l *server.Light) error {
		l.ID = "elsewhere" // ignored
		l.LastPresence = last
		l.LastPresence.Stale = true // not kept
		l.WebhookSecret = sealed
		l.AccountID = "oid-ada.tid-contoso"
		return nil
	})
	if err != nil || got.ID != "l1" {
		t.Fatalf("UpdateLight = %+v, %v", got, err)
	}
	got, err = s.Light(ctx, "l1")
	if err != nil || !got.LastPresence.Updated.Equal(last.Updated) || got.LastPresence.Availability != "Busy" || got.LastPresence.Activity != "InACall" ||
		!got.LastPresence.SignedIn || got.LastPresence.Stale || !bytes.Equal(got.WebhookSecret, sealed) || got.Name != l.Name || got.AccountID != "oid-ada.tid-contoso" ||
		fmt.Sprint(got.Webhooks) != fmt.Sprint(l.Webhooks) || !got.CreatedAt.Equal(at) {
		t.Errorf("after UpdateLight: %+v, %v", got, err)
	}
	if all, err := s.Lights(ctx); err != nil || len(all) != 2 || all[0].LastPresence.Availability != "Busy" || all[1].LastPresence != (server.Presence{}) {
		t.Errorf("Lights after UpdateLight: %+v, %v", all, err)
	}
	refusal := errors.New("no")
	if _, err := s.UpdateLight(ctx, "l1", func(l *server.Light) error { l.Name = "changed"; return refusal }); err != refusal {
		t.Errorf("fn's error: %v, want it as it is", err)
	}
	if got, _ := s.Light(ctx, "l1"); got.Name != "desk-ada" {
		t.Errorf("a refused update changed the light: %+v", got)
	}
	if _, err := s.UpdateLight(ctx, "l1", func(l *server.Light) error { l.Name = "hall"; return nil }); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("renaming to another light's name: %v, want a conflict", err)
	}
	if _, err := s.UpdateLight(ctx, "nope", func(*server.Light) error { return nil }); !server.IsNotFound(err) {
		t.Errorf("updating a missing light: %v, want not found", err)
	}
}

func testTokenCacheVersions(t *testing.T, s server.Store) {
	ctx := context.Background()
	if _, _, err := s.TokenCacheVersion(ctx, "a", 0); !server.IsNotFound(err) {
		t.Fatalf("the version of a missing cache: %v", err)
	}
	v1, err := s.PutTokenCacheIf(ctx, "a", []byte("one"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutTokenCacheIf(ctx, "a", []byte("again"), 0); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("creating a cache that exists: %v, want a conflict", err)
	}
	// Two replicas read version v1; one writes, the other's write is
	// refused and changes nothing.
	v2, err := s.PutTokenCacheIf(ctx, "a", []byte("two"), v1)
	if err != nil || v2 == v1 {
		t.Fatalf("writing over v%d: v%d, %v", v1, v2, err)
	}
	if _, err := s.PutTokenCacheIf(ctx, "a", []byte("stale"), v1); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("writing over an older version: %v, want a conflict", err)
	}
	blob, v, err := s.TokenCacheVersion(ctx, "a", 0)
	if err != nil || string(blob) != "two" || v != v2 {
		t.Errorf("after a refused write: %q v%d %v, want \"two\" v%d", blob, v, err, v2)
	}
	// A reader that holds the stored version is told so, and given no
	// blob; one that holds an older version is given the blob.
	if blob, v, err := s.TokenCacheVersion(ctx, "a", v2); err != nil || blob != nil || v != v2 {
		t.Errorf("read holding the stored v%d: %q v%d %v, want no blob and v%d", v2, blob, v, err, v2)
	}
	if blob, v, err := s.TokenCacheVersion(ctx, "a", v1); err != nil || string(blob) != "two" || v != v2 {
		t.Errorf("read holding the older v%d: %q v%d %v, want \"two\" v%d", v1, blob, v, err, v2)
	}
	// A new sign-in writes whatever is there, and moves the version on.
	if err := s.PutTokenCache(ctx, "a", []byte("signed in again")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutTokenCacheIf(ctx, "a", []byte("stale"), v2); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("writing over a cache a sign-in replaced: %v, want a conflict", err)
	}
	if blob, _, _ := s.TokenCacheVersion(ctx, "a", 0); string(blob) != "signed in again" {
		t.Errorf("the cache holds %q", blob)
	}
}

// A sign-out and a new sign-in must not bring back a version a replica
// read before them: its write with that version would overwrite the new
// sign-in.
func testTokenCacheVersionsAcrossDelete(t *testing.T, s server.Store) {
	ctx := context.Background()
	seen := map[int64]bool{}
	v1, err := s.PutTokenCacheIf(ctx, "a", []byte("first sign-in"), 0)
	if err != nil {
		t.Fatal(err)
	}
	seen[v1] = true
	// Deleted, then written again: by a new sign-in (PutTokenCache) and
	// by a replica creating it (PutTokenCacheIf with 0).
	writes := []struct {
		name  string
		write func() (int64, error)
	}{
		{"PutTokenCache", func() (int64, error) {
			if err := s.PutTokenCache(ctx, "a", []byte("signed in again")); err != nil {
				return 0, err
			}
			_, v, err := s.TokenCacheVersion(ctx, "a", 0)
			return v, err
		}},
		{"PutTokenCacheIf(0)", func() (int64, error) {
			return s.PutTokenCacheIf(ctx, "a", []byte("signed in again"), 0)
		}},
	}
	for _, w := range writes {
		if err := s.DeleteTokenCache(ctx, "a"); err != nil {
			t.Fatalf("before %s: %v", w.name, err)
		}
		for name, err := range map[string]error{
			"TokenCache":        func() error { _, err := s.TokenCache(ctx, "a"); return err }(),
			"TokenCacheVersion": func() error { _, _, err := s.TokenCacheVersion(ctx, "a", 0); return err }(),
			"DeleteTokenCache":  s.DeleteTokenCache(ctx, "a"),
		} {
			if !server.IsNotFound(err) {
				t.Errorf("%s of a deleted cache: %v, want not found", name, err)
			}
		}
		if _, err := s.PutTokenCacheIf(ctx, "a", []byte("stale"), v1); server.ErrorCode(err) != server.ECONFLICT {
			t.Errorf("writing a deleted cache with the version read before: %v, want a conflict", err)
		}
		v, err := w.write()
		if err != nil {
			t.Fatalf("%s after a delete: %v", w.name, err)
		}
		if seen[v] {
			t.Errorf("%s after a delete: version %d was seen before", w.name, v)
		}
		seen[v] = true
		// The replica that read v1 before the delete and re-create.
		if _, err := s.PutTokenCacheIf(ctx, "a", []byte("stale"), v1); server.ErrorCode(err) != server.ECONFLICT {
			t.Errorf("after %s: writing with the version read before the delete: %v, want a conflict", w.name, err)
		}
		if blob, got, err := s.TokenCacheVersion(ctx, "a", 0); err != nil || string(blob) != "signed in again" || got != v {
			t.Errorf("after %s: %q v%d %v, want the new sign-in at v%d", w.name, blob, got, err, v)
		}
		v1 = v
	}
}

func testSettings(t *testing.T, s server.Store) {
	ctx := context.Background()
	if _, err := s.Setting(ctx, "key_check"); !server.IsNotFound(err) {
		t.Fatalf("a setting never put: %v, want not found", err)
	}
	if _, err := s.PutSettingOnce(ctx, "key_check", nil); server.ErrorCode(err) != server.EINVALID {
		t.Errorf("an empty setting: %v, want invalid", err)
	}
	// Replicas starting together: every one gets the value that won.
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	errs := make([]error, len(got))
	for i := range got {
		wg.Go(func() { got[i], errs[i] = s.PutSettingOnce(ctx, "key_check", []byte(fmt.Sprint("replica ", i))) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("put %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Errorf("racers were told %q and %q", got[0], got[i])
		}
	}
	if v, err := s.PutSettingOnce(ctx, "key_check", []byte("later")); err != nil || !bytes.Equal(v, got[0]) {
		t.Errorf("a later put: %q %v, want the first value %q kept", v, err, got[0])
	}
	if v, err := s.Setting(ctx, "key_check"); err != nil || !bytes.Equal(v, got[0]) {
		t.Errorf("Setting = %q %v, want %q", v, err, got[0])
	}
}
