package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

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

const lightColumns = `id, name, account, hash, mqtt, webhooks, webhook_secret, created_at`

func scanLight(r scanner) (server.Light, error) {
	var (
		l        server.Light
		webhooks []byte
	)
	if err := r.Scan(&l.ID, &l.Name, &l.Account, &l.Hash, &l.MQTT, &webhooks, &l.WebhookSecret, dbTime{&l.CreatedAt}); err != nil {
		return l, err
	}
	if err := json.Unmarshal(webhooks, &l.Webhooks); err != nil {
		return l, fmt.Errorf("light %s has unreadable webhooks: %w", l.ID, err)
	}
	return l, nil
}

// CreateLight stores a new light key; an existing id or name is a
// conflict.
func (s *Store) CreateLight(ctx context.Context, l server.Light) error {
	webhooks := []byte("[]")
	if l.Webhooks != nil {
		var err error
		if webhooks, err = json.Marshal(l.Webhooks); err != nil {
			return s.errorf("CreateLight("+l.ID+")", err)
		}
	}
	_, err := s.exec(ctx, `INSERT INTO lights (`+lightColumns+`) VALUES (?,?,?,?,?,?,?,?)`,
		l.ID, l.Name, l.Account, nonNil(l.Hash), l.MQTT, string(webhooks), nonNil(l.WebhookSecret), s.f.Time(l.CreatedAt))
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
