// Package postgres stores the edge server's state in PostgreSQL, through
// pgx, so that several edge servers (replicas) share one state: screens,
// accounts, sealed token caches, admin tokens and the audit trail. The
// queries are sqlstore's; this package connects, says how PostgreSQL
// differs (its Flavor) and runs what only replicas need (cluster.go:
// leases, LISTEN/NOTIFY, a shared rate limit).
//
// The schema is brought up to date when a store opens, under a
// transaction-level advisory lock, so that replicas started at once apply
// each migration exactly once.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sqlstore"
)

// Store is a server.Store in a PostgreSQL database.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	db   *sql.DB // the pool, as database/sql sees it: sqlstore's queries
	url  string
}

var _ server.Store = (*Store)(nil)

// migrationLock is the key of the advisory lock taken around migrations:
// any constant unlikely to clash with another application's locks in the
// same database ("placard" in ASCII).
const migrationLock int64 = 0x706c6163617264

// legacy are the migrations PostgreSQL had before its queries were shared
// with SQLite (sqlstore): schema_version counts them with the shared ones.
// Never edit them.
var legacy = []string{
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

// flavor is how PostgreSQL differs: $n placeholders, its own types, row
// locks for read-modify-write, and table schema_version under an advisory
// lock for the schema's version.
var flavor = sqlstore.Flavor{
	Name:     "postgres",
	Numbered: true,
	Types: map[string]string{
		"blob": "BYTEA", "bool": "BOOLEAN", "json": "JSONB", "time": "TIMESTAMPTZ", "serial": "BIGSERIAL PRIMARY KEY",
	},
	ForUpdate:   "FOR UPDATE",
	Time:        sqlstore.Timestamp,
	IsUnique:    isUnique,
	CannotWrite: cannotWrite,
	Legacy:      legacy,
	LockSchema: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock)
		return err
	},
	SchemaVersion: func(ctx context.Context, tx *sql.Tx) (int, error) {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return 0, err
		}
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
		}
		return v, err
	},
	SetSchemaVersion: func(ctx context.Context, tx *sql.Tx, v int) error {
		_, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = $1`, v)
		return err
	},
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
	db := stdlib.OpenDBFromPool(pool)
	if err := sqlstore.Migrate(ctx, db, flavor); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: opening %s: %w", where, redactErr(err, dbURL))
	}
	return &Store{Store: sqlstore.New(db, flavor, nil), pool: pool, db: db, url: dbURL}, nil
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

// Pool is the store's connection pool, for the packages that share its
// database (leases, notifications).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// URL is the database's URL, password included: for the connections a
// replica keeps outside the pool (LISTEN, leases). Never log it; use
// Redact.
func (s *Store) URL() string { return s.url }

// Close closes every connection.
func (s *Store) Close() error {
	s.db.Close()
	s.pool.Close()
	return nil
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

// cannotWrite reports PostgreSQL's errors that say the server cannot
// write at all: class 53, insufficient resources (53100 disk full, 53200
// out of memory), class 58, system errors (58030 an I/O error), and 25006,
// a read-only transaction (a standby, or default_transaction_read_only).
// https://www.postgresql.org/docs/current/errcodes-appendix.html
func cannotWrite(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	return strings.HasPrefix(e.Code, "53") || strings.HasPrefix(e.Code, "58") || e.Code == "25006"
}
