package sandbox_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/placard/placard/server/sandbox"
)

// scp is the permissions an access token carries.
func scp(t *testing.T, accessToken string) []string {
	t.Helper()
	s, _ := claims(t, accessToken)["scp"].(string)
	return strings.Fields(s)
}

func TestConsentIsIncremental(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	first := signIn(t, sb, c, ada, "User.Read Calendars.Read openid offline_access")
	if got := scp(t, first["access_token"].(string)); !slices.Equal(got, []string{"User.Read", "Calendars.Read"}) {
		t.Errorf("the first sign-in: scp %v", got)
	}
	// A board asks for more, and only then: the token carries what was
	// consented before and what this sign-in added.
	second := signIn(t, sb, c, ada, "Presence.Read.All Place.Read.All openid offline_access")
	got := scp(t, second["access_token"].(string))
	for _, want := range []string{"User.Read", "Calendars.Read", "Presence.Read.All", "Place.Read.All"} {
		if !slices.Contains(got, want) {
			t.Errorf("the second sign-in: scp %v lacks %s", got, want)
		}
	}
	if !strings.Contains(second["scope"].(string), "Presence.Read.All") {
		t.Errorf("the answer's scope %q", second["scope"])
	}
	// The first session's refresh gets them too.
	a := refresh(t, c, first["refresh_token"].(string), "User.Read openid offline_access")
	if a.status != 200 || !slices.Contains(scp(t, a.body["access_token"].(string)), "Presence.Read.All") {
		t.Errorf("refreshing the first session: %d %v", a.status, a.body["scope"])
	}
	// Another user consented to nothing of it.
	if got := scp(t, signIn(t, sb, c, grace, "User.Read openid")["access_token"].(string)); !slices.Equal(got, []string{"User.Read"}) {
		t.Errorf("Grace: scp %v", got)
	}
}

func TestPlaceConsentMissing(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t)
	had := signIn(t, sb, c, ada, "User.Read Place.Read.All openid offline_access")
	sb.SetFaults(sandbox.Faults{PlaceConsentMissing: true})

	t.Run("a device code", func(t *testing.T) {
		uc, dc := deviceCode(t, c, "User.Read Place.Read.All openid offline_access")
		if out := sb.Approve(uc, grace); out != sandbox.OutcomeConsent {
			t.Fatalf("approving: %s", out)
		}
		a := poll(t, c, dc)
		wantSTS(t, a, 400, "invalid_grant", 90094)
		if a.body["suberror"] != "consent_required" {
			t.Errorf("suberror %v", a.body["suberror"])
		}
		if codes := sb.Codes(); codes[0].UserCode != uc || codes[0].State != sandbox.CodeConsent {
			t.Errorf("codes %+v", codes[0])
		}
		// The phone page says what the platform's page says.
		srv, pc := controlServer(t, sb)
		uc2, _ := deviceCode(t, c, "Place.Read.All openid")
		page := postForm(t, pc, srv.URL+"/sandbox/devicelogin", url.Values{"user_code": {uc2}, "user": {grace}, "action": {"approve"}})
		if page.status != 403 || !strings.Contains(string(page.raw), "Need admin approval") || !strings.Contains(string(page.raw), `data-outcome="consent_required"`) || !strings.Contains(string(page.raw), "90094") {
			t.Errorf("the phone page: %d %s", page.status, page.raw)
		}
		// Without Place.Read.All, a sign-in works.
		signIn(t, sb, c, grace, "User.Read openid")
	})
	t.Run("the sign-in page", func(t *testing.T) {
		sb, _ := newAuthSandbox(t)
		sb.SetFaults(sandbox.Faults{PlaceConsentMissing: true})
		loc, err := sb.Authorize(tenant+sandbox.AuthorizePath+"?"+authzQuery("scope", "Place.Read.All openid").Encode(), ada)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(loc)
		if u.Query().Get("error") != "access_denied" || !strings.HasPrefix(u.Query().Get("error_description"), "AADSTS90094") {
			t.Errorf("the redirect: %s", loc)
		}
	})
	t.Run("a session that had it", func(t *testing.T) {
		a := refresh(t, c, had["refresh_token"].(string), "User.Read openid offline_access")
		if a.status != 200 || slices.Contains(scp(t, a.body["access_token"].(string)), "Place.Read.All") {
			t.Fatalf("refreshed: %d %v", a.status, a.body["scope"])
		}
		wantGraph(t, get(t, c, graphBase+"/places/microsoft.graph.room", "Authorization", "Bearer "+a.body["access_token"].(string)), 403, "ErrorAccessDenied")
		a = refresh(t, c, had["refresh_token"].(string), "Place.Read.All openid offline_access")
		wantSTS(t, a, 400, "invalid_grant", 65001)
	})
	t.Run("consent given again", func(t *testing.T) {
		sb.SetFaults(sandbox.Faults{})
		got := scp(t, signIn(t, sb, c, grace, "Place.Read.All openid")["access_token"].(string))
		if !slices.Contains(got, "Place.Read.All") {
			t.Errorf("scp %v", got)
		}
	})
}
