package main

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/placard/placard/server/internal/pgtest"
)

// tokenLineRE reads the command the banner gives for an admin token.
var tokenLineRE = regexp.MustCompile(`make a token with: (.+)\)$`)

// bannerCommand runs the command a banner prints for an admin token, as a
// shell would (with its variables), and returns the token it made.
func bannerCommand(t *testing.T, banner string, env map[string]string) string {
	t.Helper()
	var line []string
	for _, l := range strings.Split(banner, "\n") {
		if m := tokenLineRE.FindStringSubmatch(l); m != nil {
			line = strings.Fields(os.Expand(m[1], func(k string) string { return env[k] }))
		}
	}
	if len(line) < 2 || line[0] != selfCommand() {
		t.Fatalf("the banner gives no admin token command of this binary (%s):\n%s", selfCommand(), banner)
	}
	for i, f := range line {
		line[i] = strings.Trim(f, `"`)
	}
	out, err := runCLI(t, line[1:]...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(line, " "), err, out)
	}
	token := regexp.MustCompile(`padm_[a-z2-7]+\.[A-Za-z0-9_-]{43}`).FindString(out)
	if token == "" {
		t.Fatalf("%s printed no token:\n%s", strings.Join(line, " "), out)
	}
	return token
}

// TestTheBannerCommandsRunAsPrinted: the admin token the banner says how
// to make opens that server's admin API, on SQLite and on the replicas'
// database (where -data would make a new SQLite file and a token the
// replicas refuse); the banner names the public URL people use.
func TestTheBannerCommandsRunAsPrinted(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		var banner syncBuffer
		m := testServer(t, func(m *Main) { m.Stdout = &banner })
		token := bannerCommand(t, banner.String(), nil)
		if status, body := call(t, m, token, http.MethodGet, "/admin/api/screens", ""); status != http.StatusOK {
			t.Errorf("the banner's token: %d %v", status, body)
		}
	})
	t.Run("replicas", func(t *testing.T) {
		db := pgtest.DB(t)
		var banner syncBuffer
		m := testServer(t, onPostgres(db), func(m *Main) { m.Stdout = &banner })
		if strings.Contains(banner.String(), db) || strings.Contains(banner.String(), " -data ") {
			t.Errorf("a replica's banner names its database URL or a data directory:\n%s", banner.String())
		}
		token := bannerCommand(t, banner.String(), map[string]string{"PLACARD_DATABASE_URL": db})
		if status, body := call(t, m, token, http.MethodGet, "/admin/api/screens", ""); status != http.StatusOK {
			t.Errorf("the banner's token on a replica: %d %v", status, body)
		}
	})
	t.Run("public URL", func(t *testing.T) {
		var banner syncBuffer
		testServer(t, func(m *Main) { m.Stdout = &banner; m.Config.PublicURL = "http://placard.test:8080" })
		for _, want := range []string{"Screen:      http://placard.test:8080/?screen=Lobby+TV", "Admin:       http://placard.test:8080/admin", "Phone page:  http://placard.test:8080/sandbox/devicelogin"} {
			if !strings.Contains(banner.String(), want) {
				t.Errorf("the banner lacks %q:\n%s", want, banner.String())
			}
		}
	})
}
