package admin

import (
	"context"
	"fmt"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/screens"
)

// Each operation on a screen is audited by the screens it runs on (the
// running server's Manager, or the store's for an approval from the
// command line), with the actor's name.

// ListScreens lists every screen as administrators see it, oldest first. On
// the command line (no running server) nobody is shown as online.
func (s *Service) ListScreens(ctx context.Context, by Actor) ([]screens.Status, error) {
	if err := by.Check(Read, "listing screens"); err != nil {
		return nil, err
	}
	if s.Screens != nil {
		return s.Screens.Overview(ctx)
	}
	all, err := s.Store.Screens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing screens: %w", err)
	}
	out := make([]screens.Status, len(all))
	for i, sc := range all {
		out[i].Screen = sc
		if sc.AccountID != "" {
			if a, err := s.Store.Account(ctx, sc.AccountID); err == nil {
				out[i].Account = a
			}
		}
	}
	return out, nil
}

// Screen returns one screen as ListScreens does.
func (s *Service) Screen(ctx context.Context, by Actor, id string) (screens.Status, error) {
	if err := by.Check(Read, "reading a screen"); err != nil {
		return screens.Status{}, err
	}
	m, err := s.running("reading a screen")
	if err != nil {
		return screens.Status{}, err
	}
	return m.Status(ctx, id)
}

// Approve enrolls the screen a pairing number (or a screen's id) names.
func (s *Service) Approve(ctx context.Context, by Actor, ref string) (server.Screen, error) {
	if err := by.Check(Operate, "approving a screen"); err != nil {
		return server.Screen{}, err
	}
	if s.Screens != nil {
		return s.Screens.Approve(ctx, ref, by.Who)
	}
	return screens.Approve(ctx, s.Store, ref, by.Who, s.now(), s.Log)
}

// Rename gives a screen a new name, shown on it at once.
func (s *Service) Rename(ctx context.Context, by Actor, id, name string) (server.Screen, error) {
	if err := by.Check(Operate, "renaming a screen"); err != nil {
		return server.Screen{}, err
	}
	m, err := s.running("renaming a screen")
	if err != nil {
		return server.Screen{}, err
	}
	return m.Rename(ctx, id, name, by.Who)
}

// SignOut signs a screen's account out of it.
func (s *Service) SignOut(ctx context.Context, by Actor, id string) (server.Screen, error) {
	if err := by.Check(Operate, "signing a screen out"); err != nil {
		return server.Screen{}, err
	}
	m, err := s.running("signing a screen out")
	if err != nil {
		return server.Screen{}, err
	}
	return m.SignOut(ctx, id, by.Who)
}

// Revoke removes a screen: its browser must be approved again.
func (s *Service) Revoke(ctx context.Context, by Actor, id string) (server.Screen, error) {
	if err := by.Check(Administer, "revoking a screen"); err != nil {
		return server.Screen{}, err
	}
	m, err := s.running("revoking a screen")
	if err != nil {
		return server.Screen{}, err
	}
	return m.Revoke(ctx, id, by.Who)
}

// AuditTrail returns the most recent audit events, newest first.
func (s *Service) AuditTrail(ctx context.Context, by Actor, limit int) ([]server.AuditEvent, error) {
	if err := by.Check(Read, "reading the audit trail"); err != nil {
		return nil, err
	}
	return s.Store.Audit(ctx, limit)
}
