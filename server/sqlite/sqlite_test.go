package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sqlite"
	"github.com/placard/placard/server/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) server.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "placard.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceAcrossReopening(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) func(t *testing.T) server.Store {
		path := filepath.Join(t.TempDir(), "placard.db")
		return func(t *testing.T) server.Store {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

func TestReopenKeepsWhatWasWritten(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "placard.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, server.Account{ID: "a", Username: "ada@placard.example"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if a, err := s.Account(ctx, "a"); err != nil || a.Username != "ada@placard.example" {
		t.Fatalf("after reopening: %+v, %v", a, err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "placard.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a database of a newer placard: %v, want an error saying so", err)
	}
}

// A database the previous release made (its schema, its way of writing
// times as milliseconds) opens, upgraded, with everything in it.
func TestUpgradeFromTheLastSchema(t *testing.T) {
	storetest.RunUpgrade(t, func(t *testing.T, old storetest.Before) server.Store {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "placard.db")
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		ms := func(t time.Time) int64 { return t.UnixMilli() }
		settings := old.Settings
		webhooks, _ := json.Marshal(old.Light.Webhooks)
		sc, a, tok, l, e := old.Screen, old.Account, old.AdminToken, old.Light, old.Audit
		stmts := append(sqlite.Legacy(), fmt.Sprintf(`PRAGMA user_version = %d`, len(sqlite.Legacy())))
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("making the old schema: %v", err)
			}
		}
		for _, w := range []struct {
			q    string
			args []any
		}{
			{`INSERT INTO screens (id, name, secret_hash, enrolled, pairing_number, account_id, settings, created_at, last_seen) VALUES (?,?,?,?,?,?,?,?,?)`,
				[]any{sc.ID, sc.Name, sc.SecretHash, sc.Enrolled, sc.PairingNumber, sc.AccountID, string(settings), ms(sc.CreatedAt), ms(sc.LastSeen)}},
			{`INSERT INTO accounts (id, username, display_name, tenant_id, signed_in_at) VALUES (?,?,?,?,?)`,
				[]any{a.ID, a.Username, a.DisplayName, a.TenantID, ms(a.SignedInAt)}},
			{`INSERT INTO token_caches (account_id, blob, updated_at) VALUES (?,?,?)`, []any{a.ID, old.TokenCache, ms(a.SignedInAt)}},
			{`INSERT INTO admin_tokens (id, name, hash, created_at) VALUES (?,?,?,?)`, []any{tok.ID, tok.Name, tok.Hash, ms(tok.CreatedAt)}},
			{`INSERT INTO lights (id, name, account, hash, mqtt, webhooks, webhook_secret, created_at) VALUES (?,?,?,?,?,?,?,?)`,
				[]any{l.ID, l.Name, l.Account, l.Hash, l.MQTT, string(webhooks), l.WebhookSecret, ms(l.CreatedAt)}},
			{`INSERT INTO audit (time, kind, screen_id, screen_name, account, outcome, detail) VALUES (?,?,?,?,?,?,?)`,
				[]any{ms(e.Time), e.Kind, e.ScreenID, e.ScreenName, e.Account, e.Outcome, e.Detail}},
		} {
			if _, err := db.ExecContext(ctx, w.q, w.args...); err != nil {
				t.Fatalf("writing the old data: %v", err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("opening the old database: %v", err)
		}
		return s
	})
}

// A full disk is a write SQLite refuses with SQLITE_FULL; max_page_count
// makes the file "full" without filling a disk.
func TestAFullDiskMakesTheStoreNotReadyUntilItWritesAgain(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	setMax := func(pages int) {
		t.Helper()
		if _, err := s.DB().ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
			t.Fatal(err)
		}
	}
	token := server.AdminToken{ID: "t", Name: "ops", Hash: []byte{1}}
	if err := s.CreateAdminToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.DB().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	setMax(pages)
	detail := strings.Repeat("a long line of the audit trail ", 200)
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		full = s.AppendAudit(ctx, server.AuditEvent{Time: time.Now(), Kind: "test", Detail: detail})
	}
	if full == nil {
		t.Fatal("a store with no room left took 100 writes")
	}
	t.Logf("the write was refused: %v", full)
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Ping after a full disk refused a write: %v, want it to say the disk may be full", err)
	}
	// A write refused for a reason of its own (a duplicate) says nothing
	// of the disk: the store stays not ready.
	if err := s.CreateAdminToken(ctx, token); err == nil {
		t.Fatal("a duplicate admin token was stored")
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping passed while the disk is still full")
	}
	// Room again: Ping writes, and the store is ready without waiting for
	// anything else to write.
	setMax(pages + 1000)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping once the disk has room: %v", err)
	}
}
