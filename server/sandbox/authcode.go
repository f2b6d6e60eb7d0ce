package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// The authorization code grant with PKCE, as a public client uses it (RFC
// 6749 §4.1, RFC 7636): the authorization endpoint's page, where a person
// picks a demo user and approves or declines, and the code's redemption at
// the token endpoint.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow

// authCode is one authorization code (RFC 6749 §4.1.2).
type authCode struct {
	redirectURI string
	scopes      scopeSet
	challenge   string // RFC 7636 code_challenge; "" when the request had none
	method      string // "S256" or "plain"
	nonce       string
	user        *user
	expiresAt   time.Time
	// spent is set by the first redemption that names the code, whatever
	// its outcome: a code is single use (RFC 6749 §4.1.2). That a failed
	// redemption spends it too is unconfirmed; it is the safe reading.
	spent bool
}

// authCodeLifetime: codes "expire after about 10 minutes" (the doc).
const authCodeLifetime = 10 * time.Minute

// authCodePrefix mimics the opaque prefix of real codes ("0.AR...",
// "1.AQ...").
const authCodePrefix = "1.AQ"

// AuthorizePath is the authorization endpoint's path under a tenant, as
// the OpenID metadata names it.
const AuthorizePath = "/oauth2/v2.0/authorize"

// BrowserPrefix is where the edge server serves the authorization
// endpoint's page in sandbox mode: a phone cannot reach the in-process
// login.microsoftonline.com, so the browser is sent to
// <public url>/sandbox/login/{tenant}/oauth2/v2.0/authorize instead.
const BrowserPrefix = "/sandbox/login"

// BrowserURL returns the mapping of authorization URLs for browsers in
// sandbox mode: an URL of the emulated login host becomes the same path
// and query under publicURL + BrowserPrefix; other URLs are unchanged.
// Only the browser's redirect is mapped: MSAL's own requests still go
// through Transport.
func BrowserURL(publicURL string) func(string) string {
	base := strings.TrimRight(publicURL, "/") + BrowserPrefix
	return func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, LoginHost) {
			return raw
		}
		return base + u.EscapedPath() + "?" + u.RawQuery
	}
}

// loopbackRedirects are the redirect URIs of the sandbox's application
// under the "Mobile and desktop applications" platform that any local
// client may use; their port is ignored when matching, as the platform
// does for loopback redirect URIs (RFC 8252 §7.3, §8.3).
// https://learn.microsoft.com/en-us/entra/identity-platform/reply-url#localhost-exceptions
var loopbackRedirects = []string{"http://localhost", "http://127.0.0.1"}

// registered reports whether uri is a redirect URI of the sandbox's
// application: one of Options.RedirectURIs exactly (they are
// case-sensitive), or a loopback one on any port.
func (s *Sandbox) registered(uri string) bool {
	for _, r := range s.opts.RedirectURIs {
		if uri == r {
			return true
		}
	}
	got, err := url.Parse(uri)
	if err != nil || got.User != nil || got.Fragment != "" {
		return false
	}
	for _, r := range loopbackRedirects {
		reg, _ := url.Parse(r)
		// "Redirect URIs not configured with a path segment are
		// returned with a trailing slash": "" and "/" are one path.
		if got.Scheme == reg.Scheme && got.Hostname() == reg.Hostname() &&
			strings.TrimSuffix(got.Path, "/") == strings.TrimSuffix(reg.Path, "/") {
			return true
		}
	}
	return false
}

// authzRequest is a checked authorization request.
type authzRequest struct {
	redirectURI, state, nonce string
	challenge, method         string
	scopes                    scopeSet
	// prompt is the request's prompt: "" (single sign-on when the
	// browser has a session), login, none, consent or select_account.
	prompt string
}

// refusal is an error of the identity platform with the arguments of its
// text.
type refusal struct {
	e    stsError
	args []any
}

// checkAuthorize checks an authorization request. page is set for the
// errors shown on the platform's page (unknown tenant or client, redirect
// URI not registered), toClient for those sent to the redirect URI.
func (s *Sandbox) checkAuthorize(tenant string, q url.Values) (req authzRequest, page, toClient *refusal) {
	switch tenantOf(tenant) {
	case tenantUnknown:
		return req, &refusal{e: errTenant(tenant, false)}, nil
	case tenantConsumers:
		return req, &refusal{e: errConsumers}, nil
	}
	switch id := q.Get("client_id"); {
	case id == "":
		return req, &refusal{e: errMissing("client_id")}, nil
	case !strings.EqualFold(id, ClientID):
		return req, &refusal{e: errUnknownClient(id)}, nil
	}
	req.redirectURI = q.Get("redirect_uri")
	switch {
	case req.redirectURI == "":
		return req, &refusal{e: errMissing("redirect_uri")}, nil
	case !s.registered(req.redirectURI):
		return req, &refusal{e: errRedirectURI, args: []any{req.redirectURI, ClientID}}, nil
	}
	req.state, req.nonce = q.Get("state"), q.Get("nonce")
	switch rt := q.Get("response_type"); {
	case rt == "":
		return req, nil, &refusal{e: errMissing("response_type")}
	case rt != "code":
		return req, nil, &refusal{e: errResponseType, args: []any{rt}}
	}
	scopes, bad := parseScopes(q.Get("scope"))
	switch {
	case bad != "":
		return req, nil, &refusal{e: errBadScope(bad)}
	case len(scopes) == 0:
		return req, nil, &refusal{e: errMissing("scope")}
	}
	req.scopes = scopes
	// "If excluded, code_challenge is assumed to be plaintext if
	// code_challenge is included. The Microsoft identity platform supports
	// both plain and S256." A request without a challenge is served
	// without PKCE, as the platform serves public clients.
	req.challenge, req.method = q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case req.challenge == "" && req.method != "":
		return req, nil, &refusal{e: errMissing("code_challenge")}
	case req.challenge == "":
	case req.method == "":
		req.method = "plain"
	case req.method != "S256" && req.method != "plain":
		return req, nil, &refusal{e: errChallengeMethod}
	}
	// RFC 7636 §4.2: 43 to 128 characters; an S256 challenge is 43.
	if req.challenge != "" && (len(req.challenge) < 43 || len(req.challenge) > 128 || req.method == "S256" && len(req.challenge) != 43) {
		return req, nil, &refusal{e: errChallengeSize}
	}
	switch req.prompt = q.Get("prompt"); req.prompt {
	case "", "login", "none", "consent", "select_account", "create":
	default:
		return req, nil, &refusal{e: errPrompt, args: []any{req.prompt}}
	}
	return req, nil, nil
}

// sessionCookie is the authorization endpoint's session in a browser: who
// signed in there last, for single sign-on (the platform's own cookies,
// ESTSAUTH and the like, play this part).
const sessionCookie = "sandbox_session"

// sessionUser returns the user a browser is signed in as at the
// authorization endpoint, nil when none.
func (s *Sandbox) sessionUser(r *http.Request) *user {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[c.Value]
}

// startSession signs the browser in at the authorization endpoint as upn:
// its next requests sign in silently unless they ask otherwise (prompt).
func (s *Sandbox) startSession(w http.ResponseWriter, r *http.Request, upn string) {
	s.mu.Lock()
	u, err := s.userLocked(upn)
	id := randomString(24)
	if err == nil {
		s.sessions[id] = u
	}
	s.mu.Unlock()
	if err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: path.Dir(r.URL.Path), HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// errorRedirect is the redirect URI with an error of the authorization
// endpoint and the request's state (RFC 6749 §4.1.2.1).
func (req authzRequest) errorRedirect(f refusal, now time.Time) string {
	return req.redirect(url.Values{
		"error":             {f.e.err},
		"error_description": {f.e.describe(now, newGUID(), newGUID(), f.args...)},
		"error_uri":         {fmt.Sprintf("https://%s/error?code=%d", LoginHost, f.e.code)},
	})
}

// redirect is the redirect URI with v and the state added to its query.
func (req authzRequest) redirect(v url.Values) string {
	u, _ := url.Parse(req.redirectURI) // registered, so it parses
	if u.Path == "" {
		// "Redirect URIs not configured with a path segment are returned
		// with a trailing slash" (reply-url.md).
		u.Path = "/"
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// signIn approves (as upn) or declines a checked request and returns where
// the browser goes next, or a problem with the form for the page to show.
func (s *Sandbox) signIn(req authzRequest, upn string, approve bool) (target, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !approve {
		return req.errorRedirect(refusal{e: errAccessDenied}, now), ""
	}
	u, err := s.userLocked(upn)
	if err != nil {
		return "", "Choose one of the accounts in the list."
	}
	if r, ok := s.conditionalAccess(caAuthorize, flowAuthCode); ok {
		return req.errorRedirect(refusal{e: r}, now), ""
	}
	if s.missingAdminConsent(req.scopes) != "" {
		return req.errorRedirect(refusal{e: errAdminConsentRedirect}, now), ""
	}
	s.forgetCodes(now)
	code := authCodePrefix + randomString(160)
	s.codes[code] = &authCode{
		redirectURI: req.redirectURI, scopes: req.scopes, challenge: req.challenge, method: req.method,
		nonce: req.nonce, user: u, expiresAt: now.Add(authCodeLifetime),
	}
	return req.redirect(url.Values{"code": {code}, "session_state": {newGUID()}}), ""
}

// forgetCodes forgets codes a day past their expiry, so that the map does
// not grow without bound and a late redemption still hears "expired";
// s.mu must be held.
func (s *Sandbox) forgetCodes(now time.Time) {
	for c, ac := range s.codes {
		if now.Sub(ac.expiresAt) > 24*time.Hour {
			delete(s.codes, c)
		}
	}
}

var authorizeTmpl = signInPage("authorize", `{{template "top"}}
{{- if .Error}}
<section data-testid="authorize-error" data-code="{{.ErrorCode}}" class="result invalid">
<h1>Sorry, but we're having trouble signing you in.</h1>
<p>{{.Error}}</p>
<p class="code-for-it">Error Code: {{.ErrorCode}}</p>
</section>
{{- else}}
<h1>Sign in</h1>
<p class="asker"><strong data-testid="authorize-app">{{.App}}</strong> asks to read, as the account you choose: {{.Permissions}}.</p>
{{- if .Problem}}
<p class="problem" role="alert">{{.Problem}}</p>
{{- end}}
<form method="post" action="{{.Action}}">
{{template "users" .}}
<div class="actions">
<button type="submit" name="action" value="approve">Accept</button>
<button type="submit" name="action" value="decline" class="secondary">Decline</button>
</div>
</form>
{{- end}}
</main>
</body>
</html>
`)

type authorizePage struct {
	App, Permissions, Action string
	Users                    []*user
	// Chosen is the account the browser is signed in as here, offered
	// first (prompt=select_account), "" for none.
	Chosen    string
	Problem   string
	Error     string
	ErrorCode int
}

// permissionWords are the consent screen's words for the Graph
// permissions the sandbox's application may ask for.
var permissionWords = map[string]string{
	"User.Read": "your profile", "Calendars.Read": "your calendars", "Calendars.ReadWrite": "and change your calendars",
	"Presence.Read": "your presence", "Calendars.ReadBasic": "your calendars' times and subjects",
	"Calendars.Read.Shared": "the calendars shared with you", "Place.Read.All": "your organisation's rooms",
	"Presence.Read.All": "everyone's presence", "GroupMember.Read.All": "your organisation's groups",
	"User.ReadBasic.All": "everyone's basic profile",
}

// authorize is the authorization endpoint: GET shows the sign-in page,
// POST approves or declines and redirects the browser to the redirect URI.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
func (s *Sandbox) authorize(w http.ResponseWriter, r *http.Request) {
	s.count("authorize")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	now := s.Now()
	req, page, toClient := s.checkAuthorize(r.PathValue("tenant"), r.URL.Query())
	switch {
	case page != nil:
		w.WriteHeader(page.e.status)
		authorizeTmpl.Execute(w, authorizePage{Error: page.e.message(page.args...), ErrorCode: page.e.code})
		return
	case toClient != nil:
		http.Redirect(w, r, req.errorRedirect(*toClient, now), http.StatusFound)
		return
	}
	// prompt, as the doc has it: "login forces the user to enter their
	// credentials on that request, negating single-sign on"; "none ...
	// If the request can't be completed silently by using single-sign
	// on, the Microsoft identity platform returns an interaction_required
	// error"; "select_account interrupts single sign-on providing account
	// selection experience listing all the accounts either in session or
	// any remembered account". With no prompt, a browser signed in here
	// is signed in again at once, as the account it signed in as.
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
	session := s.sessionUser(r)
	if r.Method == http.MethodGet {
		switch {
		case req.prompt == "none" && session == nil:
			http.Redirect(w, r, req.errorRedirect(refusal{e: errInteractionRequired}, now), http.StatusFound)
			return
		case (req.prompt == "" || req.prompt == "none") && session != nil:
			if target, problem := s.signIn(req, session.UPN, true); problem == "" {
				http.Redirect(w, r, target, http.StatusFound)
				return
			}
		}
	}
	view := authorizePage{App: appDisplayName, Action: r.URL.RequestURI()}
	if session != nil {
		view.Chosen = session.UPN
	}
	var words []string
	for _, p := range req.scopes.graph() {
		words = append(words, permissionWords[p])
	}
	view.Permissions = strings.Join(words, ", ")
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			view.Problem = "The form could not be read. Try again."
		} else if a := r.PostForm.Get("action"); a != "approve" && a != "decline" {
			view.Problem = "Choose Accept or Decline."
		} else {
			target, problem := s.signIn(req, r.PostForm.Get("user"), a == "approve")
			if problem == "" {
				if a == "approve" {
					s.startSession(w, r, r.PostForm.Get("user"))
				}
				http.Redirect(w, r, target, http.StatusFound)
				return
			}
			view.Problem = problem
		}
		w.WriteHeader(http.StatusBadRequest)
	}
	s.mu.Lock()
	view.Users = s.sortedUsers()
	s.mu.Unlock()
	if i := slices.IndexFunc(view.Users, func(u *user) bool { return u.UPN == view.Chosen }); i > 0 {
		// The account in session first: it is the one chosen unless
		// the person picks another.
		view.Users = slices.Concat(view.Users[i:i+1], view.Users[:i], view.Users[i+1:])
	}
	authorizeTmpl.Execute(w, view)
}

// Authorize does what a person does on the authorization endpoint's page
// with authorizeURL (as MSAL or BrowserURL made it): signs in as upn and
// accepts, or declines when upn is "". It returns where the browser is
// sent: the redirect URI with a code, or with an error. A request the page
// refuses outright (an unregistered redirect URI, an unknown client) is an
// error.
func (s *Sandbox) Authorize(authorizeURL, upn string) (string, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return "", fmt.Errorf("sandbox: authorization URL: %w", err)
	}
	path, ok := strings.CutSuffix(u.Path, AuthorizePath)
	if !ok {
		return "", fmt.Errorf("sandbox: %s is not an authorization URL (its path must end in %s)", authorizeURL, AuthorizePath)
	}
	tenant := path[strings.LastIndex(path, "/")+1:]
	form := url.Values{"user": {upn}, "action": {"approve"}}
	if upn == "" {
		form.Set("action", "decline")
	}
	r, err := http.NewRequest(http.MethodPost, "https://"+LoginHost+"/"+url.PathEscape(tenant)+AuthorizePath+"?"+u.RawQuery, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("sandbox: authorization URL: %w", err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetPathValue("tenant", tenant)
	rec := httptest.NewRecorder()
	s.authorize(rec, r)
	if loc := rec.Header().Get("Location"); rec.Code == http.StatusFound && loc != "" {
		return loc, nil
	}
	return "", fmt.Errorf("sandbox: the sign-in page refused the request: HTTP %d", rec.Code)
}

// redeemAuthCode is the authorization code grant's token request.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token
func (s *Sandbox) redeemAuthCode(w http.ResponseWriter, r *http.Request, now time.Time) {
	code, redirectURI := r.PostForm.Get("code"), r.PostForm.Get("redirect_uri")
	switch {
	case code == "":
		writeSTS(w, errMissing("code"), now)
		return
	case redirectURI == "":
		writeSTS(w, errMissing("redirect_uri"), now)
		return
	}
	requested, bad := parseScopes(r.PostForm.Get("scope"))
	if bad != "" {
		writeSTS(w, errBadScope(bad), now)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[code]
	if c == nil {
		writeSTS(w, errCodeUnknown, now)
		return
	}
	spent := c.spent
	c.spent = true
	switch {
	case spent:
		writeSTS(w, errCodeRedeemed, now)
		return
	case !now.Before(c.expiresAt):
		writeSTS(w, errCodeExpired, now)
		return
	case redirectURI != c.redirectURI:
		writeSTS(w, errRedirectMismatch, now, redirectURI, c.redirectURI)
		return
	case !c.verify(r.PostForm.Get("code_verifier")):
		writeSTS(w, errVerifier, now)
		return
	}
	if refusal, ok := s.conditionalAccess(caSignIn, flowAuthCode); ok {
		writeSTS(w, refusal, now)
		return
	}
	// The token request's scope picks among what was consented to; OIDC
	// scopes are always allowed (MSAL adds openid, profile and
	// offline_access to every request).
	if s.missingAdminConsent(c.scopes) != "" {
		writeSTS(w, errAdminConsent, now)
		return
	}
	asked := scopeSet{}
	for sc := range c.scopes {
		asked[sc] = true
	}
	for _, sc := range requested.list() {
		switch {
		case c.scopes.has(sc):
		case isOIDC(sc):
			asked[sc] = true
		default:
			writeSTS(w, errConsent(sc), now)
			return
		}
	}
	granted := s.grantLocked(c.user, asked)
	tokens, err := s.issue(c.user, granted, issuance{session: newGUID(), flow: flowAuthCode, nonce: c.nonce}, originOf(r))
	if err != nil {
		s.log.Error("sandbox: issuing tokens", "err", err)
		writeSTS(w, errServer, now)
		return
	}
	writeSTSJSON(w, http.StatusOK, tokens, newGUID())
}

// verify checks a code_verifier against the code's challenge (RFC 7636
// §4.6).
func (c *authCode) verify(verifier string) bool {
	if c.challenge == "" {
		return true
	}
	want := verifier
	if c.method == "S256" {
		h := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(h[:])
	}
	return verifier != "" && subtle.ConstantTimeCompare([]byte(want), []byte(c.challenge)) == 1
}

func isOIDC(scope string) bool { return slices.Contains(oidcScopes, scope) }
