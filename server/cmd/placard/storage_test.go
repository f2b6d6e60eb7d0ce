package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/sqlite"
)

// keyOf is a PLACARD_KEY made of one repeated byte.
func keyOf(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, secret.KeySize))
}

// startKeyed runs an edge server in sandbox mode on dataDir (and dbURL,
// when set) with key as PLACARD_KEY, and closes it again: it returns
// whether it started.
func startKeyed(t *testing.T, dataDir, dbURL, key string) error {
	t.Helper()
	args := []string{"-addr", "127.0.0.1:0", "-data", dataDir}
	if dbURL != "" {
		args = append(args, "-database", dbURL)
	}
	cfg, err := ParseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Key: key, Stderr: testLog{t}}
	if err := m.Run(context.Background()); err != nil {
		return err
	}
	if err := m.Close(); err != nil {
		t.Fatalf("closing: %v", err)
	}
	return nil
}

func TestAServerWithAnotherKeyRefusesToStart(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			dbURL := ""
			if store == "postgres" {
				dbURL = pgtest.DB(t)
			}
			if err := startKeyed(t, dataDir, dbURL, keyOf(1)); err != nil {
				t.Fatalf("the first start: %v", err)
			}
			// A replica (or a restart) with another key would take
			// accounts whose tokens it cannot open.
			err := startKeyed(t, filepath.Join(t.TempDir(), "other"), dbURL, keyOf(2))
			if store == "sqlite" {
				err = startKeyed(t, dataDir, "", keyOf(2))
			}
			if !errors.Is(err, errWrongKey) {
				t.Fatalf("a start with another key: %v, want it refused", err)
			}
			if !strings.Contains(err.Error(), "PLACARD_KEY") {
				t.Errorf("the refusal does not say what to do: %v", err)
			}
			if err := startKeyed(t, dataDir, dbURL, keyOf(1)); err != nil {
				t.Errorf("a start with the first key again: %v", err)
			}
		})
	}
}

// A store made before the key's check was stored holds token caches: the
// check is never sealed with a key that does not open them.
func TestAStoreFromBeforeTheKeyCheckIsCheckedAgainstItsTokens(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(dataDir, "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(keyOf(1))
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateScreen(ctx, server.Screen{ID: "s1", Name: "Lobby TV", SecretHash: []byte{1}, Enrolled: true, AccountID: "a1"}); err != nil {
		t.Fatal(err)
	}
	if err := (identity.SealedCaches{Store: store, Box: box}).SaveCache(ctx, "a1", []byte(`{"AccessToken":{}}`)); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := startKeyed(t, dataDir, "", keyOf(2)); !errors.Is(err, errWrongKey) {
		t.Fatalf("a start with a key that does not open the stored tokens: %v, want it refused", err)
	}
	if err := startKeyed(t, dataDir, "", keyOf(1)); err != nil {
		t.Fatalf("a start with the key of the stored tokens: %v", err)
	}
	if err := startKeyed(t, dataDir, "", keyOf(2)); !errors.Is(err, errWrongKey) {
		t.Fatalf("once checked, a start with another key: %v, want it refused", err)
	}
}

// Each start that cannot open what it needs says which thing and why, and
// fails (main exits non-zero on an error): never a panic.
func TestAFailedOpenSaysWhatAndWhy(t *testing.T) {
	dbURL := pgtest.DB(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/placard_no_such_db"
	if u.User == nil {
		u.User = url.UserPassword("postgres", "s3cret-pw")
	} else if _, ok := u.User.Password(); !ok {
		u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	}
	missing := u.String()
	dir := t.TempDir()
	notADir := filepath.Join(dir, "a-file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := keyOf(1)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		wants []string
	}{
		{"a database that does not exist", []string{"-database", missing}, map[string]string{"PLACARD_KEY": key},
			[]string{"placard_no_such_db", "does not exist"}},
		{"a data directory that is a file", []string{"-data", notADir}, nil, []string{notADir}},
		{"a certificate that is not there", []string{"-tls-cert", filepath.Join(dir, "cert.pem"), "-tls-key", filepath.Join(dir, "key.pem")}, nil,
			[]string{"cert.pem"}},
		{"certificate authorities that are not there", []string{"-client-id", "8a3e6f0b-2c47-4d19-9e85-b71a4c0d6f23", "-tenant", "placard.example",
			"-addr", "127.0.0.1:0", "-ca-file", filepath.Join(dir, "ca.pem")}, nil, []string{"ca.pem"}},
		{"a key that is not one", nil, map[string]string{"PLACARD_KEY": "not base64!"}, []string{"PLACARD_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data")}, tt.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("placard panicked: %v", p)
					}
				}()
				err = run(ctx, args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			}()
			if err == nil {
				t.Fatal("placard started")
			}
			t.Logf("placard: %v", err)
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("the error shows the database's password: %v", err)
			}
		})
	}
}

// A full disk makes the edge server not ready, so that a load balancer
// sends screens elsewhere, until it writes again.
func TestReadinessFailsWhileTheStoreCannotWrite(t *testing.T) {
	m := testServer(t)
	ctx := context.Background()
	db := m.Store.(*sqlite.Store).DB()
	ready := func() int {
		t.Helper()
		res, err := http.Get(m.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/readyz answered %d before the disk filled", got)
	}
	var pages int
	if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	setMax := func(n int) {
		t.Helper()
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, n)); err != nil {
			t.Fatal(err)
		}
	}
	setMax(pages)
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		full = m.Store.AppendAudit(ctx, server.AuditEvent{Time: time.Now(), Kind: "test", Detail: strings.Repeat("a long line ", 400)})
	}
	if full == nil {
		t.Fatal("a full store took 100 writes")
	}
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d with a full disk, want 503", got)
	}
	setMax(pages + 1000)
	if got := ready(); got != http.StatusOK {
		t.Errorf("/readyz answered %d once the disk had room, want 200", got)
	}
}
