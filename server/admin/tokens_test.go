package admin

import (
	"strings"
	"testing"
)

// FuzzParseToken: whatever a client sends as a bearer token, the
// parser either refuses it or returns the non-empty id and secret it was
// made of, never a part holding the separator.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"padm_a1.s3cret", "padm_.x", "padm_a.", "padm_", "Bearer padm_a.b", "padm_a.b.c", "padm_" + strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := ParseToken(s)
		if !ok {
			return
		}
		if id == "" || secret == "" || strings.Contains(id, ".") || len(s) > 200 {
			t.Fatalf("ParseToken(%q) accepted id %q, secret %q", s, id, secret)
		}
		if TokenPrefix+id+"."+secret != s {
			t.Fatalf("ParseToken(%q) = %q, %q: not the parts of the token", s, id, secret)
		}
	})
}
