package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/sandbox"
)

// standalone is a `placard sandbox` running in the test's process.
type standalone struct {
	URL      string
	CertFile string
	client   *http.Client // trusts the sandbox's certificate
}

// startSandbox runs `placard sandbox` on a free loopback port and waits
// for it to say where it listens.
func startSandbox(t *testing.T, flags ...string) *standalone {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan error, 1)
	dir := filepath.Join(t.TempDir(), "sandbox")
	go func() {
		done <- run(ctx, append([]string{"sandbox", "-addr", "127.0.0.1:0", "-data", dir}, flags...), func(string) string { return "" }, w, testLog{t})
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("placard sandbox: %v", err)
		}
	})
	sb := &standalone{}
	lines := bufio.NewScanner(r)
	edge := regexp.MustCompile(`-authority (https://\S+)/` + sandbox.TenantID + ` -graph-url \S+ -ca-file (\S+)`)
	for lines.Scan() {
		if m := edge.FindStringSubmatch(lines.Text()); m != nil {
			sb.URL, sb.CertFile = m[1], m[2]
			break
		}
	}
	go io.Copy(io.Discard, r)
	if sb.URL == "" {
		t.Fatal("placard sandbox did not say how to point an edge server at it")
	}
	pem, err := os.ReadFile(sb.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	sb.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	return sb
}

// pointedAt points an edge server at a placard sandbox as at a real
// tenant.
func pointedAt(sb *standalone) func(*Main) {
	return func(m *Main) {
		m.Config.ClientID = sandbox.ClientID
		m.Config.Authority = sb.URL + "/" + sandbox.TenantID
		m.Config.GraphURL = sb.URL + "/v1.0"
		m.Config.CAFile = sb.CertFile
	}
}

// approve approves a code on the sandbox's phone page, as a person does.
func (sb *standalone) approve(t *testing.T, code, upn string) {
	t.Helper()
	res, err := sb.client.PostForm(sb.URL+"/sandbox/devicelogin", url.Values{"user_code": {code}, "user": {upn}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "signed in") {
		t.Fatalf("approving %s on the phone page: %s\n%s", code, res.Status, body)
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

func TestGraphURLAndCAFileAreChecked(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "roots.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	real := map[string]string{"PLACARD_CLIENT_ID": "x", "PLACARD_TENANT": "contoso.onmicrosoft.com"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		says string
	}{
		{"plain HTTP Graph", []string{"-graph-url", "http://127.0.0.1:9443/v1.0"}, real, "must be an https base URL"},
		{"missing CA file", []string{"-ca-file", "/nonexistent/roots.pem"}, real, "-ca-file"},
		{"CA file without a certificate", []string{"-ca-file", notPEM}, real, "holds no PEM certificate"},
		{"with the built-in sandbox", []string{"-graph-url", "https://127.0.0.1:9443/v1.0"}, nil, "set PLACARD_CLIENT_ID too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("ParseConfig: %v, want %q", err, tt.says)
			}
		})
	}
}

// TestStandaloneSandboxRegistersEdgeServersCallbacks: an edge server
// pointed at a placard sandbox signs in by QR through its own callback,
// which -redirect-uri registers.
func TestStandaloneSandboxRegistersEdgeServersCallbacks(t *testing.T) {
	const cb = "https://edge.placard.test/signin/callback"
	sb := startSandbox(t, "-redirect-uri", cb)
	var app sandbox.AppInfo
	getJSONOver(t, sb.client, sb.URL+"/sandbox/api/app", &app)
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
