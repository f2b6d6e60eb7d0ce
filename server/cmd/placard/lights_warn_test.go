package main

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/placard/placard/server/mqtt/mqtttest"
)

// A light key for an account signed in on no screen (never signed in, or
// mistyped, or not in the tenant) stays dark: making one says so, on the
// command line, in the admin API and on the admin page.
func TestALightKeyForAnAccountSignedInNowhereIsWarnedOf(t *testing.T) {
	m := testServer(t)
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")

	// The admin API.
	status, out := call(t, m, admin, "POST", "/admin/api/lights", `{"name":"desk-nobody","account":"nobody@placard.example"}`)
	warnings, _ := out["warnings"].([]any)
	if status != http.StatusCreated || len(warnings) != 1 || !strings.Contains(warnings[0].(string), "nobody@placard.example is signed in on no screen") {
		t.Errorf("a key for an account signed in nowhere: %d %v", status, out)
	}
	status, out = call(t, m, admin, "POST", "/admin/api/lights", `{"name":"desk-grace","account":"Grace@placard.example"}`)
	if status != http.StatusCreated || out["warnings"] != nil {
		t.Errorf("a key for an account shown on a screen: %d %v", status, out)
	}

	// The command line, on the same data.
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"lights", "add", "hall", "-account", "ada@placard.example", "-data", m.Config.DataDir},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil || !lightKeyRE.MatchString(stdout.String()) ||
		!strings.Contains(stderr.String(), "placard: warning: ada@placard.example is signed in on no screen") {
		t.Errorf("placard lights add for an account signed in nowhere: %v\nstdout %s\nstderr %s", err, &stdout, &stderr)
	}
	stdout.Reset()
	stderr.Reset()
	err = run(t.Context(), []string{"lights", "add", "lamp", "-account", "grace@placard.example", "-data", m.Config.DataDir},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil || stderr.Len() != 0 {
		t.Errorf("placard lights add for an account shown on a screen: %v, stderr %q", err, &stderr)
	}

	// The admin page.
	b := newAdminBrowser(t, m)
	csrf := b.login(admin)
	_, page := b.post("/admin/lights", url.Values{"csrf": {csrf}, "name": {"door"}, "account": {"nobody@placard.example"}})
	if !strings.Contains(page, `data-testid="admin-light-warning"`) || !strings.Contains(page, "nobody@placard.example is signed in on no screen") {
		t.Errorf("the admin page shows no warning:\n%.3000s", page)
	}
}

// A key made with MQTT names its topic, and says when nothing will be
// published: a server with no broker (the admin API knows), or a command
// line that sees no PLACARD_MQTT_URL (the server is another process).
func TestALightKeyWithMQTTNamesItsTopicAndWarnsWithoutABroker(t *testing.T) {
	m := testServer(t)
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	status, out := call(t, m, admin, "POST", "/admin/api/lights", `{"name":"desk","account":"grace@placard.example","mqtt":true}`)
	warnings, _ := out["warnings"].([]any)
	if status != http.StatusCreated || len(warnings) != 1 || !strings.Contains(warnings[0].(string), "no MQTT broker") || out["mqtt_topic"] != nil {
		t.Errorf("a key with MQTT on a server without a broker: %d %v", status, out)
	}

	b := mqtttest.Start(t)
	withBroker := testServer(t, func(m *Main) { m.Config.MQTTURL = b.URL() })
	admin = newToken(t, withBroker)
	signedIn(t, withBroker, "grace@placard.example")
	status, out = call(t, withBroker, admin, "POST", "/admin/api/lights", `{"name":"desk","account":"grace@placard.example","mqtt":true}`)
	if status != http.StatusCreated || out["mqtt_topic"] != "placard/desk/presence" || out["warnings"] != nil {
		t.Errorf("a key with MQTT on a server with a broker: %d %v", status, out)
	}

	for _, tc := range []struct {
		env  string
		warn bool
	}{{"", true}, {b.URL(), false}} {
		var stdout, stderr bytes.Buffer
		name := "lamp"
		if tc.env != "" {
			name = "hall"
		}
		err := run(t.Context(), []string{"lights", "add", name, "-account", "grace@placard.example", "-mqtt", "-data", withBroker.Config.DataDir},
			func(k string) string {
				if k == "PLACARD_MQTT_URL" {
					return tc.env
				}
				return ""
			}, &stdout, &stderr)
		if err != nil || !strings.Contains(stdout.String(), "MQTT topic placard/"+name+"/presence") {
			t.Errorf("placard lights add -mqtt (PLACARD_MQTT_URL %q): %v\n%s", tc.env, err, &stdout)
		}
		if warned := strings.Contains(stderr.String(), "PLACARD_MQTT_URL is not set here"); warned != tc.warn {
			t.Errorf("placard lights add -mqtt (PLACARD_MQTT_URL %q) warned %v: %q", tc.env, warned, &stderr)
		}
	}
}
