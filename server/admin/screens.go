package admin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/screens"
)

// Each operation on a screen is audited by the screens it runs on (the
// running server's Manager, or the store's for an approval from the
// command line), with the actor's name.

// ScreenView is a screen as administrators see it: its record, who is
// signed in, and where the whole fleet (every replica) says it is.
type ScreenView struct {
	screens.Status
	// Fleet is what the replica that serves the screen says of it; zero
	// without a fleet (the command line).
	Fleet fleet.Screen
	// Replica serves the screen ("" when none does now).
	Replica string
	// LastSeen is when the screen was last shown: now while it is.
	LastSeen time.Time
}

// ListScreens lists every screen as administrators see it, oldest first:
// online or not, on which replica, showing what, from the store (the
// whole fleet), not from this replica's memory alone.
func (s *Service) ListScreens(ctx context.Context, by Actor) ([]ScreenView, error) {
	if err := by.Check(Read, "listing screens"); err != nil {
		return nil, err
	}
	var local []screens.Status
	if s.Screens != nil {
		var err error
		if local, err = s.Screens.Overview(ctx); err != nil {
			return nil, err
		}
	} else {
		all, err := s.Store.Screens(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing screens: %w", err)
		}
		for _, sc := range all {
			st := screens.Status{Screen: sc}
			if sc.AccountID != "" {
				if a, err := s.Store.Account(ctx, sc.AccountID); err == nil {
					st.Account = a
				}
			}
			local = append(local, st)
		}
	}
	var view map[string]fleet.Screen
	if s.Fleet != nil {
		var err error
		if view, err = s.Fleet.View(ctx); err != nil {
			return nil, err
		}
	}
	now := s.now()
	out := make([]ScreenView, len(local))
	for i, st := range local {
		v := ScreenView{Status: st, LastSeen: st.Screen.LastSeen}
		if f, ok := view[st.Screen.ID]; ok && f.Known {
			v.Fleet = f
			if f.Online {
				v.Replica = f.Status.Replica
				if !st.Online {
					// Shown on another replica: what it says it shows.
					v.Online, v.Phase = true, wire.Phase(f.Status.Phase)
				}
			}
			if seen := f.LastSeen(now); seen.After(v.LastSeen) {
				v.LastSeen = seen
			}
		}
		if st.Online {
			v.LastSeen = now
			if s.Fleet != nil {
				v.Replica = s.Fleet.Replica()
			}
		}
		out[i] = v
	}
	return out, nil
}

// Screen returns one screen as ListScreens does.
func (s *Service) Screen(ctx context.Context, by Actor, id string) (ScreenView, error) {
	all, err := s.ListScreens(ctx, by)
	if err != nil {
		return ScreenView{}, err
	}
	for _, v := range all {
		if v.Screen.ID == id {
			return v, nil
		}
	}
	return ScreenView{}, server.Errorf(server.ENOTFOUND, "no screen has the id %s", id)
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
	sc, err := m.Revoke(ctx, id, by.Who)
	if err == nil && s.Fleet != nil {
		s.Fleet.Forget(ctx, id)
	}
	return sc, err
}

// AuditTrail returns the most recent audit events, newest first.
func (s *Service) AuditTrail(ctx context.Context, by Actor, limit int) ([]server.AuditEvent, error) {
	if err := by.Check(Read, "reading the audit trail"); err != nil {
		return nil, err
	}
	return s.Store.Audit(ctx, limit)
}

// IdentifyFor is how long a screen shows its name and number when asked
// to identify itself.
const IdentifyFor = 30 * time.Second

// Reload has a screen load its page again (and with it the app's current
// version), on whichever replica its browser is connected to.
func (s *Service) Reload(ctx context.Context, by Actor, id string) (server.Screen, error) {
	if err := by.Check(Operate, "reloading a screen"); err != nil {
		return server.Screen{}, err
	}
	m, err := s.running("reloading a screen")
	if err != nil {
		return server.Screen{}, err
	}
	sc, err := s.screen(ctx, id)
	if err != nil {
		return sc, err
	}
	if err := m.Command(ctx, id, wire.Reload{}); err != nil {
		return sc, err
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditReload, ScreenID: sc.ID, ScreenName: sc.Name, Outcome: "ok", Detail: "by " + by.Who})
	return sc, nil
}

// Identify has a screen show its name and a number over everything for
// IdentifyFor, so that whoever stands in front of it can say which it is:
// its pairing number while it waits for one, another made for the
// purpose otherwise. It returns the number and until when it shows.
func (s *Service) Identify(ctx context.Context, by Actor, id string) (wire.Identify, error) {
	if err := by.Check(Operate, "identifying a screen"); err != nil {
		return wire.Identify{}, err
	}
	m, err := s.running("identifying a screen")
	if err != nil {
		return wire.Identify{}, err
	}
	sc, err := s.screen(ctx, id)
	if err != nil {
		return wire.Identify{}, err
	}
	msg := wire.Identify{Name: sc.Name, Number: sc.PairingNumber, Until: s.now().Add(IdentifyFor)}
	if msg.Number == "" {
		msg.Number = fmt.Sprintf("%06d", rand.IntN(1_000_000))
	}
	if err := m.Command(ctx, id, msg); err != nil {
		return msg, err
	}
	s.audit(ctx, server.AuditEvent{Kind: server.AuditIdentify, ScreenID: sc.ID, ScreenName: sc.Name, Outcome: "ok",
		Detail: "number " + msg.Number + " by " + by.Who})
	return msg, nil
}

// screen reads a screen's record, or says there is none.
func (s *Service) screen(ctx context.Context, id string) (server.Screen, error) {
	sc, err := s.Store.Screen(ctx, id)
	if server.IsNotFound(err) {
		return sc, server.Errorf(server.ENOTFOUND, "no screen has the id %s", id)
	}
	if err != nil {
		return sc, fmt.Errorf("reading screen %s: %w", id, err)
	}
	return sc, nil
}

// Preview returns what a screen shows now, as the screen renders it (its
// privacy and private meetings included), for an administrator's
// preview; nothing starts for it. The account's photo and those of a
// board's people are left out (a board shows their initials instead):
// they are served to their screen alone.
func (s *Service) Preview(ctx context.Context, by Actor, id string) (wire.State, error) {
	if err := by.Check(Read, "previewing a screen"); err != nil {
		return wire.State{}, err
	}
	m, err := s.running("previewing a screen")
	if err != nil {
		return wire.State{}, err
	}
	st, err := m.Preview(ctx, id)
	if err != nil {
		return st, err
	}
	if st.Dashboard != nil {
		d := *st.Dashboard
		d.User.Photo = ""
		d.CanBook = false
		st.Dashboard = &d
	}
	if st.Board != nil {
		b := *st.Board
		b.Tiles = slices.Clone(b.Tiles)
		for i := range b.Tiles {
			b.Tiles[i].Photo = ""
		}
		st.Board = &b
	}
	return st, nil
}
