package server

import (
	"context"
	"time"
)

// Cluster is what replicas of the edge server share beyond the Store:
// which replica runs each account's watch (its owner: the only one that
// reads Graph and refreshes the account's tokens), the account's data as
// its owner last read it, and word of screens changed on another replica.
//
// With one replica (SQLite) the cluster is the process itself: every
// account is its own and nothing needs telling. Rendering and fan-out work
// the same either way: a watch that does not own its account shows the
// data its owner published.
type Cluster interface {
	// Own takes or renews this replica's lease on the account. It returns
	// until when this replica owns the account, on its own clock (the
	// zero time when another replica owns it): past that time it must
	// neither read Graph for the account nor refresh its tokens. The
	// owner calls it well before then; the others call it as often, to
	// take the account over when its owner stopped renewing.
	Own(ctx context.Context, accountID string) (until time.Time, err error)
	// Release gives the account up at once (no screen here shows it any
	// more), so that another replica that shows it takes it over without
	// waiting for the lease to lapse.
	Release(ctx context.Context, accountID string) error

	// PublishAccount records the account's data (encoded by its owner)
	// and tells every replica that it changed.
	PublishAccount(ctx context.Context, accountID string, data []byte) error
	// AccountData returns what the owner last published, or ErrNotFound.
	AccountData(ctx context.Context, accountID string) ([]byte, error)
	// PublishScreen tells every replica that a screen's record changed
	// (approved, renamed, new settings, signed out, revoked).
	PublishScreen(ctx context.Context, screenID string) error

	// Changes delivers what other replicas published, until ctx ends. A
	// change of kind ChangeResync means that some may have been missed
	// (before it was listening, or while the connection to the database
	// was lost): read everything again.
	Changes(ctx context.Context) <-chan Change

	// AllowCode records a device-code request against a limit of max per
	// window for every replica together, and reports whether it was
	// within it; when it was not, retry is when one will be.
	AllowCode(ctx context.Context, max int, window time.Duration) (ok bool, retry time.Time, err error)
}

// Change is word of something another replica changed.
type Change struct {
	Kind ChangeKind
	// ID is the account's or the screen's id.
	ID string
}

// ChangeKind says what changed.
type ChangeKind int

const (
	// ChangeAccount: an account's data (Cluster.AccountData).
	ChangeAccount ChangeKind = iota + 1
	// ChangeScreen: a screen's record in the Store.
	ChangeScreen
	// ChangeResync: changes may have been missed.
	ChangeResync
)
