package sandbox_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// callback is the edge server's redirect URI, registered for these tests.
const callback = "https://placard.test/signin/callback"

// verifier is a PKCE code verifier (RFC 7636 §4.1: 43 characters).
const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// challenge is verifier's S256 challenge.
func challenge(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// authzQuery is an authorization request as MSAL and the identity package
// make it; set changes it.
func authzQuery(set ...string) url.Values {
	q := url.Values{
		"client_id": {sandbox.ClientID}, "response_type": {"code"}, "redirect_uri": {callback},
		"scope": {"User.Read Calendars.Read Presence.Read openid profile offline_access"}, "state": {"st-123"},
		"nonce": {"n-456"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			q.Del(set[i])
			continue
		}
		q.Set(set[i], set[i+1])
	}
	return q
}

func newAuthSandbox(t *testing.T, opts ...func(*sandbox.Options)) (*sandbox.Sandbox, *http.Client) {
	t.Helper()
	return newSandbox(t, append([]func(*sandbox.Options){func(o *sandbox.Options) { o.RedirectURIs = []string{callback} }}, opts...)...)
}

// signInPage is the sandbox's sign-in page as the edge server serves it.
func signInPage(srvURL string, q url.Values) string {
	return srvURL + sandbox.BrowserPrefix + "/" + sandbox.TenantID + sandbox.AuthorizePath + "?" + q.Encode()
}

// code has ada accept an authorization request and returns the code.
func code(t *testing.T, sb *sandbox.Sandbox, q url.Values) string {
	t.Helper()
	loc, err := sb.Authorize(tenant+sandbox.AuthorizePath+"?"+q.Encode(), ada)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("code") == "" {
		t.Fatalf("no code in %s", loc)
	}
	return u.Query().Get("code")
}

func redeemCode(t *testing.T, c *http.Client, code string, set ...string) answer {
	t.Helper()
	v := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {sandbox.ClientID}, "code": {code},
		"redirect_uri": {callback}, "code_verifier": {verifier}, "client_info": {"1"},
		"scope": {"User.Read Calendars.Read Presence.Read openid profile offline_access"},
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
			continue
		}
		v.Set(set[i], set[i+1])
	}
	return postForm(t, c, tenant+"/oauth2/v2.0/token", v)
}

// claims decodes a JWT's claims without checking it.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignInPageAcceptsThenCodeIsRedeemedOnce(t *testing.T) {
	t.Parallel()
	sb, gc := newAuthSandbox(t)
	srv, c := controlServer(t, sb)

	page := get(t, c, signInPage(srv.URL, authzQuery()))
	body := string(page.raw)
	if page.status != 200 || !strings.Contains(body, `data-testid="authorize-app">placard (sandbox)</strong>`) {
		t.Fatalf("the sign-in page (%d) does not name the application:\n%s", page.status, body)
	}
	for _, want := range []string{`<select id="user" name="user">`, `<option value="` + grace + `">`, `name="action" value="approve"`, `name="action" value="decline"`, `method="post"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Error("the page has a script or an inline style, which the CSP refuses")
	}
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(body)
	if action == nil {
		t.Fatal("the form has no action")
	}
	a := postForm(t, c, srv.URL+html.UnescapeString(action[1]), url.Values{"user": {grace}, "action": {"approve"}})
	loc, _ := url.Parse(a.header.Get("Location"))
	if a.status != 302 || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != callback {
		t.Fatalf("accept: %d to %q, want a redirect to the callback", a.status, a.header.Get("Location"))
	}
	if loc.Query().Get("state") != "st-123" || !strings.HasPrefix(loc.Query().Get("code"), "1.AQ") {
		t.Fatalf("the callback's query %v lacks the state or a code", loc.Query())
	}

	tok := redeemCode(t, gc, loc.Query().Get("code"))
	if tok.status != 200 || tok.body["token_type"] != "Bearer" {
		t.Fatalf("redeem: %d %s", tok.status, tok.raw)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token", "client_info"} {
		if tok.body[k] == nil {
			t.Errorf("the token answer has no %s", k)
		}
	}
	id := claims(t, tok.body["id_token"].(string))
	if id["nonce"] != "n-456" || id["preferred_username"] != grace || id["aud"] != sandbox.ClientID {
		t.Errorf("id token claims %v: want the request's nonce, grace, our client", id)
	}
	wantSTS(t, redeemCode(t, gc, loc.Query().Get("code")), 400, "invalid_grant", 54005)
}

func TestAuthorizationCodeRedemptionRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		query  []string // changes to the authorization request
		set    []string // changes to the token request
		wait   time.Duration
		status int
		oauth  string
		code   int
	}{
		{"wrong verifier", nil, []string{"code_verifier", strings.Repeat("x", 43)}, 0, 400, "invalid_grant", 501481},
		{"missing verifier", nil, []string{"code_verifier", ""}, 0, 400, "invalid_grant", 501481},
		{"plain challenge, wrong verifier", []string{"code_challenge", strings.Repeat("p", 43), "code_challenge_method", "plain"}, nil, 0, 400, "invalid_grant", 501481},
		{"another redirect URI", nil, []string{"redirect_uri", "http://localhost:8400"}, 0, 400, "invalid_grant", 500112},
		{"expired after 10 minutes", nil, nil, 10 * time.Minute, 400, "invalid_grant", 70008},
		{"unknown code", nil, []string{"code", "1.AQnot-a-code"}, 0, 400, "invalid_grant", 70000},
		{"no code", nil, []string{"code", ""}, 0, 400, "invalid_request", 900144},
		{"no redirect URI", nil, []string{"redirect_uri", ""}, 0, 400, "invalid_request", 900144},
		{"a permission never consented to", []string{"scope", "User.Read openid"}, nil, 0, 400, "invalid_grant", 65001},
		{"a secret from a public client", nil, []string{"client_secret", "s3cret"}, 0, 401, "invalid_client", 700025},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb, c := newAuthSandbox(t)
			cd := code(t, sb, authzQuery(tt.query...))
			sb.Advance(tt.wait)
			wantSTS(t, redeemCode(t, c, cd, tt.set...), tt.status, tt.oauth, tt.code)
		})
	}
	t.Run("just within 10 minutes", func(t *testing.T) {
		t.Parallel()
		sb, c := newAuthSandbox(t)
		cd := code(t, sb, authzQuery())
		sb.Advance(9 * time.Minute)
		if a := redeemCode(t, c, cd); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("a refused redemption spends the code", func(t *testing.T) {
		t.Parallel()
		sb, c := newAuthSandbox(t)
		cd := code(t, sb, authzQuery())
		wantSTS(t, redeemCode(t, c, cd, "code_verifier", strings.Repeat("x", 43)), 400, "invalid_grant", 501481)
		wantSTS(t, redeemCode(t, c, cd), 400, "invalid_grant", 54005)
	})
}

var errorCodeRE = regexp.MustCompile(`data-testid="authorize-error" data-code="(\d+)"`)

func TestAuthorizationEndpointErrors(t *testing.T) {
	t.Parallel()
	sb, _ := newAuthSandbox(t)
	srv, c := controlServer(t, sb)
	// Refused on the page: the redirect URI cannot be trusted yet.
	for _, tt := range []struct {
		name  string
		query url.Values
		code  string
	}{
		{"unregistered redirect URI", authzQuery("redirect_uri", "https://evil.example/signin/callback"), "50011"},
		{"redirect URI differing in case", authzQuery("redirect_uri", strings.ToUpper(callback)), "50011"},
		{"plain http that is not loopback", authzQuery("redirect_uri", "http://placard.test/signin/callback"), "50011"},
		{"unknown client", authzQuery("client_id", "11111111-2222-3333-4444-555555555555"), "700016"},
		{"no client", authzQuery("client_id", ""), "900144"},
	} {
		a := get(t, c, signInPage(srv.URL, tt.query))
		m := errorCodeRE.FindStringSubmatch(string(a.raw))
		if a.status != 400 || a.header.Get("Location") != "" || m == nil || m[1] != tt.code {
			t.Errorf("%s: %d %q, want the page with error %s and no redirect", tt.name, a.status, a.header.Get("Location"), tt.code)
		}
	}
	// Sent back to the redirect URI, with the state.
	for _, tt := range []struct {
		name  string
		query url.Values
		oauth string
		code  string
	}{
		{"response_type token", authzQuery("response_type", "token"), "unsupported_response_type", "70005"},
		{"unknown challenge method", authzQuery("code_challenge_method", "S512"), "invalid_request", "50149"},
		{"short challenge", authzQuery("code_challenge", "abc"), "invalid_request", "501491"},
		{"unknown scope", authzQuery("scope", "Mail.Send openid"), "invalid_scope", "70011"},
	} {
		a := get(t, c, signInPage(srv.URL, tt.query))
		loc, _ := url.Parse(a.header.Get("Location"))
		if a.status != 302 || loc == nil {
			t.Errorf("%s: %d, want a redirect with the error", tt.name, a.status)
			continue
		}
		q := loc.Query()
		if q.Get("error") != tt.oauth || !strings.HasPrefix(q.Get("error_description"), "AADSTS"+tt.code+": ") || q.Get("state") != "st-123" || q.Has("code") {
			t.Errorf("%s: redirected with %v, want %s AADSTS%s and the state", tt.name, q, tt.oauth, tt.code)
		}
	}
	// A form without a known user or action is shown again, saying why.
	for _, form := range []url.Values{{"user": {"nobody@placard.example"}, "action": {"approve"}}, {"user": {ada}, "action": {"maybe"}}} {
		a := postForm(t, c, signInPage(srv.URL, authzQuery()), form)
		if a.status != 400 || !strings.Contains(string(a.raw), `class="problem"`) {
			t.Errorf("form %v: %d, want the page again with the problem", form, a.status)
		}
	}
}

func TestDeclineAndConditionalAccessGoBackToTheRedirectURI(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		faults sandbox.Faults
		upn    string
		code   string
	}{
		{"declined", sandbox.Faults{}, "", "65004"},
		{"blocked by Conditional Access", sandbox.Faults{ConditionalAccessBlock: true}, ada, "53003"},
	} {
		sb, _ := newAuthSandbox(t)
		sb.SetFaults(tt.faults)
		loc, err := sb.Authorize(tenant+sandbox.AuthorizePath+"?"+authzQuery().Encode(), tt.upn)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(loc)
		q := u.Query()
		if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS"+tt.code+": ") || q.Get("state") != "st-123" || q.Has("code") {
			t.Errorf("%s: redirected with %v, want access_denied AADSTS%s and the state", tt.name, q, tt.code)
		}
	}
}

func TestLoopbackRedirectURIsMatchOnAnyPort(t *testing.T) {
	t.Parallel()
	sb, c := newAuthSandbox(t)
	for _, ru := range []string{"http://localhost", "http://localhost:8400", "http://127.0.0.1:53177/", "http://127.0.0.1"} {
		cd := code(t, sb, authzQuery("redirect_uri", ru))
		if a := redeemCode(t, c, cd, "redirect_uri", ru); a.status != 200 {
			t.Errorf("%s: %d %s", ru, a.status, a.raw)
		}
	}
	for _, ru := range []string{"http://localhost/other", "https://localhost:8400", "http://[::1]:8400", "http://localhost.evil.example"} {
		if _, err := sb.Authorize(tenant+sandbox.AuthorizePath+"?"+authzQuery("redirect_uri", ru).Encode(), ada); err == nil {
			t.Errorf("%s was accepted as a redirect URI", ru)
		}
	}
}

func TestBrowserURLMapsTheLoginHostOnly(t *testing.T) {
	t.Parallel()
	m := sandbox.BrowserURL("http://192.168.1.20:8080/")
	in := "https://login.microsoftonline.com/" + sandbox.TenantID + "/oauth2/v2.0/authorize?client_id=x&state=a%2Bb"
	want := "http://192.168.1.20:8080/sandbox/login/" + sandbox.TenantID + "/oauth2/v2.0/authorize?client_id=x&state=a%2Bb"
	if got := m(in); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, other := range []string{"https://example.com/x/oauth2/v2.0/authorize?a=1", "http://login.microsoftonline.com/x"} {
		if got := m(other); got != other {
			t.Errorf("%s was mapped to %s", other, got)
		}
	}
}

func TestBlockDeviceCodeFlowRefusesDeviceCodesAndTheirSessionsOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keep := func(o *sandbox.Options) {
		o.KeyFile = filepath.Join(dir, "sandbox-key.pem")
		o.StateFile = filepath.Join(dir, "sandbox-state.json")
	}
	sb, c := newAuthSandbox(t, keep)
	uc, dc := deviceCode(t, c, "User.Read openid offline_access")
	sb.Approve(uc, ada)
	byCode := poll(t, c, dc)
	byQR := redeemCode(t, c, code(t, sb, authzQuery()))
	if byCode.status != 200 || byQR.status != 200 {
		t.Fatalf("sign-ins: %d %s / %d %s", byCode.status, byCode.raw, byQR.status, byQR.raw)
	}
	refresh := func(c *http.Client, rt any) answer {
		return postForm(t, c, tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {sandbox.ClientID},
			"refresh_token": {rt.(string)}, "scope": {"User.Read openid offline_access"}})
	}

	sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	wantSTS(t, postForm(t, c, tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read"}}), 400, "interaction_required", 53003)
	wantSTS(t, refresh(c, byCode.body["refresh_token"]), 400, "invalid_grant", 530036)
	again := refresh(c, byQR.body["refresh_token"])
	if again.status != 200 {
		t.Fatalf("refresh of a session begun by authorization code: %d %s", again.status, again.raw)
	}
	if a := redeemCode(t, c, code(t, sb, authzQuery())); a.status != 200 {
		t.Fatalf("a sign-in by authorization code under the block: %d %s", a.status, a.raw)
	}

	// The session's flow lives on through rotation and a restart.
	sb2, c2 := newAuthSandbox(t, keep)
	sb2.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	wantSTS(t, refresh(c2, byCode.body["refresh_token"]), 400, "invalid_grant", 530036)
	if a := refresh(c2, again.body["refresh_token"]); a.status != 200 {
		t.Fatalf("a rotated authorization-code session after a restart: %d %s", a.status, a.raw)
	}
	sb2.SetFaults(sandbox.Faults{})
	if a := refresh(c2, byCode.body["refresh_token"]); a.status != 200 {
		t.Fatalf("the device-code session once the block is off: %d %s", a.status, a.raw)
	}
}

func TestBlockDeviceCodeFlowRefusesACodeIssuedBefore(t *testing.T) {
	t.Parallel()
	sb, c := newAuthSandbox(t)
	uc, dc := deviceCode(t, c, "User.Read openid offline_access")
	sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	if out := sb.Approve(uc, ada); out != sandbox.OutcomeBlocked {
		t.Errorf("approving under the block: %s, want blocked", out)
	}
	wantSTS(t, poll(t, c, dc), 400, "interaction_required", 53003)
}

func TestAuthorizeNamesWhatIsWrongWithItsURL(t *testing.T) {
	t.Parallel()
	sb, _ := newAuthSandbox(t)
	for _, bad := range []string{"://", login + "/" + sandbox.TenantID + "/oauth2/v2.0/token", login + "/no%20such%3Ftenant" + sandbox.AuthorizePath + "?" + authzQuery().Encode()} {
		if loc, err := sb.Authorize(bad, ada); err == nil {
			t.Errorf("Authorize(%q) sent the browser to %s", bad, loc)
		}
	}
}

// The authorization endpoint keeps a browser's session, as the platform
// does: a browser that signed in is signed in again at once, as the same
// account, unless the request's prompt asks otherwise. select_account
// and login show the page (the account in session first), none signs in
// silently or answers interaction_required, and an unknown prompt is
// refused.
func TestThePromptDecidesWhetherABrowserSignedInSignsInAgainAtOnce(t *testing.T) {
	t.Parallel()
	sb, gc := newAuthSandbox(t)
	srv, _ := controlServer(t, sb)
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	callbackOf := func(a answer) url.Values {
		t.Helper()
		loc, err := url.Parse(a.header.Get("Location"))
		if a.status != 302 || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != callback {
			t.Fatalf("%d to %q, want a redirect to the callback", a.status, a.header.Get("Location"))
		}
		return loc.Query()
	}
	phone := browser()
	page := signInPage(srv.URL, authzQuery())
	if a := get(t, phone, page); a.status != 200 {
		t.Fatalf("a browser's first sign-in: %d, want the page", a.status)
	}
	callbackOf(postForm(t, phone, page, url.Values{"user": {grace}, "action": {"approve"}}))

	// Signed in: a request without a prompt comes back at once, as Grace.
	q := callbackOf(get(t, phone, page))
	tok := redeemCode(t, gc, q.Get("code"))
	if tok.status != 200 || claims(t, tok.body["id_token"].(string))["preferred_username"] != grace {
		t.Fatalf("single sign-on: %d %s, want Grace's tokens", tok.status, tok.raw)
	}
	for _, prompt := range []string{"select_account", "login"} {
		a := get(t, phone, signInPage(srv.URL, authzQuery("prompt", prompt)))
		if a.status != 200 || !strings.Contains(string(a.raw), `<select id="user" name="user">`) {
			t.Errorf("prompt=%s in a browser signed in: %d, want the page", prompt, a.status)
			continue
		}
		first := regexp.MustCompile(`<option value="([^"]+)"`).FindStringSubmatch(string(a.raw))
		if first == nil || first[1] != grace {
			t.Errorf("prompt=%s: the first account offered is %v, want the one in session", prompt, first)
		}
	}
	if q := callbackOf(get(t, phone, signInPage(srv.URL, authzQuery("prompt", "none")))); q.Get("code") == "" {
		t.Errorf("prompt=none in a browser signed in: %v, want a code", q)
	}
	// Another browser has no session.
	other := browser()
	if q := callbackOf(get(t, other, signInPage(srv.URL, authzQuery("prompt", "none")))); q.Get("error") != "interaction_required" || q.Get("state") != "st-123" {
		t.Errorf("prompt=none in a browser not signed in: %v, want interaction_required", q)
	}
	if a := get(t, other, page); a.status != 200 {
		t.Errorf("no prompt in a browser not signed in: %d, want the page", a.status)
	}
	if q := callbackOf(get(t, other, signInPage(srv.URL, authzQuery("prompt", "always")))); q.Get("error") != "invalid_request" {
		t.Errorf("an unknown prompt: %v, want invalid_request", q)
	}
}
