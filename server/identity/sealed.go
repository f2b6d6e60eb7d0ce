package identity

import (
	"context"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// SealedCaches keeps token caches in a server.Store, encrypted with a
// secret.Box: the database holds no token in plain text. The account id is
// the seal's label, so a blob moved to another account does not open.
type SealedCaches struct {
	Store server.Store
	Box   *secret.Box
}

var _ VersionedCaches = SealedCaches{}

func (s SealedCaches) LoadCache(ctx context.Context, accountID string) ([]byte, error) {
	sealed, err := s.Store.TokenCache(ctx, accountID)
	if server.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.Box.Open(sealed, "msal-cache:"+accountID)
}

func (s SealedCaches) SaveCache(ctx context.Context, accountID string, blob []byte) error {
	sealed, err := s.Box.Seal(blob, "msal-cache:"+accountID)
	if err != nil {
		return err
	}
	return s.Store.PutTokenCache(ctx, accountID, sealed)
}

func (s SealedCaches) LoadCacheVersion(ctx context.Context, accountID string, have int64) ([]byte, int64, error) {
	sealed, version, err := s.Store.TokenCacheVersion(ctx, accountID)
	if server.IsNotFound(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if have != 0 && version == have {
		return nil, version, nil // the caller holds it opened
	}
	blob, err := s.Box.Open(sealed, "msal-cache:"+accountID)
	return blob, version, err
}

func (s SealedCaches) SaveCacheIf(ctx context.Context, accountID string, blob []byte, version int64) (int64, error) {
	sealed, err := s.Box.Seal(blob, "msal-cache:"+accountID)
	if err != nil {
		return 0, err
	}
	return s.Store.PutTokenCacheIf(ctx, accountID, sealed, version)
}

func (s SealedCaches) DeleteCache(ctx context.Context, accountID string) error {
	err := s.Store.DeleteTokenCache(ctx, accountID)
	if server.IsNotFound(err) {
		return nil
	}
	return err
}
