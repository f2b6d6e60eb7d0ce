package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/placard/placard/server"
)

const calendarSyncColumns = `account_id, window_from, window_to, delta_link, events, version, updated_at`

func scanCalendarSync(r scanner) (server.CalendarSync, error) {
	var c server.CalendarSync
	err := r.Scan(&c.AccountID, dbTime{&c.Start}, dbTime{&c.End}, &c.DeltaLink, &c.Events, &c.Version, dbTime{&c.UpdatedAt})
	return c, err
}

// CalendarSync returns where an account's calendar stands in its rounds
// of delta, or server.ErrNotFound.
func (s *Store) CalendarSync(ctx context.Context, accountID string) (server.CalendarSync, error) {
	return one(s, "CalendarSync("+accountID+")", s.queryRow(ctx, `SELECT `+calendarSyncColumns+` FROM calendar_syncs WHERE account_id = ?`, accountID), scanCalendarSync)
}

// PutCalendarSyncIf writes c while the stored version is c.Version (0:
// none is stored), and returns the new version; otherwise it is a
// conflict.
func (s *Store) PutCalendarSyncIf(ctx context.Context, c server.CalendarSync) (int64, error) {
	op := "PutCalendarSyncIf(" + c.AccountID + ")"
	if c.AccountID == "" || c.DeltaLink == "" {
		return 0, server.Errorf(server.EINVALID, "a calendar's delta state needs an account and a deltaLink")
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if c.Version == 0 {
			// ON CONFLICT DO NOTHING returns no row when one is there.
			return tx.QueryRowContext(ctx, s.q(`INSERT INTO calendar_syncs (`+calendarSyncColumns+`) VALUES (?,?,?,?,?,1,?)
				ON CONFLICT (account_id) DO NOTHING RETURNING version`),
				c.AccountID, s.f.Time(c.Start), s.f.Time(c.End), c.DeltaLink, nonNil(c.Events), s.f.Time(c.UpdatedAt)).Scan(&n)
		}
		return tx.QueryRowContext(ctx, s.q(`UPDATE calendar_syncs SET window_from=?, window_to=?, delta_link=?, events=?, version=version+1, updated_at=?
			WHERE account_id=? AND version=? RETURNING version`),
			s.f.Time(c.Start), s.f.Time(c.End), c.DeltaLink, nonNil(c.Events), s.f.Time(c.UpdatedAt), c.AccountID, c.Version).Scan(&n)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, server.Errorf(server.ECONFLICT, "the calendar delta state of %s was written by another since version %d was read", c.AccountID, c.Version)
	}
	if err != nil {
		return 0, s.errorf(op, err)
	}
	return n, nil
}

// DeleteCalendarSync forgets where an account's calendar stands; none is
// no error.
func (s *Store) DeleteCalendarSync(ctx context.Context, accountID string) error {
	if _, err := s.exec(ctx, `DELETE FROM calendar_syncs WHERE account_id = ?`, accountID); err != nil {
		return s.errorf("DeleteCalendarSync("+accountID+")", err)
	}
	return nil
}
