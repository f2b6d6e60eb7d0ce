package adminhttp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// Admin tokens are "padm_<id>.<secret>": the prefix lets secret scanners
// recognise one, the id finds the stored hash, and the secret is compared
// with it in constant time. Sessions (after a sign-in) are
// "pses_<secret>" and live in memory only.
const (
	adminTokenPrefix = "padm_"
	sessionPrefix    = "pses_"
)

// NewAdminToken makes an admin token called name, stores its hash and
// returns the token, which is shown once and never again.
func NewAdminToken(ctx context.Context, store server.Store, name string, now time.Time) (string, server.AdminToken, error) {
	name = strings.TrimSpace(name)
	if len(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", server.AdminToken{}, server.Errorf(server.EINVALID, "a token's name is up to 100 printable characters")
	}
	tok := secret.New()
	t := server.AdminToken{ID: "a" + secret.NewID(), Name: name, Hash: secret.Hash(tok), CreatedAt: now}
	if err := store.CreateAdminToken(ctx, t); err != nil {
		return "", t, fmt.Errorf("making an admin token: %w", err)
	}
	return adminTokenPrefix + t.ID + "." + tok, t, nil
}

// parseAdminToken splits a token into its id and secret.
func parseAdminToken(s string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(s, adminTokenPrefix)
	if !ok || len(s) > 200 {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, ".")
	if !ok || id == "" || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

// errBadToken is what a person is told of any token that does not work:
// whether the id exists is not revealed.
var errBadToken = server.Errorf(server.EUNAUTHORIZED, "that admin token does not work: make one on the server with `placard admin token`")

// checkAdminToken returns the stored token that s proves, comparing the
// secret's hash in constant time.
func checkAdminToken(ctx context.Context, store server.Store, s string) (server.AdminToken, error) {
	id, presented, ok := parseAdminToken(strings.TrimSpace(s))
	if !ok {
		return server.AdminToken{}, errBadToken
	}
	t, err := store.AdminToken(ctx, id)
	if server.IsNotFound(err) {
		// Hash anyway, so that an unknown id costs the same time.
		subtle.ConstantTimeCompare(secret.Hash(presented), make([]byte, sha256.Size))
		return server.AdminToken{}, errBadToken
	}
	if err != nil {
		return server.AdminToken{}, err
	}
	if subtle.ConstantTimeCompare(t.Hash, secret.Hash(presented)) != 1 {
		return server.AdminToken{}, errBadToken
	}
	return t, nil
}
