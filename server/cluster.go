package server

import (
	"context"
	"time"
)

// Cluster is what replicas of the edge server share beyond the Store:
// which replica runs each data source (its owner: the only one that reads
// Microsoft Graph for it and, for an account, refreshes its tokens), the
// source's latest snapshot as its owner published it, and word of screens
// changed on another replica.
//
// A source is named by its key, unique across kinds of sources: an
// account's source (its profile, calendar and presence) by the account's
// id, others by a kind and an id ("room:lobby@example.com"). See package
// source.
//
// With one replica (SQLite) the cluster is the process itself: every
// source is its own and nothing needs telling. Rendering and fan-out work
// the same either way: a source that this replica does not own shows the
// snapshots its owner published.
type Cluster interface {
	// Own takes or renews this replica's lease on the source. It returns
	// until when this replica owns the source, on its own clock (the zero
	// time when another replica owns it): past that time it must neither
	// read Graph for the source nor refresh the tokens it reads with. The
	// owner calls it well before then; the others call it as often, to
	// take the source over when its owner stopped renewing.
	Own(ctx context.Context, key string) (until time.Time, err error)
	// Release gives the source up at once (nothing here subscribes to it
	// any more), so that another replica that needs it takes it over
	// without waiting for the lease to lapse.
	Release(ctx context.Context, key string) error

	// PublishSource records the source's latest snapshot (encoded by its
	// owner) and tells every replica that it changed.
	PublishSource(ctx context.Context, key string, data []byte) error
	// SourceData returns what the owner last published, and its version,
	// which grows with each publication whoever the owner; ErrNotFound
	// when nothing was published.
	SourceData(ctx context.Context, key string) (data []byte, version int64, err error)
	// PublishScreen tells every replica that a screen's record changed
	// (approved, renamed, new settings, signed out, revoked).
	PublishScreen(ctx context.Context, screenID string) error
	// PublishCommand asks every replica to send msg (an encoded message,
	// a few hundred bytes at most) to the screen's connections it holds:
	// an administrator's reload or identify, which the replica the
	// screen is connected to delivers.
	PublishCommand(ctx context.Context, screenID string, msg []byte) error

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
	// ID is the source's key or the screen's id.
	ID string
	// Data is a command's message (ChangeCommand).
	Data []byte
}

// ChangeKind says what changed.
type ChangeKind int

const (
	// ChangeSource: a source's snapshot (Cluster.SourceData).
	ChangeSource ChangeKind = iota + 1
	// ChangeScreen: a screen's record in the Store.
	ChangeScreen
	// ChangeResync: changes may have been missed.
	ChangeResync
	// ChangeCommand: a message for a screen's connections
	// (Cluster.PublishCommand).
	ChangeCommand
)

// Frame is one message for the connections of one screen. Seq orders the
// frames of a screen: a frame whose Seq is lower than that of a frame
// already queued for the same screen is dropped, so that an older state
// never overwrites a newer one on a screen whatever goroutines made them.
// Zero is unordered (always sent).
type Frame struct {
	Screen string
	Seq    uint64
	// Data is the message in parts, written one after the other as one
	// message: a part shared by many screens' frames (a snapshot's
	// encoding for a view) is not copied for each. No part is changed
	// once given.
	Data [][]byte
}
