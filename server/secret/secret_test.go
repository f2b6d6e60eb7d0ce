package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	k, err := NewKeyString()
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadKey(k, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealedBlobOpensOnlyWithItsKeyAndLabel(t *testing.T) {
	b := newBox(t)
	plain := []byte(`{"RefreshToken":{"x":{"secret":"1.Aabc"}}}`)
	sealed, err := b.Seal(plain, "msal-cache:ada")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("1.Aabc")) {
		t.Fatal("the sealed blob holds the plain text")
	}
	got, err := b.Open(sealed, "msal-cache:ada")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		box   *Box
		blob  []byte
		label string
	}{
		"other label": {b, sealed, "msal-cache:grace"},
		"other key":   {newBox(t), sealed, "msal-cache:ada"},
		"tampered":    {b, tampered, "msal-cache:ada"},
		"truncated":   {b, sealed[:10], "msal-cache:ada"},
	} {
		if _, err := tc.box.Open(tc.blob, tc.label); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open = %v, want ErrOpen", name, err)
		}
	}
	again, _ := b.Seal(plain, "msal-cache:ada")
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same text are equal: the nonce is not random")
	}
}

func TestKeyFileIsMadeOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	first, err := LoadKey("", path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	second, err := LoadKey("", path)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("the key changed between starts: %v", err)
	}
}

func TestBadKeysAreRefusedWithAReason(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte(base64.StdEncoding.EncodeToString(make([]byte, KeySize))), 0o644)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 0o600)
	tests := []struct {
		name, env, path, reason string
	}{
		{"readable by others", "", open, "chmod 600"},
		{"wrong length in file", "", short, "decodes to 16 bytes"},
		{"env not base64", "not base64!", "", "PLACARD_KEY: not base64"},
		{"env wrong length", base64.StdEncoding.EncodeToString([]byte("short")), "", "decodes to 5 bytes"},
	}
	for _, tt := range tests {
		_, err := LoadKey(tt.env, tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.reason)
		}
	}
	if _, err := NewBox(make([]byte, 5)); err == nil {
		t.Error("NewBox accepted a 5-byte key")
	}
}
