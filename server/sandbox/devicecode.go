package sandbox

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// grantState is where a device code is in its life.
type grantState int

const (
	grantPending grantState = iota
	grantApproved
	grantDeclined
	grantRedeemed
)

// grant is one device authorization request (RFC 8628 §3.1).
type grant struct {
	deviceCode string
	userCode   string
	clientID   string
	scopes     scopeSet
	issuedAt   time.Time
	expiresAt  time.Time
	interval   time.Duration
	lastPoll   time.Time
	state      grantState
	user       *user
	screen     string // which screen asked, when the edge server said so
}

// pollInterval is the "interval" of a device code response.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#device-authorization-response
const pollInterval = 5 * time.Second

// userCodeAlphabet draws user codes from upper-case letters and digits, as
// the platform's codes look ("YZMYLD4K", "BPPVYQZMA"); the exact alphabet
// is not documented (unconfirmed). Letters and digits that read alike (0/O,
// 1/I) are left out: people read these codes off a TV across a room.
const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// userCodeLength: 9 characters, the length of today's codes. 32^9 codes
// for a 15-minute lifetime with guesses rate-limited is ample entropy
// (RFC 8628 §5.1).
const userCodeLength = 9

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

// deviceCode is the device authorization endpoint.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#device-authorization-request
func (s *Sandbox) deviceCode(w http.ResponseWriter, r *http.Request) {
	s.count("devicecode")
	now := s.Now()
	if t := r.PathValue("tenant"); !tenantOK(t) {
		writeSTS(w, errTenant(t), now)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeSTS(w, errMissing("client_id"), now)
		return
	}
	clientID := r.PostForm.Get("client_id")
	switch {
	case clientID == "":
		writeSTS(w, errMissing("client_id"), now)
		return
	case clientID != ClientID:
		writeSTS(w, errUnknownClient(clientID), now)
		return
	}
	scopes, bad := parseScopes(r.PostForm.Get("scope"))
	if bad != "" {
		writeSTS(w, errBadScope(bad), now)
		return
	}
	if len(scopes) == 0 {
		writeSTS(w, errMissing("scope"), now)
		return
	}

	s.mu.Lock()
	s.expireGrants(now)
	g := &grant{
		deviceCode: "DAQABIQEAAAD" + randomString(96),
		userCode:   s.newUserCode(),
		clientID:   clientID,
		scopes:     scopes,
		issuedAt:   now,
		expiresAt:  now.Add(s.opts.CodeLifetime),
		interval:   pollInterval,
	}
	s.grants[g.deviceCode] = g
	s.byCode[g.userCode] = g
	s.mu.Unlock()

	uri := s.opts.VerificationURL
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        g.userCode,
		"device_code":      g.deviceCode,
		"verification_uri": uri,
		"expires_in":       int(s.opts.CodeLifetime / time.Second),
		"interval":         int(pollInterval / time.Second),
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			uri, g.userCode),
	})
}

// expireGrants forgets grants long past their expiry, so that the maps do
// not grow without bound; s.mu must be held. Expired grants are kept for a
// while so that polling them answers expired_token, not bad_verification_code.
func (s *Sandbox) expireGrants(now time.Time) {
	for dc, g := range s.grants {
		if now.Sub(g.expiresAt) > time.Hour {
			delete(s.grants, dc)
			delete(s.byCode, g.userCode)
		}
	}
}

// token is the token endpoint: the device-code grant and the refresh-token
// grant.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#authenticating-the-user
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
func (s *Sandbox) token(w http.ResponseWriter, r *http.Request) {
	s.count("token")
	now := s.Now()
	if t := r.PathValue("tenant"); !tenantOK(t) {
		writeSTS(w, errTenant(t), now)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeSTS(w, errMissing("grant_type"), now)
		return
	}
	clientID := r.PostForm.Get("client_id")
	switch {
	case clientID == "":
		writeSTS(w, errMissing("client_id"), now)
		return
	case clientID != ClientID:
		writeSTS(w, errUnknownClient(clientID), now)
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code":
		s.redeemDeviceCode(w, r, now)
	case "refresh_token":
		s.redeemRefresh(w, r, now)
	case "":
		writeSTS(w, errMissing("grant_type"), now)
	default:
		writeSTS(w, errUnsupportedGrant, now)
	}
}

func (s *Sandbox) redeemDeviceCode(w http.ResponseWriter, r *http.Request, now time.Time) {
	// MSAL sends "device_code"; RFC 8628 §3.4 names it device_code too.
	dc := r.PostForm.Get("device_code")
	if dc == "" {
		writeSTS(w, errMissing("device_code"), now)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[dc]
	if g == nil || g.clientID != r.PostForm.Get("client_id") {
		writeSTS(w, errBadCode, now)
		return
	}
	tooFast := !g.lastPoll.IsZero() && now.Sub(g.lastPoll) < g.interval
	g.lastPoll = now
	switch {
	case g.state == grantRedeemed:
		// A device code is single use (RFC 8628 §3.5 and the platform's
		// "already authorized or declined").
		writeSTS(w, errUsed, now)
	case g.state == grantDeclined:
		writeSTS(w, errDeclined, now)
		g.state = grantRedeemed
	case !now.Before(g.expiresAt):
		writeSTS(w, errExpired, now)
	case g.state == grantPending && tooFast:
		// RFC 8628 §3.5: polling faster than the interval is slow_down.
		// The interval is not raised: MSAL Go keeps its own pace and
		// would otherwise never be fast enough. An approved grant is
		// redeemed whatever the pace, so slow_down never delays a sign-in.
		writeSTS(w, errSlowDown, now)
	case g.state == grantPending:
		writeSTS(w, errPending, now)
	case s.faults.ConditionalAccessBlock:
		g.state = grantRedeemed
		writeSTS(w, errBlocked, now)
	default:
		g.state = grantRedeemed
		tokens, err := s.issue(g.user, g.scopes, randomString(12))
		if err != nil {
			s.log.Error("sandbox: issuing tokens", "err", err)
			writeSTS(w, stsError{500, "server_error", 90033, "A transient error has occurred. Please try again."}, now)
			return
		}
		writeJSON(w, http.StatusOK, tokens)
	}
}

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
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByOID(rt.OID)
	switch {
	case u == nil:
		writeSTS(w, errBadRefreshToken, now)
		return
	case now.UnixMilli() >= rt.Expiry:
		writeSTS(w, errRefreshExpired, now)
		return
	case !u.validSince.IsZero() && rt.IssuedAt <= u.validSince.UnixMilli():
		// Revoked: every refresh token issued before the user's sessions
		// were revoked is refused.
		writeSTS(w, errRevoked, now)
		return
	case s.faults.ConditionalAccessBlock:
		// A session begun with a device code stays under the policy on
		// later refreshes ("protocol tracking").
		writeSTS(w, errBlocked, now)
		return
	}
	granted := fromScopes(rt.Scopes)
	if req, bad := parseScopes(r.PostForm.Get("scope")); bad != "" {
		writeSTS(w, errBadScope(bad), now)
		return
	} else {
		for sc := range req {
			if !granted.has(sc) {
				writeSTS(w, errBadScope(sc), now)
				return
			}
		}
	}
	tokens, err := s.issue(u, granted, rt.Session)
	if err != nil {
		s.log.Error("sandbox: issuing tokens", "err", err)
		writeSTS(w, stsError{500, "server_error", 90033, "A transient error has occurred. Please try again."}, now)
		return
	}
	writeJSON(w, http.StatusOK, tokens)
}

// Approval outcomes, as data-outcome on the phone page's result.
const (
	OutcomeApproved = "approved"
	OutcomeDeclined = "declined"
	OutcomeExpired  = "expired"
	OutcomeInvalid  = "invalid"
	OutcomeUsed     = "used"
	OutcomeLocked   = "locked"
)

// lookup returns the grant of a user code, normalised as a person types it.
func (s *Sandbox) lookup(userCode string) *grant {
	code := strings.ToUpper(strings.Join(strings.Fields(strings.ReplaceAll(userCode, "-", "")), ""))
	return s.byCode[code]
}

// act approves (as upn) or declines the grant of userCode and returns the
// outcome and the name of the screen that asked.
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
	u := s.users[upn]
	if u == nil {
		return OutcomeInvalid, g.screen
	}
	g.user = u
	g.state = grantApproved
	return OutcomeApproved, g.screen
}
