package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
)

func signInLink(id string) server.SignInLink {
	return server.SignInLink{
		ID: id, ScreenID: "s1", ScreenName: "Lobby TV", ExpiresAt: at.Add(15 * time.Minute), Phase: server.LinkPhaseFresh,
		Match: []byte("sealed number"), UpdatedAt: at,
	}
}

func testSignInLinks(t *testing.T, s server.Store) {
	ctx := context.Background()
	l := signInLink("hash1")
	if err := s.CreateSignInLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSignInLink(ctx, l); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second link with the same id: %v, want a conflict", err)
	}
	got, err := s.SignInLink(ctx, "hash1")
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, l)
	}
	if _, err := s.SignInLinkByState(ctx, ""); !server.IsNotFound(err) {
		t.Errorf("a link by an empty state: %v, want not found", err)
	}
	want := l
	want.Phase, want.Holder, want.State, want.Binding, want.Auth, want.Scope = server.LinkPhaseAuthorizing, []byte{1}, "state1", []byte{2}, []byte("sealed auth"), "group"
	want.TypedAt, want.AuthUntil, want.Ended, want.Result, want.UpdatedAt = at.Add(time.Minute), at.Add(20*time.Minute), true, []byte(`{"a":1}`), at.Add(time.Minute)
	got, err = s.UpdateSignInLink(ctx, "hash1", func(l *server.SignInLink) error {
		*l = want
		l.ID = "another" // the id cannot change
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("updated %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.SignInLinkByState(ctx, "state1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("by state: %+v, %v", got, err)
	}
	refused := errors.New("no")
	if _, err := s.UpdateSignInLink(ctx, "hash1", func(l *server.SignInLink) error { l.Phase = "x"; return refused }); err != refused {
		t.Errorf("an update that fails: %v, want its error as it is", err)
	}
	if got, _ := s.SignInLink(ctx, "hash1"); got.Phase != server.LinkPhaseAuthorizing {
		t.Errorf("a failed update changed the phase to %q", got.Phase)
	}
	if _, err := s.UpdateSignInLink(ctx, "nope", func(*server.SignInLink) error { return nil }); !server.IsNotFound(err) {
		t.Errorf("updating a missing link: %v", err)
	}

	// Forgotten once expired and once its sign-in had to come back.
	never := signInLink("hash2") // never typed: no AuthUntil
	if err := s.CreateSignInLink(ctx, never); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteSignInLinks(ctx, at.Add(10*time.Minute)); err != nil || n != 0 {
		t.Errorf("before any expired: %d forgotten, %v", n, err)
	}
	if n, err := s.DeleteSignInLinks(ctx, at.Add(16*time.Minute)); err != nil || n != 1 {
		t.Errorf("past the untyped one's expiry: %d forgotten, %v; want 1", n, err)
	}
	if _, err := s.SignInLink(ctx, "hash2"); !server.IsNotFound(err) {
		t.Errorf("the expired link: %v", err)
	}
	if n, err := s.DeleteSignInLinks(ctx, at.Add(21*time.Minute)); err != nil || n != 1 {
		t.Errorf("past the typed one's sign-in: %d forgotten, %v; want 1", n, err)
	}
}

// Each step of a sign-in link is taken once, whoever takes it at the same
// time.
func testConcurrentSignInLinkSteps(t *testing.T, s server.Store) {
	ctx := context.Background()
	if err := s.CreateSignInLink(ctx, signInLink("hash1")); err != nil {
		t.Fatal(err)
	}
	taken := errors.New("taken")
	var wg sync.WaitGroup
	results := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateSignInLink(ctx, "hash1", func(l *server.SignInLink) error {
				if l.Phase != server.LinkPhaseFresh {
					return taken
				}
				l.Phase, l.Holder = server.LinkPhaseAuthorizing, []byte{byte(i)}
				return nil
			})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	var ok, refused int
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, taken):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || refused != 9 {
		t.Errorf("10 replicas taking one step at once: %d took it, %d were refused; want 1 and 9", ok, refused)
	}
}
