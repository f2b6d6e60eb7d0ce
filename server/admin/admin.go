// Package admin is what administrators do, in one place: admin tokens,
// approvals, names, settings, signing out and revoking screens, light
// keys, and reading the audit trail. The admin API, the admin page
// (adminhttp) and the command line all call it, so that each operation
// checks the same role and writes its audit entry whoever asks.
//
// It runs in two places. In the edge server it has the running screens
// (a screens.Manager), which applies a change on the screen at once and
// tells the other replicas. On the command line it has the store alone:
// what needs a running server (a screen's name or settings, signing one
// out) is refused there, and a running server notices an approval or a
// revoked key within seconds (it reads them from the store).
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/secret"
)

// Service runs the operations of administrators.
type Service struct {
	Store server.Store
	// Screens are the running server's screens; nil on the command line.
	Screens *screens.Manager
	// Lights are the running server's light keys; nil on the command line
	// (light keys are then made and revoked on the store alone).
	Lights *lights.Service
	// Fleet is the whole fleet as the store says (every replica's
	// screens); nil on the command line.
	Fleet *fleet.Fleet
	Log   *slog.Logger
	// Box seals the webhook secrets of light keys and of groups (the
	// server's key); nil where none is made.
	Box *secret.Box
	// Now is the clock of audit entries and new records (time.Now when
	// nil).
	Now func() time.Time
}

// Actor is who asks for an operation: a person signed in to the admin
// page, a program with an admin token, the command line.
type Actor struct {
	// Who names them in the audit trail: "admin token ab12cd (ops
	// laptop)", a UPN, "the command line (root@pi)".
	Who string
	// Role is what they may do: server.RoleAdmin, RoleOperator or
	// RoleViewer.
	Role string
	// TokenID is the admin token that proved who they are, "" for
	// another proof.
	TokenID string
}

// Permission is what an operation needs of its actor's role.
type Permission int

const (
	// Read: see screens, groups, light keys (never their secrets),
	// tokens (never their secrets), sessions and the audit trail. Every
	// role may.
	Read Permission = iota + 1
	// Operate: approve, rename, set the settings of, reload, identify and
	// sign out screens, and run groups. Operators and admins may.
	Operate
	// Administer: make and revoke admin tokens, light keys and
	// provisioning links, revoke screens, end others' sessions. Admins
	// only.
	Administer
)

func (p Permission) String() string {
	switch p {
	case Read:
		return "read"
	case Operate:
		return "operate screens"
	case Administer:
		return "administer"
	}
	return fmt.Sprintf("permission %d", int(p))
}

// ValidRole reports whether r names a role.
func ValidRole(r string) bool {
	return r == server.RoleAdmin || r == server.RoleOperator || r == server.RoleViewer
}

// Can reports whether a role has a permission.
func Can(role string, p Permission) bool {
	switch role {
	case server.RoleAdmin:
		return true
	case server.RoleOperator:
		return p == Read || p == Operate
	case server.RoleViewer:
		return p == Read
	}
	return false
}

// Check returns nil when the actor may, and otherwise an EFORBIDDEN error
// that says which role it would take.
func (a Actor) Check(p Permission, what string) error {
	if Can(a.Role, p) {
		return nil
	}
	need := server.RoleAdmin
	if p == Operate {
		need = "operator or " + server.RoleAdmin
	}
	role := a.Role
	if role == "" {
		role = "no role"
	}
	return server.Errorf(server.EFORBIDDEN, "%s: %s has the role %s, and this takes %s", what, a.Who, role, need)
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// audit adds an event to the audit trail and the log. A failure to record
// it is logged: the operation itself is done.
func (s *Service) audit(ctx context.Context, e server.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	s.log().Info("audit", "kind", e.Kind, "screen", e.ScreenID, "account", e.Account, "outcome", e.Outcome, "detail", e.Detail)
	if err := s.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log().Error("recording an audit event", "kind", e.Kind, "err", err)
	}
}

// Audit records an event of an administrator's own (a sign-in to the admin
// page, a session ended).
func (s *Service) Audit(ctx context.Context, e server.AuditEvent) { s.audit(ctx, e) }

// running returns the running screens, or says that the operation needs
// the edge server.
func (s *Service) running(what string) (*screens.Manager, error) {
	if s.Screens == nil {
		return nil, server.Errorf(server.EUNAVAILABLE, "%s needs the running edge server: use the admin page or API", what)
	}
	return s.Screens, nil
}
