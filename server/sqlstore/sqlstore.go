// Package sqlstore is the edge server's store written once for every SQL
// database it runs on: one set of queries, one schema and one list of
// migrations, with a small Flavor for what differs between databases
// (placeholders, column types, row locks, how a write is committed, how a
// uniqueness violation reads). It is the shape of dex's storage/sql.
//
// It imports no driver. Each database has its package (sqlite,
// postgres), which opens the connection, gives its Flavor and keeps what
// only it does: SQLite's group commit, PostgreSQL's replicas (leases,
// LISTEN/NOTIFY).
//
// A new table goes in migrations (migrate.go), written once with the
// Flavor's type names, and its queries in a file of this package; every
// backend then passes the same conformance suite (server/storetest).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/placard/placard/server"
)

// Flavor is what one database does differently.
type Flavor struct {
	// Name prefixes every error ("sqlite", "postgres").
	Name string
	// Numbered placeholders ($1, $2, ...) instead of "?": queries are
	// written with "?" and renumbered for such a database.
	Numbered bool
	// Types maps the schema's type names, written {blob}, {bool}, {json},
	// {time} and {serial} in migrations, to the database's own.
	Types map[string]string
	// ForUpdate ends a SELECT that reads a row a transaction then writes
	// ("FOR UPDATE"), "" where writes are serialized anyway (SQLite).
	ForUpdate string
	// Time encodes a time for a {time} column: the zero time means
	// "never" and is stored as the database keeps "never".
	Time func(time.Time) any
	// IsUnique reports a uniqueness (primary key or unique) violation.
	IsUnique func(error) bool
	// CannotWrite reports an error that says the database cannot write
	// at all (a full disk, an I/O error, a read-only file), not that one
	// write was refused: the store is then not ready (Ping) until a write
	// succeeds.
	CannotWrite func(error) bool

	// Legacy are the migrations the database had before its store shared
	// its queries: applied first, in order, and never edited.
	Legacy []string
	// LockSchema, when set, is run first in the migration's transaction,
	// so that replicas starting at once migrate one after the other.
	LockSchema func(ctx context.Context, tx *sql.Tx) error
	// SchemaVersion reads how many migrations were applied (0 for a new
	// database); SetSchemaVersion records it.
	SchemaVersion    func(ctx context.Context, tx *sql.Tx) (int, error)
	SetSchemaVersion func(ctx context.Context, tx *sql.Tx, version int) error
}

// WriteFunc runs fn in a transaction and returns once it is committed (or
// rolled back, when fn fails: fn's error is returned as it is).
type WriteFunc func(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error

// Store is a server.Store on a SQL database.
type Store struct {
	db    *sql.DB
	f     Flavor
	write WriteFunc
	now   func() time.Time

	// failed is why the last write that ended was refused by the
	// database itself (Flavor.CannotWrite), nil once one succeeds.
	mu     sync.Mutex
	failed error
}

var _ server.Store = (*Store)(nil)

// New returns the store on db, whose schema Migrate brought up to date.
// Every write goes through write; nil runs each in a transaction of its
// own.
func New(db *sql.DB, f Flavor, write WriteFunc) *Store {
	s := &Store{db: db, f: f, now: time.Now}
	if write == nil {
		write = s.transact
	}
	s.write = func(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
		err := write(ctx, fn)
		s.wrote(err)
		return err
	}
	return s
}

// wrote records how a write ended: a full disk (or another reason the
// database cannot write) makes the store not ready until a write
// succeeds.
func (s *Store) wrote(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.failed = nil
	case s.f.CannotWrite != nil && s.f.CannotWrite(err):
		s.failed = err
	}
}

// transact runs fn in a transaction of its own.
func (s *Store) transact(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// DB is the store's database.
func (s *Store) DB() *sql.DB { return s.db }

// Close does nothing: the database is its backend's to close.
func (s *Store) Close() error { return nil }

// Ping checks that the database answers and, once a write failed because
// the database could not write (a full disk), that it writes again: it
// tries a write of its own then, so that a store comes back as soon as
// the disk has room, whether or not anything else writes meanwhile.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return s.errorf("ping", err)
	}
	s.mu.Lock()
	failed := s.failed
	s.mu.Unlock()
	if failed == nil {
		return nil
	}
	if err := s.putSetting(ctx, settingProbe, probe(s.now())); err != nil {
		return s.errorf("ping", fmt.Errorf("the database cannot write (is its disk full?): %w", err))
	}
	return nil
}

// q renumbers a query's placeholders for the flavour. Queries hold no "?"
// inside a literal.
func (s *Store) q(query string) string {
	return s.f.rebind(query)
}

func (f Flavor) rebind(query string) string {
	if !f.Numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec runs one statement that writes.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, s.q(query), args...)
		return err
	})
	return res, err
}

// queryRow reads one row outside any write.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.q(query), args...)
}

// errorf says which operation failed, on which database.
func (s *Store) errorf(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", s.f.Name, op, err)
}

// deleteOne runs a statement that must touch one row: none is
// server.ErrNotFound.
func (s *Store) deleteOne(ctx context.Context, op, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return s.errorf(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.errorf(op, err)
	} else if n == 0 {
		return server.ErrNotFound
	}
	return nil
}

// list reads every row of a query with scan.
func list[T any](ctx context.Context, s *Store, op, query string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.errorf(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.errorf(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf(op, err)
	}
	return out, nil
}

// one reads one row with scan: none is server.ErrNotFound.
func one[T any](s *Store, op string, row *sql.Row, scan func(scanner) (T, error)) (T, error) {
	v, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return v, server.ErrNotFound
	}
	if err != nil {
		return v, s.errorf(op, err)
	}
	return v, nil
}

type scanner interface{ Scan(...any) error }

// dbTime scans a {time} column, whichever way the database keeps it:
// milliseconds since 1970 (SQLite; 0 is never) or a timestamp (NULL is
// never).
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = FromMillis(v)
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("a time column holds a %T", src)
	}
	return nil
}

// Millis is a time as SQLite's {time} columns keep it: milliseconds since
// 1970, 0 for the zero time.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis reads what Millis wrote.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Timestamp is a time as PostgreSQL's {time} columns keep it: NULL for the
// zero time ("never", not the year 1).
func Timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// nonNil keeps a NOT NULL {blob} column from receiving NULL for an empty
// slice.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
