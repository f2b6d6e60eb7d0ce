package sandbox_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

func TestOpenIDMetadataOfEachTenantPath(t *testing.T) {
	t.Parallel()
	_, c := newSandbox(t)
	tests := []struct {
		tenant, endpointTenant, issuer string
		region                         any
	}{
		{sandbox.TenantID, sandbox.TenantID, tenant + "/v2.0", "EU"},
		{sandbox.TenantDomain, sandbox.TenantID, tenant + "/v2.0", "EU"},
		{"organizations", "organizations", login + "/{tenantid}/v2.0", nil},
		{"common", "common", login + "/{tenantid}/v2.0", nil},
		{"consumers", "consumers", login + "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			a := get(t, c, login+"/"+tt.tenant+"/v2.0/.well-known/openid-configuration")
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			base := login + "/" + tt.endpointTenant
			want := map[string]any{
				"issuer":                        tt.issuer,
				"token_endpoint":                base + "/oauth2/v2.0/token",
				"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
				"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
				"jwks_uri":                      base + "/discovery/v2.0/keys",
				"msgraph_host":                  "graph.microsoft.com",
				"tenant_region_scope":           tt.region,
				"cloud_instance_name":           "microsoftonline.com",
			}
			for k, v := range want {
				if a.body[k] != v {
					t.Errorf("%s = %v, want %v", k, a.body[k], v)
				}
			}
		})
	}
	t.Run("unknown tenant", func(t *testing.T) {
		wantSTS(t, get(t, c, login+"/contoso.example/v2.0/.well-known/openid-configuration"), 400, "invalid_tenant", 90002)
	})
}

func TestInstanceDiscoveryKnowsThePublicCloudOnly(t *testing.T) {
	t.Parallel()
	_, c := newSandbox(t)
	q := url.Values{"api-version": {"1.1"}, "authorization_endpoint": {"https://login.microsoftonline.com/" + sandbox.TenantID + "/oauth2/v2.0/authorize"}}
	a := get(t, c, login+"/common/discovery/instance?"+q.Encode())
	if a.status != 200 || a.body["tenant_discovery_endpoint"] != tenant+"/v2.0/.well-known/openid-configuration" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	meta := a.body["metadata"].([]any)[0].(map[string]any)
	aliases := meta["aliases"].([]any)
	if len(aliases) != 4 || aliases[0] != "login.microsoftonline.com" || meta["preferred_cache"] != "login.windows.net" {
		t.Errorf("metadata %v", meta)
	}
	q.Set("authorization_endpoint", "https://login.contoso.example/x/oauth2/v2.0/authorize")
	wantSTS(t, get(t, c, login+"/common/discovery/instance?"+q.Encode()), 400, "invalid_instance", 50049)
}

var userCodeRE = regexp.MustCompile(`^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{9}$`)

func TestDeviceCodeAnswerHasTheDocumentedFields(t *testing.T) {
	t.Parallel()
	_, c := newSandbox(t)
	seen := map[string]bool{}
	for range 20 {
		a := postForm(t, c, tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read openid profile offline_access"}})
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		code, _ := a.body["user_code"].(string)
		if !userCodeRE.MatchString(code) {
			t.Errorf("user code %q: want 9 upper-case letters and digits without 0, O, 1, I", code)
		}
		if seen[code] {
			t.Errorf("user code %s issued twice", code)
		}
		seen[code] = true
		if dc, _ := a.body["device_code"].(string); len(dc) < 150 || strings.Contains(dc, code) {
			t.Errorf("device code %q is not a long opaque string", dc)
		}
		want := map[string]any{
			"verification_uri": "https://placard.test/sandbox/devicelogin",
			"expires_in":       float64(900),
			"interval":         float64(5),
			"message":          "To sign in, use a web browser to open the page https://placard.test/sandbox/devicelogin and enter the code " + code + " to authenticate.",
		}
		for k, v := range want {
			if a.body[k] != v {
				t.Errorf("%s = %v, want %v", k, a.body[k], v)
			}
		}
		// "The verification_uri_complete response field is not included
		// or supported at this time."
		if _, ok := a.body["verification_uri_complete"]; ok || len(a.body) != 6 {
			t.Errorf("fields %v, want exactly the six documented", a.body)
		}
	}
}

func TestDeviceCodeRequestsThePlatformRefuses(t *testing.T) {
	t.Parallel()
	_, c := newSandbox(t)
	tests := []struct {
		name   string
		tenant string
		form   url.Values
		status int
		oauth  string
		code   int
	}{
		{"unknown client", sandbox.TenantID, url.Values{"client_id": {"11111111-1111-1111-1111-111111111111"}, "scope": {"User.Read"}}, 400, "invalid_client", 700016},
		{"no client", sandbox.TenantID, url.Values{"scope": {"User.Read"}}, 400, "invalid_request", 900144},
		{"a secret from a public client", sandbox.TenantID, url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read"}, "client_secret": {"x"}}, 401, "invalid_client", 700025},
		{"a permission the app may not ask for", sandbox.TenantID, url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read Mail.Read"}}, 400, "invalid_scope", 70011},
		{"another resource", sandbox.TenantID, url.Values{"client_id": {sandbox.ClientID}, "scope": {"https://management.azure.com/.default"}}, 400, "invalid_scope", 70011},
		{"no scope", sandbox.TenantID, url.Values{"client_id": {sandbox.ClientID}}, 400, "invalid_request", 900144},
		{"unknown tenant", "contoso.example", url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read"}}, 400, "invalid_request", 90002},
		{"personal accounts", "consumers", url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read"}}, 400, "invalid_request", 9002332},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSTS(t, postForm(t, c, login+"/"+tt.tenant+"/oauth2/v2.0/devicecode", tt.form), tt.status, tt.oauth, tt.code)
		})
	}
	t.Run("GET", func(t *testing.T) {
		wantSTS(t, get(t, c, tenant+"/oauth2/v2.0/devicecode"), 405, "invalid_request", 900561)
	})
	t.Run("the multi-tenant aliases serve", func(t *testing.T) {
		for _, alias := range []string{"organizations", "common", sandbox.TenantDomain} {
			a := postForm(t, c, login+"/"+alias+"/oauth2/v2.0/devicecode", url.Values{"client_id": {sandbox.ClientID}, "scope": {"https://graph.microsoft.com/User.Read"}})
			if a.status != 200 {
				t.Errorf("%s: %d %s", alias, a.status, a.raw)
			}
		}
	})
}

// deviceCode asks for a code and returns its user code and device code.
func deviceCode(t *testing.T, c *http.Client, scope string) (string, string) {
	t.Helper()
	a := postForm(t, c, tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {sandbox.ClientID}, "scope": {scope}})
	if a.status != 200 {
		t.Fatalf("devicecode: %d %s", a.status, a.raw)
	}
	return a.body["user_code"].(string), a.body["device_code"].(string)
}

func poll(t *testing.T, c *http.Client, deviceCode string) answer {
	t.Helper()
	return postForm(t, c, tenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {sandbox.ClientID},
		"device_code": {deviceCode}, "client_info": {"1"}})
}

// TestAnApprovedCodePolledAtOnceIsRedeemedOnce: the tokens are signed
// outside the sandbox's lock, and polls that arrive meanwhile are told the
// code is spent, not given a second set.
func TestAnApprovedCodePolledAtOnceIsRedeemedOnce(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	uc, dc := deviceCode(t, c, "User.Read openid profile offline_access")
	sb.Approve(uc, ada)
	const polls = 8
	statuses := make(chan int, polls)
	var wg sync.WaitGroup
	for range polls {
		wg.Go(func() {
			res, err := c.PostForm(tenant+"/oauth2/v2.0/token", url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {sandbox.ClientID},
				"device_code": {dc}, "client_info": {"1"}})
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	issued := 0
	for status := range statuses {
		if status == 200 {
			issued++
		}
	}
	// The code is spent for whoever polls next.
	wantSTS(t, poll(t, c, dc), 400, "invalid_grant", 90120)
	if issued != 1 {
		t.Errorf("%d polls got tokens, want 1", issued)
	}
}

func TestDeviceCodeGrantFromPendingToSpent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		act         func(t *testing.T, sb *sandbox.Sandbox, userCode string)
		oauth       string
		code        int
		tokens      bool
		wantOutcome string
	}{
		{"approved", func(t *testing.T, sb *sandbox.Sandbox, uc string) { sb.Approve(uc, ada) }, "", 0, true, "redeemed"},
		{"declined", func(t *testing.T, sb *sandbox.Sandbox, uc string) { sb.Decline(uc) }, "authorization_declined", 70000, false, "declined"},
		{"expired", func(t *testing.T, sb *sandbox.Sandbox, uc string) { sb.Advance(15 * time.Minute) }, "expired_token", 70020, false, "expired"},
		{"approved after expiry", func(t *testing.T, sb *sandbox.Sandbox, uc string) {
			sb.Advance(16 * time.Minute)
			if out := sb.Approve(uc, ada); out != sandbox.OutcomeExpired {
				t.Errorf("approving an expired code: %s, want expired", out)
			}
		}, "expired_token", 70020, false, "expired"},
		{"blocked by Conditional Access", func(t *testing.T, sb *sandbox.Sandbox, uc string) {
			sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
			sb.Approve(uc, grace)
		}, "interaction_required", 53003, false, "blocked"},
		{"approved, then the policy switched on", func(t *testing.T, sb *sandbox.Sandbox, uc string) {
			sb.Approve(uc, grace)
			sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
		}, "interaction_required", 53003, false, "blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb, c := newSandbox(t)
			uc, dc := deviceCode(t, c, "User.Read openid profile offline_access")
			wantSTS(t, poll(t, c, dc), 400, "authorization_pending", 70016)
			tt.act(t, sb, uc)
			a := poll(t, c, dc)
			if tt.tokens {
				if a.status != 200 || a.body["token_type"] != "Bearer" {
					t.Fatalf("%d %s", a.status, a.raw)
				}
				for _, k := range []string{"access_token", "refresh_token", "id_token", "client_info", "scope", "expires_in", "ext_expires_in"} {
					if a.body[k] == nil {
						t.Errorf("the token answer has no %s", k)
					}
				}
				if exp := a.body["expires_in"].(float64); exp < 3600 || exp >= 5400 {
					t.Errorf("expires_in %v: access tokens live 60 to 90 minutes", exp)
				}
				if a.body["scope"] != "User.Read profile openid" {
					t.Errorf("scope %q", a.body["scope"])
				}
			} else {
				wantSTS(t, a, 400, tt.oauth, tt.code)
			}
			if tt.oauth != "expired_token" {
				// A device code is single use.
				wantSTS(t, poll(t, c, dc), 400, "invalid_grant", 90120)
			}
			codes := sb.Codes()
			if len(codes) != 1 || codes[0].UserCode != uc || codes[0].State != tt.wantOutcome {
				t.Errorf("codes %+v, want %s as %s", codes, uc, tt.wantOutcome)
			}
		})
	}
	t.Run("unknown device code", func(t *testing.T) {
		_, c := newSandbox(t)
		wantSTS(t, poll(t, c, "DAQABIQEAAADnot-a-code"), 400, "bad_verification_code", 70018)
	})
	t.Run("no device code", func(t *testing.T) {
		_, c := newSandbox(t)
		wantSTS(t, poll(t, c, ""), 400, "invalid_request", 900144)
	})
	t.Run("unsupported grant", func(t *testing.T) {
		_, c := newSandbox(t)
		wantSTS(t, postForm(t, c, tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {sandbox.ClientID}}), 400, "unsupported_grant_type", 70003)
	})
}

func TestPollingFasterThanTheIntervalIsSlowDownButNeverDelaysASignIn(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sb, c := newSandbox(t, func(o *sandbox.Options) { o.Now = func() time.Time { return start } })

	// MSAL Go's pace: after 50 ms, 150, 450, 1350, 4050 ms, then every 5 s.
	_, dc := deviceCode(t, c, "User.Read")
	for i, wait := range []time.Duration{50, 150, 450, 1350, 4050, 5000, 5000, 5000} {
		sb.Advance(wait * time.Millisecond)
		if a := poll(t, c, dc); a.body["error"] != "authorization_pending" {
			t.Fatalf("poll %d at MSAL's pace: %s, want authorization_pending", i+1, a.body["error"])
		}
	}

	// A client that keeps polling at once is told to slow down...
	uc, dc := deviceCode(t, c, "User.Read")
	var slowed bool
	for range 8 {
		if a := poll(t, c, dc); a.body["error"] == "slow_down" {
			wantSTS(t, a, 400, "slow_down", 70016)
			slowed = true
		}
	}
	if !slowed {
		t.Fatal("eight polls in no time were never told to slow down")
	}
	// ...but an approved code gives its tokens whatever the pace.
	sb.Approve(uc, ada)
	if a := poll(t, c, dc); a.status != 200 {
		t.Fatalf("an approved code polled fast: %d %s", a.status, a.raw)
	}
}
