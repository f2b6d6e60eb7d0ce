package identity_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
)

// callback is the edge server's redirect URI, registered in the sandbox.
const callback = "https://placard.test/signin/callback"

// authorize starts a sign-in by authorization code and has upn accept it on
// the sandbox's page ("" declines); it returns the sign-in and the query
// the browser came back to the callback with.
func authorize(t *testing.T, c *identity.Client, sb *sandbox.Sandbox, upn string) (*identity.AuthCode, url.Values) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := c.StartAuthCode(ctx, callback)
	if err != nil {
		t.Fatalf("StartAuthCode: %v", err)
	}
	return a, back(t, sb, a.URL(), upn)
}

// back has upn accept (or decline, "") an authorization URL and returns the
// query of the redirect to the callback.
func back(t *testing.T, sb *sandbox.Sandbox, authURL, upn string) url.Values {
	t.Helper()
	loc, err := sb.Authorize(authURL, upn)
	if err != nil {
		t.Fatalf("the sign-in page: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != callback {
		t.Fatalf("redirected to %s, want %s", got, callback)
	}
	return u.Query()
}

func redeem(t *testing.T, a *identity.AuthCode, code string) (identity.Account, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return a.Redeem(ctx, code)
}

func TestAuthCodeURLCarriesStateNonceAndS256Challenge(t *testing.T) {
	c, _, _ := newClient(t)
	a, err := c.StartAuthCode(context.Background(), callback)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(a.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != sandbox.LoginHost || !strings.HasSuffix(u.Path, sandbox.AuthorizePath) {
		t.Errorf("authorization URL %s is not the authority's authorization endpoint", u)
	}
	if q.Get("state") != a.State() || len(a.State()) < 32 || q.Get("nonce") == "" {
		t.Errorf("state %q (sign-in's %q), nonce %q", q.Get("state"), a.State(), q.Get("nonce"))
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("challenge %q method %q, want a 43-character S256 challenge", q.Get("code_challenge"), q.Get("code_challenge_method"))
	}
	if q.Get("redirect_uri") != callback || q.Get("response_type") != "code" || q.Get("client_id") != sandbox.ClientID {
		t.Errorf("redirect_uri %q response_type %q client_id %q", q.Get("redirect_uri"), q.Get("response_type"), q.Get("client_id"))
	}
	scopes := strings.Fields(q.Get("scope"))
	for _, want := range append([]string{"openid", "profile", "offline_access"}, identity.DefaultScopes...) {
		if !slices.Contains(scopes, want) {
			t.Errorf("scope %q lacks %s", q.Get("scope"), want)
		}
	}
	other, err := c.StartAuthCode(context.Background(), callback)
	if err != nil {
		t.Fatal(err)
	}
	if other.State() == a.State() || other.URL() == a.URL() {
		t.Error("two sign-ins share their state or URL")
	}
}

func TestAuthCodeSignInThenSilentTokens(t *testing.T) {
	c, sb, caches := newClient(t)
	a, q := authorize(t, c, sb, "grace@placard.example")
	if q.Get("state") != a.State() || q.Get("code") == "" {
		t.Fatalf("callback query %v: want the sign-in's state and a code", q)
	}
	acct, err := redeem(t, a, q.Get("code"))
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	if acct.Username != "grace@placard.example" || acct.Name != "Grace Hopper" || acct.TenantID != sandbox.TenantID {
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
	if _, src, err := c.Token(ctx, acct.ID, tok); err != nil || src != identity.FromRefresh {
		t.Fatalf("forced refresh: %v, source %v", err, src)
	}
}

func TestAuthCodeIsRedeemedOnce(t *testing.T) {
	c, sb, _ := newClient(t)
	a, q := authorize(t, c, sb, "ada@placard.example")
	if _, err := redeem(t, a, q.Get("code")); err != nil {
		t.Fatal(err)
	}
	_, err := redeem(t, a, q.Get("code"))
	if !errors.Is(err, identity.ErrRedeemed) {
		t.Fatalf("second Redeem: %v, want ErrRedeemed", err)
	}
	// Another sign-in that replays the code gets the platform's refusal.
	b, _ := authorize(t, c, sb, "ada@placard.example")
	_, err = redeem(t, b, q.Get("code"))
	var ae *identity.AuthError
	if !errors.As(err, &ae) || ae.AADSTS() != "AADSTS54005" {
		t.Fatalf("a replayed code: %v, want AADSTS54005", err)
	}
}

func TestAuthCodeRedemptionRefusals(t *testing.T) {
	tests := []struct {
		name string
		// code returns the code to redeem with sign-in a.
		code   func(t *testing.T, c *identity.Client, sb *sandbox.Sandbox, a *identity.AuthCode) string
		aadsts string
		is     error
	}{
		{"another sign-in's code (wrong verifier)", func(t *testing.T, c *identity.Client, sb *sandbox.Sandbox, a *identity.AuthCode) string {
			_, q := authorize(t, c, sb, "ada@placard.example")
			return q.Get("code")
		}, "AADSTS501481", nil},
		{"expired code", func(t *testing.T, c *identity.Client, sb *sandbox.Sandbox, a *identity.AuthCode) string {
			q := back(t, sb, a.URL(), "ada@placard.example")
			sb.Advance(11 * time.Minute)
			return q.Get("code")
		}, "AADSTS70008", nil},
		{"unknown code", func(t *testing.T, c *identity.Client, sb *sandbox.Sandbox, a *identity.AuthCode) string {
			return "1.AQnot-a-code"
		}, "AADSTS70000", nil},
		{"id token with another nonce", func(t *testing.T, c *identity.Client, sb *sandbox.Sandbox, a *identity.AuthCode) string {
			u, _ := url.Parse(a.URL())
			q := u.Query()
			q.Set("nonce", "someone-elses-nonce")
			u.RawQuery = q.Encode()
			return back(t, sb, u.String(), "ada@placard.example").Get("code")
		}, "", identity.ErrInvalidIDToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sb, caches := newClient(t)
			a, err := c.StartAuthCode(context.Background(), callback)
			if err != nil {
				t.Fatal(err)
			}
			_, err = redeem(t, a, tt.code(t, c, sb, a))
			var ae *identity.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an AuthError", err)
			}
			if tt.aadsts != "" && ae.AADSTS() != tt.aadsts {
				t.Errorf("got %s (%v), want %s", ae.AADSTS(), err, tt.aadsts)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want %v", err, tt.is)
			}
			if len(caches.m) != 0 {
				t.Errorf("a refused sign-in kept tokens: %d caches", len(caches.m))
			}
		})
	}
}

func TestAuthCodeFromAnotherTenantIsRefused(t *testing.T) {
	c, sb, caches := newClient(t, func(cfg *identity.Config) { cfg.AllowedTenants = []string{"11111111-2222-3333-4444-555555555555"} })
	a, q := authorize(t, c, sb, "ada@placard.example")
	_, err := redeem(t, a, q.Get("code"))
	if k := identity.KindOf(err); k != identity.KindWrongTenant {
		t.Fatalf("kind %v (%v), want wrong tenant", k, err)
	}
	if len(caches.m) != 0 {
		t.Errorf("tokens of a refused tenant were kept: %d caches", len(caches.m))
	}
}

func TestAuthCodeURLIsMappedForBrowsers(t *testing.T) {
	c, sb, _ := newClient(t, func(cfg *identity.Config) { cfg.BrowserURL = sandbox.BrowserURL("https://placard.test:8443/") })
	a, err := c.StartAuthCode(context.Background(), callback)
	if err != nil {
		t.Fatal(err)
	}
	want := "https://placard.test:8443" + sandbox.BrowserPrefix + "/" + sandbox.TenantID + sandbox.AuthorizePath + "?"
	if !strings.HasPrefix(a.URL(), want) {
		t.Fatalf("browser URL %s, want it under %s", a.URL(), want)
	}
	q := back(t, sb, a.URL(), "grace@placard.example")
	if _, err := redeem(t, a, q.Get("code")); err != nil {
		t.Fatalf("Redeem of the mapped sign-in: %v", err)
	}
}

func TestAuthorizeErrorsHaveTheirKind(t *testing.T) {
	tests := []struct {
		name   string
		faults sandbox.Faults
		upn    string
		kind   identity.Kind
		aadsts string
	}{
		{"declined", sandbox.Faults{}, "", identity.KindDeclined, "AADSTS65004"},
		{"conditional access", sandbox.Faults{ConditionalAccessBlock: true}, "ada@placard.example", identity.KindBlocked, "AADSTS53003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sb, _ := newClient(t)
			sb.SetFaults(tt.faults)
			a, q := authorize(t, c, sb, tt.upn)
			if q.Has("code") || q.Get("state") != a.State() {
				t.Fatalf("callback query %v: want an error and the state", q)
			}
			ae := identity.AuthorizeError(q.Get("error"), q.Get("error_description"))
			if ae.Kind != tt.kind || ae.AADSTS() != tt.aadsts || strings.Contains(ae.Description, "Trace ID") {
				t.Errorf("got %v %s %q, want %v %s", ae.Kind, ae.AADSTS(), ae.Description, tt.kind, tt.aadsts)
			}
		})
	}
}

func TestBlockDeviceCodeFlow(t *testing.T) {
	c, sb, _ := newClient(t)
	ctx := context.Background()
	byCode, err := signIn(t, c, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil {
		t.Fatal(err)
	}
	a, q := authorize(t, c, sb, "grace@placard.example")
	byQR, err := redeem(t, a, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})

	_, err = c.StartDeviceCode(ctx)
	var ae *identity.AuthError
	if !errors.As(err, &ae) || ae.Kind != identity.KindCodeFlowBlocked || ae.AADSTS() != "AADSTS53003" {
		t.Fatalf("device code under the block: %v, want code_flow_blocked AADSTS53003", err)
	}
	_, _, err = c.Token(ctx, byCode.ID, refused(t, c, byCode.ID))
	if !errors.As(err, &ae) || ae.Kind != identity.KindCodeFlowBlocked || ae.AADSTS() != "AADSTS530036" {
		t.Fatalf("refresh of a device-code session under the block: %v, want code_flow_blocked AADSTS530036", err)
	}
	if _, src, err := c.Token(ctx, byQR.ID, refused(t, c, byQR.ID)); err != nil || src != identity.FromRefresh {
		t.Fatalf("refresh of an authorization-code session under the block: %v (source %v)", err, src)
	}
	a, q = authorize(t, c, sb, "ada@placard.example")
	if _, err := redeem(t, a, q.Get("code")); err != nil {
		t.Fatalf("sign-in by authorization code under the block: %v", err)
	}
}

// refused returns the account's cached access token, for a Token call that
// must refresh because the resource refused it.
func refused(t *testing.T, c *identity.Client, accountID string) string {
	t.Helper()
	tok, _, err := c.Token(context.Background(), accountID, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
