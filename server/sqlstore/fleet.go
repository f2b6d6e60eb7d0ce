package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/placard/placard/server"
)

const groupColumns = `id, name, settings, shared_sign_in, offline_after, webhooks, webhook_secret, created_at`

func scanGroup(r scanner) (server.Group, error) {
	var (
		g                  server.Group
		settings, webhooks []byte
		offlineMillis      int64
	)
	if err := r.Scan(&g.ID, &g.Name, &settings, &g.SharedSignIn, &offlineMillis, &webhooks, &g.WebhookSecret, dbTime{&g.CreatedAt}); err != nil {
		return g, err
	}
	if err := json.Unmarshal(settings, &g.Settings); err != nil {
		return g, fmt.Errorf("group %s has unreadable settings: %w", g.ID, err)
	}
	if err := json.Unmarshal(webhooks, &g.Webhooks); err != nil {
		return g, fmt.Errorf("group %s has unreadable webhooks: %w", g.ID, err)
	}
	if len(g.Webhooks) == 0 {
		g.Webhooks = nil
	}
	g.OfflineAfter = time.Duration(offlineMillis) * time.Millisecond
	return g, nil
}

// groupArgs are a group's columns after its id, as groupColumns names
// them.
func (s *Store) groupArgs(g server.Group) ([]any, error) {
	settings, err := json.Marshal(g.Settings)
	if err != nil {
		return nil, err
	}
	hooks := g.Webhooks
	if hooks == nil {
		hooks = []string{}
	}
	webhooks, err := json.Marshal(hooks)
	if err != nil {
		return nil, err
	}
	return []any{g.Name, string(settings), g.SharedSignIn, g.OfflineAfter.Milliseconds(), string(webhooks),
		nonNil(g.WebhookSecret), s.f.Time(g.CreatedAt)}, nil
}

// CreateGroup stores a new group; an existing id or name is a conflict.
func (s *Store) CreateGroup(ctx context.Context, g server.Group) error {
	op := "CreateGroup(" + g.ID + ")"
	args, err := s.groupArgs(g)
	if err != nil {
		return s.errorf(op, err)
	}
	_, err = s.exec(ctx, `INSERT INTO screen_groups (`+groupColumns+`) VALUES (?,?,?,?,?,?,?,?)`, append([]any{g.ID}, args...)...)
	if s.f.IsUnique(err) {
		return server.Errorf(server.ECONFLICT, "a group with the id %s or the name %q already exists", g.ID, g.Name)
	}
	if err != nil {
		return s.errorf(op, err)
	}
	return nil
}

// Group returns one group, or server.ErrNotFound.
func (s *Store) Group(ctx context.Context, id string) (server.Group, error) {
	return one(s, "Group("+id+")", s.queryRow(ctx, `SELECT `+groupColumns+` FROM screen_groups WHERE id = ?`, id), scanGroup)
}

// Groups returns every group, by name.
func (s *Store) Groups(ctx context.Context) ([]server.Group, error) {
	return list(ctx, s, "Groups", `SELECT `+groupColumns+` FROM screen_groups ORDER BY name, id`, scanGroup)
}

// UpdateGroup reads the group (locking its row), applies fn and writes the
// result in one transaction. fn's error is returned as it is.
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(*server.Group) error) (server.Group, error) {
	op := "UpdateGroup(" + id + ")"
	var g server.Group
	var failed error
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		g, err = one(s, op, tx.QueryRowContext(ctx, s.q(`SELECT `+groupColumns+` FROM screen_groups WHERE id = ? `+s.f.ForUpdate), id), scanGroup)
		if err != nil {
			failed = err
			return err
		}
		if err := fn(&g); err != nil {
			failed = err
			return err
		}
		g.ID = id
		args, err := s.groupArgs(g)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE screen_groups SET name=?, settings=?, shared_sign_in=?, offline_after=?, webhooks=?, webhook_secret=?, created_at=? WHERE id=?`),
			append(args, id)...)
		if s.f.IsUnique(err) {
			failed = server.Errorf(server.ECONFLICT, "another group is named %q", g.Name)
			return failed
		}
		return err
	})
	if err != nil && failed == nil {
		err = s.errorf(op, err)
	}
	return g, err
}

// DeleteGroup removes a group; a missing one is server.ErrNotFound.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "DeleteGroup("+id+")", `DELETE FROM screen_groups WHERE id = ?`, id)
}

const linkColumns = `id, group_id, hash, max_screens, used, expires_at, name_pattern, revoked_at, created_by, created_at`

func scanLink(r scanner) (server.Link, error) {
	var l server.Link
	err := r.Scan(&l.ID, &l.Group, &l.Hash, &l.MaxScreens, &l.Used, dbTime{&l.ExpiresAt}, &l.NamePattern,
		dbTime{&l.RevokedAt}, &l.CreatedBy, dbTime{&l.CreatedAt})
	return l, err
}

// CreateLink stores a new provisioning link; an existing id is a
// conflict.
func (s *Store) CreateLink(ctx context.Context, l server.Link) error {
	_, err := s.exec(ctx, `INSERT INTO links (`+linkColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		l.ID, l.Group, nonNil(l.Hash), l.MaxScreens, l.Used, s.f.Time(l.ExpiresAt), l.NamePattern,
		s.f.Time(l.RevokedAt), l.CreatedBy, s.f.Time(l.CreatedAt))
	if s.f.IsUnique(err) {
		return server.Errorf(server.ECONFLICT, "provisioning link %s already exists", l.ID)
	}
	if err != nil {
		return s.errorf("CreateLink("+l.ID+")", err)
	}
	return nil
}

// Link returns one provisioning link, or server.ErrNotFound.
func (s *Store) Link(ctx context.Context, id string) (server.Link, error) {
	return one(s, "Link("+id+")", s.queryRow(ctx, `SELECT `+linkColumns+` FROM links WHERE id = ?`, id), scanLink)
}

// Links returns every provisioning link, oldest first.
func (s *Store) Links(ctx context.Context) ([]server.Link, error) {
	return list(ctx, s, "Links", `SELECT `+linkColumns+` FROM links ORDER BY created_at NULLS FIRST, id`, scanLink)
}

// UpdateLink reads the link (locking its row), applies fn and writes the
// result in one transaction: two screens that count a use at once count
// two. fn's error is returned as it is.
func (s *Store) UpdateLink(ctx context.Context, id string, fn func(*server.Link) error) (server.Link, error) {
	op := "UpdateLink(" + id + ")"
	var l server.Link
	var failed error
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		l, err = one(s, op, tx.QueryRowContext(ctx, s.q(`SELECT `+linkColumns+` FROM links WHERE id = ? `+s.f.ForUpdate), id), scanLink)
		if err != nil {
			failed = err
			return err
		}
		if err := fn(&l); err != nil {
			failed = err
			return err
		}
		l.ID = id
		_, err = tx.ExecContext(ctx, s.q(`UPDATE links SET group_id=?, hash=?, max_screens=?, used=?, expires_at=?, name_pattern=?, revoked_at=?, created_by=?, created_at=? WHERE id=?`),
			l.Group, nonNil(l.Hash), l.MaxScreens, l.Used, s.f.Time(l.ExpiresAt), l.NamePattern, s.f.Time(l.RevokedAt),
			l.CreatedBy, s.f.Time(l.CreatedAt), id)
		return err
	})
	if err != nil && failed == nil {
		err = s.errorf(op, err)
	}
	return l, err
}

const statusColumns = `screen_id, replica, connected, phase, shows, app_version, browser, since, alerted_at, online_until, touch`

func scanStatus(r scanner) (server.ScreenStatus, error) {
	var st server.ScreenStatus
	err := r.Scan(&st.ScreenID, &st.Replica, &st.Connected, &st.Phase, &st.Shows, &st.AppVersion, &st.Browser,
		dbTime{&st.Since}, dbTime{&st.AlertedAt}, dbTime{&st.OnlineUntil}, &st.Touch)
	return st, err
}

// PutScreenStatus creates or replaces what is said of a screen.
func (s *Store) PutScreenStatus(ctx context.Context, st server.ScreenStatus) error {
	_, err := s.exec(ctx, `INSERT INTO screen_status (`+statusColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (screen_id) DO UPDATE SET replica=excluded.replica, connected=excluded.connected, phase=excluded.phase,
			shows=excluded.shows, app_version=excluded.app_version, browser=excluded.browser, since=excluded.since,
			alerted_at=excluded.alerted_at, online_until=excluded.online_until, touch=excluded.touch`,
		st.ScreenID, st.Replica, st.Connected, st.Phase, st.Shows, st.AppVersion, st.Browser, s.f.Time(st.Since), s.f.Time(st.AlertedAt),
		s.f.Time(st.OnlineUntil), st.Touch)
	if err != nil {
		return s.errorf("PutScreenStatus("+st.ScreenID+")", err)
	}
	return nil
}

// UpdateScreenStatus reads a screen's status (locking its row), applies
// fn and writes the result in one transaction; none is
// server.ErrNotFound. fn's error is returned as it is.
func (s *Store) UpdateScreenStatus(ctx context.Context, screenID string, fn func(*server.ScreenStatus) error) (server.ScreenStatus, error) {
	op := "UpdateScreenStatus(" + screenID + ")"
	var st server.ScreenStatus
	var failed error
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		st, err = one(s, op, tx.QueryRowContext(ctx, s.q(`SELECT `+statusColumns+` FROM screen_status WHERE screen_id = ? `+s.f.ForUpdate), screenID), scanStatus)
		if err != nil {
			failed = err
			return err
		}
		if err := fn(&st); err != nil {
			failed = err
			return err
		}
		st.ScreenID = screenID
		_, err = tx.ExecContext(ctx, s.q(`UPDATE screen_status SET replica=?, connected=?, phase=?, shows=?, app_version=?, browser=?, since=?, alerted_at=?,
			online_until=?, touch=? WHERE screen_id=?`),
			st.Replica, st.Connected, st.Phase, st.Shows, st.AppVersion, st.Browser, s.f.Time(st.Since), s.f.Time(st.AlertedAt),
			s.f.Time(st.OnlineUntil), st.Touch, screenID)
		return err
	})
	if err != nil && failed == nil {
		err = s.errorf(op, err)
	}
	return st, err
}

// ScreenStatuses returns what is said of every screen.
func (s *Store) ScreenStatuses(ctx context.Context) ([]server.ScreenStatus, error) {
	return list(ctx, s, "ScreenStatuses", `SELECT `+statusColumns+` FROM screen_status ORDER BY screen_id`, scanStatus)
}

// DeleteScreenStatus forgets what is said of a screen; none is
// server.ErrNotFound.
func (s *Store) DeleteScreenStatus(ctx context.Context, screenID string) error {
	return s.deleteOne(ctx, "DeleteScreenStatus("+screenID+")", `DELETE FROM screen_status WHERE screen_id = ?`, screenID)
}

// PutReplica records that a replica is alive, and forgets those not seen
// for a day before it (replicas of past runs).
func (s *Store) PutReplica(ctx context.Context, r server.Replica) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO replicas (name, seen, started_at) VALUES (?,?,?)
			ON CONFLICT (name) DO UPDATE SET seen=excluded.seen, started_at=excluded.started_at`),
			r.Name, s.f.Time(r.Seen), s.f.Time(r.StartedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM replicas WHERE seen < ?`), s.f.Time(r.Seen.Add(-forgetReplicasAfter)))
		return err
	})
	if err != nil {
		return s.errorf("PutReplica("+r.Name+")", err)
	}
	return nil
}

// forgetReplicasAfter is how long a replica that stopped saying it is
// alive is listed.
const forgetReplicasAfter = 24 * time.Hour

// Replicas lists the replicas that said they were alive, most recent
// first.
func (s *Store) Replicas(ctx context.Context) ([]server.Replica, error) {
	return list(ctx, s, "Replicas", `SELECT name, seen, started_at FROM replicas ORDER BY seen DESC, name`,
		func(r scanner) (server.Replica, error) {
			var rep server.Replica
			err := r.Scan(&rep.Name, dbTime{&rep.Seen}, dbTime{&rep.StartedAt})
			return rep, err
		})
}
