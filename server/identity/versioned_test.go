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

// Two replicas share one store: both read the account's cache, both
// refresh at once (slowly); the one that writes second wrote over a cache
// it never read, so its write is refused and the first one's stays.
func TestReplicasRefreshingAtOnceNeverOverwriteANewerCache(t *testing.T) {
	_, sb, _ := newClient(t)
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	box, err := secret.NewBox(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	shared := identity.SealedCaches{Store: store, Box: box}
	replica := func() *identity.Client {
		c, err := identity.New(identity.Config{
			ClientID:   sandbox.ClientID,
			Authority:  "https://" + sandbox.LoginHost + "/" + sandbox.TenantID,
			HTTPClient: &http.Client{Transport: sb.Transport()},
			Caches:     shared,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
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
