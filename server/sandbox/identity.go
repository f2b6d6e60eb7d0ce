package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// stsError is one error of the identity platform, as a table row: the OAuth
// "error" value clients branch on, the AADSTS number shown to IT, and the
// text. Every error the sandbox's identity endpoints return is here, so that
// the mapping lives in one place.
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#expected-errors
type stsError struct {
	status int
	err    string
	code   int
	text   string
}

var (
	errPending = stsError{400, "authorization_pending", 70016,
		"OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
	// slow_down is RFC 8628 §3.5's; Microsoft's device-code page does not
	// list it, so its AADSTS number is the pending one (unconfirmed).
	errSlowDown = stsError{400, "slow_down", 70016,
		"OAuth 2.0 device flow error. Polling too fast: wait the interval between requests."}
	// The AADSTS number of a declined request is not documented
	// (unconfirmed): 70000 is the generic InvalidGrant.
	errDeclined = stsError{400, "authorization_declined", 70000,
		"The end user denied the authorization request."}
	errExpired = stsError{400, "expired_token", 70020,
		"The provided value for the input parameter 'device_code' is not valid. This device code has expired."}
	// Unknown device code (documented error, unconfirmed number: 70018
	// is BadVerificationCode in the error table).
	errBadCode = stsError{400, "bad_verification_code", 70018,
		"Invalid verification code entered."}
	// A device code is single use: "already authorized or declined".
	errUsed = stsError{400, "invalid_grant", 90120,
		"Invalid device flow request. The device code was already authorized or declined."}
	// Conditional Access blocking the grant. What the polling client
	// receives is not documented (unconfirmed); this models it as the
	// grant failing with BlockedByConditionalAccess, the code the sign-in
	// page shows ("Error Code: 53003").
	errBlocked = stsError{400, "invalid_grant", 53003,
		"Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."}
	// Refresh token revoked (revokeSignInSessions, password change).
	errRevoked = stsError{400, "invalid_grant", 50173,
		"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."}
	errRefreshExpired = stsError{400, "invalid_grant", 700082,
		"The refresh token has expired due to inactivity."}
	errBadRefreshToken = stsError{400, "invalid_grant", 9002313,
		"Invalid request. Request is malformed or invalid."}
	errUnsupportedGrant = stsError{400, "unsupported_grant_type", 70003,
		"The app requested an unsupported grant type."}
)

func errMissing(param string) stsError {
	return stsError{400, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", param)}
}

func errUnknownClient(id string) stsError {
	return stsError{400, "invalid_client", 700016, fmt.Sprintf(
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", id, TenantDomain)}
}

func errBadScope(scope string) stsError {
	return stsError{400, "invalid_scope", 70011, fmt.Sprintf(
		"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", scope)}
}

func errTenant(t string) stsError {
	return stsError{400, "invalid_request", 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", t)}
}

// writeSTS writes e in the identity platform's JSON error shape: the
// description starts with the AADSTS code and ends with trace and
// correlation ids and a timestamp.
func writeSTS(w http.ResponseWriter, e stsError, now time.Time) {
	trace, corr := stableGUID(randomString(8)), stableGUID(randomString(8))
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	writeJSON(w, e.status, map[string]any{
		"error": e.err,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.code, e.text, trace, corr, ts),
		"error_codes":    []int{e.code},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      fmt.Sprintf("https://%s/error?code=%d", LoginHost, e.code),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// tenantOK reports whether a tenant path segment names the emulated tenant
// or a multi-tenant alias.
func tenantOK(t string) bool {
	switch strings.ToLower(t) {
	case "common", "organizations", strings.ToLower(TenantID), TenantDomain:
		return true
	}
	return false
}

func (s *Sandbox) identityHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("GET /common/discovery/instance", s.instanceDiscovery)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.keys)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.deviceCode)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	return mux
}

// openIDConfiguration is the OpenID Provider metadata of a tenant.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
func (s *Sandbox) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	s.count("openid-configuration")
	t := r.PathValue("tenant")
	if !tenantOK(t) {
		writeSTS(w, errTenant(t), s.Now())
		return
	}
	// A tenant's document names its id; common and organizations keep the
	// alias in their endpoints and a {tenantid} template in the issuer.
	path, issuer := TenantID, issuerV2(TenantID)
	if a := strings.ToLower(t); a == "common" || a == "organizations" {
		path, issuer = a, "https://"+LoginHost+"/{tenantid}/v2.0"
	}
	base := "https://" + LoginHost + "/" + path
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                issuer,
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     "https://" + GraphHost + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username", "oid", "tid", "ver"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          GraphHost,
	})
}

// instanceDiscovery answers MSAL's instance discovery with the public
// cloud's aliases.
// https://learn.microsoft.com/en-us/entra/identity-platform/msal-national-cloud
func (s *Sandbox) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	s.count("instance-discovery")
	tenant := "common"
	if ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint")); err == nil {
		if seg := strings.Split(strings.Trim(ae.Path, "/"), "/"); len(seg) > 0 && seg[0] != "" {
			tenant = seg[0]
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + LoginHost + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": LoginHost,
			"preferred_cache":   "login.windows.net",
			"aliases":           []string{LoginHost, "login.windows.net", "login.microsoft.com", "sts.windows.net"},
		}},
	})
}

func (s *Sandbox) keys(w http.ResponseWriter, r *http.Request) {
	s.count("keys")
	if t := r.PathValue("tenant"); !tenantOK(t) {
		writeSTS(w, errTenant(t), s.Now())
		return
	}
	writeJSON(w, http.StatusOK, s.JWKS())
}

// scopeSet is a set of requested scopes, normalised: Graph scopes without
// their resource prefix, OIDC scopes as they are.
type scopeSet map[string]bool

// graphPermissions are the delegated permissions the sandbox's app
// registration may ask for; anything else is invalid_scope.
var graphPermissions = []string{"User.Read", "Calendars.Read", "Calendars.ReadWrite", "Presence.Read"}

var oidcScopes = []string{"openid", "profile", "offline_access", "email"}

func parseScopes(raw string) (scopeSet, string) {
	set := scopeSet{}
	for _, sc := range strings.Fields(raw) {
		name := strings.TrimPrefix(sc, "https://"+GraphHost+"/")
		switch {
		case slices.Contains(oidcScopes, name):
			set[name] = true
		case name == ".default":
			for _, p := range graphPermissions {
				set[p] = true
			}
		default:
			i := slices.IndexFunc(graphPermissions, func(p string) bool { return strings.EqualFold(p, name) })
			if i < 0 {
				return nil, sc
			}
			set[graphPermissions[i]] = true
		}
	}
	return set, ""
}

func (set scopeSet) has(s string) bool { return set[s] }

func (set scopeSet) list() []string {
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// graph returns the Graph permissions granted, as in an access token's scp.
func (set scopeSet) graph() []string {
	var out []string
	for _, p := range graphPermissions {
		if set[p] {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{"User.Read"}
	}
	return out
}

// granted is the "scope" of a token response: the Graph permissions and
// the OIDC scopes, without offline_access (which the platform leaves out).
func (set scopeSet) granted() []string {
	out := set.graph()
	for _, s := range []string{"profile", "openid", "email"} {
		if set[s] {
			out = append(out, s)
		}
	}
	return out
}

func fromScopes(list []string) scopeSet {
	set := scopeSet{}
	for _, s := range list {
		set[s] = true
	}
	return set
}
