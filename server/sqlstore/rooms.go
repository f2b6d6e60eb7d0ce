package sqlstore

import (
	"context"
	"time"

	"github.com/placard/placard/server"
)

// PutRoomMark records a mark of a room's meeting unless the meeting has
// one, and reports whether it did.
func (s *Store) PutRoomMark(ctx context.Context, m server.RoomMark) (bool, error) {
	op := "PutRoomMark(" + m.AccountID + ")"
	if m.AccountID == "" || m.EventID == "" || (m.Kind != server.RoomCheckedIn && m.Kind != server.RoomReleased) {
		return false, server.Errorf(server.EINVALID, "a room's mark needs an account, a meeting and a kind (%s or %s)", server.RoomCheckedIn, server.RoomReleased)
	}
	res, err := s.exec(ctx, `INSERT INTO room_marks (account_id, event_id, kind, at) VALUES (?,?,?,?)
		ON CONFLICT (account_id, event_id) DO NOTHING`, m.AccountID, m.EventID, m.Kind, s.f.Time(m.At))
	if err != nil {
		return false, s.errorf(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.errorf(op, err)
	}
	return n == 1, nil
}

// RoomMarks returns an account's marks made at or after since, oldest
// first.
func (s *Store) RoomMarks(ctx context.Context, accountID string, since time.Time) ([]server.RoomMark, error) {
	if since.IsZero() {
		// The zero time is NULL in PostgreSQL, which nothing is after.
		since = time.Unix(0, 0)
	}
	return list(ctx, s, "RoomMarks("+accountID+")",
		`SELECT account_id, event_id, kind, at FROM room_marks WHERE account_id = ? AND at >= ? ORDER BY at, event_id`,
		func(r scanner) (server.RoomMark, error) {
			var m server.RoomMark
			err := r.Scan(&m.AccountID, &m.EventID, &m.Kind, dbTime{&m.At})
			return m, err
		}, accountID, s.f.Time(since))
}

// DeleteRoomMark forgets a meeting's mark of a kind; none is no error.
func (s *Store) DeleteRoomMark(ctx context.Context, accountID, eventID, kind string) error {
	if _, err := s.exec(ctx, `DELETE FROM room_marks WHERE account_id = ? AND event_id = ? AND kind = ?`, accountID, eventID, kind); err != nil {
		return s.errorf("DeleteRoomMark("+accountID+")", err)
	}
	return nil
}

// DeleteRoomMarksBefore forgets the marks made before a time.
func (s *Store) DeleteRoomMarksBefore(ctx context.Context, before time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM room_marks WHERE at < ?`, s.f.Time(before)); err != nil {
		return s.errorf("DeleteRoomMarksBefore", err)
	}
	return nil
}
