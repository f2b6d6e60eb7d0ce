package mqtt

import (
	"testing"
	"time"
)

func TestTheBackoffGrowsAcrossConnectionsThatDieAtOnceAndResetsAfterAStableOne(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBackoff(time.Second, 16*time.Second)
	b.now = func() time.Time { return now }
	b.jitter = func(d time.Duration) time.Duration { return d } // the longest wait

	steps := []struct {
		what string
		do   func() time.Duration
		want time.Duration
	}{
		{what: "the first attempt", do: func() time.Duration { return b.delay(0) }, want: 0},
		{what: "after a connection that died at once", do: func() time.Duration { b.up(); b.down(); return b.delay(0) }, want: time.Second},
		{what: "and again", do: func() time.Duration { b.up(); b.down(); return b.delay(0) }, want: 2 * time.Second},
		{what: "a failed attempt after it", do: func() time.Duration { return b.delay(1) }, want: 4 * time.Second},
		{what: "a connection after that attempt, dead at once", do: func() time.Duration { b.up(); b.down(); return b.delay(0) }, want: 8 * time.Second},
		{what: "up to the maximum", do: func() time.Duration { b.up(); b.down(); b.up(); b.down(); return b.delay(0) }, want: 16 * time.Second},
		{what: "after a connection that lasted", do: func() time.Duration {
			b.up()
			now = now.Add(16 * time.Second)
			b.down()
			return b.delay(0)
		}, want: 0},
		{what: "then a failed attempt", do: func() time.Duration { return b.delay(1) }, want: time.Second},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Errorf("%s: wait %v, want %v", s.what, got, s.want)
		}
	}
}
