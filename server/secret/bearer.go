package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

// Bearer secrets (admin tokens, light keys) are kept only as a hash. They
// are 256 random bits, so a plain SHA-256 is enough: nothing could guess
// one to try against a stolen hash, and a slow hash would only slow every
// request that presents one.

// New returns a new random secret: 32 random bytes, base64url.
func New() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns what is stored of a bearer secret.
func Hash(bearer string) []byte {
	h := sha256.Sum256([]byte(bearer))
	return h[:]
}

// NewID returns a short random id (40 bits, lower-case base32) that names a
// bearer secret in the store and in messages; it is not secret.
func NewID() string {
	b := make([]byte, 5)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
