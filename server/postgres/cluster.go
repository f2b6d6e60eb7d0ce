package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/placard/placard/server"
)

// Cluster is a server.Cluster on the store's database, for replicas.
//
// Leases are rows with an expiry (table leases), not advisory locks held
// on a connection: a row's expiry bounds how long an owner that stopped
// renewing (killed, cut off by the network, stuck) keeps its sources,
// whatever became of its connection, which the database may take minutes
// to see die; the owner knows by itself when its lease may have lapsed
// (its last renewal is older than the lease); and rows work through
// connection poolers that share sessions, where a session's advisory lock
// would not. Expiry is judged on the database's clock alone, so the
// replicas' clocks do not matter.
//
// Changes travel by LISTEN/NOTIFY on one channel, each payload a kind, the
// publishing replica and an id or a source's key (well under NOTIFY's 8,000
// bytes); a source's snapshot itself is read from table account_data.
type Cluster struct {
	store   *Store
	replica string
	lease   time.Duration
	log     *slog.Logger
}

var _ server.Cluster = (*Cluster)(nil)

// notifyChannel is the channel of every change.
const notifyChannel = "placard_changes"

// codeLock is the advisory lock around the cluster's count of device codes.
const codeLock int64 = 0x706c6163617265

// NewCluster returns the cluster of the store's database as replica (a
// name unique among running replicas) sees it; lease is how long a
// source stays its owner's without a renewal.
func NewCluster(s *Store, replica string, lease time.Duration, log *slog.Logger) *Cluster {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cluster{store: s, replica: replica, lease: lease, log: log}
}

// Replica is this replica's name in leases.
func (c *Cluster) Replica() string { return c.replica }

// Own takes the source's lease when it is free or lapsed, renews it when
// this replica holds it, and returns until when this replica owns it: the
// lease counted from before the request left, so that the replica stops
// before the database could give the source to another.
//
// Leases and published snapshots are keyed by the source's key in the
// columns named account_id: an account's source keeps its account's id as
// its key, so that replicas of an older placard and of this one agree on
// who owns each account while they are upgraded one by one.
func (c *Cluster) Own(ctx context.Context, key string) (time.Time, error) {
	start := time.Now()
	var owner string
	err := c.store.pool.QueryRow(ctx, `INSERT INTO leases (account_id, owner, expires_at, epoch)
		VALUES ($1, $2, now() + make_interval(secs => $3), 1)
		ON CONFLICT (account_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
			epoch = leases.epoch + CASE WHEN leases.owner = excluded.owner THEN 0 ELSE 1 END
		WHERE leases.owner = excluded.owner OR leases.expires_at < now()
		RETURNING owner`, key, c.replica, c.lease.Seconds()).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && owner != c.replica) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: Own(%s): %w", key, err)
	}
	return start.Add(c.lease), nil
}

// Release gives the source's lease up, when this replica holds it.
func (c *Cluster) Release(ctx context.Context, key string) error {
	if _, err := c.store.pool.Exec(ctx, `DELETE FROM leases WHERE account_id = $1 AND owner = $2`, key, c.replica); err != nil {
		return fmt.Errorf("postgres: Release(%s): %w", key, err)
	}
	return nil
}

// Owner names the replica that holds the source's lease now, "" when none
// does.
func (c *Cluster) Owner(ctx context.Context, key string) (string, error) {
	var owner string
	err := c.store.pool.QueryRow(ctx, `SELECT owner FROM leases WHERE account_id = $1 AND expires_at > now()`, key).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: Owner(%s): %w", key, err)
	}
	return owner, nil
}

// ErrNotOwner is PublishSource's answer to a replica whose lease lapsed:
// another replica may own the source now, and its snapshot wins.
var ErrNotOwner = server.Errorf(server.ECONFLICT, "this replica does not own the source (its lease lapsed)")

// PublishSource stores the source's snapshot, when this replica still holds
// its lease, and tells the other replicas.
func (c *Cluster) PublishSource(ctx context.Context, key string, data []byte) error {
	tx, err := c.store.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: PublishSource(%s): %w", key, err)
	}
	defer tx.Rollback(ctx)
	var one int
	err = tx.QueryRow(ctx, `SELECT 1 FROM leases WHERE account_id = $1 AND owner = $2 AND expires_at > now() FOR SHARE`, key, c.replica).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotOwner
	}
	if err != nil {
		return fmt.Errorf("postgres: PublishSource(%s): %w", key, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO account_data (account_id, version, data, updated_at) VALUES ($1, 1, $2, now())
		ON CONFLICT (account_id) DO UPDATE SET version = account_data.version + 1, data = excluded.data, updated_at = now()`,
		key, nonNil(data)); err != nil {
		return fmt.Errorf("postgres: PublishSource(%s): %w", key, err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, payload("a", c.replica, key)); err != nil {
		return fmt.Errorf("postgres: PublishSource(%s): %w", key, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: PublishSource(%s): %w", key, err)
	}
	return nil
}

// SourceData returns the source's snapshot as its owner last published it,
// and its version.
func (c *Cluster) SourceData(ctx context.Context, key string) ([]byte, int64, error) {
	var data []byte
	var version int64
	err := c.store.pool.QueryRow(ctx, `SELECT data, version FROM account_data WHERE account_id = $1`, key).Scan(&data, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, server.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: SourceData(%s): %w", key, err)
	}
	return data, version, nil
}

// PublishScreen tells the other replicas that a screen's record changed.
func (c *Cluster) PublishScreen(ctx context.Context, screenID string) error {
	if _, err := c.store.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, payload("s", c.replica, screenID)); err != nil {
		return fmt.Errorf("postgres: PublishScreen(%s): %w", screenID, err)
	}
	return nil
}

// maxCommand bounds a command's message: NOTIFY carries at most 8,000
// bytes.
const maxCommand = 4000

// PublishCommand asks the other replicas to send a message to a screen's
// connections.
func (c *Cluster) PublishCommand(ctx context.Context, screenID string, msg []byte) error {
	if len(msg) > maxCommand {
		return fmt.Errorf("postgres: PublishCommand(%s): a message of %d bytes is over %d", screenID, len(msg), maxCommand)
	}
	if _, err := c.store.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, payload("c", c.replica, screenID)+"|"+string(msg)); err != nil {
		return fmt.Errorf("postgres: PublishCommand(%s): %w", screenID, err)
	}
	return nil
}

// payload is a change as NOTIFY carries it: kind, replica and id, each
// short (ids are tens of characters).
func payload(kind, replica, id string) string {
	return kind + "|" + replica + "|" + id
}

// Changes listens on a connection of its own, outside the pool, and
// delivers the other replicas' changes until ctx ends. Each time LISTEN
// takes effect, the first time included, it delivers ChangeResync: a
// replica serves screens before its LISTEN is up, and what others
// published meanwhile (an approval of a screen that just connected) is
// not queued for it. When the connection is lost it connects again (every
// few seconds until it can).
func (c *Cluster) Changes(ctx context.Context) <-chan server.Change {
	out := make(chan server.Change, 64)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			err := c.listen(ctx, out)
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("listening for other replicas' changes; connecting again", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return out
}

func (c *Cluster) listen(ctx context.Context, out chan<- server.Change) error {
	conn, err := pgx.ConnectConfig(ctx, c.store.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		return err
	}
	select {
	case out <- server.Change{Kind: server.ChangeResync}:
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		kind, rest, _ := strings.Cut(n.Payload, "|")
		replica, id, _ := strings.Cut(rest, "|")
		if replica == c.replica || id == "" {
			continue
		}
		var ch server.Change
		switch kind {
		case "a": // a source's snapshot ("a" since sources were accounts only)
			ch = server.Change{Kind: server.ChangeSource, ID: id}
		case "s":
			ch = server.Change{Kind: server.ChangeScreen, ID: id}
		case "c": // a command: "<screen id>|<message>"
			screen, msg, ok := strings.Cut(id, "|")
			if !ok || screen == "" {
				continue
			}
			ch = server.Change{Kind: server.ChangeCommand, ID: screen, Data: []byte(msg)}
		default:
			continue
		}
		select {
		case out <- ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AllowCode counts a device-code request against max per window for every
// replica together (table code_requests, under an advisory lock).
func (c *Cluster) AllowCode(ctx context.Context, max int, window time.Duration) (bool, time.Time, error) {
	tx, err := c.store.pool.Begin(ctx)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("postgres: AllowCode: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, codeLock); err != nil {
		return false, time.Time{}, fmt.Errorf("postgres: AllowCode: %w", err)
	}
	secs := window.Seconds()
	if _, err := tx.Exec(ctx, `DELETE FROM code_requests WHERE at <= now() - make_interval(secs => $1)`, secs); err != nil {
		return false, time.Time{}, fmt.Errorf("postgres: AllowCode: %w", err)
	}
	var n int
	var wait float64
	if err := tx.QueryRow(ctx, `SELECT count(*), COALESCE(EXTRACT(EPOCH FROM min(at) + make_interval(secs => $1) - now()), 0)::float8 FROM code_requests`, secs).Scan(&n, &wait); err != nil {
		return false, time.Time{}, fmt.Errorf("postgres: AllowCode: %w", err)
	}
	if n >= max {
		return false, time.Now().Add(time.Duration(wait * float64(time.Second))), nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO code_requests (at) VALUES (clock_timestamp())`); err != nil {
		return false, time.Time{}, fmt.Errorf("postgres: AllowCode: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, time.Time{}, fmt.Errorf("postgres: AllowCode: %w", err)
	}
	return true, time.Time{}, nil
}
