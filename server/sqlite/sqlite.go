// Package sqlite stores the edge server's state in one SQLite file, through
// the pure-Go modernc.org/sqlite driver, so that CGO_ENABLED=0 and arm64
// builds work.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/placard/placard/server"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is a server.Store in a SQLite file.
type Store struct {
	db   *sql.DB
	w    *writer // every write goes through it
	path string
}

var _ server.Store = (*Store)(nil)

// migrations are applied in order; user_version counts those applied. Never
// edit one that has shipped: add another.
var migrations = []string{
	`CREATE TABLE screens (
		id             TEXT PRIMARY KEY,
		name           TEXT NOT NULL,
		secret_hash    BLOB NOT NULL,
		enrolled       INTEGER NOT NULL DEFAULT 0,
		pairing_number TEXT NOT NULL DEFAULT '',
		account_id     TEXT NOT NULL DEFAULT '',
		settings       TEXT NOT NULL DEFAULT '{}',
		created_at     INTEGER NOT NULL,
		last_seen      INTEGER NOT NULL
	);
	CREATE INDEX screens_account ON screens(account_id);
	CREATE TABLE accounts (
		id           TEXT PRIMARY KEY,
		username     TEXT NOT NULL,
		display_name TEXT NOT NULL,
		tenant_id    TEXT NOT NULL,
		signed_in_at INTEGER NOT NULL
	);
	CREATE TABLE token_caches (
		account_id TEXT PRIMARY KEY,
		blob       BLOB NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE TABLE audit (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		time        INTEGER NOT NULL,
		kind        TEXT NOT NULL,
		screen_id   TEXT NOT NULL,
		screen_name TEXT NOT NULL,
		account     TEXT NOT NULL,
		outcome     TEXT NOT NULL,
		detail      TEXT NOT NULL
	);`,
	`CREATE TABLE admin_tokens (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		hash       BLOB NOT NULL,
		created_at INTEGER NOT NULL
	);`,
	`CREATE TABLE lights (
		id             TEXT PRIMARY KEY,
		name           TEXT NOT NULL UNIQUE,
		account        TEXT NOT NULL,
		hash           BLOB NOT NULL,
		mqtt           INTEGER NOT NULL DEFAULT 0,
		webhooks       TEXT NOT NULL DEFAULT '[]',
		webhook_secret BLOB NOT NULL,
		created_at     INTEGER NOT NULL
	);`,
	`ALTER TABLE token_caches ADD COLUMN version INTEGER NOT NULL DEFAULT 1;`,
}

// Open opens (creating when missing) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	// WAL with synchronous=FULL: a write is on disk when it returns, so a
	// kill -9 loses nothing already acknowledged.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	// One writer at a time is SQLite's rule; one connection keeps
	// transactions from waiting on each other's locks.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	s.w = newWriter(db)
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("the database has schema version %d, newer than this placard knows (%d): use a newer placard", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database, flushing the write-ahead log.
func (s *Store) Close() error {
	s.w.close()
	if _, err := s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		s.db.Close()
		return fmt.Errorf("sqlite: checkpoint on close: %w", err)
	}
	return s.db.Close()
}

// exec runs one statement that writes, through the writer.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

const screenColumns = `id, name, secret_hash, enrolled, pairing_number, account_id, settings, created_at, last_seen`

type scanner interface{ Scan(...any) error }

func scanScreen(r scanner) (server.Screen, error) {
	var (
		sc                server.Screen
		settings          string
		created, lastSeen int64
	)
	err := r.Scan(&sc.ID, &sc.Name, &sc.SecretHash, &sc.Enrolled, &sc.PairingNumber, &sc.AccountID, &settings, &created, &lastSeen)
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal([]byte(settings), &sc.Settings); err != nil {
		return sc, fmt.Errorf("screen %s has unreadable settings: %w", sc.ID, err)
	}
	sc.CreatedAt = fromMillis(created)
	sc.LastSeen = fromMillis(lastSeen)
	return sc, nil
}

// CreateScreen stores a new screen; an existing id is a conflict.
func (s *Store) CreateScreen(ctx context.Context, sc server.Screen) error {
	settings, err := json.Marshal(sc.Settings)
	if err != nil {
		return fmt.Errorf("sqlite: CreateScreen(%s): %w", sc.ID, err)
	}
	_, err = s.exec(ctx, `INSERT INTO screens (`+screenColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		sc.ID, sc.Name, sc.SecretHash, sc.Enrolled, sc.PairingNumber, sc.AccountID, string(settings),
		millis(sc.CreatedAt), millis(sc.LastSeen))
	if isConstraint(err) {
		return server.Errorf(server.ECONFLICT, "screen %s already exists", sc.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: CreateScreen(%s): %w", sc.ID, err)
	}
	return nil
}

// Screen returns one screen, or server.ErrNotFound.
func (s *Store) Screen(ctx context.Context, id string) (server.Screen, error) {
	sc, err := scanScreen(s.db.QueryRowContext(ctx, `SELECT `+screenColumns+` FROM screens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, server.ErrNotFound
	}
	if err != nil {
		return sc, fmt.Errorf("sqlite: Screen(%s): %w", id, err)
	}
	return sc, nil
}

// Screens returns every screen, oldest first.
func (s *Store) Screens(ctx context.Context) ([]server.Screen, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+screenColumns+` FROM screens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: Screens: %w", err)
	}
	defer rows.Close()
	var out []server.Screen
	for rows.Next() {
		sc, err := scanScreen(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: Screens: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: Screens: %w", err)
	}
	return out, nil
}

// UpdateScreen reads the screen, applies fn and writes the result in one
// transaction. The id cannot change.
func (s *Store) UpdateScreen(ctx context.Context, id string, fn func(*server.Screen) error) (server.Screen, error) {
	var sc server.Screen
	var failed error // fn's failure, returned as it is
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		failed = s.updateScreen(ctx, tx, id, &sc, fn)
		return failed
	})
	if err != nil && failed == nil {
		err = fmt.Errorf("sqlite: UpdateScreen(%s): %w", id, err)
	}
	return sc, err
}

func (s *Store) updateScreen(ctx context.Context, tx *sql.Tx, id string, sc *server.Screen, fn func(*server.Screen) error) error {
	var err error
	*sc, err = scanScreen(tx.QueryRowContext(ctx, `SELECT `+screenColumns+` FROM screens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return server.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlite: UpdateScreen(%s): %w", id, err)
	}
	if err := fn(sc); err != nil {
		return err
	}
	sc.ID = id
	settings, err := json.Marshal(sc.Settings)
	if err != nil {
		return fmt.Errorf("sqlite: UpdateScreen(%s): %w", id, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE screens SET name=?, secret_hash=?, enrolled=?, pairing_number=?, account_id=?, settings=?, created_at=?, last_seen=? WHERE id=?`,
		sc.Name, sc.SecretHash, sc.Enrolled, sc.PairingNumber, sc.AccountID, string(settings), millis(sc.CreatedAt), millis(sc.LastSeen), id)
	if err != nil {
		return fmt.Errorf("sqlite: UpdateScreen(%s): %w", id, err)
	}
	return nil
}

// DeleteScreen removes a screen; a missing one is server.ErrNotFound.
func (s *Store) DeleteScreen(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteScreen", `DELETE FROM screens WHERE id = ?`, id)
}

// PutAccount creates or replaces an account.
func (s *Store) PutAccount(ctx context.Context, a server.Account) error {
	_, err := s.exec(ctx, `INSERT INTO accounts (id, username, display_name, tenant_id, signed_in_at) VALUES (?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET username=excluded.username, display_name=excluded.display_name, tenant_id=excluded.tenant_id, signed_in_at=excluded.signed_in_at`,
		a.ID, a.Username, a.DisplayName, a.TenantID, millis(a.SignedInAt))
	if err != nil {
		return fmt.Errorf("sqlite: PutAccount(%s): %w", a.ID, err)
	}
	return nil
}

// Account returns one account, or server.ErrNotFound.
func (s *Store) Account(ctx context.Context, id string) (server.Account, error) {
	var (
		a  server.Account
		at int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, username, display_name, tenant_id, signed_in_at FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Username, &a.DisplayName, &a.TenantID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return a, server.ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("sqlite: Account(%s): %w", id, err)
	}
	a.SignedInAt = fromMillis(at)
	return a, nil
}

// DeleteAccount removes an account; a missing one is server.ErrNotFound.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteAccount", `DELETE FROM accounts WHERE id = ?`, id)
}

// A deleted token cache stays as a tombstone: an empty blob whose version
// moves on, so that versions never repeat for an account. Every read treats
// it as absent.

// TokenCache returns an account's cache blob, or server.ErrNotFound.
func (s *Store) TokenCache(ctx context.Context, accountID string) ([]byte, error) {
	var blob []byte
	err := s.db.QueryRowContext(ctx, `SELECT blob FROM token_caches WHERE account_id = ? AND length(blob) > 0`, accountID).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, server.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: TokenCache(%s): %w", accountID, err)
	}
	return blob, nil
}

// PutTokenCache creates or replaces an account's cache blob.
func (s *Store) PutTokenCache(ctx context.Context, accountID string, blob []byte) error {
	if len(blob) == 0 {
		return server.Errorf(server.EINVALID, "the token cache of %s is empty", accountID)
	}
	_, err := s.exec(ctx, `INSERT INTO token_caches (account_id, blob, updated_at) VALUES (?,?,?)
		ON CONFLICT(account_id) DO UPDATE SET blob=excluded.blob, version=token_caches.version+1, updated_at=excluded.updated_at`,
		accountID, blob, millis(time.Now()))
	if err != nil {
		return fmt.Errorf("sqlite: PutTokenCache(%s): %w", accountID, err)
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
	err := s.db.QueryRowContext(ctx, `SELECT blob, version FROM token_caches WHERE account_id = ? AND length(blob) > 0`, accountID).Scan(&blob, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, server.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: TokenCacheVersion(%s): %w", accountID, err)
	}
	return blob, version, nil
}

// PutTokenCacheIf writes the blob while the stored version is version (0:
// while none is stored, or only a tombstone), and returns the new version.
func (s *Store) PutTokenCacheIf(ctx context.Context, accountID string, blob []byte, version int64) (int64, error) {
	if len(blob) == 0 {
		return 0, server.Errorf(server.EINVALID, "the token cache of %s is empty", accountID)
	}
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if version == 0 {
			return tx.QueryRowContext(ctx, `INSERT INTO token_caches (account_id, blob, updated_at, version) VALUES (?,?,?,1)
				ON CONFLICT(account_id) DO UPDATE SET blob=excluded.blob, version=token_caches.version+1, updated_at=excluded.updated_at
				WHERE length(token_caches.blob) = 0
				RETURNING version`, accountID, blob, millis(time.Now())).Scan(&n)
		}
		return tx.QueryRowContext(ctx, `UPDATE token_caches SET blob=?, version=version+1, updated_at=?
			WHERE account_id=? AND version=? AND length(blob) > 0 RETURNING version`,
			blob, millis(time.Now()), accountID, version).Scan(&n)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, server.Errorf(server.ECONFLICT, "the token cache of %s was written by another since version %d was read", accountID, version)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: PutTokenCacheIf(%s): %w", accountID, err)
	}
	return n, nil
}

// DeleteTokenCache leaves a tombstone in place of an account's cache blob;
// a missing one is server.ErrNotFound.
func (s *Store) DeleteTokenCache(ctx context.Context, accountID string) error {
	res, err := s.exec(ctx, `UPDATE token_caches SET blob=X'', version=version+1, updated_at=?
		WHERE account_id = ? AND length(blob) > 0`, millis(time.Now()), accountID)
	if err != nil {
		return fmt.Errorf("sqlite: DeleteTokenCache(%s): %w", accountID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: DeleteTokenCache(%s): %w", accountID, err)
	} else if n == 0 {
		return server.ErrNotFound
	}
	return nil
}

// CreateAdminToken stores a new admin token; an existing id is a conflict.
func (s *Store) CreateAdminToken(ctx context.Context, t server.AdminToken) error {
	_, err := s.exec(ctx, `INSERT INTO admin_tokens (id, name, hash, created_at) VALUES (?,?,?,?)`,
		t.ID, t.Name, t.Hash, millis(t.CreatedAt))
	if isConstraint(err) {
		return server.Errorf(server.ECONFLICT, "admin token %s already exists", t.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: CreateAdminToken(%s): %w", t.ID, err)
	}
	return nil
}

// AdminToken returns one admin token, or server.ErrNotFound.
func (s *Store) AdminToken(ctx context.Context, id string) (server.AdminToken, error) {
	var (
		t  server.AdminToken
		at int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, name, hash, created_at FROM admin_tokens WHERE id = ?`, id).
		Scan(&t.ID, &t.Name, &t.Hash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return t, server.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("sqlite: AdminToken(%s): %w", id, err)
	}
	t.CreatedAt = fromMillis(at)
	return t, nil
}

// AdminTokens returns every admin token, oldest first.
func (s *Store) AdminTokens(ctx context.Context) ([]server.AdminToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, hash, created_at FROM admin_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: AdminTokens: %w", err)
	}
	defer rows.Close()
	var out []server.AdminToken
	for rows.Next() {
		var (
			t  server.AdminToken
			at int64
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.Hash, &at); err != nil {
			return nil, fmt.Errorf("sqlite: AdminTokens: %w", err)
		}
		t.CreatedAt = fromMillis(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: AdminTokens: %w", err)
	}
	return out, nil
}

// DeleteAdminToken removes an admin token; a missing one is
// server.ErrNotFound.
func (s *Store) DeleteAdminToken(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteAdminToken", `DELETE FROM admin_tokens WHERE id = ?`, id)
}

const lightColumns = `id, name, account, hash, mqtt, webhooks, webhook_secret, created_at`

func scanLight(r scanner) (server.Light, error) {
	var (
		l        server.Light
		webhooks string
		at       int64
	)
	if err := r.Scan(&l.ID, &l.Name, &l.Account, &l.Hash, &l.MQTT, &webhooks, &l.WebhookSecret, &at); err != nil {
		return l, err
	}
	if err := json.Unmarshal([]byte(webhooks), &l.Webhooks); err != nil {
		return l, fmt.Errorf("light %s has unreadable webhooks: %w", l.ID, err)
	}
	l.CreatedAt = fromMillis(at)
	return l, nil
}

// CreateLight stores a new light key; an existing id or name is a
// conflict.
func (s *Store) CreateLight(ctx context.Context, l server.Light) error {
	webhooks, err := json.Marshal(l.Webhooks)
	if err != nil {
		return fmt.Errorf("sqlite: CreateLight(%s): %w", l.ID, err)
	}
	if l.Webhooks == nil {
		webhooks = []byte("[]")
	}
	if l.WebhookSecret == nil {
		l.WebhookSecret = []byte{}
	}
	_, err = s.exec(ctx, `INSERT INTO lights (`+lightColumns+`) VALUES (?,?,?,?,?,?,?,?)`,
		l.ID, l.Name, l.Account, l.Hash, l.MQTT, string(webhooks), l.WebhookSecret, millis(l.CreatedAt))
	if isConstraint(err) {
		return server.Errorf(server.ECONFLICT, "a light key with the id %s or the name %q already exists", l.ID, l.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: CreateLight(%s): %w", l.ID, err)
	}
	return nil
}

// Light returns one light key, or server.ErrNotFound.
func (s *Store) Light(ctx context.Context, id string) (server.Light, error) {
	l, err := scanLight(s.db.QueryRowContext(ctx, `SELECT `+lightColumns+` FROM lights WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, server.ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("sqlite: Light(%s): %w", id, err)
	}
	return l, nil
}

// Lights returns every light key, oldest first.
func (s *Store) Lights(ctx context.Context) ([]server.Light, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+lightColumns+` FROM lights ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: Lights: %w", err)
	}
	defer rows.Close()
	var out []server.Light
	for rows.Next() {
		l, err := scanLight(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: Lights: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: Lights: %w", err)
	}
	return out, nil
}

// DeleteLight removes a light key; a missing one is server.ErrNotFound.
func (s *Store) DeleteLight(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteLight", `DELETE FROM lights WHERE id = ?`, id)
}

// AppendAudit adds an event to the audit trail.
func (s *Store) AppendAudit(ctx context.Context, e server.AuditEvent) error {
	_, err := s.exec(ctx, `INSERT INTO audit (time, kind, screen_id, screen_name, account, outcome, detail) VALUES (?,?,?,?,?,?,?)`,
		millis(e.Time), e.Kind, e.ScreenID, e.ScreenName, e.Account, e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("sqlite: AppendAudit(%s): %w", e.Kind, err)
	}
	return nil
}

// Audit returns the most recent events, newest first.
func (s *Store) Audit(ctx context.Context, limit int) ([]server.AuditEvent, error) {
	if limit <= 0 {
		return nil, server.Errorf(server.EINVALID, "audit limit must be positive, not %d", limit)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, time, kind, screen_id, screen_name, account, outcome, detail FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: Audit: %w", err)
	}
	defer rows.Close()
	var out []server.AuditEvent
	for rows.Next() {
		var (
			e  server.AuditEvent
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ScreenID, &e.ScreenName, &e.Account, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: Audit: %w", err)
		}
		e.Time = fromMillis(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: Audit: %w", err)
	}
	return out, nil
}

func (s *Store) deleteOne(ctx context.Context, op, query, id string) error {
	res, err := s.exec(ctx, query, id)
	if err != nil {
		return fmt.Errorf("sqlite: %s(%s): %w", op, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: %s(%s): %w", op, id, err)
	} else if n == 0 {
		return server.ErrNotFound
	}
	return nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// isConstraint reports a uniqueness violation.
func isConstraint(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}
