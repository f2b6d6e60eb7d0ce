package secret

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"testing"
)

func TestBearerSecretsAreRandomAndKeptAsTheirHash(t *testing.T) {
	a, b := New(), New()
	if a == b {
		t.Fatal("two new secrets are the same")
	}
	if raw, err := base64.RawURLEncoding.DecodeString(a); err != nil || len(raw) != 32 {
		t.Errorf("secret %q: %d bytes (%v), want 32 in base64url", a, len(raw), err)
	}
	if want := sha256.Sum256([]byte(a)); string(Hash(a)) != string(want[:]) {
		t.Errorf("Hash(%q) is not its SHA-256", a)
	}
	if string(Hash(a)) == string(Hash(b)) {
		t.Error("two secrets have one hash")
	}
	id := NewID()
	if !regexp.MustCompile(`^[a-z2-7]{8}$`).MatchString(id) || id == NewID() {
		t.Errorf("id %q: want 8 lower-case base32 characters, new each time", id)
	}
}
