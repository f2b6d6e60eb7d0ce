package wire

import (
	"testing"
	"time"
)

func TestReconnectBackoffGrowsWithJitterUpToItsBound(t *testing.T) {
	b := Reconnect
	for n := 1; n <= 40; n++ {
		lo, hi := b.Delay(n, 0), b.Delay(n, 0.999999)
		window := min(b.First<<min(n-1, 20), b.Max)
		if lo != b.First/4 {
			t.Errorf("try %d: shortest wait %v, want %v", n, lo, b.First/4)
		}
		if hi > window || hi < window*99/100 {
			t.Errorf("try %d: longest wait %v, want just under %v", n, hi, window)
		}
	}
	if got := b.Delay(0, 0.5); got != b.Delay(1, 0.5) {
		t.Errorf("try 0 waits %v, want as try 1 (%v)", got, b.Delay(1, 0.5))
	}
	// Spread: screens that lost the server at the same moment, with
	// their own draws, try again at different times.
	seen := map[time.Duration]bool{}
	for i := range 100 {
		seen[b.Delay(4, float64(i)/100)] = true
	}
	if len(seen) != 100 {
		t.Errorf("100 draws gave %d different waits", len(seen))
	}
}

func TestABackoffKeepsToTheServersRetryAfter(t *testing.T) {
	b := Reconnect
	cases := []struct {
		name           string
		n              int
		u              float64
		retryAfter     time.Duration
		atLeast, below time.Duration
	}{
		{"none said", 1, 0.5, 0, b.Delay(1, 0.5), b.Delay(1, 0.5) + 1},
		{"longer than the backoff", 1, 0, 10 * time.Second, 10 * time.Second, 10*time.Second + 1},
		{"spread over a quarter more", 1, 0.999, 10 * time.Second, 12 * time.Second, 12500 * time.Millisecond},
		{"shorter than the backoff", 6, 0.9, time.Second, b.Delay(6, 0.9), b.Delay(6, 0.9) + 1},
	}
	for _, c := range cases {
		got := b.After(c.n, c.u, c.retryAfter)
		if got < c.atLeast || got >= c.below {
			t.Errorf("%s: waits %v, want in [%v, %v)", c.name, got, c.atLeast, c.below)
		}
	}
}
