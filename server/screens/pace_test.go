package screens

import (
	"testing"
	"time"

	"github.com/placard/placard/server/limit"
)

func TestPresencePeriodsStretchEvenlyToStayWithinTheBudget(t *testing.T) {
	cfg := Config{FollowEvery: 5 * time.Second, PollEvery: 30 * time.Second, PresenceBudget: limit.Rate{Max: 1500, Per: 30 * time.Second}}
	// Placard uses 750 per 30 s: 25 presence requests a second.
	tests := []struct {
		name              string
		followed          bool
		nFollowed, nShown int
		want              time.Duration
	}{
		{"one followed account", true, 1, 0, 5 * time.Second},
		{"one shown account", false, 0, 1, 30 * time.Second},
		{"125 followed fit", true, 125, 0, 5 * time.Second},
		{"200 followed stretch", true, 200, 0, 8 * time.Second},
		{"followed give way to shown ones first", true, 100, 300, 100 * time.Second / 15},
		{"shown ones keep their pace then", false, 100, 300, 30 * time.Second},
		{"beyond, all stretch alike", true, 1000, 500, 60 * time.Second},
		{"shown ones too", false, 1000, 500, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPace(cfg)
			got := p.period(tt.followed, tt.nFollowed, tt.nShown, time.Now())
			if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("period = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestA429StretchesPresencePeriodsForAWhile(t *testing.T) {
	p := newPace(Config{FollowEvery: 5 * time.Second, PollEvery: 30 * time.Second, PresenceBudget: limit.Rate{Max: 1500, Per: 30 * time.Second}})
	now := time.Now()
	p.throttled(now)
	p.throttled(now)
	if got := p.period(true, 1, 0, now.Add(time.Second)); got != 20*time.Second {
		t.Errorf("after two 429s: %v, want 4 × 5 s", got)
	}
	if got := p.period(true, 1, 0, now.Add(61*time.Second)); got != 10*time.Second {
		t.Errorf("a minute later: %v, want the stretch halved", got)
	}
	if got := p.period(true, 1, 0, now.Add(92*time.Second)); got != 5*time.Second {
		t.Errorf("later still: %v, want it gone", got)
	}
}
