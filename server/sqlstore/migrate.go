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
// {time} a moment, with "never" as the database keeps it (see
// Flavor.Time: the type carries its own NULL or default, so write no
// NOT NULL after it); {serial} an integer primary key the database
// numbers. Durations are BIGINT milliseconds. Avoid names that are
// keywords in either database (GROUPS is one in SQLite).
var migrations = []migration{
	// Admin tokens have a role; those made before roles existed could do
	// everything.
	{sql: `ALTER TABLE admin_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'`},
	// The fleet: a screen's group, the settings it sets itself over the
	// group's, the provisioning link it enrolled with and why it waits;
	// groups; provisioning links; what each screen's replica says of it,
	// and which replicas are alive.
	{sql: `ALTER TABLE screens ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
		ALTER TABLE screens ADD COLUMN overrides {json} NOT NULL DEFAULT '[]';
		ALTER TABLE screens ADD COLUMN link_id TEXT NOT NULL DEFAULT '';
		ALTER TABLE screens ADD COLUMN note TEXT NOT NULL DEFAULT '';
		CREATE INDEX screens_group ON screens(group_id);
		CREATE TABLE screen_groups (
			id             TEXT PRIMARY KEY,
			name           TEXT NOT NULL UNIQUE,
			settings       {json} NOT NULL DEFAULT '{}',
			shared_sign_in {bool} NOT NULL DEFAULT false,
			offline_after  BIGINT NOT NULL DEFAULT 0,
			webhooks       {json} NOT NULL DEFAULT '[]',
			webhook_secret {blob} NOT NULL,
			created_at     {time}
		);
		CREATE TABLE links (
			id           TEXT PRIMARY KEY,
			group_id     TEXT NOT NULL,
			hash         {blob} NOT NULL,
			max_screens  INTEGER NOT NULL,
			used         INTEGER NOT NULL DEFAULT 0,
			expires_at   {time},
			name_pattern TEXT NOT NULL DEFAULT '',
			revoked_at   {time},
			created_by   TEXT NOT NULL DEFAULT '',
			created_at   {time}
		);
		CREATE TABLE screen_status (
			screen_id   TEXT PRIMARY KEY,
			replica     TEXT NOT NULL,
			connected   {bool} NOT NULL DEFAULT false,
			phase       TEXT NOT NULL DEFAULT '',
			shows       TEXT NOT NULL DEFAULT '',
			app_version TEXT NOT NULL DEFAULT '',
			browser     TEXT NOT NULL DEFAULT '',
			since       {time},
			alerted_at  {time}
		);
		CREATE TABLE replicas (
			name       TEXT PRIMARY KEY,
			seen       {time},
			started_at {time}
		);`},
	// What the edge server keeps about itself: the sealed check of its
	// key, the probe that tells a store that writes again.
	{sql: `CREATE TABLE settings (name TEXT PRIMARY KEY, value {blob} NOT NULL)`},
	// A light key's last presence, so that a restart keeps when it took
	// its value.
	{sql: `ALTER TABLE lights ADD COLUMN presence {json} NOT NULL DEFAULT '{}'`},
	// The account a light key follows, by tenant and object id.
	{sql: `ALTER TABLE lights ADD COLUMN account_id TEXT NOT NULL DEFAULT ''`},
	// A screen seen by its page alone (no WebSocket: a browser without
	// WebAssembly) is online until its next reload is due; whether its
	// browser says it has a touch screen.
	{sql: `ALTER TABLE screen_status ADD COLUMN online_until {time};
		ALTER TABLE screen_status ADD COLUMN touch {bool} NOT NULL DEFAULT false;`},
	// Sign-in links (QR codes on the authorization-code path), so that any
	// replica serves a phone: only hashes of the token, the state and the
	// browsers' secrets; the number and the PKCE verifier sealed.
	{sql: `CREATE TABLE signin_links (
			id           TEXT PRIMARY KEY,
			screen_id    TEXT NOT NULL,
			screen_name  TEXT NOT NULL DEFAULT '',
			expires_at   {time},
			phase        TEXT NOT NULL,
			holder       {blob} NOT NULL,
			match_sealed {blob} NOT NULL,
			state_hash   TEXT NOT NULL DEFAULT '',
			binding      {blob} NOT NULL,
			auth_sealed  {blob} NOT NULL,
			scope        TEXT NOT NULL DEFAULT '',
			typed_at     {time},
			auth_until   {time},
			ended        {bool} NOT NULL DEFAULT false,
			result       {blob} NOT NULL,
			updated_at   {time}
		);
		CREATE INDEX signin_links_state ON signin_links(state_hash);
		CREATE INDEX signin_links_expires ON signin_links(expires_at);`},
	// Where each account's calendar stands in its rounds of delta, so
	// that a replica that takes the account over continues from it.
	{sql: `CREATE TABLE calendar_syncs (
			account_id  TEXT PRIMARY KEY,
			window_from {time},
			window_to   {time},
			delta_link  TEXT NOT NULL,
			events      {blob} NOT NULL,
			version     BIGINT NOT NULL,
			updated_at  {time}
		);`},
	// Meetings of rooms checked in or released: one mark a meeting, so
	// that a replica that takes a room over releases nothing twice and
	// nothing checked in.
	{sql: `CREATE TABLE room_marks (
			account_id TEXT NOT NULL,
			event_id   TEXT NOT NULL,
			kind       TEXT NOT NULL,
			at         {time},
			PRIMARY KEY (account_id, event_id)
		);
		CREATE INDEX room_marks_at ON room_marks(at);`},
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
