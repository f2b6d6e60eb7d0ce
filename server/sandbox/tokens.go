package sandbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// GraphAudience is the application id of Microsoft Graph, the "aud" of the
// access tokens Graph accepts.
// https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/governance/verify-first-party-apps-sign-in
const GraphAudience = "00000003-0000-0000-c000-000000000000"

// clockSkew is how far back the platform dates "iat" and "nbf", so that a
// resource whose clock is a little behind accepts a new token. Real tokens
// show iat == nbf a few minutes before they were issued; the exact margin is
// unconfirmed.
const clockSkew = 5 * time.Minute

// accessClaims are the claims of an access token for Graph. Graph's tokens
// are v1.0 tokens (iss sts.windows.net); preferred_username, a v2.0 claim,
// is added so that clients reading either version find the account's name.
//
// Unlike the sandbox's, real Graph tokens cannot be checked by anyone but
// Graph: their header carries a "nonce" that Graph hashes before checking
// the signature ("Graph tokens are not meant to be validated by your app").
// The sandbox's validate against its JWKS, which is what tests need.
// https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
type accessClaims struct {
	jwt.Claims
	ACR               string   `json:"acr"`
	AMR               []string `json:"amr"`
	AppDisplayName    string   `json:"app_displayname"`
	AppID             string   `json:"appid"`
	AppIDACR          string   `json:"appidacr"`
	FamilyName        string   `json:"family_name,omitempty"`
	GivenName         string   `json:"given_name,omitempty"`
	IDType            string   `json:"idtyp"`
	Name              string   `json:"name"`
	ObjectID          string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	Scope             string   `json:"scp"`
	SessionID         string   `json:"sid"`
	RegionScope       string   `json:"tenant_region_scope"`
	TenantID          string   `json:"tid"`
	UniqueName        string   `json:"unique_name"`
	UPN               string   `json:"upn"`
	UTI               string   `json:"uti"`
	Version           string   `json:"ver"`
}

// idClaims are the claims of a v2.0 id token.
// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
type idClaims struct {
	jwt.Claims
	Email string `json:"email,omitempty"`
	Name  string `json:"name"`
	// Nonce is the authorization request's, copied as OpenID Connect
	// Core §2 asks; device-code id tokens have none.
	Nonce             string   `json:"nonce,omitempty"`
	ObjectID          string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	Roles             []string `json:"roles,omitempty"`
	TenantID          string   `json:"tid"`
	UTI               string   `json:"uti"`
	Version           string   `json:"ver"`
}

// issuerV1 and issuerV2 are the issuers of v1.0 and v2.0 tokens; a v2.0
// issuer is the login origin's, so that a client of the listener finds the
// issuer its metadata names.
func issuerV1(tid string) string           { return "https://sts.windows.net/" + tid + "/" }
func issuerV2(o origin, tid string) string { return o.login + "/" + tid + "/v2.0" }

func (s *Sandbox) sign(claims any) (string, error) {
	tok, err := jwt.Signed(s.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sandbox: signing a token: %w", err)
	}
	return tok, nil
}

// tokenSet is what the token endpoint returns on success.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#successful-authentication-response
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

// Flows a session can begin with. A refresh token carries its session's
// flow through every rotation, as the platform's "protocol tracking" keeps
// the original transfer method of a session.
// https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-authentication-flows
const (
	flowDeviceCode = "device_code"
	flowAuthCode   = "auth_code"
)

// issuance is what a grant adds to the tokens it issues: its session, the
// flow the session began with, and the authorization request's nonce.
type issuance struct {
	session, flow, nonce string
}

// issue makes the tokens for u; s.mu must be held.
func (s *Sandbox) issue(u *user, scopes scopeSet, in issuance, o origin) (tokenSet, error) {
	return s.prepare(u, scopes, in, o)()
}

// prepare reads what the tokens for u say, with s.mu held, and returns
// the function that signs them, which needs no lock: a signature takes
// milliseconds of CPU, and every request of the sandbox waits on s.mu, so
// the hot paths (a building of screens redeeming their codes) sign with it
// released.
func (s *Sandbox) prepare(u *user, scopes scopeSet, in issuance, o origin) func() (tokenSet, error) {
	session := in.session
	now := s.now()
	lifetime := s.opts.AccessTokenLifetime
	if lifetime == 0 {
		// Access tokens live 60 to 90 minutes, 75 on average.
		// https://learn.microsoft.com/en-us/entra/identity-platform/configurable-token-lifetimes#access-tokens
		lifetime = time.Duration(3600+s.rng.IntN(1800)) * time.Second
	}
	// A copy: the user can change once s.mu is released.
	uc := *u
	uc.Roles = slices.Clone(u.Roles)
	u = &uc
	return func() (tokenSet, error) {
		return s.signTokens(u, scopes, in, o, session, now, lifetime)
	}
}

func (s *Sandbox) signTokens(u *user, scopes scopeSet, in issuance, o origin, session string, now time.Time, lifetime time.Duration) (tokenSet, error) {
	at, err := s.sign(accessClaims{
		Claims: jwt.Claims{
			Issuer:    issuerV1(TenantID),
			Subject:   pairwiseSubject(u.OID, GraphAudience),
			Audience:  jwt.Audience{GraphAudience},
			IssuedAt:  jwt.NewNumericDate(now.Add(-clockSkew)),
			NotBefore: jwt.NewNumericDate(now.Add(-clockSkew)),
			Expiry:    jwt.NewNumericDate(now.Add(lifetime)),
		},
		ACR: "1", AMR: []string{"pwd", "mfa"}, AppDisplayName: appDisplayName, AppID: ClientID, AppIDACR: "0",
		FamilyName: u.Surname, GivenName: u.GivenName, IDType: "user", Name: u.DisplayName, ObjectID: u.OID,
		PreferredUsername: u.UPN, Scope: strings.Join(scopes.graph(), " "), SessionID: session,
		RegionScope: "EU", TenantID: TenantID, UniqueName: u.UPN, UPN: u.UPN, UTI: randomString(16), Version: "1.0",
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
		var email string
		if scopes.has("email") && u.Mailbox {
			email = u.UPN
		}
		out.IDToken, err = s.sign(idClaims{
			Claims: jwt.Claims{
				Issuer:    issuerV2(o, TenantID),
				Subject:   pairwiseSubject(u.OID, ClientID),
				Audience:  jwt.Audience{ClientID},
				IssuedAt:  jwt.NewNumericDate(now.Add(-clockSkew)),
				NotBefore: jwt.NewNumericDate(now.Add(-clockSkew)),
				Expiry:    jwt.NewNumericDate(now.Add(time.Hour)),
			},
			Email: email, Name: u.DisplayName, Nonce: in.nonce, ObjectID: u.OID, PreferredUsername: u.UPN,
			Roles: u.Roles, TenantID: TenantID, UTI: randomString(16), Version: "2.0",
		})
		if err != nil {
			return tokenSet{}, err
		}
	}
	if scopes.has("offline_access") {
		// A token issued at the instant of a revocation is after it: the
		// revocation came first.
		issued := now.UnixNano()
		if !u.validSince.IsZero() {
			issued = max(issued, u.validSince.UnixNano()+1)
		}
		out.RefreshToken, err = s.sealRefresh(refreshToken{
			OID: u.OID, Scopes: scopes.list(), Session: session, Flow: in.flow,
			IssuedAt: now.UnixMilli(), IssuedNano: issued, Expiry: now.Add(refreshLifetime).UnixMilli(),
		})
		if err != nil {
			return tokenSet{}, err
		}
	}
	return out, nil
}

// appDisplayName is the sandbox's application as tokens and pages name it.
const appDisplayName = "placard (sandbox)"

// refreshLifetime is the default lifetime of a refresh token: 90 days,
// renewed by each use (a new token comes with each refresh).
// https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-lifetime
const refreshLifetime = 90 * 24 * time.Hour

// refreshToken is what a refresh token carries. Real refresh tokens are
// opaque encrypted blobs too; keeping the state inside the token (sealed
// with the sandbox's key) lets them survive a restart of the edge server.
// Revocation is the user's validSince, kept in the state file.
type refreshToken struct {
	OID      string   `json:"oid"`
	Scopes   []string `json:"scp"`
	Session  string   `json:"sid"`
	IssuedAt int64    `json:"iat"` // Unix milliseconds
	// IssuedNano orders the token against revocations to the nanosecond
	// (tokens of earlier versions lack it).
	IssuedNano int64  `json:"iatn,omitempty"`
	Expiry     int64  `json:"exp"` // Unix milliseconds
	Nonce      string `json:"n"`
	// Flow is how the session began (flowDeviceCode, flowAuthCode).
	Flow string `json:"flow,omitempty"`
}

// flow is how the token's session began: tokens of earlier versions lack
// it, and came from device codes, the only flow there was.
func (rt refreshToken) flow() string {
	if rt.Flow == "" {
		return flowDeviceCode
	}
	return rt.Flow
}

// issued is when the token was issued, as precisely as it says.
func (rt refreshToken) issued() int64 {
	if rt.IssuedNano != 0 {
		return rt.IssuedNano
	}
	return rt.IssuedAt * int64(time.Millisecond)
}

// refreshCipher seals refresh tokens with a key derived from the signing
// key, so that they open again after a restart with the same key file.
func refreshCipher(key *rsa.PrivateKey) (cipher.AEAD, error) {
	k := sha256.Sum256(append([]byte("placard-sandbox-refresh:"), key.D.Bytes()...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("sandbox: the refresh tokens' cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

func (s *Sandbox) sealRefresh(rt refreshToken) (string, error) {
	rt.Nonce = randomString(8) // rotation: every token is new
	plain, err := json.Marshal(rt)
	if err != nil {
		return "", err
	}
	aead := s.refreshAEAD
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
	aead := s.refreshAEAD
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

// signingCertificate is the self-signed certificate of the signing key, as
// the platform publishes one per key in "x5c". It is made the same way
// every time from the key (fixed serial and dates; PKCS #1 v1.5 signatures
// are deterministic), so "kid" stays the same across restarts without
// storing anything but the key.
func signingCertificate(key *rsa.PrivateKey) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sandbox: signing certificate: %w", err)
	}
	return der, nil
}

// x5t is a certificate's SHA-1 thumbprint, base64url: the platform's "kid"
// and "x5t" of a key.
func x5t(der []byte) string {
	h := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// jwk is one key of the JWKS, with the members the platform's keys have
// ("issuer" is Microsoft's own, for multi-tenant validation).
// https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-signature
type jwk struct {
	KeyType string   `json:"kty"`
	Use     string   `json:"use"`
	KeyID   string   `json:"kid"`
	X5T     string   `json:"x5t"`
	N       string   `json:"n"`
	E       string   `json:"e"`
	X5C     []string `json:"x5c"`
	Cloud   string   `json:"cloud_instance_name"`
	Issuer  string   `json:"issuer"`
}

// jwks is the key set served at /{tenant}/discovery/v2.0/keys; issuer is
// the tenant's v2.0 issuer ("{tenantid}" for the multi-tenant aliases).
func (s *Sandbox) jwks(issuer string) map[string][]jwk {
	pub := &s.key.PublicKey
	return map[string][]jwk{"keys": {{
		KeyType: "RSA", Use: "sig", KeyID: s.keyID, X5T: s.keyID,
		N:     base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:     base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		X5C:   []string{base64.StdEncoding.EncodeToString(s.keyCert)},
		Cloud: "microsoftonline.com", Issuer: issuer,
	}}}
}

// JWKS returns the public signing keys, as go-jose reads them.
func (s *Sandbox) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.key.PublicKey, KeyID: s.keyID, Algorithm: string(jose.RS256), Use: "sig",
	}}}
}

// verifyAccess checks a Graph access token as Graph does: signature,
// audience, issuer, lifetime. It returns the token's claims, or the reason
// Graph gives for refusing it, in Graph's words (seen in public threads).
func (s *Sandbox) verifyAccess(raw string, now time.Time) (accessClaims, string) {
	var c accessClaims
	if strings.Count(raw, ".") != 2 {
		// Graph's answer to a token that is not a JWT at all.
		return c, "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'."
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return c, "Invalid JWT token. The token is malformed."
	}
	if err := tok.Claims(&s.key.PublicKey, &c); err != nil {
		// The wording of a bad signature is unconfirmed.
		return c, "Access token validation failure."
	}
	err = c.ValidateWithLeeway(jwt.Expected{Issuer: issuerV1(TenantID), Time: now}, 0)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return c, "Lifetime validation failed, the token is expired."
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return c, "Lifetime validation failed, the token is not yet valid."
	case err != nil:
		return c, "Access token validation failure. Invalid issuer."
	case !c.Audience.Contains(GraphAudience) && !c.Audience.Contains("https://"+GraphHost):
		return c, "Access token validation failure. Invalid audience."
	}
	return c, ""
}
