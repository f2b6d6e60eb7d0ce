package screens_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
)

// memCluster is what replicas share, in memory, for replicas in one test
// (each a harness on the same sandbox and store): leases with an expiry,
// published snapshots, and word of changes to every other replica, as
// PostgreSQL's cluster gives them.
type memCluster struct {
	lease time.Duration

	mu        sync.Mutex
	leases    map[string]memLease
	data      map[string]memData
	listeners map[string][]chan server.Change // by replica
	// refused are the replicas whose leases are refused (taken, renewed):
	// a replica cut off, or stopped, as the others see it.
	refused map[string]bool
	// changed is closed and replaced at each change of a lease's owner.
	changed chan struct{}
}

type memLease struct {
	owner string
	until time.Time
}

type memData struct {
	data    []byte
	version int64
}

func newMemCluster(lease time.Duration) *memCluster {
	return &memCluster{lease: lease, leases: map[string]memLease{}, data: map[string]memData{},
		listeners: map[string][]chan server.Change{}, refused: map[string]bool{}, changed: make(chan struct{})}
}

// setLocked records a lease, telling those who wait of a new owner.
func (c *memCluster) setLocked(key string, l memLease) {
	old := c.leases[key]
	if l.owner == "" {
		delete(c.leases, key)
	} else {
		c.leases[key] = l
	}
	if old.owner != l.owner {
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// awaitOwner waits until the replica name holds the source's lease.
func (c *memCluster) awaitOwner(t *testing.T, key, name string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		c.mu.Lock()
		l, changed := c.leases[key], c.changed
		c.mu.Unlock()
		if l.owner == name {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s does not own %s within %v (%q does)", name, key, within, l.owner)
		}
	}
}

// replica is the cluster as the replica name sees it.
func (c *memCluster) replica(name string) server.Cluster { return &memReplica{c: c, name: name} }

// cutOff refuses the replica's leases from now on (it keeps what it
// thinks it owns until its lease lapses on its own clock).
func (c *memCluster) cutOff(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refused[name] = true
}

func (c *memCluster) tell(from string, ch server.Change) {
	c.mu.Lock()
	var to []chan server.Change
	for name, ls := range c.listeners {
		if name != from {
			to = append(to, ls...)
		}
	}
	c.mu.Unlock()
	for _, l := range to {
		select {
		case l <- ch:
		default: // a full listener resyncs, as a lost connection does
		}
	}
}

type memReplica struct {
	c    *memCluster
	name string
}

func (r *memReplica) Own(_ context.Context, key string) (time.Time, error) {
	c := r.c
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused[r.name] {
		return time.Time{}, nil
	}
	l := c.leases[key]
	if l.owner != r.name && start.Before(l.until) {
		return time.Time{}, nil
	}
	c.setLocked(key, memLease{owner: r.name, until: start.Add(c.lease)})
	return start.Add(c.lease), nil
}

func (r *memReplica) Release(_ context.Context, key string) error {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leases[key].owner == r.name {
		c.setLocked(key, memLease{})
	}
	return nil
}

func (r *memReplica) PublishSource(_ context.Context, key string, data []byte) error {
	c := r.c
	c.mu.Lock()
	if l := c.leases[key]; l.owner != r.name || time.Now().After(l.until) {
		c.mu.Unlock()
		return server.Errorf(server.ECONFLICT, "%s does not own %s", r.name, key)
	}
	d := c.data[key]
	c.data[key] = memData{data: append([]byte(nil), data...), version: d.version + 1}
	c.mu.Unlock()
	c.tell(r.name, server.Change{Kind: server.ChangeSource, ID: key})
	return nil
}

func (r *memReplica) SourceData(_ context.Context, key string) ([]byte, int64, error) {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.data[key]
	if !ok {
		return nil, 0, server.ErrNotFound
	}
	return d.data, d.version, nil
}

func (r *memReplica) PublishScreen(_ context.Context, id string) error {
	r.c.tell(r.name, server.Change{Kind: server.ChangeScreen, ID: id})
	return nil
}

func (r *memReplica) PublishCommand(_ context.Context, id string, msg []byte) error {
	r.c.tell(r.name, server.Change{Kind: server.ChangeCommand, ID: id, Data: msg})
	return nil
}

func (r *memReplica) Changes(ctx context.Context) <-chan server.Change {
	ch := make(chan server.Change, 256)
	r.c.mu.Lock()
	r.c.listeners[r.name] = append(r.c.listeners[r.name], ch)
	r.c.mu.Unlock()
	out := make(chan server.Change)
	go func() {
		defer close(out)
		select {
		case out <- server.Change{Kind: server.ChangeResync}:
		case <-ctx.Done():
			return
		}
		for {
			select {
			case c := <-ch:
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func (r *memReplica) AllowCode(context.Context, int, time.Duration) (bool, time.Time, error) {
	return true, time.Time{}, nil
}

// logWatch is a log that a test reads: each record as one line, its
// message then its attributes.
type logWatch struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and replaced at each line
}

func newLogWatch() *logWatch { return &logWatch{more: make(chan struct{})} }

func (l *logWatch) logger() *slog.Logger { return slog.New(l) }

func (l *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (l *logWatch) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logWatch) WithGroup(string) slog.Handler            { return l }

func (l *logWatch) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	close(l.more)
	l.more = make(chan struct{})
	l.mu.Unlock()
	return nil
}

// await waits for a line, from the from-th on, that holds one of subs, and
// returns it with the number of lines seen.
func (l *logWatch) await(t *testing.T, from int, within time.Duration, subs ...string) (string, int) {
	t.Helper()
	timeout := time.After(within)
	for {
		l.mu.Lock()
		for ; from < len(l.lines); from++ {
			for _, sub := range subs {
				if strings.Contains(l.lines[from], sub) {
					line := l.lines[from]
					l.mu.Unlock()
					return line, from + 1
				}
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-timeout:
			t.Fatalf("the log says none of %q within %v", subs, within)
		}
	}
}

// count is how many lines the log holds now.
func (l *logWatch) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}
