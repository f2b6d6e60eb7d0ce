package screens

import (
	"testing"
	"time"
)

func TestPollsAreSpreadByUpToATwentiethOfThePeriodEitherWay(t *testing.T) {
	for _, period := range []time.Duration{10 * time.Second, 30 * time.Second, time.Hour} {
		lo, hi := period-period/20, period+period/20
		least, most := hi, lo
		var sum time.Duration
		const n = 2000
		for range n {
			d := spread(period)
			if d < lo || d > hi {
				t.Fatalf("spread(%v) = %v, outside [%v, %v]", period, d, lo, hi)
			}
			least, most, sum = min(least, d), max(most, d), sum+d
		}
		// Polls that fell together drift apart: the draws cover the range,
		// and keep the period on average.
		if most-least < period/20 {
			t.Errorf("spread(%v) drew only from %v to %v", period, least, most)
		}
		if avg := sum / n; avg < period-period/100 || avg > period+period/100 {
			t.Errorf("spread(%v) averages %v", period, avg)
		}
	}
}
