package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// AuthCode is one sign-in by authorization code with PKCE (RFC 6749 §4.1,
// RFC 7636), as a public client: no secret, the verifier proves that the
// redemption comes from whoever started the sign-in.
//
// MSAL Go's AuthCodeURL has no option for state, nonce or the PKCE
// challenge, and sends the scopes exactly as given, so they are added here;
// AcquireTokenByAuthCode's WithChallenge takes the verifier, despite its
// name (apps/internal/oauth/ops/accesstokens sends it as code_verifier).
type AuthCode struct {
	c           *Client
	pc          public.Client
	mem         *memoryCache
	verifier    string
	state       string
	nonce       string
	redirectURI string
	url         string

	mu   sync.Mutex
	used bool
}

// ErrRedeemed is wrapped by the error of a second Redeem of one sign-in.
var ErrRedeemed = errors.New("this sign-in was already redeemed")

// oidcScopes are what an authorization request must add to the client's
// scopes for an id token and a refresh token: MSAL adds them to token
// requests by itself, not to the authorization URL.
// https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc#openid-connect-scopes
var oidcScopes = []string{"openid", "profile", "offline_access"}

// StartAuthCode prepares a sign-in whose browser redirect comes back to
// redirectURI: fresh random state, nonce and PKCE verifier (S256
// challenge). No sign-in is sent yet; MSAL reads the authority's metadata
// for its authorization endpoint.
//
// extra are scopes asked for beyond the client's (a board's): the person
// consents to them then.
func (c *Client) StartAuthCode(ctx context.Context, redirectURI string, extra ...string) (*AuthCode, error) {
	if _, err := url.Parse(redirectURI); err != nil || redirectURI == "" {
		return nil, fmt.Errorf("identity: redirect URI %q is not a URL", redirectURI)
	}
	mem := &memoryCache{}
	pc, err := c.newPublic(mem)
	if err != nil {
		return nil, err
	}
	scopes := c.withExtra(extra)
	for _, s := range oidcScopes {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	raw, err := pc.AuthCodeURL(ctx, c.cfg.ClientID, redirectURI, scopes)
	if err != nil {
		return nil, fmt.Errorf("identity: the authorization URL: %w", classify(err, false))
	}
	a := &AuthCode{c: c, pc: pc, mem: mem, redirectURI: redirectURI,
		// RFC 7636 §4.1: 32 random octets make a 43-character verifier.
		verifier: randomToken(32), state: randomToken(24), nonce: randomToken(24)}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("identity: MSAL's authorization URL: %w", err)
	}
	q := u.Query()
	h := sha256.Sum256([]byte(a.verifier))
	// The person chooses the account, whatever session the browser has
	// at the identity platform: "select_account interrupts single
	// sign-on", so a link opened in a browser signed in to another
	// account (a relayed link) never completes without a choice. MSAL's
	// WithPrompt takes a type of its internal package, which cannot be
	// named here.
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
	q.Set("prompt", "select_account")
	q.Set("state", a.state)
	q.Set("nonce", a.nonce)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(h[:]))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	a.url = u.String()
	if c.cfg.BrowserURL != nil {
		a.url = c.cfg.BrowserURL(a.url)
	}
	return a, nil
}

// Pending is what redeems a sign-in's code: secret (its PKCE verifier
// and nonce), to be kept sealed. A sign-in started on one replica is
// redeemed on another with it (ResumeAuthCode).
type Pending struct {
	Verifier    string `json:"verifier"`
	Nonce       string `json:"nonce"`
	RedirectURI string `json:"redirect_uri"`
}

// Pending returns what redeems the sign-in's code.
func (a *AuthCode) Pending() Pending {
	return Pending{Verifier: a.verifier, Nonce: a.nonce, RedirectURI: a.redirectURI}
}

// ResumeAuthCode returns the sign-in that p redeems, started here or on
// another replica: its Redeem is the same as the one StartAuthCode
// returned (URL and State are not known to it).
func (c *Client) ResumeAuthCode(p Pending) (*AuthCode, error) {
	if p.Verifier == "" || p.Nonce == "" || p.RedirectURI == "" {
		return nil, errors.New("identity: resuming a sign-in: its verifier, nonce or redirect URI is missing")
	}
	mem := &memoryCache{}
	pc, err := c.newPublic(mem)
	if err != nil {
		return nil, err
	}
	return &AuthCode{c: c, pc: pc, mem: mem, verifier: p.Verifier, nonce: p.Nonce, redirectURI: p.RedirectURI}, nil
}

// URL is where the browser goes to sign in. It holds no secret: the
// challenge is a hash of the verifier.
func (a *AuthCode) URL() string { return a.url }

// State is the value the callback must carry back.
func (a *AuthCode) State() string { return a.state }

// StateMatches compares a callback's state with the sign-in's in constant
// time.
func (a *AuthCode) StateMatches(state string) bool {
	return state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(a.state)) == 1
}

// Redeem redeems the authorization code, validates the id token (signature
// against the authority's keys, issuer, audience, lifetime, tenant, and the
// nonce of this sign-in), saves the account's tokens in the cache store and
// returns the account. It is single use: a second call fails with
// ErrRedeemed, whatever the first one did.
func (a *AuthCode) Redeem(ctx context.Context, code string) (Account, error) {
	a.mu.Lock()
	used := a.used
	a.used = true
	a.mu.Unlock()
	if used {
		return Account{}, &AuthError{Kind: KindOther, Description: ErrRedeemed.Error(), err: ErrRedeemed}
	}
	if code == "" {
		return Account{}, &AuthError{Kind: KindOther, Description: "the callback carried no authorization code"}
	}
	res, err := a.pc.AcquireTokenByAuthCode(ctx, code, a.redirectURI, a.c.cfg.Scopes, public.WithChallenge(a.verifier))
	if err != nil {
		if ctx.Err() != nil {
			return Account{}, ctx.Err()
		}
		return Account{}, fmt.Errorf("identity: redeeming an authorization code: %w", classify(err, false))
	}
	if !tenantAllowed(a.c.cfg.AllowedTenants, res.IDToken.TenantID) {
		return Account{}, &AuthError{Kind: KindWrongTenant, Description: fmt.Sprintf("%s is from tenant %s, which this server does not accept", res.Account.PreferredUsername, res.IDToken.TenantID)}
	}
	if res.IDToken.RawToken == "" {
		return Account{}, invalidIDToken(fmt.Errorf("%w: the token response has no id token", ErrInvalidIDToken))
	}
	claims, err := a.c.verifier().Verify(ctx, res.IDToken.RawToken)
	if err != nil {
		return Account{}, invalidIDToken(err)
	}
	if claims.Nonce == "" || subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(a.nonce)) != 1 {
		// OpenID Connect Core §3.1.3.7: the nonce must be the one sent;
		// another is a replayed or substituted token.
		return Account{}, invalidIDToken(fmt.Errorf("%w: its nonce is not this sign-in's", ErrInvalidIDToken))
	}
	return a.c.keep(ctx, res, a.mem)
}

// invalidIDToken is the error of a token response whose id token does not
// hold: the tokens are dropped (they were only ever in the sign-in's
// memory).
func invalidIDToken(err error) error {
	return &AuthError{Kind: KindOther, Description: err.Error(), err: err}
}

// randomToken returns n random bytes as unpadded base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("identity: crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// aadstsRE finds the AADSTS number at the start of an error description.
var aadstsRE = regexp.MustCompile(`^AADSTS(\d+)`)

// AuthorizeError is the error an authorization response carried back to
// the redirect URI instead of a code (RFC 6749 §4.1.2.1: error,
// error_description), with its Kind: access_denied is KindDeclined, a
// Conditional Access block KindBlocked. The description is kept up to its
// first line, as for the token endpoint's errors.
func AuthorizeError(oauthError, description string) *AuthError {
	e := &AuthError{OAuth: oauthError}
	first, _, _ := cutLine(description)
	if m := aadstsRE.FindStringSubmatch(first); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			e.Codes = []int{n}
		}
	}
	e.Description = trimAADSTS(first)
	e.Kind = kindOf(e, false)
	return e
}
