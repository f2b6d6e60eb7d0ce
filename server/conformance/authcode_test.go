package conformance_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/placard/placard/server/sandbox"
)

// The authorization code grant with PKCE through MSAL Go, as a public
// client (no secret), the way placard's sign-in by QR uses it: MSAL's
// AuthCodeURL with state, nonce and an S256 challenge added, a browser on
// the platform's sign-in page, and AcquireTokenByAuthCode with the
// verifier.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow

// loopbackRedirect is a redirect URI of the "Mobile and desktop
// applications" platform, which the sandbox's application accepts on any
// port, as the platform does for loopback redirect URIs.
const loopbackRedirect = "http://localhost:8400"

// authCodeSignIn is one authorization request in progress.
type authCodeSignIn struct {
	pc                     public.Client
	url                    string
	state, nonce, verifier string
	redirectURI            string
	// scopes are the client's; the authorization request adds the OIDC
	// ones, which MSAL adds to token requests by itself (and refuses as
	// "declined" if they are passed to it, the platform leaving
	// offline_access out of the granted scopes).
	scopes []string
}

func randomString(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// startAuthCode makes an authorization URL with MSAL's AuthCodeURL, which
// has no option for state, nonce or the challenge: they are added to it.
func (tg *target) startAuthCode(t *testing.T, redirectURI string) *authCodeSignIn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := &authCodeSignIn{pc: tg.msal(t, tg.clientID), redirectURI: redirectURI,
		state: randomString(t, 16), nonce: randomString(t, 16), verifier: randomString(t, 32),
		scopes: tg.scopes}
	raw, err := a.pc.AuthCodeURL(ctx, tg.clientID, redirectURI, append(append([]string{}, tg.scopes...), "openid", "profile", "offline_access"))
	if err != nil {
		t.Fatalf("%s: AuthCodeURL: %v", tg.name, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(a.verifier))
	q := u.Query()
	q.Set("state", a.state)
	q.Set("nonce", a.nonce)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(h[:]))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	a.url = u.String()
	return a
}

var formActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// browse is the person's browser on the target's sign-in page: it opens
// the authorization URL, picks upn and accepts (or declines, upn ""), and
// returns where the platform sends the browser, without going there. A
// page that answers without a redirect is returned as its status and body.
func (tg *target) browse(t *testing.T, authURL, upn string) (redirect *url.URL, status int, body string) {
	t.Helper()
	c := *tg.hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	read := func(res *http.Response) string {
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("%s: the sign-in page: %v", tg.name, err)
	}
	page := read(res)
	if loc, err := res.Location(); err == nil {
		return loc, res.StatusCode, page
	}
	m := formActionRE.FindStringSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		return nil, res.StatusCode, page
	}
	action, err := res.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"user": {upn}, "action": {"approve"}}
	if upn == "" {
		form.Set("action", "decline")
	}
	res, err = c.PostForm(action.String(), form)
	if err != nil {
		t.Fatalf("%s: posting the sign-in page: %v", tg.name, err)
	}
	page = read(res)
	loc, err := res.Location()
	if err != nil {
		return nil, res.StatusCode, page
	}
	return loc, res.StatusCode, page
}

// code has upn accept the sign-in and returns the code the redirect
// carries, checking the state came back.
func (a *authCodeSignIn) code(t *testing.T, tg *target, upn string) string {
	t.Helper()
	loc, status, body := tg.browse(t, a.url, upn)
	if loc == nil {
		t.Fatalf("%s: the sign-in page answered %d without a redirect:\n%.400s", tg.name, status, body)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + strings.TrimSuffix(loc.Path, "/"); got != a.redirectURI {
		t.Fatalf("redirected to %s, want %s", loc, a.redirectURI)
	}
	if q.Get("state") != a.state || q.Get("code") == "" {
		t.Fatalf("the redirect's query %v lacks the state or a code", q)
	}
	return q.Get("code")
}

func (a *authCodeSignIn) redeem(ctx context.Context, code, redirectURI, verifier string) (public.AuthResult, error) {
	return a.pc.AcquireTokenByAuthCode(ctx, code, redirectURI, a.scopes, public.WithChallenge(verifier))
}

type idClaims struct {
	tokenClaims
	Nonce string `json:"nonce"`
}

func TestAuthorizationCodeWithPKCEThenRefresh(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "a person signs in in a browser: not automated on a real tenant")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a := tg.startAuthCode(t, loopbackRedirect)
		code := a.code(t, tg, "grace@placard.example")
		res, err := a.redeem(ctx, code, a.redirectURI, a.verifier)
		if err != nil {
			t.Fatalf("%s: AcquireTokenByAuthCode: %v", tg.name, err)
		}
		if res.Account.PreferredUsername != "grace@placard.example" || res.IDToken.TenantID != sandbox.TenantID || res.AccessToken == "" {
			t.Errorf("account %+v, id token %+v", res.Account, res.IDToken)
		}

		// The id token validates against the JWKS and carries the nonce.
		issuer, keys := keysOf(t, tg)
		issuer = strings.ReplaceAll(issuer, "{tenantid}", sandbox.TenantID)
		var id idClaims
		if err := verify(res.IDToken.RawToken, keys, &id); err != nil {
			t.Fatalf("the id token does not validate against %s's keys: %v", tg.name, err)
		}
		if err := id.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{tg.clientID}, Time: tg.sb.Now()}, 5*time.Minute); err != nil {
			t.Errorf("id token claims: %v", err)
		}
		if id.Nonce != a.nonce {
			t.Errorf("the id token's nonce %q is not the request's %q", id.Nonce, a.nonce)
		}
		var at tokenClaims
		if err := verify(res.AccessToken, keys, &at); err != nil {
			t.Fatalf("the access token does not validate against %s's keys: %v", tg.name, err)
		}
		if err := at.ValidateWithLeeway(jwt.Expected{Issuer: "https://sts.windows.net/" + sandbox.TenantID + "/", AnyAudience: jwt.Audience{sandbox.GraphAudience}, Time: tg.sb.Now()}, 0); err != nil {
			t.Errorf("access token claims: %v", err)
		}

		s := &session{pc: a.pc, result: res, account: res.Account}
		refreshed, err := s.refresh(ctx, tg.scopes)
		if err != nil || refreshed.AccessToken == res.AccessToken || refreshed.Metadata.TokenSource != public.TokenSourceIdentityProvider {
			t.Fatalf("a silent refresh of a session begun by authorization code: %v", err)
		}

		// A code is single use.
		_, err = a.redeem(ctx, code, a.redirectURI, a.verifier)
		wantOAuth(t, err, "invalid_grant", 54005)
	})
}

func TestAuthorizationCodeRedemptionsThePlatformRefuses(t *testing.T) {
	cases := []struct {
		name     string
		redirect func(a *authCodeSignIn) string
		verifier func(a *authCodeSignIn) string
		code     int
	}{
		{"a verifier that does not match the challenge",
			func(a *authCodeSignIn) string { return a.redirectURI },
			func(a *authCodeSignIn) string { return strings.Repeat("w", 43) }, 501481},
		{"no verifier",
			func(a *authCodeSignIn) string { return a.redirectURI },
			func(a *authCodeSignIn) string { return "" }, 501481},
		{"another redirect URI than the request's",
			func(a *authCodeSignIn) string { return "http://127.0.0.1:8400" },
			func(a *authCodeSignIn) string { return a.verifier }, 500112},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachTarget(t, func(t *testing.T, tg *target) {
				tg.sandboxOnly(t, "a person signs in in a browser: not automated on a real tenant")
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				a := tg.startAuthCode(t, loopbackRedirect)
				code := a.code(t, tg, "ada@placard.example")
				_, err := a.redeem(ctx, code, c.redirect(a), c.verifier(a))
				wantOAuth(t, err, "invalid_grant", c.code)
			})
		})
	}
	t.Run("a code past its 10 minutes", func(t *testing.T) {
		forEachTarget(t, func(t *testing.T, tg *target) {
			tg.sandboxOnly(t, "waiting 10 minutes with a person's code")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a := tg.startAuthCode(t, loopbackRedirect)
			code := a.code(t, tg, "ada@placard.example")
			tg.sb.Advance(10 * time.Minute)
			_, err := a.redeem(ctx, code, a.redirectURI, a.verifier)
			wantOAuth(t, err, "invalid_grant", 70008)
		})
	})
}

var authorizeErrorRE = regexp.MustCompile(`data-testid="authorize-error" data-code="(\d+)"`)

func TestAuthorizationRequestsThatComeBackWithoutACode(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "a person signs in in a browser: not automated on a real tenant")
		t.Run("a redirect URI not registered", func(t *testing.T) {
			// Never redirected: the platform shows the error itself.
			a := tg.startAuthCode(t, "https://elsewhere.example/signin/callback")
			loc, status, body := tg.browse(t, a.url, "ada@placard.example")
			m := authorizeErrorRE.FindStringSubmatch(body)
			if loc != nil || status != 400 || m == nil || m[1] != "50011" {
				t.Errorf("got %d to %v, want the page with AADSTS50011 and no redirect", status, loc)
			}
		})
		t.Run("declined", func(t *testing.T) {
			a := tg.startAuthCode(t, loopbackRedirect)
			loc, status, _ := tg.browse(t, a.url, "")
			if loc == nil {
				t.Fatalf("declining answered %d without a redirect", status)
			}
			q := loc.Query()
			if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004: ") || q.Get("state") != a.state || q.Has("code") {
				t.Errorf("declining redirected with %v, want access_denied AADSTS65004 and the state", q)
			}
		})
	})
}

// The "Block device code flow" policy: the device-code grant is refused,
// a session begun with a device code is refused at its next refresh
// ("protocol tracking"), and the authorization code grant goes on.
// https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-authentication-flows
func TestBlockDeviceCodeFlowLetsTheAuthorizationCodeThrough(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "the policy needs an administrator")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		byCode := tg.signIn(t, "ada@placard.example")
		a := tg.startAuthCode(t, loopbackRedirect)
		res, err := a.redeem(ctx, a.code(t, tg, "grace@placard.example"), a.redirectURI, a.verifier)
		if err != nil {
			t.Fatal(err)
		}
		byQR := &session{pc: a.pc, result: res, account: res.Account}

		tg.sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})
		_, err = tg.msal(t, tg.clientID).AcquireTokenByDeviceCode(ctx, tg.scopes)
		wantOAuth(t, err, "interaction_required", 53003)
		_, err = byCode.refresh(ctx, tg.scopes)
		wantOAuth(t, err, "invalid_grant", 530036)
		if _, err := byQR.refresh(ctx, tg.scopes); err != nil {
			t.Errorf("the refresh of a session begun by authorization code: %v", err)
		}
		b := tg.startAuthCode(t, loopbackRedirect)
		if _, err := b.redeem(ctx, b.code(t, tg, "ada@placard.example"), b.redirectURI, b.verifier); err != nil {
			t.Errorf("a sign-in by authorization code under the block: %v", err)
		}
	})
}
