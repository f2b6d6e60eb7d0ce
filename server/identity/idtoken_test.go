package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
)

func TestAnAdministratorsSignInYieldsValidatedClaimsWithTheirRoles(t *testing.T) {
	tests := []struct {
		upn   string
		admin bool
	}{
		{"grace@placard.example", true},
		{"ada@placard.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.upn, func(t *testing.T) {
			c, sb, caches := newClient(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			flow, err := c.StartAdminSignIn(ctx, c.NewVerifier(sb.Now))
			if err != nil {
				t.Fatal(err)
			}
			sb.Approve(flow.Code().UserCode, tt.upn)
			claims, err := flow.Wait(ctx)
			if err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			if claims.Username != tt.upn || claims.TenantID != sandbox.TenantID {
				t.Errorf("claims %+v", claims)
			}
			if got := claims.HasRole(server.AdminRole); got != tt.admin {
				t.Errorf("HasRole(%s) = %v, want %v", server.AdminRole, got, tt.admin)
			}
			if len(caches.m) != 0 {
				t.Errorf("an administrator's sign-in stored %d token caches, want none", len(caches.m))
			}
		})
	}
}

const (
	testTenant = "11111111-2222-3333-4444-555555555555"
	testClient = "99999999-8888-7777-6666-555555555555"
)

// authority is a minimal OpenID provider: metadata and keys, and a key
// to sign tokens with.
type authority struct {
	key    *rsa.PrivateKey
	kid    string
	issuer string // as the metadata states it
	hits   int
}

func newAuthority(t *testing.T, issuer string) *authority {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{key: k, kid: "key-1", issuer: issuer}
}

func (a *authority) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	switch {
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		a.hits++
		json.NewEncoder(rec).Encode(map[string]string{"issuer": a.issuer, "jwks_uri": "https://login.test/keys"})
	case r.URL.Path == "/keys":
		json.NewEncoder(rec).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &a.key.PublicKey, KeyID: a.kid, Algorithm: "RS256", Use: "sig"}}})
	default:
		rec.WriteHeader(http.StatusNotFound)
	}
	return rec.Result(), nil
}

type claims struct {
	jwt.Claims
	TID   string   `json:"tid"`
	UPN   string   `json:"preferred_username"`
	Roles []string `json:"roles,omitempty"`
}

func (a *authority) sign(t *testing.T, key *rsa.PrivateKey, kid string, c claims) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyRefusesEveryTokenThatIsNotOurs(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tenantIssuer := "https://login.test/" + testTenant + "/v2.0"
	good := func() claims {
		return claims{
			Claims: jwt.Claims{Issuer: tenantIssuer, Audience: jwt.Audience{testClient}, Subject: "x",
				IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))},
			TID: testTenant, UPN: "grace@contoso.example", Roles: []string{server.AdminRole},
		}
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name    string
		token   func(a *authority) string
		allowed []string
		says    string
	}{
		{"valid", func(a *authority) string { return a.sign(t, a.key, a.kid, good()) }, nil, ""},
		{"signed by another key", func(a *authority) string { return a.sign(t, otherKey, a.kid, good()) }, nil, "signature"},
		{"unknown key id", func(a *authority) string { return a.sign(t, a.key, "key-2", good()) }, nil, `key "key-2"`},
		{"another issuer", func(a *authority) string {
			c := good()
			c.Issuer = "https://login.test/" + "00000000-0000-0000-0000-000000000000" + "/v2.0"
			return a.sign(t, a.key, a.kid, c)
		}, nil, "issuer"},
		{"another audience", func(a *authority) string {
			c := good()
			c.Audience = jwt.Audience{"00000003-0000-0000-c000-000000000000"}
			return a.sign(t, a.key, a.kid, c)
		}, nil, "audience"},
		{"expired", func(a *authority) string {
			c := good()
			c.Expiry = jwt.NewNumericDate(now.Add(-time.Hour))
			return a.sign(t, a.key, a.kid, c)
		}, nil, "expired"},
		{"no expiry", func(a *authority) string {
			c := good()
			c.Expiry = nil
			return a.sign(t, a.key, a.kid, c)
		}, nil, "no expiry"},
		{"not yet valid", func(a *authority) string {
			c := good()
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour))
			return a.sign(t, a.key, a.kid, c)
		}, nil, "not valid yet"},
		{"tenant not allowed", func(a *authority) string { return a.sign(t, a.key, a.kid, good()) },
			[]string{"22222222-2222-2222-2222-222222222222"}, "not allowed"},
		{"unsigned", func(a *authority) string {
			tok := a.sign(t, a.key, a.kid, good())
			parts := strings.Split(tok, ".")
			return `eyJhbGciOiJub25lIiwia2lkIjoia2V5LTEifQ.` + parts[1] + "."
		}, nil, "not a signed JWT"},
		{"garbage", func(*authority) string { return "not.a.token" }, nil, "not a signed JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthority(t, tenantIssuer)
			c, err := identity.New(identity.Config{
				ClientID: testClient, Authority: "https://login.test/" + testTenant,
				HTTPClient: &http.Client{Transport: a}, Caches: &memCaches{m: map[string][]byte{}},
				AllowedTenants: tt.allowed,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.NewVerifier(func() time.Time { return now }).Verify(context.Background(), tt.token(a))
			if tt.says == "" {
				if err != nil || got.Username != "grace@contoso.example" || !got.HasRole(server.AdminRole) {
					t.Fatalf("Verify = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, identity.ErrInvalidIDToken) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Verify = %v, want a refusal saying %q", err, tt.says)
			}
		})
	}
}

func TestTheAdminVerifierAcceptsOneTenantOnly(t *testing.T) {
	const other = "22222222-2222-2222-2222-222222222222"
	now := time.Now()
	a := newAuthority(t, "https://login.test/{tenantid}/v2.0")
	c, err := identity.New(identity.Config{
		ClientID: testClient, Authority: "https://login.test/organizations",
		HTTPClient: &http.Client{Transport: a}, Caches: &memCaches{m: map[string][]byte{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	token := func(tid string) string {
		return a.sign(t, a.key, a.kid, claims{
			Claims: jwt.Claims{Issuer: "https://login.test/" + tid + "/v2.0", Audience: jwt.Audience{testClient},
				Expiry: jwt.NewNumericDate(now.Add(time.Hour))},
			TID: tid, UPN: "mallory@" + tid, Roles: []string{server.AdminRole},
		})
	}
	v := c.NewAdminVerifier(strings.ToUpper(testTenant), nil)
	if got, err := v.Verify(context.Background(), token(testTenant)); err != nil || !got.HasRole(server.AdminRole) {
		t.Fatalf("a token of the administrators' tenant: %+v, %v", got, err)
	}
	// Another tenant's token is valid in every other way, and carries the
	// role its tenant's owner assigned: refused, with its claims for the
	// audit trail.
	got, err := v.Verify(context.Background(), token(other))
	if !errors.Is(err, identity.ErrWrongTenant) || !errors.Is(err, identity.ErrInvalidIDToken) || got.TenantID != other || got.Username != "mallory@"+other {
		t.Fatalf("a token of another tenant: %+v, %v; want ErrWrongTenant with its claims", got, err)
	}
	// No tenant accepts nobody.
	if _, err := c.NewAdminVerifier("", nil).Verify(context.Background(), token(testTenant)); !errors.Is(err, identity.ErrWrongTenant) {
		t.Fatalf("a verifier of no tenant: %v", err)
	}
}

func TestVerifyFillsTheTenantOfMultiTenantMetadata(t *testing.T) {
	now := time.Now()
	a := newAuthority(t, "https://login.test/{tenantid}/v2.0")
	c, err := identity.New(identity.Config{
		ClientID: testClient, Authority: "https://login.test/organizations",
		HTTPClient: &http.Client{Transport: a}, Caches: &memCaches{m: map[string][]byte{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := c.NewVerifier(nil)
	tok := a.sign(t, a.key, a.kid, claims{
		Claims: jwt.Claims{Issuer: "https://login.test/" + testTenant + "/v2.0", Audience: jwt.Audience{testClient},
			Expiry: jwt.NewNumericDate(now.Add(time.Hour))},
		TID: testTenant,
	})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("a token of a tenant under organizations: %v", err)
	}
	// A tid that does not match the token's own issuer is refused.
	tok = a.sign(t, a.key, a.kid, claims{
		Claims: jwt.Claims{Issuer: "https://login.test/" + testTenant + "/v2.0", Audience: jwt.Audience{testClient},
			Expiry: jwt.NewNumericDate(now.Add(time.Hour))},
		TID: "22222222-2222-2222-2222-222222222222",
	})
	if _, err := v.Verify(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("a tid that is not the issuer's: %v", err)
	}
	if a.hits != 1 {
		t.Errorf("the metadata was fetched %d times for two tokens, want once", a.hits)
	}
}

func TestTenantIDIsLearnedFromTheAuthority(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{VerificationURL: "https://placard.test/sandbox/devicelogin"})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: sb.Transport()}
	tests := []struct{ authority, want string }{
		{"https://login.microsoftonline.com/" + sandbox.TenantDomain, sandbox.TenantID},
		{"https://login.microsoftonline.com/" + strings.ToUpper(sandbox.TenantID), sandbox.TenantID},
		{"https://login.microsoftonline.com/organizations", ""},
	}
	for _, tt := range tests {
		got, err := identity.TenantID(context.Background(), hc, tt.authority)
		if err != nil || got != tt.want {
			t.Errorf("TenantID(%s) = %q, %v; want %q", tt.authority, got, err, tt.want)
		}
	}
	if _, err := identity.TenantID(context.Background(), hc, "https://login.microsoftonline.com/nowhere.example"); err == nil ||
		!strings.Contains(err.Error(), "nowhere.example") {
		t.Errorf("an unknown tenant: %v", err)
	}
}
