package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// maxBatch bounds the writes committed together, so that one commit never
// holds the database for long.
const maxBatch = 256

// errClosed answers a write asked of a closed store.
var errClosed = errors.New("sqlite: the store is closed")

// A write is one store operation's statements. Writes run one at a time,
// each in a transaction of its own while they come one by one; writes that
// queue behind a commit are committed together, each in a savepoint of its
// own (group commit). With synchronous=FULL a commit waits for the disk,
// a few milliseconds on a busy one: a building of screens signing in at
// once would otherwise queue behind one disk sync each. A write still
// returns only once it is on disk, and one that fails is rolled back alone.
type write struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// writer runs the store's writes.
type writer struct {
	db *sql.DB

	mu      sync.Mutex
	queue   []*write
	closed  bool
	wake    chan struct{} // a write was queued, or the writer is closed
	stopped chan struct{} // the writer's goroutine has returned
	// queued is closed, and replaced, when a write is queued: tests wait
	// on it for writes to queue behind one they hold.
	queued chan struct{}

	// commits counts transactions committed (tests).
	commits int
}

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, wake: make(chan struct{}, 1), stopped: make(chan struct{}), queued: make(chan struct{})}
	go w.run()
	return w
}

// do runs fn in a transaction (or a savepoint of a shared one) and returns
// once it is committed. fn's statements are not cut short by ctx: an
// interrupted statement can roll back the whole transaction, and with it
// the writes of others. A write still queued when ctx ends is not run.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wr := &write{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.queue = append(w.queue, wr)
	close(w.queued)
	w.queued = make(chan struct{})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return <-wr.done
}

// close runs the writes queued so far and stops the writer.
func (w *writer) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.stopped
}

func (w *writer) run() {
	defer close(w.stopped)
	for {
		w.mu.Lock()
		n := min(len(w.queue), maxBatch)
		batch := w.queue[:n:n]
		w.queue = w.queue[n:]
		closed := w.closed
		w.mu.Unlock()
		if len(batch) > 0 {
			w.commit(batch)
			continue
		}
		if closed {
			return
		}
		<-w.wake
	}
}

// commit runs a batch of writes in one transaction, each in a savepoint,
// and answers each once the transaction is committed.
func (w *writer) commit(batch []*write) {
	errs := make([]error, len(batch))
	run := batch[:0:0]
	for i, wr := range batch {
		if err := wr.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		run = append(run, wr)
	}
	answer := func() {
		for i, wr := range batch {
			wr.done <- errs[i]
		}
	}
	if len(run) == 0 {
		answer()
		return
	}
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		for i := range batch {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("sqlite: beginning a transaction: %w", err)
			}
		}
		answer()
		return
	}
	ok := 0
	for i, wr := range batch {
		if errs[i] != nil {
			continue
		}
		if len(run) == 1 {
			errs[i] = wr.run(tx)
		} else {
			var broken error
			errs[i], broken = savepoint(tx, func() error { return wr.run(tx) })
			if broken != nil {
				// The transaction is in no known state: nothing of it
				// is kept.
				tx.Rollback()
				for j := range batch {
					if errs[j] == nil || j == i {
						errs[j] = errors.Join(errs[j], broken)
					}
				}
				answer()
				return
			}
		}
		if errs[i] == nil {
			ok++
		}
	}
	if ok == 0 {
		tx.Rollback()
		answer()
		return
	}
	if err := tx.Commit(); err != nil {
		for i := range batch {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("sqlite: committing: %w", err)
			}
		}
	} else {
		w.mu.Lock()
		w.commits++
		w.mu.Unlock()
	}
	answer()
}

// run runs the write's statements in tx. A panic in them (a caller's
// callback, such as UpdateScreen's) is the write's failure, rolled back
// like any other: it must not end the writer's goroutine, and with it the
// server and every write queued.
func (wr *write) run(tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: a write panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return wr.fn(context.WithoutCancel(wr.ctx), tx)
}

// savepoint runs fn in a savepoint of tx, rolled back when fn fails: the
// rest of the transaction stays. It returns fn's failure as it is, and
// broken when the savepoint itself failed, which leaves the transaction
// in no known state.
func savepoint(tx *sql.Tx, fn func() error) (err, broken error) {
	ctx := context.Background()
	if _, err := tx.ExecContext(ctx, `SAVEPOINT write`); err != nil {
		return nil, fmt.Errorf("sqlite: starting a savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO write`); rerr != nil {
			return err, fmt.Errorf("sqlite: rolling a savepoint back: %w", rerr)
		}
		if _, rerr := tx.ExecContext(ctx, `RELEASE write`); rerr != nil {
			return err, fmt.Errorf("sqlite: releasing a savepoint: %w", rerr)
		}
		return err, nil
	}
	if _, err := tx.ExecContext(ctx, `RELEASE write`); err != nil {
		return nil, fmt.Errorf("sqlite: releasing a savepoint: %w", err)
	}
	return nil, nil
}
