package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/placard/placard/server"
)

var lightKeyRE = regexp.MustCompile(`plk_l[a-z2-7]+\.[A-Za-z0-9_-]{43}`)

// addLight makes a light key through the admin API and returns its id and
// key.
func addLight(t *testing.T, m *Main, admin, body string) (id, key string) {
	t.Helper()
	status, out := call(t, m, admin, "POST", "/admin/api/lights", body)
	if status != http.StatusCreated {
		t.Fatalf("POST /admin/api/lights %s: %d %v", body, status, out)
	}
	id, _ = out["id"].(string)
	key, _ = out["key"].(string)
	if id == "" || !lightKeyRE.MatchString(key) {
		t.Fatalf("a new light key answered %v", out)
	}
	return id, key
}

func TestTheAdminAPIMakesListsAndRevokesLightKeys(t *testing.T) {
	m := testServer(t)
	admin := newToken(t, m)
	id, key := addLight(t, m, admin, `{"name":"desk-ada","account":"ada@placard.example","mqtt":true}`)

	status, out := call(t, m, admin, "GET", "/admin/api/lights", "")
	list, _ := out["lights"].([]any)
	if status != http.StatusOK || len(list) != 1 {
		t.Fatalf("GET /admin/api/lights: %d %v", status, out)
	}
	l := list[0].(map[string]any)
	if l["id"] != id || l["name"] != "desk-ada" || l["account"] != "ada@placard.example" || l["mqtt"] != true {
		t.Errorf("listed %v", l)
	}
	secret := key[strings.Index(key, ".")+1:]
	if raw, _ := json.Marshal(out); strings.Contains(string(raw), secret) {
		t.Error("the list shows a key's secret")
	}

	for _, bad := range []struct{ body, says string }{
		{`{"name":"desk-ada","account":"grace@placard.example"}`, "already named"},
		{`{"name":"a b","account":"ada@placard.example"}`, "light name"},
		{`{"name":"x","account":"nobody"}`, "user principal name"},
		{`{"name":"x","account":"ada@placard.example","colour":"red"}`, "unknown field"},
	} {
		status, out := call(t, m, admin, "POST", "/admin/api/lights", bad.body)
		if status < 400 || status > 409 || !strings.Contains(out["error"].(string), bad.says) {
			t.Errorf("POST %s: %d %v, want an error saying %q", bad.body, status, out, bad.says)
		}
	}
	if status, _ := call(t, m, "", "GET", "/admin/api/lights", ""); status != http.StatusUnauthorized {
		t.Errorf("listing light keys without an admin token: %d", status)
	}
	if status, _ := call(t, m, key, "GET", "/admin/api/lights", ""); status != http.StatusUnauthorized {
		t.Errorf("a light key opens the admin API: %d", status)
	}

	if status, out := call(t, m, admin, "DELETE", "/admin/api/lights/"+id, ""); status != http.StatusOK || out["revoked"] != id {
		t.Fatalf("DELETE: %d %v", status, out)
	}
	if status, _ := call(t, m, admin, "DELETE", "/admin/api/lights/"+id, ""); status != http.StatusNotFound {
		t.Errorf("deleting it again: %d", status)
	}
	events, _ := m.Store.Audit(t.Context(), 20)
	if !hasAudit(events, server.AuditLight, "ada@placard.example", "light key "+id+" (desk-ada) by admin token") {
		t.Errorf("making and revoking a light key is not audited: %+v", events)
	}
}

func TestTheCommandLineMakesListsAndRevokesLightKeys(t *testing.T) {
	m := testServer(t)
	dir := m.Config.DataDir
	out, err := runCLI(t, "lights", "add", "desk-ada", "-account", "ada@placard.example", "-webhook", "https://hub.local/p", "-data", dir)
	if err != nil {
		t.Fatal(err)
	}
	key := lightKeyRE.FindString(out)
	if key == "" || !strings.Contains(out, "shown only now") || !strings.Contains(out, "webhook-signature") || !strings.Contains(out, "whsec_") {
		t.Fatalf("placard lights add printed %q", out)
	}
	id := strings.TrimPrefix(key[:strings.Index(key, ".")], "plk_")
	out, _ = runCLI(t, "lights", "list", "-data", dir)
	if !regexp.MustCompile(id+`\s+desk-ada\s+ada@placard.example\s+no\s+1`).MatchString(out) || strings.Contains(out, key[strings.Index(key, ".")+1:]) {
		t.Errorf("placard lights list printed %q: want the key's id, name and account, never its secret", out)
	}
	for _, bad := range []struct {
		args []string
		says string
	}{
		{[]string{"lights", "add", "-account", "ada@placard.example"}, "needs one name"},
		{[]string{"lights", "add", "x"}, "user principal name"},
		{[]string{"lights", "revoke"}, "needs the key's id"},
		{[]string{"lights", "revoke", "lnothing"}, "no light key has the id"},
	} {
		if _, err := runCLI(t, append(bad.args, "-data", dir)...); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("placard %v: %v, want %q", bad.args, err, bad.says)
		}
	}
	if out, err := runCLI(t, "lights", "revoke", id, "-data", dir); err != nil || !strings.Contains(out, "Deleted light key") {
		t.Fatalf("placard lights revoke: %v %q", err, out)
	}
	if out, _ := runCLI(t, "lights", "list", "-data", dir); !strings.Contains(out, "No light key") {
		t.Errorf("after revoking, placard lights list printed %q", out)
	}
	if out, _ := runCLI(t, "audit", "-data", dir); strings.Count(out, "light_key") != 2 {
		t.Errorf("placard audit shows %d light key events, want 2:\n%s", strings.Count(out, "light_key"), out)
	}
}

func TestTheAdminPageAddsAndRevokesLightKeys(t *testing.T) {
	m := testServer(t)
	b := newAdminBrowser(t, m)
	csrf := b.login(newToken(t, m))
	res, page := b.post("/admin/lights", url.Values{"csrf": {csrf}, "name": {"hall"}, "account": {"grace@placard.example"}, "mqtt": {"on"}})
	key := lightKeyRE.FindString(page)
	if res.StatusCode != http.StatusOK || key == "" || !strings.Contains(page, `data-testid="admin-new-light"`) {
		t.Fatalf("adding a light key: %s\n%.2000s", res.Status, page)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page that shows a key is cached: %q", res.Header.Get("Cache-Control"))
	}
	_, page = b.get("/admin")
	if strings.Contains(page, key) || !strings.Contains(page, `data-testid="admin-light"`) || !strings.Contains(page, "grace@placard.example") {
		t.Fatalf("the page shown again must list the key, never its secret:\n%.3000s", page)
	}
	id := regexp.MustCompile(`data-testid="admin-light" data-light-id="([^"]+)"`).FindStringSubmatch(page)[1]
	if res, _ := b.post("/admin/lights/"+id+"/revoke", url.Values{"csrf": {"wrong"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("revoking without the CSRF token: %s", res.Status)
	}
	if res, _ := b.post("/admin/lights/"+id+"/revoke", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoking: %s", res.Status)
	}
	if _, page := b.get("/admin"); strings.Contains(page, `data-testid="admin-light"`) || !strings.Contains(page, "Revoked the light key hall") {
		t.Errorf("after revoking, the page still lists the key or says nothing")
	}
	res, page = b.post("/admin/lights", url.Values{"csrf": {csrf}, "name": {"bad name"}, "account": {"grace@placard.example"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "letters, digits") {
		t.Errorf("a bad name: %s, want 400 saying why", res.Status)
	}
}
