package limit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)} }

func TestTheTwentyFirstInAMinuteIsRefusedUntilTheFirstLeavesTheWindow(t *testing.T) {
	c := newClock()
	l := New(Rate{Max: 20, Per: time.Minute}, c.now)
	first := c.now()
	for i := range 20 {
		if ok, _ := l.Allow("all"); !ok {
			t.Fatalf("event %d of 20 refused", i+1)
		}
		c.advance(2 * time.Second)
	}
	ok, retry := l.Allow("all")
	if ok {
		t.Fatal("the 21st event within a minute was allowed")
	}
	if want := first.Add(time.Minute); !retry.Equal(want) {
		t.Errorf("retry at %v, want %v (when the first event leaves the window)", retry, want)
	}
	c.advance(retry.Sub(c.now()) - time.Millisecond)
	if ok, _ := l.Allow("all"); ok {
		t.Fatal("allowed before the window freed a place")
	}
	c.advance(time.Millisecond)
	if ok, _ := l.Allow("all"); !ok {
		t.Fatal("refused once the first event left the window")
	}
	if ok, _ := l.Allow("all"); ok {
		t.Fatal("a refused event must not count, but one place is all that was freed")
	}
}

func TestKeysAreLimitedSeparately(t *testing.T) {
	c := newClock()
	l := New(Rate{Max: 2, Per: time.Minute}, c.now)
	for _, key := range []string{"a", "a", "b", "b"} {
		if ok, _ := l.Allow(key); !ok {
			t.Fatalf("%s refused within its own rate", key)
		}
	}
	for _, key := range []string{"a", "b"} {
		if ok, _ := l.Allow(key); ok {
			t.Errorf("%s allowed a third time", key)
		}
	}
}

func TestUndoGivesThePlaceBack(t *testing.T) {
	c := newClock()
	l := New(Rate{Max: 1, Per: time.Hour}, c.now)
	l.Allow("k")
	l.Undo("k")
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refused after the only event was undone")
	}
	if n := l.Count("k"); n != 1 {
		t.Errorf("count %d, want 1", n)
	}
}

func TestCheckRecordsNothing(t *testing.T) {
	c := newClock()
	l := New(Rate{Max: 1, Per: time.Minute}, c.now)
	for range 3 {
		if ok, _ := l.Check("k"); !ok {
			t.Fatal("Check refused a key with no events")
		}
	}
	if n := l.Count("k"); n != 0 {
		t.Fatalf("count %d after three checks, want 0", n)
	}
	start := c.now()
	l.Allow("k")
	c.advance(10 * time.Second)
	if ok, retry := l.Check("k"); ok || !retry.Equal(start.Add(time.Minute)) {
		t.Errorf("Check at the limit = %v, %v: want refused until %v", ok, retry, start.Add(time.Minute))
	}
}

func TestZeroRateAllowsNothing(t *testing.T) {
	c := newClock()
	l := New(Rate{Max: 0, Per: time.Minute}, c.now)
	ok, retry := l.Allow("k")
	if ok || !retry.After(c.now()) {
		t.Fatalf("Allow = %v, %v: want refused with a retry time", ok, retry)
	}
}

func TestOldKeysAreSwept(t *testing.T) {
	c := newClock()
	l := New(Rate{Max: 1, Per: time.Second}, c.now)
	for i := range sweepEvery - 1 {
		l.Allow(fmt.Sprint("addr-", i))
	}
	c.advance(2 * time.Second)
	l.Allow("last") // the sweep runs on this call
	l.mu.Lock()
	n := len(l.events)
	l.mu.Unlock()
	if n != 1 {
		t.Errorf("%d keys kept after their events left the window, want 1", n)
	}
}

func TestConcurrentCallersNeverExceedTheRate(t *testing.T) {
	l := New(Rate{Max: 20, Per: time.Minute}, newClock().now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 100 {
		wg.Go(func() {
			if ok, _ := l.Allow("all"); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 20 {
		t.Errorf("%d of 100 concurrent events allowed, want exactly 20", allowed)
	}
}

func TestAnIPv6ClientIsKeyedByItsSlash64(t *testing.T) {
	tests := []struct{ addr, key string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		if got := ClientKey(tt.addr); got != tt.key {
			t.Errorf("ClientKey(%q) = %q, want %q", tt.addr, got, tt.key)
		}
	}
	// Every address of one /64 counts against one budget.
	l := New(Rate{Max: 2, Per: time.Minute}, newClock().now)
	for _, a := range []string{"2001:db8:1:2::a", "2001:db8:1:2::b"} {
		if ok, _ := l.Allow(ClientKey(a)); !ok {
			t.Fatalf("%s refused", a)
		}
	}
	if ok, _ := l.Allow(ClientKey("2001:db8:1:2::c")); ok {
		t.Error("a third address of the same /64 was allowed")
	}
	if ok, _ := l.Allow(ClientKey("2001:db8:1:3::a")); !ok {
		t.Error("another /64 was refused")
	}
}
