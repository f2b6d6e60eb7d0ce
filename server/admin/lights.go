package admin

import (
	"context"
	"fmt"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
)

// Light keys are audited by the lights package, with the actor's name.

// MakeLight makes a light key; its key (and webhook secret) are returned
// once and never again.
func (s *Service) MakeLight(ctx context.Context, by Actor, n lights.New) (lights.Made, error) {
	if err := by.Check(Administer, "making a light key"); err != nil {
		return lights.Made{}, err
	}
	if s.Lights != nil {
		return s.Lights.Create(ctx, n, by.Who)
	}
	return lights.Create(ctx, s.Store, s.Box, n, by.Who, s.now(), s.Log)
}

// ListLights lists the light keys, oldest first: never their secrets.
func (s *Service) ListLights(ctx context.Context, by Actor) ([]server.Light, error) {
	if err := by.Check(Read, "listing light keys"); err != nil {
		return nil, err
	}
	var all []server.Light
	var err error
	if s.Lights != nil {
		all, err = s.Lights.List(ctx)
	} else {
		all, err = s.Store.Lights(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("listing light keys: %w", err)
	}
	for i := range all {
		all[i].Hash, all[i].WebhookSecret = nil, nil
	}
	return all, nil
}

// RevokeLight deletes a light key: it stops working at once.
func (s *Service) RevokeLight(ctx context.Context, by Actor, id string) (server.Light, error) {
	if err := by.Check(Administer, "revoking a light key"); err != nil {
		return server.Light{}, err
	}
	if s.Lights != nil {
		return s.Lights.Revoke(ctx, id, by.Who)
	}
	return lights.Revoke(ctx, s.Store, id, by.Who, s.now(), s.Log)
}
