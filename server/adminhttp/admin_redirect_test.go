package adminhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/adminhttp"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/sqlite"
)

// redirectServer is an admin application that signs administrators in
// by redirect against the sandbox, both served on one loopback server.
type redirectServer struct {
	URL   string
	sb    *sandbox.Sandbox
	store server.Store
}

func newRedirectServer(t *testing.T) *redirectServer {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	sb, err := sandbox.New(sandbox.Options{VerificationURL: srv.URL + "/sandbox/devicelogin", RedirectURIs: []string{srv.URL + adminhttp.CallbackPath}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.New(identity.Config{
		ClientID: sandbox.ClientID, Authority: "https://" + sandbox.LoginHost + "/" + sandbox.TenantID,
		HTTPClient: &http.Client{Transport: sb.Transport()}, Caches: nopCaches{}, BrowserURL: sandbox.BrowserURL(srv.URL),
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	a := &adminhttp.Admin{Ops: &admin.Service{Store: store}, Identity: id, Verifier: id.NewAdminVerifier(sandbox.TenantID, nil),
		RedirectURI: srv.URL + adminhttp.CallbackPath, About: adminhttp.About{AdminTenant: sandbox.TenantID}}
	t.Cleanup(a.Close)
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", sb.Handler())
	mux.Handle("/admin", a.Handler())
	mux.Handle("/admin/", a.Handler())
	h = front.Front{PublicURL: srv.URL}.Handler(mux)
	return &redirectServer{URL: srv.URL, sb: sb, store: store}
}

type nopCaches struct{}

func (nopCaches) LoadCache(context.Context, string) ([]byte, error) { return nil, server.ErrNotFound }
func (nopCaches) SaveCache(context.Context, string, []byte) error   { return nil }
func (nopCaches) DeleteCache(context.Context, string) error         { return nil }

// browser is a browser's cookies and redirects, loopback only.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// signIn starts a sign-in by redirect in c and has upn accept it on the
// sandbox's page; it returns the callback's URL, not yet followed.
func (s *redirectServer) signIn(t *testing.T, c *http.Client, upn string) string {
	t.Helper()
	res, err := c.PostForm(s.URL+"/admin/signin/redirect", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	authorize := res.Request.URL
	if res.StatusCode != 200 || !strings.HasPrefix(authorize.Path, sandbox.BrowserPrefix) || !strings.Contains(string(body), `name="user"`) {
		t.Fatalf("starting a sign-in by redirect ended at %s (%d): %.300s", authorize, res.StatusCode, body)
	}
	q := authorize.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("redirect_uri") != s.URL+adminhttp.CallbackPath {
		t.Errorf("the authorization request %s lacks PKCE, state or the admin callback", authorize)
	}
	// The sandbox's page: pick the account, accept. Stop at the
	// callback, to see it.
	var callback string
	stop := *c
	stop.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		callback = req.URL.String()
		return http.ErrUseLastResponse
	}
	res, err = stop.PostForm(authorize.String(), url.Values{"user": {upn}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.HasPrefix(callback, s.URL+adminhttp.CallbackPath+"?") {
		t.Fatalf("the sandbox sent the browser to %q, want the admin callback", callback)
	}
	return callback
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Where the tenant blocks the device code ("Block device code flow"), an
// administrator with the app role still signs in to /admin, through a
// redirect in their own browser; one without it does not.
func TestAnAdministratorSignsInByRedirectWhereDeviceCodesAreBlocked(t *testing.T) {
	s := newRedirectServer(t)
	s.sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})

	grace := browser(t)
	status, page := get(t, grace, s.signIn(t, grace, "grace@placard.example"))
	if status != 200 || !strings.Contains(page, `data-testid="admin-who">grace@placard.example<`) {
		t.Fatalf("Grace (placard.admin) after the redirect: %d\n%.600s", status, page)
	}
	if status, page := get(t, grace, s.URL+"/admin"); status != 200 || !strings.Contains(page, "grace@placard.example") {
		t.Errorf("Grace's next page: %d, she is not signed in", status)
	}

	ada := browser(t)
	status, page = get(t, ada, s.signIn(t, ada, "ada@placard.example"))
	if status != http.StatusForbidden || !strings.Contains(page, "does not hold an app role") || strings.Contains(page, `data-testid="admin-who"`) {
		t.Errorf("Ada (no app role) after the redirect: %d\n%.600s", status, page)
	}
	events, _ := s.store.Audit(context.Background(), 10)
	var outcomes []string
	for _, e := range events {
		outcomes = append(outcomes, e.Account+" "+e.Outcome)
	}
	if got := strings.Join(outcomes, ", "); got != "ada@placard.example no_role, grace@placard.example ok" {
		t.Errorf("audit trail: %s", got)
	}
}

// A callback signs in only the browser that started the sign-in, once.
func TestARedirectCallbackWorksOnceAndOnlyInItsBrowser(t *testing.T) {
	s := newRedirectServer(t)

	grace := browser(t)
	callback := s.signIn(t, grace, "grace@placard.example")
	// Forwarded to another browser (no cookie of the sign-in), it signs
	// nobody in, and the sign-in is gone.
	other := browser(t)
	if status, page := get(t, other, callback); status != http.StatusForbidden || strings.Contains(page, `data-testid="admin-who"`) {
		t.Errorf("the callback in another browser: %d\n%.400s", status, page)
	}
	if status, page := get(t, grace, callback); status != http.StatusBadRequest || strings.Contains(page, `data-testid="admin-who"`) {
		t.Errorf("the callback after another browser used it: %d\n%.400s", status, page)
	}

	callback = s.signIn(t, grace, "grace@placard.example")
	if status, _ := get(t, grace, callback); status != 200 {
		t.Fatalf("the callback: %d", status)
	}
	// Replayed, it is unknown.
	replay := browser(t)
	if status, page := get(t, replay, callback); status != http.StatusBadRequest || strings.Contains(page, `data-testid="admin-who"`) {
		t.Errorf("a replayed callback: %d\n%.400s", status, page)
	}
	// A state nobody issued, with a code, is refused too.
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("state", "forged")
	u.RawQuery = q.Encode()
	if status, _ := get(t, browser(t), u.String()); status != http.StatusBadRequest {
		t.Errorf("a forged state: %d", status)
	}
}
