package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// Kind is what a failed sign-in or refresh means for the screen.
type Kind int

const (
	KindOther Kind = iota
	// KindDeclined: the person declined on their phone.
	KindDeclined
	// KindExpired: the code ran out before anyone used it.
	KindExpired
	// KindBlocked: Conditional Access blocks the grant.
	KindBlocked
	// KindSessionEnded: the refresh token no longer works (revoked,
	// password reset, policy change): sign in again.
	KindSessionEnded
	// KindSignedOut: there are no tokens for the account.
	KindSignedOut
	// KindUnreachable: the identity platform could not be reached or
	// failed; retry later.
	KindUnreachable
	// KindWrongTenant: the account's tenant is not allowed here.
	KindWrongTenant
	// KindConfig: the app registration or the request is wrong (unknown
	// client, bad scope, tenant not found): an administrator must act.
	KindConfig
	// KindCodeFlowBlocked: the organisation blocks sign-in with a device
	// code ("Block device code flow"): a device code is refused, and a
	// session that began with one is refused at its refresh. Sign-in by
	// authorization code still works.
	KindCodeFlowBlocked
	// KindConsent: a permission the sign-in asked for was not consented
	// to, and only an administrator can (AADSTS90094), or it was never
	// granted (AADSTS65001). A person who declines consent (AADSTS65004)
	// declined the sign-in: KindDeclined.
	KindConsent
)

func (k Kind) String() string {
	switch k {
	case KindDeclined:
		return "declined"
	case KindExpired:
		return "expired"
	case KindBlocked:
		return "blocked"
	case KindSessionEnded:
		return "session_ended"
	case KindSignedOut:
		return "signed_out"
	case KindUnreachable:
		return "unreachable"
	case KindWrongTenant:
		return "wrong_tenant"
	case KindConfig:
		return "config"
	case KindCodeFlowBlocked:
		return "code_flow_blocked"
	case KindConsent:
		return "consent"
	}
	return "other"
}

// ParseKind is the Kind whose String is s; KindOther for any other.
func ParseKind(s string) Kind {
	for k := KindOther; k <= KindConsent; k++ {
		if k.String() == s {
			return k
		}
	}
	return KindOther
}

// AuthError is a failure of the identity platform, as it reported it.
type AuthError struct {
	Kind Kind
	// OAuth is the OAuth "error" value (authorization_declined, ...).
	OAuth string
	// Codes are the AADSTS numbers, for IT.
	Codes []int
	// Description is the platform's text up to its trace lines; it never
	// holds a token.
	Description string
	// Status is the HTTP status, 0 when there was no answer.
	Status int
	err    error
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.OAuth != "" {
		b.WriteString(": " + e.OAuth)
	}
	if len(e.Codes) > 0 {
		b.WriteString(" (" + e.AADSTS() + ")")
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	} else if e.err != nil {
		b.WriteString(": " + e.err.Error())
	}
	return b.String()
}

func (e *AuthError) Unwrap() error { return e.err }

// AADSTS is the first AADSTS code, as IT searches for it ("AADSTS53003"),
// or "".
func (e *AuthError) AADSTS() string {
	if len(e.Codes) == 0 {
		return ""
	}
	return "AADSTS" + strconv.Itoa(e.Codes[0])
}

// KindOf returns the Kind of err, KindOther when it is not an AuthError.
func KindOf(err error) Kind {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return KindOther
}

// conditionalAccessCodes are AADSTS numbers that mean a Conditional Access
// policy blocked the grant: 53003 BlockedByConditionalAccess, 530033 remote
// device flow blocked by a device-based policy, 53000-53002 device state
// requirements. Branch on them only to word the screen; the OAuth error
// stays what decides.
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
var conditionalAccessCodes = []int{53000, 53001, 53002, 53003, 530033, 530034}

// consentCodes are AADSTS numbers that mean consent is missing: 65001
// DelegationDoesNotExist ("The user or administrator has not consented to
// use the application"), 90094
// AdminConsentRequired ("The grant requires admin permission"), 90008
// (the application requires consent from the tenant). Only a sign-in that
// asks for a board's extra permissions can meet them: refreshes ask for the
// server's own scopes, which were consented at the first sign-in.
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
var consentCodes = []int{65001, 90094, 90008}

// oauthBody is the JSON error of the identity platform.
type oauthBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// Codes of the "Block device code flow" policy (Conditional Access,
// "Authentication flows"): a session begun with a device code is
// "protocol tracked", and its refresh is refused with AADSTS530036 once the
// policy applies; the device-code grant itself is refused with AADSTS53003
// (BlockedByConditionalAccess). 53003 is any policy's block, so it means
// the device code only when the device authorization request itself is
// refused (the sandbox's "block_device_code"); a 53003 after someone signed
// in stays KindBlocked.
// https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-authentication-flows
const (
	codeProtocolTracked = 530036
	codeBlockedByCA     = 53003
)

// classify turns an error from MSAL into an *AuthError; atDeviceCodeStart
// says it answered a device authorization request. MSAL keeps the
// platform's JSON in the error text of an errors.CallErr (its response body
// has been read by then), so the JSON is read back from there.
func classify(err error, atDeviceCodeStart bool) error {
	var ae *AuthError
	if errors.As(err, &ae) {
		return err
	}
	var call msalerrors.CallErr
	if errors.As(err, &call) {
		out := &AuthError{Kind: KindOther, err: call.Err}
		if call.Resp != nil {
			out.Status = call.Resp.StatusCode
		}
		msg := call.Err.Error()
		if i := strings.Index(msg, "{"); i >= 0 {
			var body oauthBody
			if json.Unmarshal([]byte(msg[i:]), &body) == nil && body.Error != "" {
				out.OAuth, out.Codes = body.Error, body.Codes
				first, _, _ := cutLine(body.Description)
				out.Description = trimAADSTS(first)
			}
		}
		out.Kind = kindOf(out, atDeviceCodeStart)
		// The error text holds the request URL and body of the answer;
		// neither carries a token, but keep only what was parsed.
		out.err = fmt.Errorf("identity platform answered HTTP %d", out.Status)
		return out
	}
	// *url.Error and *net.OpError are net.Errors too.
	var netErr net.Error
	if errors.As(err, &netErr) {
		return &AuthError{Kind: KindUnreachable, err: err}
	}
	return err
}

// cutLine cuts a description at its first line break (the platform's
// descriptions go on with trace lines).
func cutLine(s string) (first, rest string, found bool) { return strings.Cut(s, "\r\n") }

// trimAADSTS drops the "AADSTS<n>: " a description starts with: the code
// is kept apart, in Codes.
func trimAADSTS(s string) string {
	if _, rest, ok := strings.Cut(s, ": "); ok && strings.HasPrefix(s, "AADSTS") {
		return rest
	}
	return s
}

// kindOf maps an answer of the identity platform to a Kind: the OAuth error
// decides, AADSTS numbers only refine (Microsoft: "apps must not depend on
// the codes"); atDeviceCodeStart says it answered a device authorization
// request. It is the one place where the codes of Conditional Access are
// read, the "Block device code flow" ones first.
func kindOf(e *AuthError, atDeviceCodeStart bool) Kind {
	switch {
	case slices.Contains(e.Codes, codeProtocolTracked),
		atDeviceCodeStart && slices.Contains(e.Codes, codeBlockedByCA):
		return KindCodeFlowBlocked
	case slices.ContainsFunc(e.Codes, func(c int) bool { return slices.Contains(conditionalAccessCodes, c) }):
		return KindBlocked
	case slices.ContainsFunc(e.Codes, func(c int) bool { return slices.Contains(consentCodes, c) }):
		return KindConsent
	}
	switch e.OAuth {
	case "authorization_declined", "access_denied":
		return KindDeclined
	case "expired_token", "code_expired":
		return KindExpired
	case "invalid_grant", "interaction_required":
		return KindSessionEnded
	case "invalid_client", "invalid_scope", "unauthorized_client", "invalid_request", "unsupported_grant_type":
		return KindConfig
	case "temporarily_unavailable", "server_error":
		return KindUnreachable
	}
	if e.Status >= 500 || e.Status == 429 {
		return KindUnreachable
	}
	return KindOther
}
