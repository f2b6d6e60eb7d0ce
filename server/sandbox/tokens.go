package sandbox

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// GraphAudience is the application id of Microsoft Graph, the "aud" of the
// access tokens Graph accepts.
// https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/governance/verify-first-party-apps-sign-in
const GraphAudience = "00000003-0000-0000-c000-000000000000"

// accessClaims are the claims of an access token for Graph. Graph's tokens
// are v1.0 tokens (iss sts.windows.net); preferred_username is added so that
// clients reading either version find the account's name.
// https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
type accessClaims struct {
	jwt.Claims
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	UPN               string `json:"upn"`
	UniqueName        string `json:"unique_name"`
	Scope             string `json:"scp"`
	AppID             string `json:"appid"`
	Version           string `json:"ver"`
}

// idClaims are the claims of a v2.0 id token.
// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
type idClaims struct {
	jwt.Claims
	TenantID          string   `json:"tid"`
	ObjectID          string   `json:"oid"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Version           string   `json:"ver"`
	Roles             []string `json:"roles,omitempty"`
}

// issuerV1 and issuerV2 are the issuers of v1.0 and v2.0 tokens.
func issuerV1(tid string) string { return "https://sts.windows.net/" + tid + "/" }
func issuerV2(tid string) string { return "https://" + LoginHost + "/" + tid + "/v2.0" }

func (s *Sandbox) sign(claims any) (string, error) {
	tok, err := jwt.Signed(s.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sandbox: signing a token: %w", err)
	}
	return tok, nil
}

// tokenSet is what the token endpoint returns on success.
type tokenSet struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// issue makes the tokens for u; s.mu must be held.
func (s *Sandbox) issue(u *user, scopes scopeSet, session string) (tokenSet, error) {
	now := s.now()
	lifetime := s.opts.AccessTokenLifetime
	if lifetime == 0 {
		// Access tokens live 60 to 90 minutes, 75 on average.
		// https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#token-lifetime
		lifetime = time.Duration(3600+s.rng.IntN(1800)) * time.Second
	}
	graphScopes := scopes.graph()
	at, err := s.sign(accessClaims{
		Claims: jwt.Claims{
			Issuer:    issuerV1(TenantID),
			Subject:   pairwiseSubject(u.OID, GraphAudience),
			Audience:  jwt.Audience{GraphAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			Expiry:    jwt.NewNumericDate(now.Add(lifetime)),
			ID:        randomString(16),
		},
		TenantID: TenantID, ObjectID: u.OID, Name: u.DisplayName,
		PreferredUsername: u.UPN, UPN: u.UPN, UniqueName: u.UPN,
		Scope: strings.Join(graphScopes, " "), AppID: ClientID, Version: "1.0",
	})
	if err != nil {
		return tokenSet{}, err
	}
	out := tokenSet{
		TokenType:    "Bearer",
		Scope:        strings.Join(scopes.granted(), " "),
		ExpiresIn:    int(lifetime / time.Second),
		ExtExpiresIn: int(lifetime / time.Second),
		AccessToken:  at,
		ClientInfo:   clientInfo(u.OID, TenantID),
	}
	if scopes.has("openid") {
		out.IDToken, err = s.sign(idClaims{
			Claims: jwt.Claims{
				Issuer:    issuerV2(TenantID),
				Subject:   pairwiseSubject(u.OID, ClientID),
				Audience:  jwt.Audience{ClientID},
				IssuedAt:  jwt.NewNumericDate(now),
				NotBefore: jwt.NewNumericDate(now),
				Expiry:    jwt.NewNumericDate(now.Add(time.Hour)),
			},
			TenantID: TenantID, ObjectID: u.OID, Name: u.DisplayName,
			PreferredUsername: u.UPN, Version: "2.0", Roles: u.Roles,
		})
		if err != nil {
			return tokenSet{}, err
		}
	}
	if scopes.has("offline_access") {
		out.RefreshToken, err = s.sealRefresh(refreshToken{
			OID: u.OID, Scopes: scopes.list(), Session: session,
			IssuedAt: now.UnixMilli(), Expiry: now.Add(refreshLifetime).UnixMilli(),
		})
		if err != nil {
			return tokenSet{}, err
		}
	}
	return out, nil
}

// refreshLifetime is the default lifetime of a refresh token: 90 days.
// https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-lifetime
const refreshLifetime = 90 * 24 * time.Hour

// refreshToken is what a refresh token carries. Real refresh tokens are
// opaque encrypted blobs too; keeping the state inside the token (sealed
// with the sandbox's key) lets them survive a restart of the edge server.
type refreshToken struct {
	OID      string   `json:"oid"`
	Scopes   []string `json:"scp"`
	Session  string   `json:"sid"`
	IssuedAt int64    `json:"iat"` // Unix milliseconds
	Expiry   int64    `json:"exp"` // Unix milliseconds
	Nonce    string   `json:"n"`
}

func (s *Sandbox) refreshCipher() (cipher.AEAD, error) {
	k := sha256.Sum256(append([]byte("placard-sandbox-refresh:"), s.key.D.Bytes()...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Sandbox) sealRefresh(rt refreshToken) (string, error) {
	rt.Nonce = randomString(8) // rotation: every token is new
	plain, err := json.Marshal(rt)
	if err != nil {
		return "", err
	}
	aead, err := s.refreshCipher()
	if err != nil {
		return "", fmt.Errorf("sandbox: refresh token: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sandbox: refresh token: %w", err)
	}
	// "1.A" mimics the opaque prefix of real refresh tokens; it also keeps
	// them from looking like JWTs.
	return "1.A" + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil)), nil
}

var errBadRefresh = errors.New("malformed refresh token")

func (s *Sandbox) openRefresh(tok string) (refreshToken, error) {
	var rt refreshToken
	raw, ok := strings.CutPrefix(tok, "1.A")
	if !ok {
		return rt, errBadRefresh
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return rt, errBadRefresh
	}
	aead, err := s.refreshCipher()
	if err != nil {
		return rt, err
	}
	if len(b) < aead.NonceSize() {
		return rt, errBadRefresh
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], nil)
	if err != nil {
		return rt, errBadRefresh
	}
	if err := json.Unmarshal(plain, &rt); err != nil {
		return rt, errBadRefresh
	}
	return rt, nil
}

// clientInfo is MSAL's client_info: base64url JSON of the home account.
func clientInfo(oid, tid string) string {
	b, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// pairwiseSubject mimics "sub": unique per user and application.
func pairwiseSubject(oid, app string) string {
	h := sha256.Sum256([]byte(oid + "|" + app))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// keyID is the JWKS "kid" of a key: a thumbprint of the public key.
func keyID(pub *rsa.PublicKey) string {
	thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(thumb)[:27]
}

// JWKS returns the public signing keys, as served at
// /{tenant}/discovery/v2.0/keys.
func (s *Sandbox) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.key.PublicKey, KeyID: s.keyID, Algorithm: string(jose.RS256), Use: "sig",
	}}}
}

// verifyAccess checks a Graph access token as Graph does: signature,
// audience, issuer, lifetime. It returns the token's claims, or the reason
// Graph gives for refusing it (its own words, for its error body).
func (s *Sandbox) verifyAccess(raw string, now time.Time) (accessClaims, string) {
	var c accessClaims
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return c, "IDX14100: JWT is not well formed."
	}
	if err := tok.Claims(&s.key.PublicKey, &c); err != nil {
		return c, "IDX10511: Signature validation failed."
	}
	err = c.ValidateWithLeeway(jwt.Expected{
		Issuer:      issuerV1(TenantID),
		AnyAudience: jwt.Audience{GraphAudience},
		Time:        now,
	}, 0)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return c, "Lifetime validation failed, the token is expired."
	case err != nil:
		return c, "Access token validation failure. " + err.Error()
	}
	return c, ""
}
