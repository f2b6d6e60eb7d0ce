package sandbox

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// consumersTenantID is the tenant of personal Microsoft accounts, which
// /consumers' metadata names.
const consumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// tenantKind is what a tenant path segment names.
type tenantKind int

const (
	tenantUnknown   tenantKind = iota
	tenantOwn                  // the emulated tenant, by id or domain
	tenantAlias                // common or organizations
	tenantConsumers            // consumers: personal accounts only
)

// tenantOf classifies a tenant path segment. The sandbox's application is
// registered for "accounts in any organizational directory", so common and
// organizations work and consumers is refused.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols#endpoints
func tenantOf(t string) tenantKind {
	switch strings.ToLower(t) {
	case "common", "organizations":
		return tenantAlias
	case "consumers":
		return tenantConsumers
	case strings.ToLower(TenantID), TenantDomain:
		return tenantOwn
	}
	return tenantUnknown
}

func (s *Sandbox) identityHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("GET /common/discovery/instance", s.instanceDiscovery)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.keys)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.deviceCode)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /{tenant}"+AuthorizePath, s.authorize)
	mux.HandleFunc("POST /{tenant}"+AuthorizePath, s.authorize)
	for _, p := range []string{"/{tenant}/oauth2/v2.0/devicecode", "/{tenant}/oauth2/v2.0/token"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeSTS(w, errMethod(r.Method), s.Now())
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.count("identity unknown")
		http.NotFound(w, r)
	})
	return mux
}

// openIDConfiguration is the OpenID Provider metadata of a tenant: a
// tenant's document names its id, common and organizations keep the alias
// in their endpoints and "{tenantid}" in the issuer. Endpoints are those of
// the origin the client used (the listener's address for its clients).
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
func (s *Sandbox) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	s.count("openid-configuration")
	t := r.PathValue("tenant")
	o := originOf(r)
	var path, issuer string
	var region any
	switch tenantOf(t) {
	case tenantOwn:
		path, issuer, region = TenantID, issuerV2(o, TenantID), "EU"
	case tenantAlias:
		path, issuer = strings.ToLower(t), o.login+"/{tenantid}/v2.0"
	case tenantConsumers:
		path, issuer = "consumers", issuerV2(o, consumersTenantID)
	default:
		writeSTS(w, errTenant(t, true), s.Now())
		return
	}
	base := o.login + "/" + path
	writeSTSJSON(w, http.StatusOK, map[string]any{
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
		"userinfo_endpoint":                     o.graph + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		"kerberos_endpoint":     base + "/kerberos",
		"tenant_region_scope":   region,
		"cloud_instance_name":   "microsoftonline.com",
		"cloud_graph_host_name": "graph.windows.net",
		"msgraph_host":          o.graphHost(),
		"rbac_url":              "https://pas.windows.net",
	}, newGUID())
}

// loginAliases are the public cloud's names of the identity platform, as
// instance discovery lists them.
var loginAliases = []string{LoginHost, "login.windows.net", "login.microsoft.com", "sts.windows.net"}

// instanceDiscovery answers MSAL's instance discovery with the public
// cloud's aliases; a listener's clients are told of the listener's own
// host. A host that is not a Microsoft authority is invalid_instance.
// https://learn.microsoft.com/en-us/entra/identity-platform/msal-national-cloud
func (s *Sandbox) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	s.count("instance-discovery")
	o := originOf(r)
	ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
	if err != nil || ae.Host == "" {
		writeSTS(w, errMissing("authorization_endpoint"), s.Now())
		return
	}
	aliases := loginAliases
	if o != realOrigin {
		aliases = []string{strings.TrimPrefix(o.login, "https://")}
	}
	if !slices.Contains(aliases, strings.ToLower(ae.Host)) {
		writeSTS(w, errInstance, s.Now())
		return
	}
	tenant := "common"
	if seg := strings.Split(strings.Trim(ae.Path, "/"), "/"); seg[0] != "" {
		tenant = seg[0]
	}
	writeSTSJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": o.login + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": aliases[0],
			"preferred_cache":   aliases[min(1, len(aliases)-1)],
			"aliases":           aliases,
		}},
	}, newGUID())
}

// keys is the JWKS of a tenant.
// https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-signature
func (s *Sandbox) keys(w http.ResponseWriter, r *http.Request) {
	s.count("keys")
	t := r.PathValue("tenant")
	o := originOf(r)
	issuer := o.login + "/{tenantid}/v2.0"
	switch tenantOf(t) {
	case tenantOwn:
		issuer = issuerV2(o, TenantID)
	case tenantUnknown:
		writeSTS(w, errTenant(t, true), s.Now())
		return
	}
	writeSTSJSON(w, http.StatusOK, s.jwks(issuer), newGUID())
}

// scopeSet is a set of requested scopes, normalised: Graph scopes without
// their resource prefix, OIDC scopes as they are.
type scopeSet map[string]bool

// graphPermissions are the delegated permissions of the sandbox's app
// registration: it may ask for these and nothing else (invalid_scope).
// Boards and room panels ask for the ones after Presence.Read, and only
// then (consent.go).
var graphPermissions = []string{"User.Read", "Calendars.Read", "Calendars.ReadWrite", "Presence.Read",
	"Calendars.ReadBasic", "Calendars.Read.Shared", "Place.Read.All", "Presence.Read.All", "GroupMember.Read.All", "User.ReadBasic.All"}

// oidcScopes are the OpenID Connect scopes, always allowed.
// https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc#openid-connect-scopes
var oidcScopes = []string{"openid", "profile", "offline_access", "email"}

// parseScopes reads a "scope" parameter; it returns the first scope the app
// may not ask for, if any. Graph's scopes are case-insensitive and may
// carry the resource ("https://graph.microsoft.com/User.Read").
func parseScopes(raw string) (scopeSet, string) {
	set := scopeSet{}
	for _, sc := range strings.Fields(raw) {
		name := sc
		if i := strings.LastIndex(sc, "/"); i >= 0 {
			resource := strings.ToLower(sc[:i])
			if resource != "https://"+GraphHost && resource != GraphAudience {
				return nil, sc
			}
			name = sc[i+1:]
		}
		switch {
		case slices.Contains(oidcScopes, strings.ToLower(name)):
			set[strings.ToLower(name)] = true
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
// A token asked for with OIDC scopes only is a Graph token for User.Read,
// as the platform does ("openid profile" alone gets a token for Graph).
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
