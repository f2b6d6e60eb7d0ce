package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// stsError is one error of the identity platform, as a table row: the OAuth
// "error" value clients branch on, the AADSTS number shown to IT, and the
// text. Every error the sandbox's identity endpoints return is in this file,
// so that the mapping lives in one place; rows no source settles say
// "unconfirmed".
//
// Microsoft says apps must branch on "error" only: "Error codes are subject
// to change at any time" (reference-error-codes.md).
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#expected-errors
type stsError struct {
	status int
	err    string
	code   int
	text   string
	// suberror is sent when the platform sends one ("message_only",
	// "consent_required").
	suberror string
}

// The device-code grant (RFC 8628 §3.5, and Microsoft's "Expected errors").
var (
	// Text seen verbatim in a real answer (Microsoft Q&A 981553, 2022).
	errPending = stsError{status: 400, err: "authorization_pending", code: 70016,
		text: "The provided request has not yet been authorized by the user. The user must input their code."}
	// slow_down is RFC 8628 §3.5's; Microsoft's device-code page does not
	// list it. Its AADSTS number and text are unconfirmed.
	errSlowDown = stsError{status: 400, err: "slow_down", code: 70016,
		text: "OAuth 2.0 device flow error. Polling too fast: wait the interval between requests."}
	// authorization_declined is documented; its AADSTS number and text
	// are unconfirmed (70000 is the generic InvalidGrant).
	errDeclined = stsError{status: 400, err: "authorization_declined", code: 70000,
		text: "The end user denied the authorization request."}
	// Text seen verbatim in real answers (Azure/azure-cli#22251,
	// MicrosoftDocs/azure-docs#92366).
	errExpired = stsError{status: 400, err: "expired_token", code: 70020,
		text: "The provided value for the input parameter 'device_code' is not valid. This device code has expired."}
	// A device_code the platform never issued: Microsoft's page says
	// bad_verification_code; the number is unconfirmed (70018 is
	// BadVerificationCode, "user typing in wrong user code"). MSAL
	// Android's tests saw invalid_grant for a code the service no longer
	// knew (AzureAD/microsoft-authentication-library-for-android#2427):
	// the documented value is kept.
	errBadCode = stsError{status: 400, err: "bad_verification_code", code: 70018,
		text: "Invalid verification code entered."}
	// A device code is single use. 90120 InvalidDeviceFlowRequest is "The
	// request was already authorized or declined" in the error table;
	// that it is what the token endpoint answers, with invalid_grant, is
	// unconfirmed.
	errUsed = stsError{status: 400, err: "invalid_grant", code: 90120,
		text: "Invalid device flow request. The request was already authorized or declined."}
)

// Conditional Access. A real device-code sign-in blocked by a policy
// answers the polling client with AADSTS53003 (Azure/azure-cli#32809: "az
// login" with a device code, after the person signed in on another
// device). The "error" value of that answer is unconfirmed; a user sign-in
// blocked by the same policy was seen answering
// {"error":"interaction_required", "error_codes":[53003],
// "suberror":"message_only"}, and that is what is modelled. The session
// stays under the policy on later refreshes ("protocol tracking"), so a
// refresh answers the same.
var errBlocked = stsError{status: 400, err: "interaction_required", code: 53003, suberror: "message_only",
	text: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."}

// The "Block device code flow" policy (Conditional Access, "Authentication
// flows"). Sessions begun with a device code are "protocol tracked": once
// the policy applies, their refresh fails with AADSTS530036, "the refresh
// token is invalid due to authentication flow checks by Conditional
// Access" (the docs' words; the "error" value is unconfirmed: invalid_grant,
// the table's value for unusable authentication material, is modelled).
// https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-authentication-flows
var errProtocolTracked = stsError{status: 400, err: "invalid_grant", code: 530036,
	text: "The refresh token is invalid due to authentication flow checks by Conditional Access. The session began with the device code flow, which a policy of the organisation blocks."}

// errDeviceCodeBlocked: the device authorization request refused at once
// under the policy, with errBlocked's AADSTS53003. The real platform
// evaluates Conditional Access when the person signs in (the phone page
// shows "Error Code: 53003" and the polling client then gets errBlocked);
// that a tenant-wide block (security defaults, a policy for all users)
// refuses the devicecode request itself is unconfirmed. The sandbox refuses
// it at once, so that a screen learns of the block before anyone scans a
// code; a code issued before the switch was turned on is refused when
// approved and polled, as errBlocked.
var errDeviceCodeBlocked = stsError{status: 400, err: "interaction_required", code: 53003, suberror: "message_only",
	text: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."}

// The authorization code grant (RFC 6749 §4.1, with PKCE, RFC 7636).
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
var (
	// Single use: the text is in Microsoft's "Authentication flows"
	// page of MSAL ("AADSTS54005: OAuth2 Authorization code was already
	// redeemed, please retry with a new valid code or use an existing
	// refresh token."); invalid_grant is the doc's value for a code
	// that "is invalid or has expired".
	errCodeRedeemed = stsError{status: 400, err: "invalid_grant", code: 54005,
		text: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."}
	// Codes "expire after about 10 minutes" (the doc); 70008
	// ExpiredOrRevokedGrant is the error table's row for an expired
	// code.
	errCodeExpired = stsError{status: 400, err: "invalid_grant", code: 70008,
		text: "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."}
	// A code the platform never issued: invalid_grant as the doc says;
	// the number and text are unconfirmed (70000 is InvalidGrant).
	errCodeUnknown = stsError{status: 400, err: "invalid_grant", code: 70000,
		text: "The provided value for the 'code' parameter is not valid."}
	// A verifier that does not hash to the challenge, seen verbatim in
	// real answers ("invalid_grant - 501481 - ... AADSTS501481: The
	// Code_Verifier does not match the code_challenge supplied in the
	// authorization request.", GillesZunino/insomnia-plugin-azure-ad-authentication#14,
	// AzureAD/microsoft-authentication-library-for-js#3248); the error
	// table has the row too. A missing verifier is answered the same:
	// unconfirmed.
	errVerifier = stsError{status: 400, err: "invalid_grant", code: 501481,
		text: "The Code_Verifier does not match the code_challenge supplied in the authorization request."}
	// The redirect URI of the redemption differs from the authorization
	// request's: AADSTS500112, as public threads report it ("reply
	// address ... does not match"); the "error" value is unconfirmed
	// (RFC 6749 §5.2 says invalid_grant).
	errRedirectMismatch = stsError{status: 400, err: "invalid_grant", code: 500112,
		text: "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code."}
)

// Errors of the authorization endpoint. Those before the redirect URI is
// known to be registered are shown on the platform's page (RFC 6749
// §4.1.2.1: never redirect to an unchecked URI); the rest are sent to the
// redirect URI with the request's state.
var (
	// The text of Microsoft's troubleshooting article for AADSTS50011.
	// https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/app-integration/error-code-aadsts50011-redirect-uri-mismatch
	errRedirectURI = stsError{status: 400, err: "invalid_request", code: 50011,
		text: "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."}
	// Decline: access_denied is the doc's value ("Resource owner denied
	// consent"); 65004 UserDeclinedConsent is the error table's row.
	errAccessDenied = stsError{status: 400, err: "access_denied", code: 65004,
		text: "User declined to consent to access the app."}
	// A Conditional Access block of an interactive sign-in: the platform
	// shows its own page ("Error Code: 53003"); that the redirect then
	// carries access_denied with AADSTS53003 is what public clients'
	// code expects, unconfirmed by any Microsoft page.
	errAuthorizeBlocked = stsError{status: 400, err: "access_denied", code: 53003,
		text: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."}
	// response_type other than code: 70005 UnsupportedResponseType
	// (error table); the text is unconfirmed.
	errResponseType = stsError{status: 400, err: "unsupported_response_type", code: 70005,
		text: "response_type '%s' is not enabled for the application."}
	// PKCE parameters: 50149 and 501491 are the error table's rows
	// ("Invalid Code_Challenge_method parameter.", "Invalid size of
	// Code_Challenge parameter."); the "error" value invalid_request is
	// the doc's for a protocol error.
	errChallengeMethod = stsError{status: 400, err: "invalid_request", code: 50149,
		text: "Invalid Code_Challenge_method parameter."}
	errChallengeSize = stsError{status: 400, err: "invalid_request", code: 501491,
		text: "Invalid size of Code_Challenge parameter."}
	// prompt=none with no session to sign in silently with: the doc says
	// "returns an interaction_required error"; 50058 UserInformationNotProvided
	// ("a silent sign-in request was sent but no user is signed in") is
	// the error table's row; that the two come together is unconfirmed.
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
	errInteractionRequired = stsError{status: 400, err: "interaction_required", code: 50058,
		text: "A silent sign-in request was sent but no user is signed in."}
	// A prompt value the platform does not know: the doc lists login,
	// none, consent and select_account (and create); the answer to
	// another is unconfirmed (90023 InvalidRequest is the error table's
	// generic row).
	errPrompt = stsError{status: 400, err: "invalid_request", code: 90023,
		text: "The value '%s' of the 'prompt' parameter is not valid: use login, none, consent or select_account."}
)

// The refresh-token grant.
// https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens
var (
	// Revoked by revokeSignInSessions, a password change or reset: 50173
	// FreshTokenNeeded. The "error" value invalid_grant is the table's
	// generic one for unusable authentication material.
	errRevoked = stsError{status: 400, err: "invalid_grant", code: 50173,
		text: "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."}
	// 700082 ExpiredOrRevokedGrantInactiveToken: 90 days unused.
	errRefreshExpired = stsError{status: 400, err: "invalid_grant", code: 700082,
		text: "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00."}
	// A refresh token the platform cannot read. 9002313 is "Request is
	// malformed or invalid"; unconfirmed for this case.
	errBadRefreshToken = stsError{status: 400, err: "invalid_grant", code: 9002313,
		text: "Invalid request. Request is malformed or invalid."}
	// A refresh token presented twice, with reuse detection on (the
	// RefuseReusedRefreshToken fault). Entra ID documents no such answer:
	// invalid_grant is RFC 6749 §5.2's for a revoked grant, and 70000
	// InvalidGrant the table's generic number; both unconfirmed here.
	errReused = stsError{status: 400, err: "invalid_grant", code: 70000,
		text: "The provided refresh token was already used. The session it belongs to has been revoked; sign in again."}
)

// Requests the platform refuses whatever the grant.
var (
	errUnsupportedGrant = stsError{status: 400, err: "unsupported_grant_type", code: 70003,
		text: "The app requested an unsupported grant type '%s'."}
	errServer = stsError{status: 500, err: "server_error", code: 90033,
		text: "A transient error has occurred. Please try again."}
	// A public client that sends a secret: AADSTS700025
	// InvalidClientPublicClientWithCredential.
	errPublicClientSecret = stsError{status: 401, err: "invalid_client", code: 700025,
		text: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."}
)

// errMethod: the endpoints answer other methods than POST with AADSTS900561
// BadResourceRequestInvalidRequest (error table).
func errMethod(method string) stsError {
	return stsError{status: 405, err: "invalid_request", code: 900561,
		text: "The endpoint only accepts POST requests. Received a " + method + " request."}
}

// errMissing: AADSTS900144, "The request body must contain the following
// parameter: '{name}'." (error table).
func errMissing(param string) stsError {
	return stsError{status: 400, err: "invalid_request", code: 900144,
		text: fmt.Sprintf("The request body must contain the following parameter: '%s'.", param)}
}

// errUnknownClient: a client id the tenant does not know, AADSTS700016
// with the platform's text. The OAuth error is invalid_client, RFC 6749
// §5.2's name for an unknown client and what the sandbox's contract
// promises its users (docs/testing.md: an unknown client id gets invalid_client).
// Answers quoted in public threads show the platform itself saying
// unauthorized_client here, on the devicecode endpoint too; a client
// should branch on neither (placard's identity package treats both as a
// configuration error) and show the AADSTS number.
func errUnknownClient(id string) stsError {
	return stsError{status: 400, err: "invalid_client", code: 700016, text: fmt.Sprintf(
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", id, TenantDomain)}
}

// errBadScope: AADSTS70011 InvalidScope; the sample answer of the error
// reference has this text.
func errBadScope(scope string) stsError {
	return stsError{status: 400, err: "invalid_scope", code: 70011, text: fmt.Sprintf(
		"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", scope)}
}

// errConsent: a refresh asks for a permission the user never granted:
// AADSTS65001 DelegationDoesNotExist. The "error" and suberror are
// unconfirmed.
func errConsent(scope string) stsError {
	return stsError{status: 400, err: "invalid_grant", code: 65001, suberror: "consent_required", text: fmt.Sprintf(
		"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource. Scope: %s.", ClientID, appDisplayName, scope)}
}

// A sign-in that asks for a permission only an administrator can consent
// to, which none has: the sign-in page says "Need admin approval" with
// AADSTS90094, "The grant requires admin permission" ("Unexpected error
// when performing consent to an application": AADSTS90094 "<app> needs
// permission to access resources in your organization that only an admin
// can grant"). What the client then receives is unconfirmed: the device
// code's poll gets invalid_grant with consent_required (the suberror the
// platform sends with AADSTS65001), the authorization code's redirect
// access_denied.
// https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/application-sign-in-unexpected-user-consent-error
var (
	errAdminConsent = stsError{status: 400, err: "invalid_grant", code: 90094, suberror: "consent_required",
		text: "The grant requires admin permission."}
	errAdminConsentRedirect = stsError{status: 400, err: "access_denied", code: 90094,
		text: "The grant requires admin permission."}
)

// errTenant: AADSTS90002 InvalidTenantName. The metadata endpoint answers
// invalid_tenant (seen verbatim in public threads); the others'
// invalid_request is unconfirmed.
func errTenant(t string, metadata bool) stsError {
	e := stsError{status: 400, err: "invalid_request", code: 90002, text: fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t)}
	if metadata {
		e.err = "invalid_tenant"
	}
	return e
}

// errConsumers: the sandbox's application is for work accounts only, so
// /consumers is refused with AADSTS9002332 (error table); the "error"
// value is unconfirmed.
var errConsumers = stsError{status: 400, err: "invalid_request", code: 9002332, text: fmt.Sprintf(
	"Application '%s'(%s) is configured for use by Microsoft Entra users only. Please do not use the /consumers endpoint to serve this request.", ClientID, appDisplayName)}

// errInstance: instance discovery of a host that is not a Microsoft
// authority: AADSTS50049 NoSuchInstanceForDiscovery; MSAL looks for
// "invalid_instance".
var errInstance = stsError{status: 400, err: "invalid_instance", code: 50049,
	text: "Unknown or invalid instance."}

// writeSTS writes e in the identity platform's JSON error shape: the
// description starts with the AADSTS code and ends with trace and
// correlation ids and a timestamp, as in the sample of the error
// reference. args fill the text's verbs.
func writeSTS(w http.ResponseWriter, e stsError, now time.Time, args ...any) {
	trace, corr := newGUID(), newGUID()
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	body := map[string]any{
		"error":             e.err,
		"error_description": e.describe(now, trace, corr, args...),
		"error_codes":       []int{e.code},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://%s/error?code=%d", LoginHost, e.code),
	}
	if e.suberror != "" {
		body["suberror"] = e.suberror
	}
	writeSTSJSON(w, e.status, body, trace)
}

// describe is the error_description of e: its AADSTS code and text, then
// the trace and correlation ids and the timestamp.
func (e stsError) describe(now time.Time, trace, corr string, args ...any) string {
	return fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		e.message(args...), trace, corr, now.UTC().Format("2006-01-02 15:04:05Z"))
}

// message is "AADSTS<code>: <text>", args filling the text's verbs.
func (e stsError) message(args ...any) string {
	text := e.text
	if len(args) > 0 {
		text = fmt.Sprintf(text, args...)
	}
	return fmt.Sprintf("AADSTS%d: %s", e.code, text)
}

// writeSTSJSON writes an answer of the identity platform with the headers
// it sends (seen in Azure/azure-cli#22251): never cached.
func writeSTSJSON(w http.ResponseWriter, status int, v any, trace string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("x-ms-request-id", trace)
	h.Set("x-ms-ests-server", "placard-sandbox")
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
