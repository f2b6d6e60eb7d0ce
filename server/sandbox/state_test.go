package sandbox_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// signIn runs a device-code sign-in over HTTP and returns the token answer.
func signIn(t *testing.T, sb *sandbox.Sandbox, c *http.Client, upn, scope string) map[string]any {
	t.Helper()
	uc, dc := deviceCode(t, c, scope)
	if out := sb.Approve(uc, upn); out != sandbox.OutcomeApproved {
		t.Fatalf("approving %s: %s", uc, out)
	}
	a := poll(t, c, dc)
	if a.status != 200 {
		t.Fatalf("redeeming %s: %d %s", uc, a.status, a.raw)
	}
	return a.body
}

func refresh(t *testing.T, c *http.Client, rt, scope string) answer {
	t.Helper()
	return postForm(t, c, tenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {sandbox.ClientID}, "refresh_token": {rt}, "scope": {scope}})
}

func TestRefreshTokenGrant(t *testing.T) {
	t.Parallel()
	const scope = "User.Read Presence.Read openid profile offline_access"
	t.Run("rotation", func(t *testing.T) {
		sb, c := newSandbox(t)
		first := signIn(t, sb, c, ada, scope)["refresh_token"].(string)
		a := refresh(t, c, first, scope)
		second, _ := a.body["refresh_token"].(string)
		if a.status != 200 || second == "" || second == first || a.body["access_token"] == nil || a.body["id_token"] == nil {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		// The old one is not revoked by its replacement.
		if a := refresh(t, c, first, scope); a.status != 200 {
			t.Errorf("the replaced refresh token: %d %s", a.status, a.raw)
		}
	})
	t.Run("a permission never granted", func(t *testing.T) {
		sb, c := newSandbox(t)
		rt := signIn(t, sb, c, ada, scope)["refresh_token"].(string)
		a := refresh(t, c, rt, "Calendars.ReadWrite openid offline_access")
		wantSTS(t, a, 400, "invalid_grant", 65001)
		if a.body["suberror"] != "consent_required" {
			t.Errorf("suberror %v", a.body["suberror"])
		}
	})
	t.Run("ninety days unused", func(t *testing.T) {
		sb, c := newSandbox(t)
		rt := signIn(t, sb, c, ada, scope)["refresh_token"].(string)
		sb.Advance(90 * 24 * time.Hour)
		wantSTS(t, refresh(t, c, rt, scope), 400, "invalid_grant", 700082)
	})
	t.Run("revoked", func(t *testing.T) {
		sb, c := newSandbox(t)
		rt := signIn(t, sb, c, ada, scope)["refresh_token"].(string)
		sb.Revoke(ada)
		wantSTS(t, refresh(t, c, rt, scope), 400, "invalid_grant", 50173)
		// A sign-in after the revocation works again.
		rt = signIn(t, sb, c, ada, scope)["refresh_token"].(string)
		if a := refresh(t, c, rt, scope); a.status != 200 {
			t.Errorf("a new session after revocation: %d %s", a.status, a.raw)
		}
	})
	t.Run("Conditional Access", func(t *testing.T) {
		sb, c := newSandbox(t)
		rt := signIn(t, sb, c, grace, scope)["refresh_token"].(string)
		sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
		wantSTS(t, refresh(t, c, rt, scope), 400, "interaction_required", 53003)
	})
	t.Run("reused, with reuse detection", func(t *testing.T) {
		sb, c := newSandbox(t)
		sb.SetFaults(sandbox.Faults{RefuseReusedRefreshToken: true})
		first := signIn(t, sb, c, ada, scope)["refresh_token"].(string)
		a := refresh(t, c, first, scope)
		second, _ := a.body["refresh_token"].(string)
		if a.status != 200 || second == "" {
			t.Fatalf("first use: %d %s", a.status, a.raw)
		}
		wantSTS(t, refresh(t, c, first, scope), 400, "invalid_grant", 70000)
		// The session is over: the token issued in its place fails too,
		// and so it stays when the switch goes off.
		sb.SetFaults(sandbox.Faults{})
		wantSTS(t, refresh(t, c, second, scope), 400, "invalid_grant", 70000)
		// Another session of the same person is not touched.
		other := signIn(t, sb, c, ada, scope)["refresh_token"].(string)
		if a := refresh(t, c, other, scope); a.status != 200 {
			t.Errorf("another session: %d %s", a.status, a.raw)
		}
	})
	t.Run("not a refresh token", func(t *testing.T) {
		_, c := newSandbox(t)
		wantSTS(t, refresh(t, c, "1.AXYZ", scope), 400, "invalid_grant", 9002313)
		wantSTS(t, refresh(t, c, "", scope), 400, "invalid_request", 900144)
	})
}

func TestStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := func(o *sandbox.Options) {
		o.KeyFile = filepath.Join(dir, "sandbox-key.pem")
		o.StateFile = filepath.Join(dir, "sandbox-state.json")
	}
	const scope = "User.Read Calendars.ReadWrite openid profile offline_access"
	sb, c := newSandbox(t, opts)
	adaRT := signIn(t, sb, c, ada, scope)["refresh_token"].(string)
	graceRT := signIn(t, sb, c, grace, scope)["refresh_token"].(string)
	access := signIn(t, sb, c, lobby, scope)["access_token"].(string)
	if err := sb.Revoke(ada); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetPresence(grace, "BeRightBack", "BeRightBack"); err != nil {
		t.Fatal(err)
	}
	created := send(t, c, "POST", graphBase+"/me/events",
		`{"subject":"Kept","start":{"dateTime":"2031-03-03T10:00:00","timeZone":"UTC"},"end":{"dateTime":"2031-03-03T11:00:00","timeZone":"UTC"}}`,
		"Authorization", "Bearer "+access)
	if created.status != 201 {
		t.Fatal(created.status)
	}
	if info, err := os.Stat(filepath.Join(dir, "sandbox-state.json")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", info, err)
	}

	// The edge server restarts: a new sandbox on the same files.
	sb2, c2 := newSandbox(t, opts)
	wantSTS(t, refresh(t, c2, adaRT, scope), 400, "invalid_grant", 50173)
	if a := refresh(t, c2, graceRT, scope); a.status != 200 {
		t.Errorf("a session begun before the restart: %d %s", a.status, a.raw)
	}
	p := get(t, c2, graphBase+"/me/presence", "Authorization", bearer(t, sb2, grace, "Presence.Read"))
	if p.body["availability"] != "BeRightBack" {
		t.Errorf("presence after a restart: %s", p.raw)
	}
	ev := get(t, c2, graphBase+"/me/events/"+created.body["id"].(string), "Authorization", "Bearer "+access)
	if ev.status != 200 || ev.body["subject"] != "Kept" {
		t.Errorf("an event created before the restart, with a token issued before it: %d %s", ev.status, ev.raw)
	}

	os.WriteFile(filepath.Join(dir, "sandbox-state.json"), []byte("{not json"), 0o600)
	if _, err := sandbox.New(sandbox.Options{StateFile: filepath.Join(dir, "sandbox-state.json")}); err == nil {
		t.Error("a corrupt state file was accepted")
	}
}
