// Package postgres stores the edge server's state in PostgreSQL, through
// pgx, so that several edge servers (replicas) share one state: screens,
// accounts, sealed token caches, admin tokens and the audit trail.
//
// The schema is brought up to date when a store opens, under a
// transaction-level advisory lock, so that replicas started at once apply
// each migration exactly once.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/placard/placard/server"
)

// Store is a server.Store in a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	url  string
}

var _ server.Store = (*Store)(nil)

// migrationLock is the key of the advisory lock taken around migrations:
// any constant unlikely to clash with another application's locks in the
// same database ("placard" in ASCII).
const migrationLock int64 = 0x706c6163617264

// migrations are applied in order; schema_version holds how many were.
// Never edit one that has shipped: add another.
var migrations = []string{
	`CREATE TABLE screens (
		id             TEXT PRIMARY KEY,
		name           TEXT NOT NULL,
		secret_hash    BYTEA NOT NULL,
		enrolled       BOOLEAN NOT NULL DEFAULT false,
		pairing_number TEXT NOT NULL DEFAULT '',
		account_id     TEXT NOT NULL DEFAULT '',
		settings       JSONB NOT NULL DEFAULT '{}',
		created_at     TIMESTAMPTZ,
		last_seen      TIMESTAMPTZ
	);
	CREATE INDEX screens_account ON screens(account_id);
	CREATE TABLE accounts (
		id           TEXT PRIMARY KEY,
		username     TEXT NOT NULL,
		display_name TEXT NOT NULL,
		tenant_id    TEXT NOT NULL,
		signed_in_at TIMESTAMPTZ
	);
	CREATE TABLE token_caches (
		account_id TEXT PRIMARY KEY,
		blob       BYTEA NOT NULL,
		version    BIGINT NOT NULL DEFAULT 1,
		updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
	);
	CREATE TABLE audit (
		id          BIGSERIAL PRIMARY KEY,
		time        TIMESTAMPTZ,
		kind        TEXT NOT NULL,
		screen_id   TEXT NOT NULL,
		screen_name TEXT NOT NULL,
		account     TEXT NOT NULL,
		outcome     TEXT NOT NULL,
		detail      TEXT NOT NULL
	);
	CREATE TABLE admin_tokens (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		hash       BYTEA NOT NULL,
		created_at TIMESTAMPTZ
	);`,
	`CREATE TABLE lights (
		id             TEXT PRIMARY KEY,
		name           TEXT NOT NULL UNIQUE,
		account        TEXT NOT NULL,
		hash           BYTEA NOT NULL,
		mqtt           BOOLEAN NOT NULL DEFAULT false,
		webhooks       JSONB NOT NULL DEFAULT '[]',
		webhook_secret BYTEA NOT NULL,
		created_at     TIMESTAMPTZ
	);`,
	// Replicas: an account's lease (one owner polls Graph and refreshes
	// its tokens), its data as the owner read it, and the device codes
	// asked for by every replica in the last minutes.
	`CREATE TABLE leases (
		account_id TEXT PRIMARY KEY,
		owner      TEXT NOT NULL,
		expires_at TIMESTAMPTZ NOT NULL,
		epoch      BIGINT NOT NULL DEFAULT 1
	);
	CREATE TABLE account_data (
		account_id TEXT PRIMARY KEY,
		version    BIGINT NOT NULL,
		data       BYTEA NOT NULL,
		updated_at TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE code_requests (at TIMESTAMPTZ NOT NULL);
	CREATE INDEX code_requests_at ON code_requests(at);`,
}

// Open connects to the database at url (postgres://user:pass@host/db) and
// brings its schema up to date.
func Open(ctx context.Context, dbURL string) (*Store, error) {
	where := Redact(dbURL)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: the database URL %s is not valid: %w (use postgres://user:password@host:5432/database)", where, redactErr(err, dbURL))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: opening %s: %w", where, redactErr(err, dbURL))
	}
	s := &Store{pool: pool, url: dbURL}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: opening %s: %w", where, redactErr(err, dbURL))
	}
	return s, nil
}

// Redact returns the URL with its password replaced, for messages.
func Redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

// redactErr keeps the password of dbURL out of an error's text.
func redactErr(err error, dbURL string) error {
	u, perr := url.Parse(dbURL)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// migrate applies the migrations not yet applied, in one transaction that
// holds an advisory lock: a second replica starting at the same moment
// waits for the first, then finds the schema up to date.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrating the schema: taking the migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	var version int
	err = tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("migrating the schema: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("migrating the schema: reading its version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("the database has schema version %d, newer than this placard knows (%d): use a newer placard", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.Exec(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(migrations)); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	return nil
}

// SchemaVersion is the number of migrations applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: SchemaVersion: %w", err)
	}
	return v, nil
}

// Pool is the store's connection pool, for the packages that share its
// database (leases, notifications).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// URL is the database's URL, password included: for the connections a
// replica keeps outside the pool (LISTEN, leases). Never log it; use
// Redact.
func (s *Store) URL() string { return s.url }

// Close closes every connection.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

const screenColumns = `id, name, secret_hash, enrolled, pairing_number, account_id, settings, created_at, last_seen`

func scanScreen(r pgx.Row) (server.Screen, error) {
	var (
		sc                server.Screen
		settings          []byte
		created, lastSeen *time.Time
	)
	err := r.Scan(&sc.ID, &sc.Name, &sc.SecretHash, &sc.Enrolled, &sc.PairingNumber, &sc.AccountID, &settings, &created, &lastSeen)
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(settings, &sc.Settings); err != nil {
		return sc, fmt.Errorf("screen %s has unreadable settings: %w", sc.ID, err)
	}
	sc.CreatedAt, sc.LastSeen = fromDB(created), fromDB(lastSeen)
	return sc, nil
}

// CreateScreen stores a new screen; an existing id is a conflict.
func (s *Store) CreateScreen(ctx context.Context, sc server.Screen) error {
	settings, err := json.Marshal(sc.Settings)
	if err != nil {
		return fmt.Errorf("postgres: CreateScreen(%s): %w", sc.ID, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO screens (`+screenColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		sc.ID, sc.Name, nonNil(sc.SecretHash), sc.Enrolled, sc.PairingNumber, sc.AccountID, string(settings),
		toDB(sc.CreatedAt), toDB(sc.LastSeen))
	if isUnique(err) {
		return server.Errorf(server.ECONFLICT, "screen %s already exists", sc.ID)
	}
	if err != nil {
		return fmt.Errorf("postgres: CreateScreen(%s): %w", sc.ID, err)
	}
	return nil
}

// Screen returns one screen, or server.ErrNotFound.
func (s *Store) Screen(ctx context.Context, id string) (server.Screen, error) {
	sc, err := scanScreen(s.pool.QueryRow(ctx, `SELECT `+screenColumns+` FROM screens WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sc, server.ErrNotFound
	}
	if err != nil {
		return sc, fmt.Errorf("postgres: Screen(%s): %w", id, err)
	}
	return sc, nil
}

// Screens returns every screen, oldest first.
func (s *Store) Screens(ctx context.Context) ([]server.Screen, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+screenColumns+` FROM screens ORDER BY created_at NULLS FIRST, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: Screens: %w", err)
	}
	defer rows.Close()
	var out []server.Screen
	for rows.Next() {
		sc, err := scanScreen(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: Screens: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: Screens: %w", err)
	}
	return out, nil
}

// UpdateScreen reads the screen (locking its row), applies fn and writes
// the result in one transaction. The id cannot change.
func (s *Store) UpdateScreen(ctx context.Context, id string, fn func(*server.Screen) error) (server.Screen, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return server.Screen{}, fmt.Errorf("postgres: UpdateScreen(%s): %w", id, err)
	}
	defer tx.Rollback(ctx)
	sc, err := scanScreen(tx.QueryRow(ctx, `SELECT `+screenColumns+` FROM screens WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sc, server.ErrNotFound
	}
	if err != nil {
		return sc, fmt.Errorf("postgres: UpdateScreen(%s): %w", id, err)
	}
	if err := fn(&sc); err != nil {
		return sc, err
	}
	sc.ID = id
	settings, err := json.Marshal(sc.Settings)
	if err != nil {
		return sc, fmt.Errorf("postgres: UpdateScreen(%s): %w", id, err)
	}
	_, err = tx.Exec(ctx, `UPDATE screens SET name=$1, secret_hash=$2, enrolled=$3, pairing_number=$4, account_id=$5, settings=$6, created_at=$7, last_seen=$8 WHERE id=$9`,
		sc.Name, nonNil(sc.SecretHash), sc.Enrolled, sc.PairingNumber, sc.AccountID, string(settings), toDB(sc.CreatedAt), toDB(sc.LastSeen), id)
	if err != nil {
		return sc, fmt.Errorf("postgres: UpdateScreen(%s): %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return sc, fmt.Errorf("postgres: UpdateScreen(%s): %w", id, err)
	}
	return sc, nil
}

// DeleteScreen removes a screen; a missing one is server.ErrNotFound.
func (s *Store) DeleteScreen(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteScreen", `DELETE FROM screens WHERE id = $1`, id)
}

// PutAccount creates or replaces an account.
func (s *Store) PutAccount(ctx context.Context, a server.Account) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts (id, username, display_name, tenant_id, signed_in_at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (id) DO UPDATE SET username=excluded.username, display_name=excluded.display_name, tenant_id=excluded.tenant_id, signed_in_at=excluded.signed_in_at`,
		a.ID, a.Username, a.DisplayName, a.TenantID, toDB(a.SignedInAt))
	if err != nil {
		return fmt.Errorf("postgres: PutAccount(%s): %w", a.ID, err)
	}
	return nil
}

// Account returns one account, or server.ErrNotFound.
func (s *Store) Account(ctx context.Context, id string) (server.Account, error) {
	var (
		a  server.Account
		at *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT id, username, display_name, tenant_id, signed_in_at FROM accounts WHERE id = $1`, id).
		Scan(&a.ID, &a.Username, &a.DisplayName, &a.TenantID, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, server.ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("postgres: Account(%s): %w", id, err)
	}
	a.SignedInAt = fromDB(at)
	return a, nil
}

// DeleteAccount removes an account; a missing one is server.ErrNotFound.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteAccount", `DELETE FROM accounts WHERE id = $1`, id)
}

// A deleted token cache stays as a tombstone: an empty blob whose version
// moves on, so that versions never repeat for an account. Every read treats
// it as absent.

// TokenCache returns an account's cache blob, or server.ErrNotFound.
func (s *Store) TokenCache(ctx context.Context, accountID string) ([]byte, error) {
	var blob []byte
	err := s.pool.QueryRow(ctx, `SELECT blob FROM token_caches WHERE account_id = $1 AND octet_length(blob) > 0`, accountID).Scan(&blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, server.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: TokenCache(%s): %w", accountID, err)
	}
	return blob, nil
}

// PutTokenCache creates or replaces an account's cache blob.
func (s *Store) PutTokenCache(ctx context.Context, accountID string, blob []byte) error {
	if len(blob) == 0 {
		return server.Errorf(server.EINVALID, "the token cache of %s is empty", accountID)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO token_caches (account_id, blob) VALUES ($1,$2)
		ON CONFLICT (account_id) DO UPDATE SET blob=excluded.blob, version=token_caches.version+1, updated_at=now()`,
		accountID, blob)
	if err != nil {
		return fmt.Errorf("postgres: PutTokenCache(%s): %w", accountID, err)
	}
	return nil
}

// TokenCacheVersion returns an account's cache blob and its version, or
// server.ErrNotFound.
func (s *Store) TokenCacheVersion(ctx context.Context, accountID string) ([]byte, int64, error) {
	var (
		blob    []byte
		version int64
	)
	err := s.pool.QueryRow(ctx, `SELECT blob, version FROM token_caches WHERE account_id = $1 AND octet_length(blob) > 0`, accountID).Scan(&blob, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, server.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: TokenCacheVersion(%s): %w", accountID, err)
	}
	return blob, version, nil
}

// PutTokenCacheIf writes the blob while the stored version is version (0:
// while none is stored, or only a tombstone), and returns the new version.
func (s *Store) PutTokenCacheIf(ctx context.Context, accountID string, blob []byte, version int64) (int64, error) {
	if len(blob) == 0 {
		return 0, server.Errorf(server.EINVALID, "the token cache of %s is empty", accountID)
	}
	var next int64
	var err error
	if version == 0 {
		err = s.pool.QueryRow(ctx, `INSERT INTO token_caches (account_id, blob, version) VALUES ($1,$2,1)
			ON CONFLICT (account_id) DO UPDATE SET blob=excluded.blob, version=token_caches.version+1, updated_at=now()
			WHERE octet_length(token_caches.blob) = 0
			RETURNING version`, accountID, blob).Scan(&next)
	} else {
		err = s.pool.QueryRow(ctx, `UPDATE token_caches SET blob=$2, version=version+1, updated_at=now()
			WHERE account_id=$1 AND version=$3 AND octet_length(blob) > 0 RETURNING version`, accountID, blob, version).Scan(&next)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, server.Errorf(server.ECONFLICT, "the token cache of %s was written by another since version %d was read", accountID, version)
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: PutTokenCacheIf(%s): %w", accountID, err)
	}
	return next, nil
}

// DeleteTokenCache leaves a tombstone in place of an account's cache blob;
// a missing one is server.ErrNotFound.
func (s *Store) DeleteTokenCache(ctx context.Context, accountID string) error {
	return s.deleteOne(ctx, "DeleteTokenCache", `UPDATE token_caches SET blob='', version=version+1, updated_at=now()
		WHERE account_id = $1 AND octet_length(blob) > 0`, accountID)
}

// CreateAdminToken stores a new admin token; an existing id is a conflict.
func (s *Store) CreateAdminToken(ctx context.Context, t server.AdminToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_tokens (id, name, hash, created_at) VALUES ($1,$2,$3,$4)`,
		t.ID, t.Name, nonNil(t.Hash), toDB(t.CreatedAt))
	if isUnique(err) {
		return server.Errorf(server.ECONFLICT, "admin token %s already exists", t.ID)
	}
	if err != nil {
		return fmt.Errorf("postgres: CreateAdminToken(%s): %w", t.ID, err)
	}
	return nil
}

// AdminToken returns one admin token, or server.ErrNotFound.
func (s *Store) AdminToken(ctx context.Context, id string) (server.AdminToken, error) {
	var (
		t  server.AdminToken
		at *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT id, name, hash, created_at FROM admin_tokens WHERE id = $1`, id).
		Scan(&t.ID, &t.Name, &t.Hash, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, server.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("postgres: AdminToken(%s): %w", id, err)
	}
	t.CreatedAt = fromDB(at)
	return t, nil
}

// AdminTokens returns every admin token, oldest first.
func (s *Store) AdminTokens(ctx context.Context) ([]server.AdminToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, hash, created_at FROM admin_tokens ORDER BY created_at NULLS FIRST, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: AdminTokens: %w", err)
	}
	defer rows.Close()
	var out []server.AdminToken
	for rows.Next() {
		var (
			t  server.AdminToken
			at *time.Time
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.Hash, &at); err != nil {
			return nil, fmt.Errorf("postgres: AdminTokens: %w", err)
		}
		t.CreatedAt = fromDB(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: AdminTokens: %w", err)
	}
	return out, nil
}

// DeleteAdminToken removes an admin token; a missing one is
// server.ErrNotFound.
func (s *Store) DeleteAdminToken(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteAdminToken", `DELETE FROM admin_tokens WHERE id = $1`, id)
}

// AppendAudit adds an event to the audit trail.
func (s *Store) AppendAudit(ctx context.Context, e server.AuditEvent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (time, kind, screen_id, screen_name, account, outcome, detail) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		toDB(e.Time), e.Kind, e.ScreenID, e.ScreenName, e.Account, e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("postgres: AppendAudit(%s): %w", e.Kind, err)
	}
	return nil
}

// Audit returns the most recent events, newest first.
func (s *Store) Audit(ctx context.Context, limit int) ([]server.AuditEvent, error) {
	if limit <= 0 {
		return nil, server.Errorf(server.EINVALID, "audit limit must be positive, not %d", limit)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, time, kind, screen_id, screen_name, account, outcome, detail FROM audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: Audit: %w", err)
	}
	defer rows.Close()
	var out []server.AuditEvent
	for rows.Next() {
		var (
			e  server.AuditEvent
			at *time.Time
		)
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ScreenID, &e.ScreenName, &e.Account, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: Audit: %w", err)
		}
		e.Time = fromDB(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: Audit: %w", err)
	}
	return out, nil
}

const lightColumns = `id, name, account, hash, mqtt, webhooks, webhook_secret, created_at`

func scanLight(r pgx.Row) (server.Light, error) {
	var (
		l        server.Light
		webhooks []byte
		at       *time.Time
	)
	if err := r.Scan(&l.ID, &l.Name, &l.Account, &l.Hash, &l.MQTT, &webhooks, &l.WebhookSecret, &at); err != nil {
		return l, err
	}
	if err := json.Unmarshal(webhooks, &l.Webhooks); err != nil {
		return l, fmt.Errorf("light %s has unreadable webhooks: %w", l.ID, err)
	}
	l.CreatedAt = fromDB(at)
	return l, nil
}

// CreateLight stores a new light key; an existing id or name is a
// conflict.
func (s *Store) CreateLight(ctx context.Context, l server.Light) error {
	webhooks := []byte("[]")
	if l.Webhooks != nil {
		var err error
		if webhooks, err = json.Marshal(l.Webhooks); err != nil {
			return fmt.Errorf("postgres: CreateLight(%s): %w", l.ID, err)
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO lights (`+lightColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		l.ID, l.Name, l.Account, nonNil(l.Hash), l.MQTT, string(webhooks), nonNil(l.WebhookSecret), toDB(l.CreatedAt))
	if isUnique(err) {
		return server.Errorf(server.ECONFLICT, "a light key with the id %s or the name %q already exists", l.ID, l.Name)
	}
	if err != nil {
		return fmt.Errorf("postgres: CreateLight(%s): %w", l.ID, err)
	}
	return nil
}

// Light returns one light key, or server.ErrNotFound.
func (s *Store) Light(ctx context.Context, id string) (server.Light, error) {
	l, err := scanLight(s.pool.QueryRow(ctx, `SELECT `+lightColumns+` FROM lights WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return l, server.ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("postgres: Light(%s): %w", id, err)
	}
	return l, nil
}

// Lights returns every light key, oldest first.
func (s *Store) Lights(ctx context.Context) ([]server.Light, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+lightColumns+` FROM lights ORDER BY created_at NULLS FIRST, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: Lights: %w", err)
	}
	defer rows.Close()
	var out []server.Light
	for rows.Next() {
		l, err := scanLight(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: Lights: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: Lights: %w", err)
	}
	return out, nil
}

// DeleteLight removes a light key; a missing one is server.ErrNotFound.
func (s *Store) DeleteLight(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteLight", `DELETE FROM lights WHERE id = $1`, id)
}

func (s *Store) deleteOne(ctx context.Context, op, query, id string) error {
	tag, err := s.pool.Exec(ctx, query, id)
	if err != nil {
		return fmt.Errorf("postgres: %s(%s): %w", op, id, err)
	}
	if tag.RowsAffected() == 0 {
		return server.ErrNotFound
	}
	return nil
}

// toDB stores the zero time as NULL: "never", not the year 1.
func toDB(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromDB(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nonNil keeps a NOT NULL BYTEA column from receiving NULL for an empty
// slice.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// isUnique reports a uniqueness violation.
func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
