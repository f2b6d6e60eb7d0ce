package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/adminhttp"
	"github.com/placard/placard/server/lights"
)

// endpoint is one request to the admin application, and the least a role
// must be allowed to make it.
type endpoint struct {
	method, path string
	// body is the API's JSON, or the page form's fields (CSRF added).
	body string
	form url.Values
	need admin.Permission
}

// Every endpoint of the admin API and every form of the admin page, tried
// by an admin, an operator and a viewer: each answers 403 exactly to the
// roles it is not for (a viewer gets 403 on every change), and anything
// but 401 or 403 to the others. The table is checked to cover every
// endpoint the application has (adminhttp.Endpoints).
func TestEveryAdminEndpointChecksTheRole(t *testing.T) {
	m := testServer(t, manualEnroll, func(m *Main) {
		// Light keys' webhooks are not sent in this test.
		m.Webhooks = lights.WebhookConfig{Every: time.Hour}
	})
	ctx := t.Context()
	root := cliActor()
	g, err := m.Ops.CreateGroup(ctx, root, admin.GroupSpec{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	openScreen(t, m, "Lobby TV")
	screenID := screenID(t, m, "Lobby TV")
	rootToken := newToken(t, m)
	newAdminBrowser(t, m).login(rootToken)
	_, sessions := call(t, m, rootToken, "GET", "/admin/api/sessions", "")
	all, _ := sessions["sessions"].([]any)
	if len(all) != 1 {
		t.Fatalf("sessions: %v", sessions)
	}
	sessionID, _ := all[0].(map[string]any)["id"].(string)
	const fake = "nope"

	api := []endpoint{
		{"GET", "/admin/api/screens", "", nil, admin.Read},
		{"GET", "/admin/api/screens/" + screenID, "", nil, admin.Read},
		{"POST", "/admin/api/screens/approve", `{"pairing_number":"000000"}`, nil, admin.Operate},
		{"POST", "/admin/api/screens/" + fake + "/approve", "", nil, admin.Operate},
		{"PUT", "/admin/api/screens/" + screenID + "/name", `{"name":"Lobby TV"}`, nil, admin.Operate},
		{"PUT", "/admin/api/screens/" + screenID + "/settings", `{"lang":"fr"}`, nil, admin.Operate},
		{"POST", "/admin/api/screens/" + screenID + "/sign-out", "", nil, admin.Operate},
		{"POST", "/admin/api/screens/" + fake + "/revoke", "", nil, admin.Administer},
		{"PUT", "/admin/api/screens/" + screenID + "/group", `{"group":"` + g.Group.ID + `"}`, nil, admin.Operate},
		{"POST", "/admin/api/screens/" + screenID + "/reload", "", nil, admin.Operate},
		{"POST", "/admin/api/screens/" + screenID + "/identify", "", nil, admin.Operate},
		{"GET", "/admin/api/screens/" + screenID + "/preview", "", nil, admin.Read},
		{"POST", "/admin/api/groups", `{"name":"G-` + fake + `"}`, nil, admin.Operate},
		{"POST", "/admin/api/groups", `{"name":"H-` + fake + `","webhooks":["https://hooks.example/a"]}`, nil, admin.Administer},
		{"GET", "/admin/api/groups", "", nil, admin.Read},
		{"GET", "/admin/api/groups/" + g.Group.ID, "", nil, admin.Read},
		{"PUT", "/admin/api/groups/" + g.Group.ID, `{"name":"Lobby"}`, nil, admin.Operate},
		{"PUT", "/admin/api/groups/" + g.Group.ID, `{"name":"Lobby","webhooks":["https://hooks.example/{role}"]}`, nil, admin.Administer},
		{"DELETE", "/admin/api/groups/" + fake, "", nil, admin.Operate},
		{"PUT", "/admin/api/groups/" + g.Group.ID + "/settings", `{"lang":"de"}`, nil, admin.Operate},
		{"POST", "/admin/api/groups/" + g.Group.ID + "/sign-out", "", nil, admin.Operate},
		{"POST", "/admin/api/groups/" + g.Group.ID + "/links", `{"max_screens":2,"expires_in":"1h"}`, nil, admin.Administer},
		{"GET", "/admin/api/links", "", nil, admin.Read},
		{"DELETE", "/admin/api/links/" + fake, "", nil, admin.Administer},
		{"POST", "/admin/api/tokens", `{"name":"x","role":"viewer"}`, nil, admin.Administer},
		{"GET", "/admin/api/tokens", "", nil, admin.Read},
		{"DELETE", "/admin/api/tokens/" + fake, "", nil, admin.Administer},
		{"GET", "/admin/api/audit", "", nil, admin.Read},
		{"GET", "/admin/api/sessions", "", nil, admin.Read},
		{"DELETE", "/admin/api/sessions/" + fake, "", nil, admin.Administer},
		{"POST", "/admin/api/lights", `{"name":"l-` + fake + `","account":"ada@placard.example"}`, nil, admin.Administer},
		{"GET", "/admin/api/lights", "", nil, admin.Read},
		{"DELETE", "/admin/api/lights/" + fake, "", nil, admin.Administer},
	}
	v := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	page := []endpoint{
		{"POST", "/admin/approve", "", v("pairing_number", "000000"), admin.Operate},
		{"POST", "/admin/sessions/" + sessionID + "/end", "", nil, admin.Administer},
		{"POST", "/admin/screens/" + screenID + "/group", "", v("group", g.Group.ID), admin.Operate},
		{"POST", "/admin/screens/" + fake + "/approve", "", nil, admin.Operate},
		{"POST", "/admin/screens/" + screenID + "/sign-out", "", nil, admin.Operate},
		{"POST", "/admin/screens/" + fake + "/revoke", "", nil, admin.Administer},
		{"POST", "/admin/screens/" + screenID + "/rename", "", v("name", "Lobby TV"), admin.Operate},
		{"POST", "/admin/screens/" + screenID + "/identify", "", nil, admin.Operate},
		{"POST", "/admin/screens/" + screenID + "/reload", "", nil, admin.Operate},
		{"POST", "/admin/screens/" + screenID + "/settings", "", v("lang", "fr", "own_lang", "on"), admin.Operate},
		{"POST", "/admin/groups", "", v("name", "P-"+fake), admin.Operate},
		{"POST", "/admin/groups/" + g.Group.ID + "/settings", "", v("lang", "de"), admin.Operate},
		{"POST", "/admin/groups/" + g.Group.ID + "/update", "", v("name", "Lobby"), admin.Operate},
		{"POST", "/admin/groups/" + g.Group.ID + "/sign-out", "", nil, admin.Operate},
		{"POST", "/admin/groups/" + fake + "/remove", "", nil, admin.Operate},
		{"POST", "/admin/groups/" + g.Group.ID + "/links", "", v("max_screens", "2", "expires_in", "1h"), admin.Administer},
		{"POST", "/admin/links/" + fake + "/revoke", "", nil, admin.Administer},
		{"POST", "/admin/tokens", "", v("name", "x", "role", "viewer"), admin.Administer},
		{"POST", "/admin/tokens/" + fake + "/revoke", "", nil, admin.Administer},
		{"POST", "/admin/lights", "", v("name", "p-"+fake, "account", "ada@placard.example"), admin.Administer},
		{"POST", "/admin/lights/" + fake + "/revoke", "", nil, admin.Administer},
	}

	// The table covers every endpoint.
	mux := http.NewServeMux()
	for _, p := range adminhttp.Endpoints() {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	covered := map[string]bool{}
	for _, e := range append(slices.Clone(api), page...) {
		r, _ := http.NewRequest(e.method, m.URL+e.path, nil)
		_, pattern := mux.Handler(r)
		covered[pattern] = true
	}
	for _, p := range adminhttp.Endpoints() {
		if !covered[p] {
			t.Errorf("no row of the table tries %s", p)
		}
	}

	for _, role := range []string{server.RoleAdmin, server.RoleOperator, server.RoleViewer} {
		made, err := m.Ops.MakeToken(ctx, root, role+" test", role)
		if err != nil {
			t.Fatal(err)
		}
		allowed := func(e endpoint) bool { return admin.Can(role, e.need) }
		for _, e := range api {
			status, body := callAny(t, m, made.Secret, e.method, e.path, strings.ReplaceAll(e.body, "{role}", role))
			checkRole(t, role, e, allowed(e), status, body)
		}
		b := newAdminBrowser(t, m)
		csrf := b.login(made.Secret)
		for _, e := range page {
			form := url.Values{}
			for k, vs := range e.form {
				form[k] = vs
			}
			form.Set("csrf", csrf)
			res, body := b.post(e.path, form)
			checkRole(t, role, e, allowed(e), res.StatusCode, map[string]any{"page": firstLine(body)})
		}
	}
}

func checkRole(t *testing.T, role string, e endpoint, allowed bool, status int, body map[string]any) {
	t.Helper()
	switch {
	case allowed && (status == http.StatusForbidden || status == http.StatusUnauthorized):
		t.Errorf("%s: %s %s answered %d, want it allowed (%v)", role, e.method, e.path, status, body)
	case !allowed && status != http.StatusForbidden:
		t.Errorf("%s: %s %s answered %d, want 403 (it takes %s) (%v)", role, e.method, e.path, status, e.need, body)
	}
}

// firstLine is what a page's error says, for messages.
func firstLine(page string) string {
	if i := strings.Index(page, `data-testid="admin-error">`); i >= 0 {
		page = page[i+len(`data-testid="admin-error">`):]
	}
	if i := strings.IndexAny(page, "<\n"); i >= 0 {
		page = page[:i]
	}
	return page
}

// callAny sends an admin API request; its answer is JSON, or a page (a
// preview).
func callAny(t *testing.T, m *Main, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, m.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		out = map[string]any{"page": firstLine(string(b))}
	}
	return res.StatusCode, out
}
