package identity_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/sqlite"
)

// newSharedCaches returns a sandbox and the sealed caches of one SQLite
// store, which the replicas of a test share.
func newSharedCaches(t *testing.T) (*sandbox.Sandbox, identity.SealedCaches) {
	t.Helper()
	_, sb, _ := newClient(t)
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return sb, identity.SealedCaches{Store: store, Box: box}
}

// newReplica returns a client of the sandbox that keeps its caches in
// caches: a replica of the server.
func newReplica(t *testing.T, sb *sandbox.Sandbox, caches identity.CacheStore) *identity.Client {
	t.Helper()
	c, err := identity.New(identity.Config{
		ClientID:   sandbox.ClientID,
		Authority:  "https://" + sandbox.LoginHost + "/" + sandbox.TenantID,
		HTTPClient: &http.Client{Transport: sb.Transport()},
		Caches:     caches,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Two replicas share one store: both read the account's cache, both
// refresh at once (slowly); the one that writes second wrote over a cache
// it never read, so its write is refused and the first one's stays.
func TestReplicasRefreshingAtOnceNeverOverwriteANewerCache(t *testing.T) {
	sb, shared := newSharedCaches(t)
	replica := func() *identity.Client { return newReplica(t, sb, shared) }
	a, b := replica(), replica()
	acct, err := signIn(t, a, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, _, err := b.Token(ctx, acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}

	sb.SetFaults(sandbox.Faults{LatencyMS: 500})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*identity.Client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = c.Token(ctx, acct.ID, tok)
		}()
	}
	wg.Wait()
	sb.SetFaults(sandbox.Faults{})
	conflicts := 0
	for _, err := range errs {
		if server.ErrorCode(err) == server.ECONFLICT {
			conflicts++
		} else if err != nil {
			t.Errorf("a refresh failed otherwise: %v", err)
		}
	}
	if conflicts != 1 {
		t.Fatalf("%d of two refreshes at once were refused their write (%v), want one", conflicts, errs)
	}
	// What is stored is the winner's: a third replica gets a token from
	// it, and refreshes it, without signing in.
	c := replica()
	stored, _, err := c.Token(ctx, acct.ID, "")
	if err != nil {
		t.Fatalf("a token from the stored cache: %v", err)
	}
	if _, src, err := c.Token(ctx, acct.ID, stored); err != nil || src != identity.FromRefresh {
		t.Fatalf("a refresh from the stored cache: %v, %v", src, err)
	}
}

// countingCaches counts the caches opened (decrypted and handed to MSAL to
// parse).
type countingCaches struct {
	identity.SealedCaches
	mu     sync.Mutex
	opened int
}

func (c *countingCaches) LoadCacheVersion(ctx context.Context, accountID string, have identity.CacheVersion) ([]byte, identity.CacheVersion, error) {
	b, v, err := c.SealedCaches.LoadCacheVersion(ctx, accountID, have)
	if b != nil {
		c.mu.Lock()
		c.opened++
		c.mu.Unlock()
	}
	return b, v, err
}

func (c *countingCaches) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.opened
	c.opened = 0
	return n
}

// MSAL reads the cache twice for every token. A replica opens and parses
// the stored cache only when it is not the version it holds already: once
// for its first token, never for tokens from a cache that did not change,
// and again once another replica wrote a newer one.
func TestATokenFromAnUnchangedCacheOpensNothing(t *testing.T) {
	sb, shared := newSharedCaches(t)
	replica := func() (*identity.Client, *countingCaches) {
		caches := &countingCaches{SealedCaches: shared}
		return newReplica(t, sb, caches), caches
	}
	a, opened := replica()
	acct, err := signIn(t, a, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opened.count()
	first, _, err := a.Token(ctx, acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := opened.count(); n != 1 {
		t.Errorf("the first token opened the cache %d times, want once", n)
	}
	for range 3 {
		tok, src, err := a.Token(ctx, acct.ID, "")
		if err != nil || tok != first || src != identity.FromCache {
			t.Fatalf("a token from the unchanged cache: %v, %v (the same token: %v)", src, err, tok == first)
		}
	}
	if n := opened.count(); n != 0 {
		t.Errorf("three tokens from an unchanged cache opened it %d times, want none", n)
	}

	// Its own refresh is what it holds: nothing to open after it.
	mine, src, err := a.Token(ctx, acct.ID, first)
	if err != nil || src != identity.FromRefresh || mine == first {
		t.Fatalf("a refresh: %v, %v", src, err)
	}
	opened.count()
	if tok, _, err := a.Token(ctx, acct.ID, ""); err != nil || tok != mine {
		t.Fatalf("the token after its own refresh: %v (the refreshed one: %v)", err, tok == mine)
	}
	if n := opened.count(); n != 0 {
		t.Errorf("a token after its own refresh opened the cache %d times, want none", n)
	}

	// Another replica refreshes: the first one reads what it wrote.
	b, _ := replica()
	theirs, src, err := b.Token(ctx, acct.ID, mine)
	if err != nil || src != identity.FromRefresh {
		t.Fatalf("the other replica's refresh: %v, %v", src, err)
	}
	tok, _, err := a.Token(ctx, acct.ID, "")
	if err != nil || tok != theirs {
		t.Fatalf("after another replica's refresh: %v (its token: %v)", err, tok == theirs)
	}
	if n := opened.count(); n != 1 {
		t.Errorf("a token after another replica's write opened the cache %d times, want once", n)
	}
}

// Version numbers start again at 1 when an account signs in after a
// sign-out. A replica holding version 1 of the old session must not take
// the new session's version 1 for it: it would hand out the old tokens,
// and refresh with a refresh token the sign-out spent.
func TestAReplicaReadsASignInAfterASignOutElsewhere(t *testing.T) {
	sb, shared := newSharedCaches(t)
	a, b := newReplica(t, sb, shared), newReplica(t, sb, shared)
	ada := func(code string) { sb.Approve(code, "ada@placard.example") }
	acct, err := signIn(t, a, ada)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old, _, err := a.Token(ctx, acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}

	if err := b.Forget(ctx, acct.ID); err != nil {
		t.Fatal(err)
	}
	again, err := signIn(t, b, ada)
	if err != nil || again.ID != acct.ID {
		t.Fatalf("signing in again: %v (the same account: %v)", err, again.ID == acct.ID)
	}
	fresh, _, err := b.Token(ctx, acct.ID, "")
	if err != nil || fresh == old {
		t.Fatalf("the new sign-in's token: %v (the old one: %v)", err, fresh == old)
	}

	tok, src, err := a.Token(ctx, acct.ID, "")
	if err != nil || src != identity.FromCache || tok != fresh {
		t.Fatalf("the first replica's token after the sign-in elsewhere: %v, %v (the new one: %v, the old one: %v)", src, err, tok == fresh, tok == old)
	}
	// Its refresh starts from the new session, and keeps it.
	if _, src, err := a.Token(ctx, acct.ID, tok); err != nil || src != identity.FromRefresh {
		t.Fatalf("the first replica's refresh: %v, %v", src, err)
	}
	if _, _, err := b.Token(ctx, acct.ID, ""); err != nil {
		t.Fatalf("the new sign-in after the first replica's refresh: %v", err)
	}
}
