package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/placard/placard/server"
)

const signInLinkColumns = `id, screen_id, screen_name, expires_at, phase, holder, match_sealed, state_hash, binding, auth_sealed, scope, typed_at, auth_until, ended, result, updated_at`

func scanSignInLink(r scanner) (server.SignInLink, error) {
	var l server.SignInLink
	err := r.Scan(&l.ID, &l.ScreenID, &l.ScreenName, dbTime{&l.ExpiresAt}, &l.Phase, &l.Holder, &l.Match, &l.State, &l.Binding, &l.Auth, &l.Scope,
		dbTime{&l.TypedAt}, dbTime{&l.AuthUntil}, &l.Ended, &l.Result, dbTime{&l.UpdatedAt})
	for _, b := range []*[]byte{&l.Holder, &l.Match, &l.Binding, &l.Auth, &l.Result} {
		if len(*b) == 0 {
			*b = nil
		}
	}
	return l, err
}

// CreateSignInLink stores a new sign-in link; an existing id is a
// conflict.
func (s *Store) CreateSignInLink(ctx context.Context, l server.SignInLink) error {
	op := "CreateSignInLink(" + l.ScreenID + ")"
	_, err := s.exec(ctx, `INSERT INTO signin_links (`+signInLinkColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		l.ID, l.ScreenID, l.ScreenName, s.f.Time(l.ExpiresAt), l.Phase, nonNil(l.Holder), nonNil(l.Match), l.State, nonNil(l.Binding),
		nonNil(l.Auth), l.Scope, s.f.Time(l.TypedAt), s.f.Time(l.AuthUntil), l.Ended, nonNil(l.Result), s.f.Time(l.UpdatedAt))
	if s.f.IsUnique(err) {
		return server.Errorf(server.ECONFLICT, "a sign-in link with that id exists already")
	}
	if err != nil {
		return s.errorf(op, err)
	}
	return nil
}

// SignInLink returns a sign-in link by id, or server.ErrNotFound.
func (s *Store) SignInLink(ctx context.Context, id string) (server.SignInLink, error) {
	return one(s, "SignInLink", s.queryRow(ctx, `SELECT `+signInLinkColumns+` FROM signin_links WHERE id = ?`, id), scanSignInLink)
}

// SignInLinkByState returns the sign-in link whose state hash is state, or
// server.ErrNotFound.
func (s *Store) SignInLinkByState(ctx context.Context, state string) (server.SignInLink, error) {
	if state == "" {
		return server.SignInLink{}, server.ErrNotFound
	}
	return one(s, "SignInLinkByState", s.queryRow(ctx, `SELECT `+signInLinkColumns+` FROM signin_links WHERE state_hash = ?`, state), scanSignInLink)
}

// UpdateSignInLink reads the link (locking its row), applies fn and writes
// the result in one transaction: of two replicas that take the same step
// at once, one sees the other's. fn's error is returned as it is.
func (s *Store) UpdateSignInLink(ctx context.Context, id string, fn func(*server.SignInLink) error) (server.SignInLink, error) {
	op := "UpdateSignInLink"
	var l server.SignInLink
	var failed error
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		l, err = one(s, op, tx.QueryRowContext(ctx, s.q(`SELECT `+signInLinkColumns+` FROM signin_links WHERE id = ? `+s.f.ForUpdate), id), scanSignInLink)
		if err != nil {
			failed = err
			return err
		}
		if err := fn(&l); err != nil {
			failed = err
			return err
		}
		l.ID = id
		_, err = tx.ExecContext(ctx, s.q(`UPDATE signin_links SET screen_id=?, screen_name=?, expires_at=?, phase=?, holder=?, match_sealed=?, state_hash=?,
			binding=?, auth_sealed=?, scope=?, typed_at=?, auth_until=?, ended=?, result=?, updated_at=? WHERE id=?`),
			l.ScreenID, l.ScreenName, s.f.Time(l.ExpiresAt), l.Phase, nonNil(l.Holder), nonNil(l.Match), l.State, nonNil(l.Binding),
			nonNil(l.Auth), l.Scope, s.f.Time(l.TypedAt), s.f.Time(l.AuthUntil), l.Ended, nonNil(l.Result), s.f.Time(l.UpdatedAt), id)
		return err
	})
	if err != nil && failed == nil {
		err = s.errorf(op, err)
	}
	return l, err
}

// DeleteSignInLinks forgets the sign-in links that expired, and whose
// sign-in had to come back, before a time.
func (s *Store) DeleteSignInLinks(ctx context.Context, before time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM signin_links WHERE expires_at < ? AND (auth_until IS NULL OR auth_until < ?)`, s.f.Time(before), s.f.Time(before))
	if err != nil {
		return 0, s.errorf("DeleteSignInLinks", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.errorf("DeleteSignInLinks", err)
	}
	return int(n), nil
}
