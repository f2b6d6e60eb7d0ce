package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/postgres"
	"github.com/placard/placard/server/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) server.Store { return open(t, pgtest.DB(t)) })
}

func TestConformanceAcrossReopening(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) func(t *testing.T) server.Store {
		url := pgtest.DB(t)
		return func(t *testing.T) server.Store { return open(t, url) }
	})
}

func TestReplicasStartingAtOnceMakeOneSchema(t *testing.T) {
	url := pgtest.DB(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	stores := make([]*postgres.Store, replicas)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(context.Background(), url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, version int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_version`).Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	want, _ := stores[0].SchemaVersion(t.Context())
	if rows != 1 || version != want || want == 0 {
		t.Errorf("schema_version has %d rows, version %d; want one row at %d", rows, version, want)
	}
	// Every replica works on the same schema.
	if err := stores[1].CreateScreen(t.Context(), server.Screen{ID: "a", Name: "Lobby", SecretHash: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[2].Screen(t.Context(), "a"); err != nil {
		t.Errorf("a screen made on one replica, read on another: %v", err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	url := pgtest.DB(t)
	open(t, url).Close()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `UPDATE schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(t.Context(), url)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a database of a newer placard: %v, want an error saying so", err)
	}
}

func TestErrorsNeverShowThePassword(t *testing.T) {
	for _, url := range []string{
		"postgres://placard:s3cr3t-pw@127.0.0.1:1/placard?connect_timeout=2",
		"postgres://placard:s3cr3t-pw@127.0.0.1:1/placard?sslmode=nonsense",
	} {
		_, err := postgres.Open(t.Context(), url)
		if err == nil {
			t.Fatalf("opening %s worked", postgres.Redact(url))
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// A database the previous release made (its schema, its NULL for a time
// never set) opens, upgraded, with everything in it.
func TestUpgradeFromTheLastSchema(t *testing.T) {
	storetest.RunUpgrade(t, func(t *testing.T, old storetest.Before) server.Store {
		ctx := t.Context()
		url := pgtest.DB(t)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		settings := old.Settings
		webhooks, _ := json.Marshal(old.Light.Webhooks)
		sc, a, tok, l, e := old.Screen, old.Account, old.AdminToken, old.Light, old.Audit
		stmts := append(postgres.Legacy(), `CREATE TABLE schema_version (version INTEGER NOT NULL)`,
			fmt.Sprintf(`INSERT INTO schema_version (version) VALUES (%d)`, len(postgres.Legacy())))
		for _, q := range stmts {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("making the old schema: %v", err)
			}
		}
		for _, w := range []struct {
			q    string
			args []any
		}{
			{`INSERT INTO screens (id, name, secret_hash, enrolled, pairing_number, account_id, settings, created_at, last_seen) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
				[]any{sc.ID, sc.Name, sc.SecretHash, sc.Enrolled, sc.PairingNumber, sc.AccountID, string(settings), sc.CreatedAt, sc.LastSeen}},
			{`INSERT INTO accounts (id, username, display_name, tenant_id, signed_in_at) VALUES ($1,$2,$3,$4,$5)`,
				[]any{a.ID, a.Username, a.DisplayName, a.TenantID, a.SignedInAt}},
			{`INSERT INTO token_caches (account_id, blob) VALUES ($1,$2)`, []any{a.ID, old.TokenCache}},
			{`INSERT INTO admin_tokens (id, name, hash, created_at) VALUES ($1,$2,$3,$4)`, []any{tok.ID, tok.Name, tok.Hash, tok.CreatedAt}},
			{`INSERT INTO lights (id, name, account, hash, mqtt, webhooks, webhook_secret, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
				[]any{l.ID, l.Name, l.Account, l.Hash, l.MQTT, string(webhooks), l.WebhookSecret, l.CreatedAt}},
			{`INSERT INTO audit (time, kind, screen_id, screen_name, account, outcome, detail) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				[]any{e.Time, e.Kind, e.ScreenID, e.ScreenName, e.Account, e.Outcome, e.Detail}},
		} {
			if _, err := conn.Exec(ctx, w.q, w.args...); err != nil {
				t.Fatalf("writing the old data: %v", err)
			}
		}
		return open(t, url)
	})
}

// A database that cannot write (here a read-only one, as a standby or a
// full disk makes it) makes the store not ready until it writes again:
// /readyz follows Ping, so a load balancer stops sending screens to a
// replica that would lose what they change.
func TestADatabaseThatCannotWriteMakesTheStoreNotReadyUntilItWritesAgain(t *testing.T) {
	ctx := context.Background()
	url := pgtest.DB(t)
	s := open(t, url)
	defer s.Close()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// A database setting reaches new sessions only: the store's pooled
	// connections are ended, and it opens new ones.
	readOnly := func(on bool) {
		t.Helper()
		set := `ALTER DATABASE ` + pgx.Identifier{dbName(t, url)}.Sanitize() + ` SET default_transaction_read_only = ` + map[bool]string{true: "on", false: "off"}[on]
		if _, err := admin.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
			t.Fatal(err)
		}
	}
	token := server.AdminToken{ID: "t", Name: "ops", Hash: []byte{1}}
	readOnly(true)
	// The first write may meet a connection the server ended: it is
	// tried again on a new one, which is read-only.
	var refused error
	for i := 0; i < 5; i++ {
		refused = s.CreateAdminToken(ctx, token)
		if refused != nil && strings.Contains(refused.Error(), "read-only") {
			break
		}
	}
	if refused == nil || !strings.Contains(refused.Error(), "read-only") {
		t.Fatalf("a write to a read-only database: %v", refused)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Fatalf("Ping after a refused write: %v, want it to say the database cannot write", err)
	}
	readOnly(false)
	var ping error
	for i := 0; i < 5; i++ {
		if ping = s.Ping(ctx); ping == nil {
			break
		}
	}
	if ping != nil {
		t.Fatalf("Ping once the database writes again: %v", ping)
	}
	if err := s.CreateAdminToken(ctx, token); err != nil {
		t.Fatalf("the refused write, again: %v", err)
	}
}

// dbName is the database a test's URL names.
func dbName(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}
