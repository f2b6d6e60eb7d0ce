package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// IDClaims are what a validated id token says of an account.
// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
type IDClaims struct {
	TenantID string
	ObjectID string
	Name     string
	// Username is preferred_username: the UPN, for display only (it is
	// mutable; ObjectID and TenantID identify the account).
	Username string
	// Roles are the app roles assigned to the account for this application.
	// https://learn.microsoft.com/en-us/entra/identity-platform/howto-add-app-roles-in-apps
	Roles  []string
	Expiry time.Time
	// Nonce is the authorization request's nonce, "" when there was none
	// (device-code sign-ins).
	Nonce string
}

// HasRole reports whether the account holds an app role.
func (c IDClaims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// ErrInvalidIDToken is wrapped by every refusal of Verify.
var ErrInvalidIDToken = errors.New("invalid id token")

// ErrWrongTenant is wrapped, with ErrInvalidIDToken, by the refusal of a
// token that is valid in every way but is from a tenant the Verifier does
// not accept. Verify returns its claims with it, to say in the audit
// trail who tried; they must serve nothing else.
var ErrWrongTenant = errors.New("tenant not accepted")

// Verifier validates id tokens as MSAL does not (it reads their claims
// without checking them): the signature against the authority's keys, as
// its OpenID metadata publishes them, then the issuer, the audience (our
// client id), the lifetime and the tenant.
// https://learn.microsoft.com/en-us/entra/identity-platform/id-tokens#validate-tokens
// https://learn.microsoft.com/en-us/entra/identity-platform/claims-validation
type Verifier struct {
	authority string
	clientID  string
	hc        *http.Client
	allowed   []string
	now       func() time.Time

	mu      sync.Mutex
	issuer  string // from the metadata; may hold {tenantid}
	jwksURI string
	keys    jose.JSONWebKeySet
	fetched time.Time // when the keys were last fetched
}

// keysRefresh is how often the keys are fetched again: Entra rolls its
// signing keys over with notice, and a token signed by a key we do not
// have yet makes us fetch at once (at most once a minute).
const keysRefresh = 24 * time.Hour

// clockSkew is the leeway on token lifetimes, for clocks that differ.
const clockSkew = 5 * time.Minute

// NewVerifier returns a Verifier for the client's authority, client id,
// HTTP client and allowed tenants. now is its clock (time.Now when nil).
func (c *Client) NewVerifier(now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{
		authority: strings.TrimRight(c.cfg.Authority, "/"),
		clientID:  c.cfg.ClientID,
		hc:        c.cfg.HTTPClient,
		allowed:   c.cfg.AllowedTenants,
		now:       now,
	}
}

// NewAdminVerifier returns a Verifier that accepts the id tokens of one
// tenant only: the administrators' home tenant. The screens' tenants do
// not count here: whoever owns a tenant can consent to the application
// there and assign themselves any of its app roles, so an app role means
// something only in the tenant whose administrators assign it. An empty
// tenant accepts nobody (a tid is never empty).
func (c *Client) NewAdminVerifier(tenant string, now func() time.Time) *Verifier {
	v := c.NewVerifier(now)
	v.allowed = []string{strings.ToLower(tenant)}
	return v
}

// idTokenClaims is the JSON of an id token's claims.
type idTokenClaims struct {
	jwt.Claims
	TenantID          string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Roles             []string `json:"roles"`
	Nonce             string   `json:"nonce"`
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Verify validates a raw id token and returns its claims. Every refusal
// wraps ErrInvalidIDToken and says why, for the log; a refusal of the
// token's tenant also wraps ErrWrongTenant and comes with its claims.
func (v *Verifier) Verify(ctx context.Context, raw string) (IDClaims, error) {
	bad := func(format string, args ...any) (IDClaims, error) {
		return IDClaims{}, fmt.Errorf("%w: %s", ErrInvalidIDToken, fmt.Sprintf(format, args...))
	}
	// Entra signs id tokens with RS256; no other algorithm is accepted
	// (and never "none").
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return bad("not a signed JWT: %v", err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return bad("no key id in its header")
	}
	keys, issuer, err := v.keysFor(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return IDClaims{}, err
	}
	var c idTokenClaims
	if err := tok.Claims(keys, &c); err != nil {
		return bad("signature: %v", err)
	}
	if !guidRE.MatchString(c.TenantID) {
		return bad("tid %q is not a tenant id", c.TenantID)
	}
	// Multi-tenant metadata (organizations) has {tenantid} in its issuer:
	// the token's own tid fills it, and must then match its iss.
	want := strings.ReplaceAll(issuer, "{tenantid}", c.TenantID)
	if c.Expiry == nil {
		return bad("no expiry")
	}
	err = c.ValidateWithLeeway(jwt.Expected{Issuer: want, AnyAudience: jwt.Audience{v.clientID}, Time: v.now()}, clockSkew)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return bad("issuer %q, want %q", c.Issuer, want)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return bad("audience %v, want %s", c.Audience, v.clientID)
	case err != nil:
		return bad("%v", err)
	}
	claims := IDClaims{
		TenantID: c.TenantID, ObjectID: c.ObjectID, Name: c.Name, Username: c.PreferredUsername,
		Roles: c.Roles, Expiry: c.Expiry.Time(), Nonce: c.Nonce,
	}
	if !tenantAllowed(v.allowed, c.TenantID) {
		return claims, fmt.Errorf("%w: %w: tenant %s is not allowed here", ErrInvalidIDToken, ErrWrongTenant, c.TenantID)
	}
	return claims, nil
}

// keysFor returns the authority's keys and issuer, fetching them when
// they are old or do not hold kid.
func (v *Verifier) keysFor(ctx context.Context, kid string) (*jose.JSONWebKeySet, string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	stale := now.Sub(v.fetched) > keysRefresh
	missing := len(v.keys.Key(kid)) == 0
	if v.jwksURI == "" || stale || (missing && now.Sub(v.fetched) > time.Minute) {
		if err := v.fetchLocked(ctx); err != nil {
			return nil, "", err
		}
		v.fetched = now
	}
	if len(v.keys.Key(kid)) == 0 {
		return nil, "", fmt.Errorf("%w: signed with key %q, which %s does not publish", ErrInvalidIDToken, kid, v.jwksURI)
	}
	keys := v.keys
	return &keys, v.issuer, nil
}

// providerMetadata is what Verify needs of OpenID Provider Metadata.
type providerMetadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

func (v *Verifier) fetchLocked(ctx context.Context) error {
	var meta providerMetadata
	if err := getJSON(ctx, v.hc, metadataURL(v.authority), &meta); err != nil {
		return err
	}
	if meta.Issuer == "" || !strings.HasPrefix(meta.JWKSURI, "https://") {
		return fmt.Errorf("identity: OpenID metadata of %s names no issuer or no https jwks_uri", v.authority)
	}
	var keys jose.JSONWebKeySet
	if err := getJSON(ctx, v.hc, meta.JWKSURI, &keys); err != nil {
		return err
	}
	v.issuer, v.jwksURI, v.keys = meta.Issuer, meta.JWKSURI, keys
	return nil
}

// metadataURL is where an authority publishes its OpenID metadata.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
func metadataURL(authority string) string {
	return strings.TrimRight(authority, "/") + "/v2.0/.well-known/openid-configuration"
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("identity: GET %s: %w", u, err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return &AuthError{Kind: KindUnreachable, err: fmt.Errorf("GET %s: %w", u, err)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return &AuthError{Kind: KindUnreachable, err: fmt.Errorf("GET %s: %w", u, err)}
	}
	if res.StatusCode != http.StatusOK {
		var ob oauthBody
		json.Unmarshal(body, &ob)
		ae := &AuthError{OAuth: ob.Error, Codes: ob.Codes, Status: res.StatusCode, err: fmt.Errorf("GET %s: HTTP %d", u, res.StatusCode)}
		ae.Description, _, _ = cutLine(ob.Description)
		ae.Kind = kindOf(ae, false)
		return ae
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("identity: GET %s: %w", u, err)
	}
	return nil
}

// TenantID returns the tenant id that an authority names: its tenant
// segment when that is already an id, else the id its OpenID metadata's
// issuer holds ("https://login.microsoftonline.com/<id>/v2.0", or
// "https://<id>.ciamlogin.com/<id>/v2.0" for External ID). The
// multi-tenant aliases (organizations, common, consumers) name none: ""
// is returned for them.
func TenantID(ctx context.Context, hc *http.Client, authority string) (string, error) {
	u, err := url.Parse(authority)
	if err != nil {
		return "", fmt.Errorf("identity: authority %q: %w", authority, err)
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	tenant := seg[len(seg)-1]
	switch strings.ToLower(tenant) {
	case "organizations", "common", "consumers":
		return "", nil
	}
	if guidRE.MatchString(tenant) {
		return strings.ToLower(tenant), nil
	}
	var meta providerMetadata
	if err := getJSON(ctx, hc, metadataURL(authority), &meta); err != nil {
		return "", fmt.Errorf("identity: learning the tenant id of %s: %w", authority, err)
	}
	iu, err := url.Parse(meta.Issuer)
	if err != nil {
		return "", fmt.Errorf("identity: issuer %q of %s: %w", meta.Issuer, authority, err)
	}
	id, _, _ := strings.Cut(strings.Trim(iu.Path, "/"), "/")
	if !guidRE.MatchString(id) {
		return "", fmt.Errorf("identity: the issuer %q of %s names no tenant id", meta.Issuer, authority)
	}
	return strings.ToLower(id), nil
}
