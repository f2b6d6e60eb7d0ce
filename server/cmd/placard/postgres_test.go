package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/postgres"
	"github.com/placard/placard/server/secret"
)

// onPostgres keeps the server's state in a PostgreSQL database of the
// test's, as replicas do.
func onPostgres(dbURL string) func(*Main) {
	return func(m *Main) {
		m.Config.Database = dbURL
		if m.Key == "" {
			m.Key = testKey
		}
	}
}

// testKey seals the tokens of every server of a test alike, as
// PLACARD_KEY does for replicas.
var testKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, secret.KeySize))

func TestTheServerAndCommandLineWorkOnPostgreSQL(t *testing.T) {
	dbURL := pgtest.DB(t)
	m := testServer(t, manualEnroll, onPostgres(dbURL))
	if _, ok := m.Store.(*postgres.Store); !ok {
		t.Fatalf("with -database the store is a %T", m.Store)
	}
	s := openScreen(t, m, "Lobby TV")
	number := s.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number

	// The command line works on the same database, through the
	// environment, with no data directory.
	env := func(k string) string {
		return map[string]string{"PLACARD_DATABASE_URL": dbURL, "PLACARD_DATA": filepath.Join(t.TempDir(), "nothing-here")}[k]
	}
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(t.Context(), args, env, &out, &out); err != nil {
			t.Fatalf("placard %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	if out := cli("screens", "list"); !regexp.MustCompile(`Lobby TV\s+pending\s+` + number).MatchString(out) {
		t.Errorf("placard screens list printed %q", out)
	}
	cli("screens", "approve", number)
	s.signIn(m, "ada@placard.example")
	if out := cli("audit", "-n", "20"); !strings.Contains(out, "screen_enrolled") || !strings.Contains(out, "sign_in") {
		t.Errorf("placard audit lacks the enrollment or the sign-in:\n%s", out)
	}

	// A restart on the same database keeps the screen signed in.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := startOn(t, filepath.Join(t.TempDir(), "other-data"), "127.0.0.1:0", onPostgres(dbURL))
	s.reconnect(m2)
	s.waitFor(20*time.Second, "the dashboard after a restart", func(st wire.State) bool { return st.Phase == wire.PhaseDashboard })
}

func TestReadyzFailsWhileTheDatabaseIsUnreachable(t *testing.T) {
	dbURL := pgtest.DB(t)
	m := testServer(t, onPostgres(dbURL))
	ready := func() int {
		t.Helper()
		res, err := http.Get(m.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := ready(); code != http.StatusOK {
		t.Fatalf("/readyz with the database up: %d", code)
	}
	// The database goes away, its connections with it.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := pgx.Connect(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(t.Context(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database gone: %d, want 503", code)
	}
}
