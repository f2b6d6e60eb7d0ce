// Package sqlite stores the edge server's state in one SQLite file, through
// the pure-Go modernc.org/sqlite driver, so that CGO_ENABLED=0 and arm64
// builds work. The queries are sqlstore's; this package opens the file,
// says how SQLite differs (its Flavor) and commits writes in groups
// (writer.go).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sqlstore"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is a server.Store in a SQLite file.
type Store struct {
	*sqlstore.Store
	db   *sql.DB
	w    *writer // every write goes through it
	path string
}

var _ server.Store = (*Store)(nil)

// legacy are the migrations SQLite had before its queries were shared
// with PostgreSQL (sqlstore): user_version counts them with the shared
// ones. Never edit them.
var legacy = []string{
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

// flavor is how SQLite differs: "?" placeholders, times as milliseconds
// since 1970 (0 for never), no row locks (one writer at a time), and
// PRAGMA user_version for the schema's version.
var flavor = sqlstore.Flavor{
	Name: "sqlite",
	Types: map[string]string{
		"blob": "BLOB", "bool": "INTEGER", "json": "TEXT", "time": "INTEGER NOT NULL DEFAULT 0",
		"serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
	},
	Time:        func(t time.Time) any { return sqlstore.Millis(t) },
	IsUnique:    isConstraint,
	CannotWrite: cannotWrite,
	Legacy:      legacy,
	SchemaVersion: func(ctx context.Context, tx *sql.Tx) (int, error) {
		var v int
		err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
		return v, err
	},
	SetSchemaVersion: func(ctx context.Context, tx *sql.Tx, v int) error {
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v))
		return err
	},
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
	if err := sqlstore.Migrate(ctx, db, flavor); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	s := &Store{db: db, path: path, w: newWriter(db)}
	s.Store = sqlstore.New(db, flavor, s.w.do)
	return s, nil
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

// cannotWrite reports SQLite's errors that say the file cannot be written
// at all: full (the disk, or max_page_count), an I/O error, read-only,
// corrupt, or not a database. Its extended codes keep the primary code in
// their low byte.
func cannotWrite(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CORRUPT,
		sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}
