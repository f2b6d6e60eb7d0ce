package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/placard/placard/server"
)

// PutAccount creates or replaces an account.
func (s *Store) PutAccount(ctx context.Context, a server.Account) error {
	_, err := s.exec(ctx, `INSERT INTO accounts (id, username, display_name, tenant_id, signed_in_at) VALUES (?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET username=excluded.username, display_name=excluded.display_name, tenant_id=excluded.tenant_id, signed_in_at=excluded.signed_in_at`,
		a.ID, a.Username, a.DisplayName, a.TenantID, s.f.Time(a.SignedInAt))
	if err != nil {
		return s.errorf("PutAccount("+a.ID+")", err)
	}
	return nil
}

// Account returns one account, or server.ErrNotFound.
func (s *Store) Account(ctx context.Context, id string) (server.Account, error) {
	return one(s, "Account("+id+")", s.queryRow(ctx, `SELECT id, username, display_name, tenant_id, signed_in_at FROM accounts WHERE id = ?`, id),
		func(r scanner) (server.Account, error) {
			var a server.Account
			err := r.Scan(&a.ID, &a.Username, &a.DisplayName, &a.TenantID, dbTime{&a.SignedInAt})
			return a, err
		})
}

// DeleteAccount removes an account; a missing one is server.ErrNotFound.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteAccount("+id+")", `DELETE FROM accounts WHERE id = ?`, id)
}

// A deleted token cache stays as a tombstone: an empty blob whose version
// moves on, so that versions never repeat for an account. Every read treats
// it as absent.

// TokenCache returns an account's cache blob, or server.ErrNotFound.
func (s *Store) TokenCache(ctx context.Context, accountID string) ([]byte, error) {
	var blob []byte
	err := s.queryRow(ctx, `SELECT blob FROM token_caches WHERE account_id = ? AND length(blob) > 0`, accountID).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, server.ErrNotFound
	}
	if err != nil {
		return nil, s.errorf("TokenCache("+accountID+")", err)
	}
	return blob, nil
}

// PutTokenCache creates or replaces an account's cache blob.
func (s *Store) PutTokenCache(ctx context.Context, accountID string, blob []byte) error {
	if len(blob) == 0 {
		return server.Errorf(server.EINVALID, "the token cache of %s is empty", accountID)
	}
	_, err := s.exec(ctx, `INSERT INTO token_caches (account_id, blob, updated_at, version) VALUES (?,?,?,1)
		ON CONFLICT (account_id) DO UPDATE SET blob=excluded.blob, version=token_caches.version+1, updated_at=excluded.updated_at`,
		accountID, blob, s.f.Time(s.now()))
	if err != nil {
		return s.errorf("PutTokenCache("+accountID+")", err)
	}
	return nil
}

// TokenCacheVersion returns an account's cache blob and its version (the
// blob nil when the version is have), or server.ErrNotFound.
func (s *Store) TokenCacheVersion(ctx context.Context, accountID string, have int64) ([]byte, int64, error) {
	var (
		blob    []byte
		version int64
	)
	err := s.queryRow(ctx, `SELECT CASE WHEN version = ? THEN NULL ELSE blob END, version FROM token_caches WHERE account_id = ? AND length(blob) > 0`,
		have, accountID).Scan(&blob, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, server.ErrNotFound
	}
	if err != nil {
		return nil, 0, s.errorf("TokenCacheVersion("+accountID+")", err)
	}
	return blob, version, nil
}

// PutTokenCacheIf writes the blob while the stored version is version (0:
// while none is stored, or only a tombstone), and returns the new version.
func (s *Store) PutTokenCacheIf(ctx context.Context, accountID string, blob []byte, version int64) (int64, error) {
	if len(blob) == 0 {
		return 0, server.Errorf(server.EINVALID, "the token cache of %s is empty", accountID)
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if version == 0 {
			return tx.QueryRowContext(ctx, s.q(`INSERT INTO token_caches (account_id, blob, updated_at, version) VALUES (?,?,?,1)
				ON CONFLICT (account_id) DO UPDATE SET blob=excluded.blob, version=token_caches.version+1, updated_at=excluded.updated_at
				WHERE length(token_caches.blob) = 0
				RETURNING version`), accountID, blob, s.f.Time(s.now())).Scan(&n)
		}
		return tx.QueryRowContext(ctx, s.q(`UPDATE token_caches SET blob=?, version=version+1, updated_at=?
			WHERE account_id=? AND version=? AND length(blob) > 0 RETURNING version`),
			blob, s.f.Time(s.now()), accountID, version).Scan(&n)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, server.Errorf(server.ECONFLICT, "the token cache of %s was written by another since version %d was read", accountID, version)
	}
	if err != nil {
		return 0, s.errorf("PutTokenCacheIf("+accountID+")", err)
	}
	return n, nil
}

// DeleteTokenCache leaves a tombstone in place of an account's cache blob;
// a missing one is server.ErrNotFound.
func (s *Store) DeleteTokenCache(ctx context.Context, accountID string) error {
	return s.deleteOne(ctx, "DeleteTokenCache("+accountID+")", `UPDATE token_caches SET blob=?, version=version+1, updated_at=?
		WHERE account_id = ? AND length(blob) > 0`, []byte{}, s.f.Time(s.now()), accountID)
}
