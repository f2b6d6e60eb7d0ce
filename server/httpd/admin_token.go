package httpd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/placard/placard/server"
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
	secret := randomSecret()
	t := server.AdminToken{ID: "a" + randomID(), Name: name, Hash: hashToken(secret), CreatedAt: now}
	if err := store.CreateAdminToken(ctx, t); err != nil {
		return "", t, fmt.Errorf("making an admin token: %w", err)
	}
	return adminTokenPrefix + t.ID + "." + secret, t, nil
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
	id, secret, ok := parseAdminToken(strings.TrimSpace(s))
	if !ok {
		return server.AdminToken{}, errBadToken
	}
	t, err := store.AdminToken(ctx, id)
	if server.IsNotFound(err) {
		// Hash anyway, so that an unknown id costs the same time.
		subtle.ConstantTimeCompare(hashToken(secret), make([]byte, sha256.Size))
		return server.AdminToken{}, errBadToken
	}
	if err != nil {
		return server.AdminToken{}, err
	}
	if subtle.ConstantTimeCompare(t.Hash, hashToken(secret)) != 1 {
		return server.AdminToken{}, errBadToken
	}
	return t, nil
}

func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID() string {
	b := make([]byte, 5)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
