package sandbox

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// grantState is where a device code is in its life.
type grantState int

const (
	grantPending  grantState = iota
	grantApproved            // a user approved; tokens not yet collected
	grantDeclined            // the user declined
	grantBlocked             // Conditional Access refused the sign-in
	grantConsent             // a permission asked for needs an administrator's consent
	grantRedeemed            // tokens were issued: the code is spent
)

// grant is one device authorization request (RFC 8628 §3.1).
type grant struct {
	deviceCode string
	userCode   string
	scopes     scopeSet
	issuedAt   time.Time
	expiresAt  time.Time
	state      grantState
	// told is set once a declined or blocked grant's error was sent: the
	// code is spent then too.
	told   bool
	user   *user
	screen string // which screen asked, when the edge server said so
	// approvedAt and redeemedAt are when it was approved and when its
	// tokens were issued (the control API lists them).
	approvedAt, redeemedAt time.Time

	// The polling pace: a bucket of polls that refills by one each
	// interval (see pace).
	polls    float64
	lastPoll time.Time
}

// The device authorization response's documented values: the person has
// 15 minutes; the client waits 5 seconds between polls.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#device-authorization-response
const (
	defaultCodeLifetime = 15 * time.Minute
	pollInterval        = 5 * time.Second
)

// pollBurst is how many polls faster than the interval a pending code takes
// before it answers slow_down (RFC 8628 §3.5). Microsoft does not document
// slow_down, and clients it supports poll faster than the interval at
// first: MSAL Go polls after 50 ms, 150, 450, 1350, 4050 ms and then every
// 5 s, which never empties this bucket. A client that keeps polling faster
// than the interval is told to slow down; an approved code is redeemed
// whatever the pace, so slow_down never delays a sign-in. The threshold is
// unconfirmed.
const pollBurst = 5

// userCodeAlphabet draws user codes from upper-case letters and digits, as
// the platform's codes look ("YZMYLD4K", "BPPVYQZMA"); the exact alphabet
// is unconfirmed. Letters and digits that read alike (0/O, 1/I) are left
// out: people read these codes off a TV across a room.
const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// userCodeLength: 9 characters, the length of today's codes. 32^9 codes
// for a 15-minute lifetime with guesses rate-limited is ample entropy
// (RFC 8628 §5.1).
const userCodeLength = 9

// deviceCodePrefix mimics the opaque prefix of real device codes
// ("DAQABIQEAAAD...", "EAQABIQEAAAB...").
const deviceCodePrefix = "DAQABIQEAAAD"

// newUserCode returns an unused user code; s.mu must be held. Codes come
// from crypto/rand: a guessable code would let someone approve a screen's
// sign-in with their own account.
func (s *Sandbox) newUserCode() string {
	for {
		var b strings.Builder
		for range userCodeLength {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(userCodeAlphabet))))
			if err != nil {
				panic(fmt.Sprintf("sandbox: crypto/rand failed: %v", err))
			}
			b.WriteByte(userCodeAlphabet[n.Int64()])
		}
		if code := b.String(); s.byCode[code] == nil {
			return code
		}
	}
}

// checkTenant writes the error of a tenant segment the OAuth endpoints do
// not serve, and reports whether it did.
func (s *Sandbox) checkTenant(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	switch t := r.PathValue("tenant"); tenantOf(t) {
	case tenantUnknown:
		writeSTS(w, errTenant(t, false), now)
		return true
	case tenantConsumers:
		writeSTS(w, errConsumers, now)
		return true
	}
	return false
}

// checkClient writes the error of a client the tenant does not know, or of
// a public client presenting a secret, and reports whether it did.
func checkClient(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	switch id := r.PostForm.Get("client_id"); {
	case id == "":
		writeSTS(w, errMissing("client_id"), now)
	case !strings.EqualFold(id, ClientID):
		writeSTS(w, errUnknownClient(id), now)
	case r.PostForm.Has("client_secret") || r.PostForm.Has("client_assertion"):
		writeSTS(w, errPublicClientSecret, now)
	default:
		return false
	}
	return true
}

// deviceCode is the device authorization endpoint.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#device-authorization-request
func (s *Sandbox) deviceCode(w http.ResponseWriter, r *http.Request) {
	s.count("devicecode")
	now := s.Now()
	if s.checkTenant(w, r, now) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeSTS(w, errMissing("client_id"), now)
		return
	}
	if checkClient(w, r, now) {
		return
	}
	scopes, bad := parseScopes(r.PostForm.Get("scope"))
	switch {
	case bad != "":
		writeSTS(w, errBadScope(bad), now)
		return
	case len(scopes) == 0:
		writeSTS(w, errMissing("scope"), now)
		return
	}

	s.mu.Lock()
	if refusal, ok := s.conditionalAccess(caDeviceCodeRequest, flowDeviceCode); ok {
		s.mu.Unlock()
		writeSTS(w, refusal, now)
		return
	}
	s.forgetGrants(now)
	g := &grant{
		deviceCode: deviceCodePrefix + randomString(150),
		userCode:   s.newUserCode(),
		scopes:     scopes,
		issuedAt:   now,
		expiresAt:  now.Add(s.opts.CodeLifetime),
		polls:      pollBurst,
		lastPoll:   now,
	}
	s.grants[g.deviceCode] = g
	s.byCode[g.userCode] = g
	s.mu.Unlock()

	uri := s.opts.VerificationURL
	if uri == "" {
		// A sandbox of its own (placard sandbox) serves the phone page
		// where its clients reach it.
		uri = originOf(r).login + "/sandbox/devicelogin"
	}
	writeSTSJSON(w, http.StatusOK, map[string]any{
		"user_code":        g.userCode,
		"device_code":      g.deviceCode,
		"verification_uri": uri,
		"expires_in":       int(s.opts.CodeLifetime / time.Second),
		"interval":         int(pollInterval / time.Second),
		// The message of real answers (Microsoft Q&A 981553); only
		// English is served, whatever ?mkt= asks for.
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			uri, g.userCode),
	}, newGUID())
}

// forgetGrants forgets grants long past their expiry, so that the maps do
// not grow without bound; s.mu must be held. Expired grants are kept for a
// day so that polling them answers expired_token, not
// bad_verification_code.
func (s *Sandbox) forgetGrants(now time.Time) {
	for dc, g := range s.grants {
		if now.Sub(g.expiresAt) > 24*time.Hour {
			delete(s.grants, dc)
			delete(s.byCode, g.userCode)
		}
	}
}

// token is the token endpoint: the device-code grant, the authorization
// code grant and the refresh-token grant, those a public client on a screen
// and its edge server use.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#authenticating-the-user
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
func (s *Sandbox) token(w http.ResponseWriter, r *http.Request) {
	s.count("token")
	now := s.Now()
	if s.checkTenant(w, r, now) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeSTS(w, errMissing("grant_type"), now)
		return
	}
	gt := r.PostForm.Get("grant_type")
	if gt == "" {
		writeSTS(w, errMissing("grant_type"), now)
		return
	}
	if checkClient(w, r, now) {
		return
	}
	switch gt {
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code":
		// RFC 8628's name, and the short one MSAL Go sends (its
		// apps/internal/oauth/ops/internal/grant/grant.go), which the
		// platform accepts since MSAL Go signs people in with it.
		s.count("token device_code")
		s.redeemDeviceCode(w, r, now)
	case "refresh_token":
		s.count("token refresh_token")
		s.redeemRefresh(w, r, now)
	case "authorization_code":
		s.count("token authorization_code")
		s.redeemAuthCode(w, r, now)
	default:
		writeSTS(w, errUnsupportedGrant, now, gt)
	}
}

// redeemDeviceCode answers a poll (RFC 8628 §3.4-3.5).
func (s *Sandbox) redeemDeviceCode(w http.ResponseWriter, r *http.Request, now time.Time) {
	dc := r.PostForm.Get("device_code")
	if dc == "" {
		writeSTS(w, errMissing("device_code"), now)
		return
	}
	sign, refusal := s.redeemDeviceCodeLocked(dc, now, originOf(r))
	if sign == nil {
		writeSTS(w, refusal, now)
		return
	}
	// Signed with s.mu released: the code is already redeemed, so that
	// no other poll redeems it meanwhile.
	tokens, err := sign()
	if err != nil {
		s.log.Error("sandbox: issuing tokens", "err", err)
		s.mu.Lock()
		if g := s.grants[dc]; g != nil && g.state == grantRedeemed {
			g.state, g.redeemedAt = grantApproved, time.Time{}
		}
		s.mu.Unlock()
		writeSTS(w, errServer, now)
		return
	}
	writeSTSJSON(w, http.StatusOK, tokens, newGUID())
}

// redeemDeviceCodeLocked takes s.mu and decides a poll: the refusal to
// answer, or the function that signs the tokens of a code it redeems.
func (s *Sandbox) redeemDeviceCodeLocked(dc string, now time.Time, o origin) (sign func() (tokenSet, error), refusal stsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[dc]
	if g == nil {
		return nil, errBadCode
	}
	switch {
	case g.state == grantRedeemed || g.told:
		// A device code is single use.
		return nil, errUsed
	case g.state == grantDeclined:
		g.told = true
		return nil, errDeclined
	case g.state == grantBlocked:
		g.told = true
		return nil, errBlocked
	case g.state == grantConsent:
		g.told = true
		return nil, errAdminConsent
	case !now.Before(g.expiresAt):
		return nil, errExpired
	case g.state == grantPending:
		if g.pace(now) {
			return nil, errPending
		}
		return nil, errSlowDown
	}
	if refusal, ok := s.conditionalAccess(caSignIn, flowDeviceCode); ok {
		// Approved before the policy was switched on: the policy is
		// evaluated when the tokens are issued too.
		g.state, g.told = grantBlocked, true
		return nil, refusal
	}
	if s.missingAdminConsent(g.scopes) != "" {
		// Approved before the administrator's consent was withdrawn.
		g.state, g.told = grantConsent, true
		return nil, errAdminConsent
	}
	sign = s.prepare(g.user, s.grantLocked(g.user, g.scopes), issuance{session: newGUID(), flow: flowDeviceCode}, o)
	g.state, g.redeemedAt = grantRedeemed, now
	return sign, stsError{}
}

// pace counts a poll of a pending code and reports whether it came at a
// pace the platform accepts (see pollBurst).
func (g *grant) pace(now time.Time) bool {
	g.polls = min(pollBurst, g.polls+float64(now.Sub(g.lastPoll))/float64(pollInterval))
	g.lastPoll = now
	if g.polls < 1 {
		return false
	}
	g.polls--
	return true
}

// redeemRefresh is the refresh-token grant: a new access token and a new
// refresh token (rotation), or invalid_grant when the session is over.
func (s *Sandbox) redeemRefresh(w http.ResponseWriter, r *http.Request, now time.Time) {
	raw := r.PostForm.Get("refresh_token")
	if raw == "" {
		writeSTS(w, errMissing("refresh_token"), now)
		return
	}
	rt, err := s.openRefresh(raw)
	if err != nil {
		writeSTS(w, errBadRefreshToken, now)
		return
	}
	requested, bad := parseScopes(r.PostForm.Get("scope"))
	if bad != "" {
		writeSTS(w, errBadScope(bad), now)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByOID(rt.OID)
	switch {
	case u == nil:
		writeSTS(w, errBadRefreshToken, now)
		return
	case now.UnixMilli() >= rt.Expiry:
		writeSTS(w, errRefreshExpired, now, time.UnixMilli(rt.IssuedAt).UTC().Format("2006-01-02T15:04:05.0000000Z"))
		return
	case !u.validSince.IsZero() && rt.issued() <= u.validSince.UnixNano():
		// Revoked: every refresh token issued before the user's
		// sessions were revoked is refused.
		writeSTS(w, errRevoked, now)
		return
	case s.reused[rt.Session]:
		writeSTS(w, errReused, now)
		return
	case s.faults.RefuseReusedRefreshToken && s.redeemedBefore(rt):
		// The token was redeemed before: someone holds a copy. The
		// whole session ends, the token issued in its place included.
		s.reused[rt.Session] = true
		writeSTS(w, errReused, now)
		return
	}
	if refusal, ok := s.conditionalAccess(caRefresh, rt.flow()); ok {
		writeSTS(w, refusal, now)
		return
	}
	granted := s.refreshGrant(u, rt.Scopes)
	for _, sc := range requested.list() {
		if !granted.has(sc) && !slices.Contains(oidcScopes, sc) {
			writeSTS(w, errConsent(sc), now)
			return
		}
	}
	tokens, err := s.issue(u, granted, issuance{session: rt.Session, flow: rt.flow()}, originOf(r))
	if err != nil {
		s.log.Error("sandbox: issuing tokens", "err", err)
		writeSTS(w, errServer, now)
		return
	}
	if s.faults.RefuseReusedRefreshToken {
		s.redeemedLocked(rt, now)
	}
	writeSTSJSON(w, http.StatusOK, tokens, newGUID())
}

// redeemedBefore reports whether the refresh token was redeemed before;
// s.mu must be held.
func (s *Sandbox) redeemedBefore(rt refreshToken) bool {
	_, ok := s.redeemed[rt.Nonce]
	return ok
}

// redeemedLocked remembers a redeemed refresh token until it expires;
// s.mu must be held.
func (s *Sandbox) redeemedLocked(rt refreshToken, now time.Time) {
	for n, exp := range s.redeemed {
		if now.After(exp) {
			delete(s.redeemed, n)
		}
	}
	s.redeemed[rt.Nonce] = time.UnixMilli(rt.Expiry)
}

// Approval outcomes, as data-outcome on the phone page's result.
const (
	OutcomeApproved = "approved"
	OutcomeDeclined = "declined"
	OutcomeExpired  = "expired"
	OutcomeInvalid  = "invalid"
	OutcomeUsed     = "used"
	OutcomeLocked   = "locked"
	// OutcomeBlocked: Conditional Access refused the sign-in; the real
	// sign-in page says so with "Error Code: 53003".
	OutcomeBlocked = "blocked"
	// OutcomeConsent: a permission asked for needs an administrator's
	// consent that nobody gave; the real page says "Need admin approval"
	// with AADSTS90094.
	OutcomeConsent = "consent_required"
)

// lookup returns the grant of a user code, normalised as a person types it.
func (s *Sandbox) lookup(userCode string) *grant {
	code := strings.ToUpper(strings.Join(strings.Fields(strings.ReplaceAll(userCode, "-", "")), ""))
	return s.byCode[code]
}

// act approves (as upn) or declines the grant of userCode and returns the
// outcome and the name of the screen that asked; OutcomeInvalid with a
// screen is a known code with an unknown user.
func (s *Sandbox) act(userCode, upn string, approve bool) (outcome, screen string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	g := s.lookup(userCode)
	switch {
	case g == nil:
		return OutcomeInvalid, ""
	case g.state != grantPending:
		return OutcomeUsed, g.screen
	case !now.Before(g.expiresAt):
		return OutcomeExpired, g.screen
	}
	if !approve {
		g.state = grantDeclined
		return OutcomeDeclined, g.screen
	}
	u, err := s.userLocked(upn)
	if err != nil {
		return OutcomeInvalid, screenOrPlaceholder(g.screen)
	}
	g.user = u
	if _, blocked := s.conditionalAccess(caSignIn, flowDeviceCode); blocked {
		g.state = grantBlocked
		return OutcomeBlocked, g.screen
	}
	if s.missingAdminConsent(g.scopes) != "" {
		g.state = grantConsent
		return OutcomeConsent, g.screen
	}
	g.state, g.approvedAt = grantApproved, now
	return OutcomeApproved, g.screen
}

// screenOrPlaceholder names the screen of a known code, even one no screen
// was named for.
func screenOrPlaceholder(screen string) string {
	if screen == "" {
		return "the screen"
	}
	return screen
}
