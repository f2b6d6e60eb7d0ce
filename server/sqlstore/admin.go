package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/placard/placard/server"
)

const adminTokenColumns = `id, name, hash, role, created_at`

func scanAdminToken(r scanner) (server.AdminToken, error) {
	var t server.AdminToken
	err := r.Scan(&t.ID, &t.Name, &t.Hash, &t.Role, dbTime{&t.CreatedAt})
	return t, err
}

// CreateAdminToken stores a new admin token; an existing id is a conflict.
// A token with no role is an admin's.
func (s *Store) CreateAdminToken(ctx context.Context, t server.AdminToken) error {
	if t.Role == "" {
		t.Role = server.RoleAdmin
	}
	_, err := s.exec(ctx, `INSERT INTO admin_tokens (`+adminTokenColumns+`) VALUES (?,?,?,?,?)`,
		t.ID, t.Name, nonNil(t.Hash), t.Role, s.f.Time(t.CreatedAt))
	if s.f.IsUnique(err) {
		return server.Errorf(server.ECONFLICT, "admin token %s already exists", t.ID)
	}
	if err != nil {
		return s.errorf("CreateAdminToken("+t.ID+")", err)
	}
	return nil
}

// AdminToken returns one admin token, or server.ErrNotFound.
func (s *Store) AdminToken(ctx context.Context, id string) (server.AdminToken, error) {
	return one(s, "AdminToken("+id+")", s.queryRow(ctx, `SELECT `+adminTokenColumns+` FROM admin_tokens WHERE id = ?`, id), scanAdminToken)
}

// AdminTokens returns every admin token, oldest first.
func (s *Store) AdminTokens(ctx context.Context) ([]server.AdminToken, error) {
	return list(ctx, s, "AdminTokens", `SELECT `+adminTokenColumns+` FROM admin_tokens ORDER BY created_at NULLS FIRST, id`, scanAdminToken)
}

// DeleteAdminToken removes an admin token; a missing one is
// server.ErrNotFound.
func (s *Store) DeleteAdminToken(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteAdminToken("+id+")", `DELETE FROM admin_tokens WHERE id = ?`, id)
}

const lightColumns = `id, name, account, hash, mqtt, webhooks, webhook_secret, created_at, presence, account_id`

// lightPresence is how a light's last presence is kept: a JSON document.
type lightPresence struct {
	Availability string    `json:"availability,omitempty"`
	Activity     string    `json:"activity,omitempty"`
	SignedIn     bool      `json:"signed_in,omitempty"`
	Updated      time.Time `json:"updated,omitzero"`
}

func scanLight(r scanner) (server.Light, error) {
	var (
		l                  server.Light
		webhooks, presence []byte
	)
	if err := r.Scan(&l.ID, &l.Name, &l.Account, &l.Hash, &l.MQTT, &webhooks, &l.WebhookSecret, dbTime{&l.CreatedAt}, &presence, &l.AccountID); err != nil {
		return l, err
	}
	if err := json.Unmarshal(webhooks, &l.Webhooks); err != nil {
		return l, fmt.Errorf("light %s has unreadable webhooks: %w", l.ID, err)
	}
	var p lightPresence
	if err := json.Unmarshal(presence, &p); err != nil {
		return l, fmt.Errorf("light %s has an unreadable presence: %w", l.ID, err)
	}
	l.LastPresence = server.Presence{Availability: p.Availability, Activity: p.Activity, SignedIn: p.SignedIn, Updated: p.Updated}
	return l, nil
}

// lightJSON encodes a light's webhooks and last presence as their columns
// keep them.
func lightJSON(l server.Light) (webhooks, presence string, err error) {
	hooks := l.Webhooks
	if hooks == nil {
		hooks = []string{}
	}
	hb, err := json.Marshal(hooks)
	if err != nil {
		return "", "", err
	}
	p := l.LastPresence
	pb, err := json.Marshal(lightPresence{Availability: p.Availability, Activity: p.Activity, SignedIn: p.SignedIn, Updated: p.Updated.UTC()})
	if err != nil {
		return "", "", err
	}
	return string(hb), string(pb), nil
}

// CreateLight stores a new light key; an existing id or name is a
// conflict.
func (s *Store) CreateLight(ctx context.Context, l server.Light) error {
	webhooks, presence, err := lightJSON(l)
	if err != nil {
		return s.errorf("CreateLight("+l.ID+")", err)
	}
	_, err = s.exec(ctx, `INSERT INTO lights (`+lightColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		l.ID, l.Name, l.Account, nonNil(l.Hash), l.MQTT, webhooks, nonNil(l.WebhookSecret), s.f.Time(l.CreatedAt), presence, l.AccountID)
	if s.f.IsUnique(err) {
		return server.Errorf(server.ECONFLICT, "a light key with the id %s or the name %q already exists", l.ID, l.Name)
	}
	if err != nil {
		return s.errorf("CreateLight("+l.ID+")", err)
	}
	return nil
}

// Light returns one light key, or server.ErrNotFound.
func (s *Store) Light(ctx context.Context, id string) (server.Light, error) {
	return one(s, "Light("+id+")", s.queryRow(ctx, `SELECT `+lightColumns+` FROM lights WHERE id = ?`, id), scanLight)
}

// Lights returns every light key, oldest first.
func (s *Store) Lights(ctx context.Context) ([]server.Light, error) {
	return list(ctx, s, "Lights", `SELECT `+lightColumns+` FROM lights ORDER BY created_at NULLS FIRST, id`, scanLight)
}

// UpdateLight reads the light key (locking its row), applies fn and
// writes the result in one transaction. The id cannot change; fn's error
// is returned as it is.
func (s *Store) UpdateLight(ctx context.Context, id string, fn func(*server.Light) error) (server.Light, error) {
	op := "UpdateLight(" + id + ")"
	var l server.Light
	var failed error // fn's failure, returned as it is
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		l, err = one(s, op, tx.QueryRowContext(ctx, s.q(`SELECT `+lightColumns+` FROM lights WHERE id = ? `+s.f.ForUpdate), id), scanLight)
		if err != nil {
			failed = err
			return err
		}
		if err := fn(&l); err != nil {
			failed = err
			return err
		}
		l.ID = id
		webhooks, presence, err := lightJSON(l)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE lights SET name=?, account=?, hash=?, mqtt=?, webhooks=?, webhook_secret=?, created_at=?, presence=?, account_id=? WHERE id=?`),
			l.Name, l.Account, nonNil(l.Hash), l.MQTT, webhooks, nonNil(l.WebhookSecret), s.f.Time(l.CreatedAt), presence, l.AccountID, id)
		if s.f.IsUnique(err) {
			failed = server.Errorf(server.ECONFLICT, "a light key is already named %q", l.Name)
			return failed
		}
		return err
	})
	if err != nil && failed == nil {
		err = s.errorf(op, err)
	}
	return l, err
}

// DeleteLight removes a light key; a missing one is server.ErrNotFound.
func (s *Store) DeleteLight(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteLight("+id+")", `DELETE FROM lights WHERE id = ?`, id)
}

// AppendAudit adds an event to the audit trail.
func (s *Store) AppendAudit(ctx context.Context, e server.AuditEvent) error {
	_, err := s.exec(ctx, `INSERT INTO audit (time, kind, screen_id, screen_name, account, outcome, detail) VALUES (?,?,?,?,?,?,?)`,
		s.f.Time(e.Time), e.Kind, e.ScreenID, e.ScreenName, e.Account, e.Outcome, e.Detail)
	if err != nil {
		return s.errorf("AppendAudit("+e.Kind+")", err)
	}
	return nil
}

// Audit returns the most recent events, newest first.
func (s *Store) Audit(ctx context.Context, limit int) ([]server.AuditEvent, error) {
	if limit <= 0 {
		return nil, server.Errorf(server.EINVALID, "audit limit must be positive, not %d", limit)
	}
	return list(ctx, s, "Audit", `SELECT id, time, kind, screen_id, screen_name, account, outcome, detail FROM audit ORDER BY id DESC LIMIT ?`,
		func(r scanner) (server.AuditEvent, error) {
			var e server.AuditEvent
			err := r.Scan(&e.ID, dbTime{&e.Time}, &e.Kind, &e.ScreenID, &e.ScreenName, &e.Account, &e.Outcome, &e.Detail)
			return e, err
		}, limit)
}
