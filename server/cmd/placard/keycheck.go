package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/secret"
)

// keyCheckSetting names the store's sealed check of the key that seals its
// tokens.
const keyCheckSetting = "key_check"

// keyCheckText is what the check seals: the same on every replica.
var keyCheckText = []byte("placard: the key that seals this store's tokens")

// checkKey makes sure box's key is the one that sealed the store's tokens:
// a replica started with another PLACARD_KEY would take accounts it cannot
// open and show their last data forever. The first start seals a check
// into the store (replicas starting together keep the first one sealed);
// every later start must open it.
//
// A store from before the check may already hold sealed token caches: one
// of them is tried first, so that the check is never sealed with a key
// that does not open them.
func checkKey(ctx context.Context, store server.Store, box *secret.Box) error {
	stored, err := store.Setting(ctx, keyCheckSetting)
	if server.IsNotFound(err) {
		stored, err = sealKeyCheck(ctx, store, box)
	}
	if err != nil {
		return fmt.Errorf("checking the key against the store: %w", err)
	}
	plain, err := box.Open(stored, keyCheckSetting)
	if err != nil || !bytes.Equal(plain, keyCheckText) {
		return errWrongKey
	}
	return nil
}

// sealKeyCheck seals the check into a store that has none yet, and
// returns the one stored (another replica's, when it was first).
func sealKeyCheck(ctx context.Context, store server.Store, box *secret.Box) ([]byte, error) {
	if err := opensATokenCache(ctx, store, box); err != nil {
		return nil, err
	}
	sealed, err := box.Seal(keyCheckText, keyCheckSetting)
	if err != nil {
		return nil, err
	}
	return store.PutSettingOnce(ctx, keyCheckSetting, sealed)
}

// errWrongKey says what to do about a key that does not open the store.
var errWrongKey = errors.New("the key does not open this store's tokens: they were sealed with another key. " +
	"Start placard with the key it was first started with (PLACARD_KEY, the same on every replica, or the data directory's key file)")

// opensATokenCache tries the key on one of the store's sealed token
// caches, when it has any.
func opensATokenCache(ctx context.Context, store server.Store, box *secret.Box) error {
	screens, err := store.Screens(ctx)
	if err != nil {
		return err
	}
	caches := identity.SealedCaches{Store: store, Box: box}
	for _, sc := range screens {
		if sc.AccountID == "" {
			continue
		}
		blob, err := caches.LoadCache(ctx, sc.AccountID)
		switch {
		case errors.Is(err, secret.ErrOpen):
			return errWrongKey
		case err != nil:
			return err
		case blob != nil:
			return nil
		}
	}
	return nil
}
