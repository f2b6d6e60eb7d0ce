package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/placard/placard/server"
)

// settingProbe is the row Ping writes to tell that the database writes
// again.
const settingProbe = "write_probe"

// Setting returns a value the edge server keeps about itself, or
// server.ErrNotFound.
func (s *Store) Setting(ctx context.Context, name string) ([]byte, error) {
	return one(s, "Setting", s.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name),
		func(r scanner) ([]byte, error) {
			var v []byte
			err := r.Scan(&v)
			return v, err
		})
}

// PutSettingOnce stores value under name unless a value is there, and
// returns the one stored: value, or the first one put, when replicas
// started together race.
func (s *Store) PutSettingOnce(ctx context.Context, name string, value []byte) ([]byte, error) {
	if len(value) == 0 {
		return nil, server.Errorf(server.EINVALID, "setting %q: an empty value", name)
	}
	_, err := s.exec(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)`, name, value)
	if err != nil && !s.f.IsUnique(err) {
		return nil, s.errorf("PutSettingOnce", err)
	}
	stored, err := s.Setting(ctx, name)
	if errors.Is(err, server.ErrNotFound) {
		return nil, s.errorf("PutSettingOnce", errors.New("the setting vanished as it was put"))
	}
	return stored, err
}

// probe is what Ping writes to tell that the database writes again: as
// large as a token cache (8 KiB, more than a page of SQLite's), so that
// it needs room that a full disk does not have, not only a corner of a
// page that still has some.
func probe(now time.Time) []byte {
	stamp := []byte(now.UTC().Format(time.RFC3339Nano) + "\n")
	return bytes.Repeat(stamp, 8<<10/len(stamp)+1)
}

// putSetting writes a setting over any value it had.
func (s *Store) putSetting(ctx context.Context, name string, value []byte) error {
	_, err := s.exec(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return err
}
