package httpd

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/sqlite"
)

// lookupCounter is a store that counts the light keys looked up.
type lookupCounter struct {
	server.Store
	lookups atomic.Int64
}

func (s *lookupCounter) Light(ctx context.Context, id string) (server.Light, error) {
	s.lookups.Add(1)
	return s.Store.Light(ctx, id)
}

// Wrong light keys are counted per client address: past the limit, a key
// the server does not recognise is answered 429 with Retry-After and
// costs no store lookup, and the right key from the same address is
// still served (and still checked against the store, which says whether
// it was revoked).
func TestWrongLightKeysAreLimitedPerAddressAndTheRightOneIsStillServed(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &lookupCounter{Store: db}
	box, _ := secret.NewBox(bytes.Repeat([]byte{7}, secret.KeySize))
	svc := lights.NewService(lights.Config{Store: store, Box: box,
		Follow: func(context.Context, string, lights.Follower) (func(), error) { return func() {}, nil }})
	made, err := svc.Create(t.Context(), lights.New{Name: "desk-ada", Account: "ada@placard.example"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	const max = 5
	p := &Presence{Lights: svc, Log: slog.New(slog.DiscardHandler), KeyFailures: limit.Rate{Max: max, Per: time.Hour}}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	defer srv.Close()
	ask := func(key string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	bogus := func(i int) string { return "plk_" + secret.NewID() + "." + secret.New() }

	for i := range max {
		if res := ask(bogus(i)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %s, want 401", i+1, res.Status)
		}
	}
	before := store.lookups.Load()
	for i := range 20 {
		res := ask(bogus(max + i))
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("wrong key %d past the limit: %s (Retry-After %q), want 429 with Retry-After", max+i+1, res.Status, res.Header.Get("Retry-After"))
		}
	}
	if n := store.lookups.Load() - before; n != 0 {
		t.Errorf("20 wrong keys past the limit cost %d store lookups, want none", n)
	}
	// A wrong secret for the right id is refused too, at no cost.
	id, _, _ := parseKeyForTest(made.Key)
	if res := ask("plk_" + id + "." + secret.New()); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a wrong secret for a real id past the limit: %s, want 429", res.Status)
	}
	if res := ask(made.Key); res.StatusCode != http.StatusOK {
		t.Fatalf("the right key from the same address: %s, want 200", res.Status)
	}
	if n := store.lookups.Load() - before; n != 1 {
		t.Errorf("the right key cost %d store lookups, want 1 (is it revoked?)", n)
	}
	// Revoked, the right key is refused at once, whatever the limit.
	if _, err := svc.Revoke(t.Context(), made.Light.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if res := ask(made.Key); res.StatusCode == http.StatusOK {
		t.Errorf("a revoked key past the limit: %s", res.Status)
	}
}

// parseKeyForTest reads the id of a key "plk_<id>.<secret>".
func parseKeyForTest(key string) (id, rest string, ok bool) {
	body := key[len("plk_"):]
	for i := range body {
		if body[i] == '.' {
			return body[:i], body[i+1:], true
		}
	}
	return "", "", false
}
