package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/placard/placard/server"
)

const screenColumns = `id, name, secret_hash, enrolled, pairing_number, account_id, settings, created_at, last_seen, group_id, overrides, link_id, note`

func scanScreen(r scanner) (server.Screen, error) {
	var (
		sc                  server.Screen
		settings, overrides []byte
	)
	err := r.Scan(&sc.ID, &sc.Name, &sc.SecretHash, &sc.Enrolled, &sc.PairingNumber, &sc.AccountID, &settings,
		dbTime{&sc.CreatedAt}, dbTime{&sc.LastSeen}, &sc.Group, &overrides, &sc.Link, &sc.Note)
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(settings, &sc.Settings); err != nil {
		return sc, fmt.Errorf("screen %s has unreadable settings: %w", sc.ID, err)
	}
	if !bytes.Contains(settings, []byte(`"Actions":`)) {
		// Stored before screens had the setting: a screen booked
		// unless quick booking was refused it, and it still does.
		sc.Settings.Actions = !sc.Settings.NoQuickBook
	}
	if err := json.Unmarshal(overrides, &sc.Overrides); err != nil {
		return sc, fmt.Errorf("screen %s has unreadable overrides: %w", sc.ID, err)
	}
	if len(sc.Overrides) == 0 {
		sc.Overrides = nil
	}
	return sc, nil
}

// CreateScreen stores a new screen; an existing id is a conflict.
func (s *Store) CreateScreen(ctx context.Context, sc server.Screen) error {
	op := "CreateScreen(" + sc.ID + ")"
	settings, overrides, err := screenJSON(sc)
	if err != nil {
		return s.errorf(op, err)
	}
	_, err = s.exec(ctx, `INSERT INTO screens (`+screenColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		sc.ID, sc.Name, nonNil(sc.SecretHash), sc.Enrolled, sc.PairingNumber, sc.AccountID, settings,
		s.f.Time(sc.CreatedAt), s.f.Time(sc.LastSeen), sc.Group, overrides, sc.Link, sc.Note)
	if s.f.IsUnique(err) {
		return server.Errorf(server.ECONFLICT, "screen %s already exists", sc.ID)
	}
	if err != nil {
		return s.errorf(op, err)
	}
	return nil
}

// Screen returns one screen, or server.ErrNotFound.
func (s *Store) Screen(ctx context.Context, id string) (server.Screen, error) {
	return one(s, "Screen("+id+")", s.queryRow(ctx, `SELECT `+screenColumns+` FROM screens WHERE id = ?`, id), scanScreen)
}

// Screens returns every screen, oldest first.
func (s *Store) Screens(ctx context.Context) ([]server.Screen, error) {
	return list(ctx, s, "Screens", `SELECT `+screenColumns+` FROM screens ORDER BY created_at NULLS FIRST, id`, scanScreen)
}

// UpdateScreen reads the screen (locking its row), applies fn and writes
// the result in one transaction. The id cannot change. fn's error is
// returned as it is.
func (s *Store) UpdateScreen(ctx context.Context, id string, fn func(*server.Screen) error) (server.Screen, error) {
	op := "UpdateScreen(" + id + ")"
	var sc server.Screen
	var failed error // fn's failure, returned as it is
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		sc, err = one(s, op, tx.QueryRowContext(ctx, s.q(`SELECT `+screenColumns+` FROM screens WHERE id = ? `+s.f.ForUpdate), id), scanScreen)
		if err != nil {
			failed = err
			return err
		}
		if err := fn(&sc); err != nil {
			failed = err
			return err
		}
		sc.ID = id
		settings, overrides, err := screenJSON(sc)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE screens SET name=?, secret_hash=?, enrolled=?, pairing_number=?, account_id=?, settings=?, created_at=?, last_seen=?,
			group_id=?, overrides=?, link_id=?, note=? WHERE id=?`),
			sc.Name, nonNil(sc.SecretHash), sc.Enrolled, sc.PairingNumber, sc.AccountID, settings,
			s.f.Time(sc.CreatedAt), s.f.Time(sc.LastSeen), sc.Group, overrides, sc.Link, sc.Note, id)
		return err
	})
	if err != nil && failed == nil {
		err = s.errorf(op, err)
	}
	return sc, err
}

// DeleteScreen removes a screen; a missing one is server.ErrNotFound.
func (s *Store) DeleteScreen(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteScreen("+id+")", `DELETE FROM screens WHERE id = ?`, id)
}

// screenJSON encodes a screen's settings and overrides as their columns
// keep them.
func screenJSON(sc server.Screen) (settings, overrides string, err error) {
	b, err := json.Marshal(sc.Settings)
	if err != nil {
		return "", "", err
	}
	o := sc.Overrides
	if o == nil {
		o = []string{}
	}
	ob, err := json.Marshal(o)
	if err != nil {
		return "", "", err
	}
	return string(b), string(ob), nil
}
