// Package secret seals what the edge server keeps on disk that must not be
// read there: MSAL's token caches. It uses XChaCha20-Poly1305 (random 24-byte
// nonces are safe for any number of messages) with a 32-byte key that comes
// from PLACARD_KEY or from a 0600 key file made on first start. It also
// makes the bearer secrets handed out once (admin tokens, light keys) and
// the hash under which they are kept.
package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of a key in bytes.
const KeySize = chacha20poly1305.KeySize

// version prefixes every sealed blob, so that the format can change later.
const version = 1

// Box seals and opens blobs with one key.
type Box struct {
	key []byte
}

// NewBox returns a Box for key, which must be KeySize bytes.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
	}
	return &Box{key: bytes.Clone(key)}, nil
}

// Seal encrypts plain; label is authenticated but not stored (the account
// id), so a blob copied to another row does not open.
func (b *Box) Seal(plain []byte, label string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(b.key)
	if err != nil {
		return nil, fmt.Errorf("secret: seal: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("secret: seal: nonce: %w", err)
	}
	return aead.Seal(out, out[1:], plain, []byte(label)), nil
}

// Sealed reports whether blob has the form Seal gives it (whether it
// opens is another matter): a value stored before it was sealed does not,
// for it does not start with the format's version byte.
func Sealed(blob []byte) bool {
	return len(blob) >= 1+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead && blob[0] == version
}

// ErrOpen is returned for a blob that does not open with this key and label.
var ErrOpen = errors.New("secret: the blob does not open with this key (wrong key, wrong label or tampered)")

// Open decrypts a blob made by Seal with the same label.
func (b *Box) Open(sealed []byte, label string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(b.key)
	if err != nil {
		return nil, fmt.Errorf("secret: open: %w", err)
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, sealed[1+aead.NonceSize():], []byte(label))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// LoadKey returns the key from env when it is set (base64 of KeySize
// bytes), else from the file at path, which is created with a new random
// key and mode 0600 when missing. A key file readable by others is refused.
func LoadKey(env, path string) ([]byte, error) {
	if env != "" {
		key, err := decodeKey(env)
		if err != nil {
			return nil, fmt.Errorf("secret: PLACARD_KEY: %w", err)
		}
		return key, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path, rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: reading key file: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secret: key file %s has mode %04o: others may read it; run chmod 600 %s", path, perm, path)
	}
	key, err := decodeKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	return key, nil
}

// NewKeyString returns a new random key in the form LoadKey reads.
func NewKeyString() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("secret: new key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not base64 (make one with: placard key)")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d (make one with: placard key)", len(key), KeySize)
	}
	return key, nil
}

func createKeyFile(path string, r io.Reader) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(r, key); err != nil {
		return nil, fmt.Errorf("secret: new key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secret: creating key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("secret: writing key file: %w", err)
	}
	return key, nil
}
