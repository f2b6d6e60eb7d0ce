package lights_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
)

// followedIDs records which account ids a Service follows.
type followedIDs struct {
	mu  sync.Mutex
	ids []string
	ch  chan string
}

func (f *followedIDs) follow(_ context.Context, id string, fl lights.Follower) (func(), error) {
	f.mu.Lock()
	f.ids = append(f.ids, id)
	f.mu.Unlock()
	f.ch <- id
	fl.Presence(server.Presence{Availability: "Busy", Activity: "InACall", SignedIn: true, Updated: time.Now()})
	return func() {}, nil
}

// A light key follows one account by tenant and object id: not whoever
// bears its UPN. In a multi-tenant server, another tenant's account with
// the same name is never followed.
func TestALightKeyFollowsAnAccountByTenantAndObjectID(t *testing.T) {
	ctx := t.Context()
	store := newStore(t) // ada of tenant tid-placard is signed in
	f := &followedIDs{ch: make(chan string, 16)}
	s := lights.NewService(lights.Config{Store: store, Box: testBox, Follow: f.follow, Sync: time.Hour})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	made, err := s.Create(ctx, lights.New{Name: "desk", Account: "Ada@placard.example"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if made.Light.AccountID != accountID("ada@placard.example") {
		t.Fatalf("the key is bound to %q, want ada's account %q", made.Light.AccountID, accountID("ada@placard.example"))
	}
	if id := <-f.ch; id != accountID("ada@placard.example") {
		t.Errorf("followed %q", id)
	}

	// Another tenant's account named ada signs in on this server.
	other := server.Account{ID: "oid-other.tid-elsewhere", Username: "ada@placard.example", TenantID: "tid-elsewhere"}
	signIn(t, store, other)
	if _, err := s.Create(ctx, lights.New{Name: "hall", Account: "ada@placard.example"}, "test"); server.ErrorCode(err) != server.ECONFLICT ||
		!strings.Contains(err.Error(), "tid-elsewhere") {
		t.Errorf("a key for a UPN that two tenants' accounts bear: %v, want a conflict naming the tenants", err)
	}
	if l, err := store.Light(ctx, made.Light.ID); err != nil || l.AccountID != accountID("ada@placard.example") {
		t.Errorf("the stored key: %+v, %v", l, err)
	}
}

// A key made before its account signed in is dark, and follows the
// account that signs in by its UPN from then on, bound to it for good.
func TestAKeyMadeBeforeItsAccountSignedInIsBoundWhenItDoes(t *testing.T) {
	ctx := t.Context()
	store := newStore(t)
	f := &followedIDs{ch: make(chan string, 16)}
	s := lights.NewService(lights.Config{Store: store, Box: testBox, Follow: f.follow, Sync: 50 * time.Millisecond})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	made, err := s.Create(ctx, lights.New{Name: "desk", Account: "kim@placard.example"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if made.Light.AccountID != "" || len(made.Warnings) != 1 {
		t.Fatalf("a key for an account signed in nowhere: %+v", made)
	}
	v, _, _, _ := s.Watch(ctx, made.Light.ID)
	if v.Presence.SignedIn || v.Presence.Availability != "PresenceUnknown" {
		t.Errorf("before kim signs in: %+v", v.Presence)
	}

	kim := server.Account{ID: "oid-kim.tid-placard", Username: "kim@placard.example", TenantID: "tid-placard"}
	signIn(t, store, kim)
	// The next reading of the keys (every Sync) binds it.
	select {
	case id := <-f.ch:
		if id != kim.ID {
			t.Errorf("followed %q, want kim's account %q", id, kim.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the key did not follow kim once signed in")
	}
	if l, err := store.Light(ctx, made.Light.ID); err != nil || l.AccountID != kim.ID {
		t.Errorf("the stored key is bound to %q, %v; want %q", l.AccountID, err, kim.ID)
	}
}
