package screens

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
)

// Default limits on device codes (docs/security.md: a code is a sign-in prompt
// in the organisation's name, so the edge server must not mint them at
// will). A screen asks for a code when its session starts, about every 14
// minutes to replace one before it expires, and after a decline or a
// failure: five in ten minutes is already someone declining again and
// again. Twenty a minute for every screen together covers a few hundred
// screens waiting for a sign-in at once; a larger fleet raises it
// (-codes-per-minute).
var (
	DefaultCodesPerScreen = limit.Rate{Max: 5, Per: 10 * time.Minute}
	DefaultCodesTotal     = limit.Rate{Max: 20, Per: time.Minute}
)

// DefaultBookingsPerScreen and DefaultBookingsPerAccount bound quick
// bookings: the touch capability is the screen's own claim, so a stolen
// screen cookie must not fill a room's day with events.
var (
	DefaultBookingsPerScreen  = limit.Rate{Max: 4, Per: time.Hour}
	DefaultBookingsPerAccount = limit.Rate{Max: 8, Per: time.Hour}
)

// bookLimits are the limits of quick bookings, per screen and per account.
type bookLimits struct{ perScreen, perAccount *limit.Limiter }

func newBookLimits(cfg Config) bookLimits {
	per, acct := cfg.BookingsPerScreen, cfg.BookingsPerAccount
	if per == (limit.Rate{}) {
		per = DefaultBookingsPerScreen
	}
	if acct == (limit.Rate{}) {
		acct = DefaultBookingsPerAccount
	}
	return bookLimits{perScreen: limit.New(per, cfg.Now), perAccount: limit.New(acct, cfg.Now)}
}

// allow records a booking of screen for account, unless either has booked
// too often lately.
func (l bookLimits) allow(screen, account string) bool {
	if ok, _ := l.perScreen.Allow(screen); !ok {
		return false
	}
	if ok, _ := l.perAccount.Allow(account); !ok {
		l.perScreen.Undo(screen)
		return false
	}
	return true
}

// codeLimits are the manager's limiters of device-code requests.
type codeLimits struct {
	perScreen *limit.Limiter // by screen id (or "admin:<address>")
	total     *limit.Limiter // one key: every request
}

func newCodeLimits(cfg Config) codeLimits {
	per, total := cfg.CodesPerScreen, cfg.CodesTotal
	if per == (limit.Rate{}) {
		per = DefaultCodesPerScreen
	}
	if total == (limit.Rate{}) {
		total = DefaultCodesTotal
	}
	return codeLimits{perScreen: limit.New(per, cfg.Now), total: limit.New(total, cfg.Now)}
}

// CodeLimitError is a device-code request refused by a rate limit: no
// request went to the identity platform.
type CodeLimitError struct {
	// Retry is when a request may be allowed again.
	Retry time.Time
	err   *server.Error
}

func (e *CodeLimitError) Error() string { return e.err.Message }
func (e *CodeLimitError) Unwrap() error { return e.err }

// AllowCode reports whether who (a screen's id, or "admin:<address>" for
// an administrator's sign-in) may ask the identity platform for a device
// code now: within its own limit and within the limit of all requests
// together. The error of a refusal says which limit was reached and when
// to try again; it is a *CodeLimitError with code ETOOMANY.
func (m *Manager) AllowCode(who string) error {
	if ok, retry := m.codes.perScreen.Allow(who); !ok {
		return codeLimitError(retry, fmt.Sprintf("this screen asked for %s", m.codes.perScreen.Rate()))
	}
	total := m.codes.total.Rate()
	ok, retry, err := m.cfg.Cluster.AllowCode(m.ctx, total.Max, total.Per)
	if err != nil {
		// The count of every replica's codes cannot be read: refuse
		// rather than exceed it.
		m.codes.perScreen.Undo(who)
		m.log.Warn("counting sign-in codes", "err", err)
		return codeLimitError(m.cfg.Now().Add(m.cfg.ProblemHold), "the count of codes for all screens cannot be read now")
	}
	if !ok {
		m.codes.perScreen.Undo(who)
		return codeLimitError(retry, fmt.Sprintf("the edge server asked for %s for all screens together", total))
	}
	return nil
}

func codeLimitError(retry time.Time, what string) *CodeLimitError {
	return &CodeLimitError{Retry: retry, err: server.Errorf(server.ETOOMANY,
		"too many sign-in codes: %s; the next one may be asked for at %s",
		what, retry.UTC().Format("15:04:05 UTC"))}
}

// refuseCode shows a screen that its code was refused by a rate limit and
// waits until a request may be allowed again, plus up to 10 s of jitter so
// that the screens refused together do not all ask again in the same
// instant. It reports false when the session ended meanwhile.
func (m *Manager) refuseCode(ctx context.Context, s *session, err error) bool {
	s.mu.Lock()
	name := s.screen.Name
	s.mu.Unlock()
	m.log.Warn("refusing a device code", "screen", s.id, "err", err)
	m.cfg.Metrics.SignIn("rate_limited")
	m.audit(ctx, server.AuditEvent{Kind: server.AuditCodeRefused, ScreenID: s.id, ScreenName: name,
		Outcome: "rate_limited", Detail: err.Error()})
	wait := m.cfg.ProblemHold
	if le, ok := err.(*CodeLimitError); ok {
		wait = max(wait, le.Retry.Sub(m.cfg.Now()))
	}
	return m.holdProblem(ctx, s, err, wait+rand.N(10*time.Second))
}
