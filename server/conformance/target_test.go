package conformance_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/sandbox"
)

// target is one identity platform and Graph the suite runs against.
type target struct {
	name      string
	clientID  string
	authority string // https://host/<tenant>
	scopes    []string
	hc        *http.Client
	graphBase string
	// sb is the sandbox behind the target; nil for a real tenant.
	sb *sandbox.Sandbox
	// discovery is MSAL's instance discovery, off for hosts that are not
	// Microsoft's (the listener).
	discovery bool
}

// real reports whether the target is a real tenant.
func (tg *target) real() bool { return tg.sb == nil }

// sandboxOnly skips a case on a real tenant, saying why.
func (tg *target) sandboxOnly(t *testing.T, why string) {
	t.Helper()
	if tg.real() {
		t.Skipf("on a real tenant: %s", why)
	}
}

// msal returns a public client of the target, with its own token cache.
func (tg *target) msal(t *testing.T, clientID string) public.Client {
	t.Helper()
	opts := []public.Option{public.WithAuthority(tg.authority), public.WithHTTPClient(tg.hc)}
	if !tg.discovery {
		opts = append(opts, public.WithInstanceDiscovery(false))
	}
	pc, err := public.New(clientID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func (tg *target) graph() *graph.Client { return graph.New(tg.graphBase, tg.hc) }

// timeout is how long a case may wait: a person approving on a real
// tenant has the code's 15 minutes.
func (tg *target) timeout() time.Duration {
	if tg.real() {
		return 16 * time.Minute
	}
	return 30 * time.Second
}

// forEachTarget runs a case against each target; sandboxes are new for
// each case, so that cases can move their clocks and switch their faults.
func forEachTarget(t *testing.T, f func(t *testing.T, tg *target)) {
	t.Run("sandbox", func(t *testing.T) {
		t.Parallel()
		sb := newSandbox(t)
		f(t, &target{
			name: "sandbox", clientID: sandbox.ClientID, authority: "https://" + sandbox.LoginHost + "/" + sandbox.TenantID,
			scopes: defaultScopes, hc: &http.Client{Transport: sb.Transport(), Timeout: 30 * time.Second},
			graphBase: graph.DefaultBaseURL, sb: sb, discovery: true,
		})
	})
	t.Run("sandbox over HTTPS", func(t *testing.T) {
		t.Parallel()
		sb := newSandbox(t)
		l, err := sb.Listen("127.0.0.1:0", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(l.CertPEM)
		f(t, &target{
			name: "listener", clientID: sandbox.ClientID, authority: l.URL + "/organizations",
			scopes: defaultScopes, graphBase: l.URL + "/v1.0", sb: sb,
			hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
		})
	})
	t.Run("tenant", func(t *testing.T) {
		tg := realTarget(t)
		f(t, tg)
	})
}

// defaultScopes are placard's, with the permission quick-booking asks for,
// so that the sandboxes are driven through every endpoint.
var defaultScopes = []string{"User.Read", "Calendars.ReadWrite", "Presence.Read"}

func newSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{VerificationURL: "https://placard.test/sandbox/devicelogin", Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// realTarget is the tenant of PLACARD_CLIENT_ID and PLACARD_TENANT (or
// PLACARD_AUTHORITY), with PLACARD_SCOPES; it skips the test without them.
func realTarget(t *testing.T) *target {
	t.Helper()
	id, tenant, authority := os.Getenv("PLACARD_CLIENT_ID"), os.Getenv("PLACARD_TENANT"), os.Getenv("PLACARD_AUTHORITY")
	if id == "" || (tenant == "" && authority == "") {
		t.Skip("no real tenant: set PLACARD_CLIENT_ID and PLACARD_TENANT (an app registration with public client flows allowed) " +
			"and run with -v and -timeout 20m; a person approves one device code (see docs/sandbox.md, \"The conformance suite\")")
	}
	if authority == "" {
		authority = "https://login.microsoftonline.com/" + tenant
	}
	scopes := strings.Fields(os.Getenv("PLACARD_SCOPES"))
	if len(scopes) == 0 {
		scopes = []string{"User.Read", "Calendars.Read", "Presence.Read"}
	}
	return &target{name: "tenant", clientID: id, authority: authority, scopes: scopes,
		hc: &http.Client{Timeout: 60 * time.Second}, graphBase: graph.DefaultBaseURL, discovery: true}
}

// session is a signed-in account on a target.
type session struct {
	pc      public.Client
	dc      public.DeviceCode
	result  public.AuthResult
	account public.Account
}

// signIn runs the device authorization grant through MSAL as upn. A
// sandbox approves the code itself; on a real tenant, the code and URL are
// printed for a person, once for the whole run.
func (tg *target) signIn(t *testing.T, upn string) *session {
	t.Helper()
	if tg.real() {
		return realSession(t, tg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), tg.timeout())
	defer cancel()
	pc := tg.msal(t, tg.clientID)
	dc, err := pc.AcquireTokenByDeviceCode(ctx, tg.scopes)
	if err != nil {
		t.Fatalf("%s: device code: %v", tg.name, err)
	}
	if out := tg.sb.Approve(dc.Result.UserCode, upn); out != sandbox.OutcomeApproved {
		t.Fatalf("approving %s: %s", dc.Result.UserCode, out)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("%s: sign-in: %v", tg.name, err)
	}
	return &session{pc: pc, dc: dc, result: res, account: res.Account}
}

var tenantRun struct {
	once sync.Once
	s    *session
	err  error
}

// realSession signs in once on the real tenant for the whole run: a
// person approves the code printed here.
func realSession(t *testing.T, tg *target) *session {
	t.Helper()
	tenantRun.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tg.timeout())
		defer cancel()
		pc := tg.msal(t, tg.clientID)
		dc, err := pc.AcquireTokenByDeviceCode(ctx, tg.scopes)
		if err != nil {
			tenantRun.err = fmt.Errorf("device code: %w", err)
			return
		}
		fmt.Fprintf(os.Stderr, "\n=== conformance: on any device, open %s and enter the code %s (expires %s)\n\n",
			dc.Result.VerificationURL, dc.Result.UserCode, dc.Result.ExpiresOn.Format("15:04:05"))
		res, err := dc.AuthenticationResult(ctx)
		if err != nil {
			tenantRun.err = fmt.Errorf("sign-in: %w", err)
			return
		}
		tenantRun.s = &session{pc: pc, dc: dc, result: res, account: res.Account}
	})
	if tenantRun.err != nil {
		t.Fatalf("tenant: %v", tenantRun.err)
	}
	return tenantRun.s
}

// refresh redeems the session's refresh token: a claims request makes MSAL
// skip its cached access token, as placard does when Graph refuses one.
func (s *session) refresh(ctx context.Context, scopes []string) (public.AuthResult, error) {
	return s.pc.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(s.account),
		public.WithClaims(`{"access_token":{"nbf":{"essential":true,"value":"`+fmt.Sprint(time.Now().Unix())+`"}}}`))
}

// oauthError is the identity platform's JSON error inside an MSAL error.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	SubError    string `json:"suberror"`
}

// oauthErrorOf reads the platform's answer back from MSAL's error, which
// keeps the body in its text.
func oauthErrorOf(t *testing.T, err error) oauthError {
	t.Helper()
	var call msalerrors.CallErr
	if !errors.As(err, &call) {
		t.Fatalf("%v is not an answer of the identity platform", err)
	}
	msg := call.Err.Error()
	var e oauthError
	i := strings.Index(msg, "{")
	if i < 0 || json.Unmarshal([]byte(msg[i:]), &e) != nil || e.Error == "" {
		t.Fatalf("no OAuth error in %q", msg)
	}
	return e
}

// wantOAuth checks that err is the platform's oauth error with the AADSTS
// code: exactly, on every target (on a real tenant a mismatch says the
// sandbox's model is wrong: fix server/sandbox/errors.go).
func wantOAuth(t *testing.T, err error, oauth string, code int) oauthError {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s AADSTS%d", oauth, code)
	}
	e := oauthErrorOf(t, err)
	t.Logf("the platform answered %s %v: %.120s", e.Error, e.Codes, e.Description)
	if e.Error != oauth || len(e.Codes) == 0 || e.Codes[0] != code {
		t.Errorf("got %s %v, want %s [%d]", e.Error, e.Codes, oauth, code)
	}
	if !strings.HasPrefix(e.Description, fmt.Sprintf("AADSTS%d: ", code)) {
		t.Errorf("description %q does not start with AADSTS%d", e.Description, code)
	}
	return e
}
