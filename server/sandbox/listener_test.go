package sandbox_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// listen starts the HTTPS listener and returns it with a client that
// trusts its certificate, as an outside client is told to.
func listen(t *testing.T, sb *sandbox.Sandbox, dir string) (*sandbox.Listener, *http.Client) {
	t.Helper()
	l, err := sb.Listen("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(l.CertPEM) {
		t.Fatalf("the listener's certificate is not PEM: %s", l.CertPEM)
	}
	return l, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestListenerServesTheRealPathsAndNamesItself(t *testing.T) {
	t.Parallel()
	sb, _ := newSandbox(t)
	dir := t.TempDir()
	l, c := listen(t, sb, dir)
	if !strings.HasPrefix(l.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", l.URL)
	}

	meta := get(t, c, l.URL+"/"+sandbox.TenantID+"/v2.0/.well-known/openid-configuration")
	for k, want := range map[string]string{
		"issuer":                        l.URL + "/" + sandbox.TenantID + "/v2.0",
		"token_endpoint":                l.URL + "/" + sandbox.TenantID + "/oauth2/v2.0/token",
		"device_authorization_endpoint": l.URL + "/" + sandbox.TenantID + "/oauth2/v2.0/devicecode",
		"jwks_uri":                      l.URL + "/" + sandbox.TenantID + "/discovery/v2.0/keys",
		"msgraph_host":                  strings.TrimPrefix(l.URL, "https://"),
	} {
		if meta.body[k] != want {
			t.Errorf("%s = %v, want %v", k, meta.body[k], want)
		}
	}

	// The device-code grant over the listener, and Graph with its token.
	a := postForm(t, c, l.URL+"/organizations/oauth2/v2.0/devicecode", url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read Calendars.Read openid offline_access"}})
	if a.status != 200 {
		t.Fatalf("devicecode: %d %s", a.status, a.raw)
	}
	sb.Approve(a.body["user_code"].(string), grace)
	tok := postForm(t, c, l.URL+"/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {sandbox.ClientID}, "device_code": {a.body["device_code"].(string)}})
	if tok.status != 200 {
		t.Fatalf("token: %d %s", tok.status, tok.raw)
	}
	auth := "Bearer " + tok.body["access_token"].(string)
	if me := get(t, c, l.URL+"/v1.0/me", "Authorization", auth); me.status != 200 || me.body["displayName"] != "Grace Hopper" || !strings.HasPrefix(me.body["@odata.context"].(string), l.URL+"/v1.0/") {
		t.Errorf("/v1.0/me over the listener: %d %s", me.status, me.raw)
	}
	now := sb.Now()
	q := url.Values{"startDateTime": {now.UTC().Format(time.RFC3339)}, "endDateTime": {now.AddDate(0, 0, 30).UTC().Format(time.RFC3339)}}
	page := get(t, c, l.URL+"/v1.0/me/calendarView?"+q.Encode(), "Authorization", auth)
	if next, _ := page.body["@odata.nextLink"].(string); !strings.HasPrefix(next, l.URL+"/v1.0/me/calendarView?") {
		t.Errorf("next link %q does not name the listener", next)
	}

	// The sign-in page of the authorization code grant, with its style.
	authz := url.Values{"client_id": {sandbox.ClientID}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1:8400"}, "scope": {"User.Read openid"}}
	if a := get(t, c, l.URL+"/organizations"+sandbox.AuthorizePath+"?"+authz.Encode()); a.status != 200 || !strings.Contains(string(a.raw), `name="action" value="approve"`) {
		t.Errorf("the sign-in page over the listener: %d", a.status)
	}
	if a := get(t, c, l.URL+"/sandbox/sandbox.css"); a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/css") {
		t.Errorf("the sign-in page's stylesheet over the listener: %d %s", a.status, a.header.Get("Content-Type"))
	}

	if info := sb.App(); info.Listener != l.URL || info.CACertPEM != string(l.CertPEM) {
		t.Errorf("App() %+v", info)
	}
	if b, err := os.ReadFile(l.CertFile); err != nil || string(b) != string(l.CertPEM) {
		t.Errorf("certificate file %s: %v", l.CertFile, err)
	}
	if _, err := http.Get(l.URL + "/common/discovery/instance"); err == nil {
		t.Error("a client that does not trust the listener's certificate reached it")
	}

	sb.SetFaults(sandbox.Faults{GraphUnreachable: true})
	if _, err := c.Get(l.URL + "/v1.0/me"); err == nil {
		t.Error("Graph answered over the listener while unreachable")
	}
	if a := get(t, c, l.URL+"/common/v2.0/.well-known/openid-configuration"); a.status != 200 {
		t.Errorf("the identity platform stays reachable when Graph is not: %d", a.status)
	}
}

func TestListenerKeepsItsCertificateAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sb, _ := newSandbox(t)
	l1, _ := listen(t, sb, dir)
	l1.Close()
	sb2, _ := newSandbox(t)
	l2, c := listen(t, sb2, dir)
	if string(l1.CertPEM) != string(l2.CertPEM) {
		t.Error("a restart made a new certificate: clients would have to trust it again")
	}
	if a := get(t, c, l2.URL+"/common/v2.0/.well-known/openid-configuration"); a.status != 200 {
		t.Errorf("%d", a.status)
	}
	if info, err := os.Stat(dir + "/" + sandbox.ListenerKeyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the listener's key file: %v %v", info, err)
	}
}
