package identity_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
)

// memCaches is a CacheStore in memory. Like a database, it refuses work
// for a context that has ended.
type memCaches struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memCaches) LoadCache(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id], nil
}

func (c *memCaches) SaveCache(ctx context.Context, id string, b []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[id] = b
	return nil
}

func (c *memCaches) DeleteCache(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
	return nil
}

func (c *memCaches) has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m[id]) > 0
}

func newClient(t *testing.T, cfg ...func(*identity.Config)) (*identity.Client, *sandbox.Sandbox, *memCaches) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{VerificationURL: "https://placard.test/sandbox/devicelogin", RedirectURIs: []string{callback}})
	if err != nil {
		t.Fatal(err)
	}
	caches := &memCaches{m: map[string][]byte{}}
	c := identity.Config{
		ClientID:   sandbox.ClientID,
		Authority:  "https://" + sandbox.LoginHost + "/" + sandbox.TenantID,
		HTTPClient: &http.Client{Transport: sb.Transport()},
		Caches:     caches,
	}
	for _, f := range cfg {
		f(&c)
	}
	client, err := identity.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return client, sb, caches
}

// signIn runs a device-code sign-in that act completes on the "phone".
func signIn(t *testing.T, c *identity.Client, act func(code string)) (identity.Account, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, err := c.StartDeviceCode(ctx)
	if err != nil {
		t.Fatalf("StartDeviceCode: %v", err)
	}
	act(f.Code().UserCode)
	return f.Wait(ctx)
}

func TestDeviceCodeSignInThenSilentTokens(t *testing.T) {
	c, sb, caches := newClient(t)
	acct, err := signIn(t, c, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if acct.Username != "ada@placard.example" || acct.Name != "Ada Lovelace" || acct.TenantID != sandbox.TenantID {
		t.Errorf("account %+v", acct)
	}
	if len(caches.m[acct.ID]) == 0 {
		t.Fatal("the account's token cache was not saved")
	}
	ctx := context.Background()
	tok, src, err := c.Token(ctx, acct.ID, "")
	if err != nil || src != identity.FromCache || !strings.HasPrefix(tok, "eyJ") {
		t.Fatalf("cached token: %v, source %v", err, src)
	}
	refreshed, src, err := c.Token(ctx, acct.ID, tok)
	if err != nil || src != identity.FromRefresh || refreshed == tok {
		t.Fatalf("refresh of a refused token: %v, source %v, new token %v", err, src, refreshed != tok)
	}
	again, src, err := c.Token(ctx, acct.ID, "")
	if err != nil || src != identity.FromCache || again != refreshed {
		t.Fatalf("after the refresh: %v, source %v, the new token %v", err, src, again == refreshed)
	}
}

func TestSignInFailuresHaveTheirKind(t *testing.T) {
	tests := []struct {
		name   string
		act    func(sb *sandbox.Sandbox, code string)
		kind   identity.Kind
		aadsts string
	}{
		{"declined", func(sb *sandbox.Sandbox, code string) { sb.Decline(code) }, identity.KindDeclined, "AADSTS70000"},
		{"expired", func(sb *sandbox.Sandbox, code string) { sb.Advance(16 * time.Minute) }, identity.KindExpired, "AADSTS70020"},
		{"blocked", func(sb *sandbox.Sandbox, code string) {
			sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
			sb.Approve(code, "grace@placard.example")
		}, identity.KindBlocked, "AADSTS53003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sb, _ := newClient(t)
			_, err := signIn(t, c, func(code string) { tt.act(sb, code) })
			var ae *identity.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an AuthError", err)
			}
			if ae.Kind != tt.kind || ae.AADSTS() != tt.aadsts {
				t.Errorf("got %v %s, want %v %s", ae.Kind, ae.AADSTS(), tt.kind, tt.aadsts)
			}
		})
	}
}

func TestRevokedAccountEndsItsSession(t *testing.T) {
	c, sb, _ := newClient(t)
	acct, err := signIn(t, c, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Revoke("ada@placard.example"); err != nil {
		t.Fatal(err)
	}
	tok, _, err := c.Token(context.Background(), acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Token(context.Background(), acct.ID, tok)
	if k := identity.KindOf(err); k != identity.KindSessionEnded {
		t.Fatalf("refresh after revocation: kind %v (%v), want session ended", k, err)
	}
}

func TestAccountFromAnotherTenantIsRefused(t *testing.T) {
	c, sb, caches := newClient(t, func(cfg *identity.Config) { cfg.AllowedTenants = []string{"11111111-2222-3333-4444-555555555555"} })
	_, err := signIn(t, c, func(code string) { sb.Approve(code, "ada@placard.example") })
	if k := identity.KindOf(err); k != identity.KindWrongTenant {
		t.Fatalf("kind %v (%v), want wrong tenant", k, err)
	}
	if len(caches.m) != 0 {
		t.Errorf("tokens of a refused tenant were kept: %d caches", len(caches.m))
	}
}

// TestNewCodesReadTheAuthoritysMetadataOnce: each device code has an MSAL
// client of its own (a waiting screen gets a new code every 14 minutes),
// and MSAL reads the authority's metadata once per client; the identity
// platform is asked for it once, then only for codes.
func TestNewCodesReadTheAuthoritysMetadataOnce(t *testing.T) {
	c, sb, _ := newClient(t)
	ctx := t.Context()
	for range 3 {
		if _, err := c.StartDeviceCode(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := sb.Requests("devicecode"); n != 3 {
		t.Fatalf("%d device codes asked for, want 3", n)
	}
	if n := sb.Requests("openid-configuration"); n != 1 {
		t.Errorf("the authority's OpenID configuration was read %d times for 3 codes, want once", n)
	}
	// A sign-in through one of them still works from the kept metadata.
	acct, err := signIn(t, c, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil || acct.Username != "ada@placard.example" {
		t.Fatalf("sign-in after the metadata was kept: %+v, %v", acct, err)
	}
}
