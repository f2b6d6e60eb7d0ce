// Package lights serves light keys: busy-lights, Home Assistant and
// scripts follow one account's presence with a revocable, read-only key,
// and never hold a Microsoft token.
//
// A key makes its account followed: the account's watch (in screens) keeps
// polling its presence, faster while it is followed, and tells this
// package of each change. How each follower is told is its own business:
// HTTP and Server-Sent Events (httpd), webhooks (here), MQTT (mqtt).
package lights

import (
	"context"
	"log/slog"
	"time"

	"github.com/placard/placard/server"
)

// Config configures a Service.
type Config struct {
	Store server.Store
	Log   *slog.Logger
	// Now is the clock of the audit trail (time.Now when nil).
	Now func() time.Time
}

// Service makes, lists and revokes light keys.
type Service struct {
	cfg Config
	log *slog.Logger
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, log: cfg.Log}
}

// Create makes a light key (see the function Create).
func (s *Service) Create(ctx context.Context, n New, by string) (Made, error) {
	return Create(ctx, s.cfg.Store, n, by, s.cfg.Now(), s.log)
}

// List returns every light key, oldest first.
func (s *Service) List(ctx context.Context) ([]server.Light, error) {
	return s.cfg.Store.Lights(ctx)
}

// Revoke deletes a light key (see the function Revoke).
func (s *Service) Revoke(ctx context.Context, id, by string) (server.Light, error) {
	return Revoke(ctx, s.cfg.Store, id, by, s.cfg.Now(), s.log)
}

// Authenticate returns the light key that key proves.
func (s *Service) Authenticate(ctx context.Context, key string) (server.Light, error) {
	return Authenticate(ctx, s.cfg.Store, key)
}
