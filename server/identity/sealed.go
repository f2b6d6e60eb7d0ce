package identity

import (
	"context"
	"crypto/sha256"

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

func (s SealedCaches) LoadCacheVersion(ctx context.Context, accountID string, have CacheVersion) ([]byte, CacheVersion, error) {
	sealed, n, err := s.Store.TokenCacheVersion(ctx, accountID, have.N)
	if server.IsNotFound(err) {
		return nil, CacheVersion{}, nil
	}
	if err != nil {
		return nil, CacheVersion{}, err
	}
	if sealed == nil && have.N != 0 && n == have.N {
		// Unchanged since the caller read it (versions never repeat):
		// nothing was read, nor is there anything to open.
		return nil, have, nil
	}
	// The digest is of the sealed bytes, which a fresh nonce makes
	// unique to each write.
	version := CacheVersion{N: n, Sum: sha256.Sum256(sealed)}
	blob, err := s.Box.Open(sealed, "msal-cache:"+accountID)
	return blob, version, err
}

func (s SealedCaches) SaveCacheIf(ctx context.Context, accountID string, blob []byte, version int64) (CacheVersion, error) {
	sealed, err := s.Box.Seal(blob, "msal-cache:"+accountID)
	if err != nil {
		return CacheVersion{}, err
	}
	n, err := s.Store.PutTokenCacheIf(ctx, accountID, sealed, version)
	if err != nil {
		return CacheVersion{}, err
	}
	return CacheVersion{N: n, Sum: sha256.Sum256(sealed)}, nil
}

func (s SealedCaches) DeleteCache(ctx context.Context, accountID string) error {
	err := s.Store.DeleteTokenCache(ctx, accountID)
	if server.IsNotFound(err) {
		return nil
	}
	return err
}
