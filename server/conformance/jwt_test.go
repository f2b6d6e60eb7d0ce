package conformance_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/placard/placard/server/sandbox"
)

// Every token the platform issues is an RS256 JWT that validates against
// the keys its metadata publishes, with go-jose, and fails once tampered
// with.
// https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-tokens

// keysOf fetches the target's OpenID metadata and its JWKS.
func keysOf(t *testing.T, tg *target) (issuer string, keys jose.JSONWebKeySet) {
	t.Helper()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, tg.hc, tg.authority+"/v2.0/.well-known/openid-configuration", &meta)
	if !strings.HasPrefix(meta.JWKSURI, "https://") {
		t.Fatalf("jwks_uri %q", meta.JWKSURI)
	}
	getJSON(t, tg.hc, meta.JWKSURI, &keys)
	if len(keys.Keys) == 0 {
		t.Fatal("the JWKS has no key")
	}
	for _, k := range keys.Keys {
		// Microsoft's keys carry their certificate, whose thumbprint is
		// the kid; go-jose checks x5t against x5c when it reads them.
		if k.KeyID == "" || len(k.Certificates) == 0 || k.Use != "sig" {
			t.Errorf("key %q: use %q, %d certificates", k.KeyID, k.Use, len(k.Certificates))
		}
	}
	return meta.Issuer, keys
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %s", u, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// verify checks a JWT's RS256 signature with the key its kid names.
func verify(raw string, keys jose.JSONWebKeySet, claims any) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	found := keys.Key(tok.Headers[0].KeyID)
	if len(found) == 0 {
		return errNoKey
	}
	return tok.Claims(found[0].Key, claims)
}

var errNoKey = errors.New("the JWKS has no key of the token's kid")

type tokenClaims struct {
	jwt.Claims
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
	Scope             string `json:"scp"`
	Version           string `json:"ver"`
}

func TestTokensValidateAgainstTheJWKS(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signIn(t, "grace@placard.example")
		issuer, keys := keysOf(t, tg)
		tid := sandbox.TenantID
		if tg.real() {
			tid = s.result.IDToken.TenantID
		}
		issuer = strings.ReplaceAll(issuer, "{tenantid}", tid)

		type tokenCase struct {
			name, raw string
			expected  jwt.Expected
		}
		tokens := []tokenCase{{"id token", s.result.IDToken.RawToken,
			jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{tg.clientID}, Time: time.Now()}}}
		if tg.real() {
			t.Log("the access token is Graph's: its header carries a nonce that only Graph can check, so it is not validated here")
		} else {
			tokens = append(tokens, tokenCase{"access token", s.result.AccessToken,
				jwt.Expected{Issuer: "https://sts.windows.net/" + tid + "/", AnyAudience: jwt.Audience{sandbox.GraphAudience}, Time: tg.sb.Now()}})
		}
		for _, tc := range tokens {
			t.Run(tc.name, func(t *testing.T) {
				var c tokenClaims
				if err := verify(tc.raw, keys, &c); err != nil {
					t.Fatalf("does not validate against %s's keys: %v", tg.name, err)
				}
				if err := c.ValidateWithLeeway(tc.expected, 5*time.Minute); err != nil {
					t.Errorf("claims: %v", err)
				}
				if c.TenantID != tid || !guidRE.MatchString(c.ObjectID) || c.Name == "" || c.PreferredUsername == "" ||
					c.IssuedAt == nil || c.NotBefore == nil || c.Expiry == nil {
					t.Errorf("claims %+v", c)
				}
				if tc.name == "access token" && (c.Scope == "" || c.Version != "1.0") {
					t.Errorf("access token scp %q, ver %q", c.Scope, c.Version)
				}
				header := decodeSegment(t, tc.raw, 0)
				if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] == "" || header["kid"] != header["x5t"] {
					t.Errorf("header %v", header)
				}
				for name, tampered := range tamperings(t, tc.raw) {
					if err := verify(tampered, keys, &tokenClaims{}); err == nil {
						t.Errorf("%s: a tampered token still validates", name)
					}
				}
			})
		}
		if !tg.real() {
			t.Run("expired", func(t *testing.T) {
				tg.sb.Advance(2 * time.Hour)
				var c tokenClaims
				if err := verify(s.result.AccessToken, keys, &c); err != nil {
					t.Fatal(err)
				}
				if err := c.ValidateWithLeeway(jwt.Expected{Time: tg.sb.Now()}, 0); err == nil {
					t.Error("a token two hours old is still valid")
				}
			})
		}
	})
}

func decodeSegment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// otherKey is a signing key that is not the platform's, made once.
var otherKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// tamperings are the ways an attacker changes a token: its claims, its
// signature, its algorithm, its key.
func tamperings(t *testing.T, raw string) map[string]string {
	t.Helper()
	parts := strings.Split(raw, ".")
	claims := decodeSegment(t, raw, 1)
	claims["oid"] = "00000000-0000-0000-0000-000000000000"
	forged, _ := json.Marshal(claims)
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)/2] ^= 0x01
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))

	// The same claims and kid, signed by a key that is not the platform's.
	header := decodeSegment(t, raw, 0)
	key, err := otherKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: header["kid"].(string)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := jwt.Signed(signer).Claims(decodeSegment(t, raw, 1)).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"claims changed":    parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2],
		"signature flipped": parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig),
		"alg none":          none + "." + parts[1] + ".",
		"another key":       other,
	}
}
