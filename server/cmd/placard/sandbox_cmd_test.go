package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/sandbox/sandboxctl"
)

// approve approves a code on the sandbox's phone page, as a person does.
func (sb *standalone) approve(t *testing.T, code, upn string) {
	t.Helper()
	if out, err := sb.ctl.Approve(t.Context(), code, upn); err != nil || out != sandboxctl.OutcomeApproved {
		t.Fatalf("approving %s on the phone page: %s %v", code, out, err)
	}
}

func TestAnEdgeServerUsesPlacardSandboxAsATenant(t *testing.T) {
	sb := startSandbox(t)
	for _, path := range []string{"/sandbox/", "/sandbox/devicelogin", "/sandbox/api/app", "/" + sandbox.TenantID + "/v2.0/.well-known/openid-configuration"} {
		res, err := sb.client.Get(sb.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s on placard sandbox: %s", path, res.Status)
		}
	}

	m := testServer(t, pointedAt(sb), manualEnroll)
	if m.Sandbox != nil {
		t.Fatal("an edge server pointed at placard sandbox runs a sandbox of its own")
	}
	s := openScreen(t, m, "Lobby TV")
	number := s.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number
	if _, err := m.Screens.Approve(t.Context(), number, "the test"); err != nil {
		t.Fatal(err)
	}
	code := s.waitPhase(15*time.Second, wire.PhaseCode).Code
	if !strings.HasPrefix(code.VerificationURI, sb.URL+"/sandbox/devicelogin") {
		t.Errorf("the code sends people to %s, not to the sandbox's phone page", code.VerificationURI)
	}
	sb.approve(t, code.UserCode, "ada@placard.example")
	st := s.waitFor(30*time.Second, "dashboard with data", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && !st.Dashboard.Fresh.IsZero()
	})
	if st.Dashboard.User.Name != "Ada Lovelace" {
		t.Errorf("the dashboard shows %q", st.Dashboard.User.Name)
	}
}

// TestStandaloneSandboxRegistersEdgeServersCallbacks: an edge server
// pointed at a placard sandbox signs in by QR through its own callback,
// which -redirect-uri registers.
func TestStandaloneSandboxRegistersEdgeServersCallbacks(t *testing.T) {
	const cb = "https://edge.placard.test/signin/callback"
	sb := startSandbox(t, "-redirect-uri", cb)
	app, err := sb.ctl.App(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(app.RedirectURIs, cb) {
		t.Fatalf("redirect URIs %v lack %s", app.RedirectURIs, cb)
	}
	c := *sb.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	q := url.Values{"client_id": {sandbox.ClientID}, "response_type": {"code"}, "redirect_uri": {cb}, "scope": {"User.Read openid"}, "state": {"s"}}
	res, err := c.PostForm(sb.URL+"/"+sandbox.TenantID+sandbox.AuthorizePath+"?"+q.Encode(), url.Values{"user": {"ada@placard.example"}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, cb+"?") {
		t.Errorf("accepting: %s to %q, want the edge server's callback", res.Status, loc)
	}
	var stderr strings.Builder
	if err := run(context.Background(), []string{"sandbox", "-redirect-uri", "not a url"}, func(string) string { return "" }, io.Discard, &stderr); err == nil {
		t.Error("a redirect URI that is not a URL was accepted")
	}
}

// TestStandaloneSandboxAddsNumberedUsers: placard sandbox -users gives a
// load test the numbered accounts an edge server's -sandbox-users gives,
// and refuses a count it cannot make.
func TestStandaloneSandboxAddsNumberedUsers(t *testing.T) {
	sb := startSandbox(t, "-users", "3")
	users, err := sb.ctl.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var numbered []string
	for _, u := range users {
		if strings.HasPrefix(u.UPN, "user0") {
			numbered = append(numbered, u.UPN)
		}
	}
	slices.Sort(numbered)
	if want := []string{"user0001@placard.example", "user0002@placard.example", "user0003@placard.example"}; !slices.Equal(numbered, want) {
		t.Errorf("numbered users %v, want %v", numbered, want)
	}
	var out strings.Builder
	err = run(t.Context(), []string{"sandbox", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-users", "10001"}, noEnvironment, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "-users 10001 must be between 0 and 10000") {
		t.Errorf("placard sandbox -users 10001: %v, want a refusal naming the bound", err)
	}
}
