package screens

import "time"

// SetHoursEvery makes managers created after it check opening hours every
// d; it returns what undoes it.
func SetHoursEvery(d time.Duration) (restore func()) {
	old := hoursEvery
	hoursEvery = d
	return func() { hoursEvery = old }
}
