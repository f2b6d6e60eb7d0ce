package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migration is one step of the schema, written once for every database
// with the Flavor's type names ({blob}, {bool}, {json}, {time},
// {serial}). Only, when set, names the one database it applies to; on the
// others it is counted and does nothing, so that every database counts the
// same steps.
type migration struct {
	sql  string
	only string
}

// migrations are applied in order, after each database's legacy ones.
// Never edit one that has shipped: add another.
//
// Types: {blob} bytes; {bool}; {json} a JSON document (text in SQLite);
// {time} a moment, "never" as the database keeps it (see Flavor.Time);
// {serial} an integer primary key the database numbers.
var migrations = []migration{
	// Admin tokens have a role; those made before roles existed could do
	// everything.
	{sql: `ALTER TABLE admin_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'`},
}

// Migrations returns the statements that make the flavour's schema, in
// order: its legacy migrations, then the shared ones in its types.
func (f Flavor) Migrations() []string {
	out := append([]string(nil), f.Legacy...)
	var pairs []string
	for k, v := range f.Types {
		pairs = append(pairs, "{"+k+"}", v)
	}
	types := strings.NewReplacer(pairs...)
	for _, m := range migrations {
		if m.only != "" && m.only != f.Name {
			out = append(out, "")
			continue
		}
		out = append(out, types.Replace(m.sql))
	}
	return out
}

// Migrate brings the database's schema up to date in one transaction. A
// database newer than this placard is refused, untouched.
func Migrate(ctx context.Context, db *sql.DB, f Flavor) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	defer tx.Rollback()
	if f.LockSchema != nil {
		if err := f.LockSchema(ctx, tx); err != nil {
			return fmt.Errorf("migrating the schema: taking the migration lock: %w", err)
		}
	}
	version, err := f.SchemaVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrating the schema: reading its version: %w", err)
	}
	all := f.Migrations()
	if version > len(all) {
		return fmt.Errorf("the database has schema version %d, newer than this placard knows (%d): use a newer placard", version, len(all))
	}
	if version == len(all) {
		return nil
	}
	for i := version; i < len(all); i++ {
		if all[i] == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, all[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if err := f.SetSchemaVersion(ctx, tx, len(all)); err != nil {
		return fmt.Errorf("migrating the schema: recording version %d: %w", len(all), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	return nil
}

// SchemaVersion is the number of migrations applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.errorf("SchemaVersion", err)
	}
	defer tx.Rollback()
	v, err := s.f.SchemaVersion(ctx, tx)
	if err != nil {
		return 0, s.errorf("SchemaVersion", err)
	}
	return v, nil
}
