package wire

import (
	"testing"
	"time"
)

func TestRoomStatusIsFreeSoonOrBusyWithUntilWhen(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	events := []Event{
		{ID: "a", Start: at(10, 0), End: at(11, 0)},
		{ID: "b", Start: at(11, 0), End: at(11, 30)},
		{ID: "c", Start: at(14, 0), End: at(15, 0)},
		{ID: "holiday", Start: day, End: day.AddDate(0, 0, 1), AllDay: true},
		{ID: "gone", Start: at(12, 0), End: at(13, 0), Cancelled: true},
	}
	tests := []struct {
		now    time.Time
		status string
		until  time.Time
		change time.Time
	}{
		{at(9, 0), RoomFree, at(10, 0), at(9, 50)},
		{at(9, 50), RoomSoon, at(10, 0), at(10, 0)},
		{at(10, 0), RoomBusy, at(11, 30), at(11, 30)},
		{at(11, 29), RoomBusy, at(11, 30), at(11, 30)},
		{at(11, 30), RoomFree, at(14, 0), at(13, 50)},
		{at(12, 30), RoomFree, at(14, 0), at(13, 50)}, // the cancelled meeting keeps nothing busy
		{at(15, 0), RoomFree, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		status, until := RoomStatus(events, tt.now)
		if status != tt.status || !until.Equal(tt.until) {
			t.Errorf("RoomStatus at %s = %s until %s, want %s until %s", tt.now.Format("15:04"), status, until, tt.status, tt.until)
		}
		if got := RoomChange(events, tt.now); !got.Equal(tt.change) {
			t.Errorf("RoomChange at %s = %s, want %s", tt.now.Format("15:04"), got, tt.change)
		}
	}
}

func TestCheckInOpensBeforeTheStartAndClosesAtTheReleaseTime(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := Event{ID: "a", Start: start, End: start.Add(time.Hour)}
	for _, tt := range []struct {
		now  time.Duration
		open bool
	}{{-6 * time.Minute, false}, {-5 * time.Minute, true}, {0, true}, {9 * time.Minute, true}, {10 * time.Minute, false}} {
		if got := CheckInOpen(e, start.Add(tt.now), 10*time.Minute); got != tt.open {
			t.Errorf("CheckInOpen at start%+v = %v, want %v", tt.now, got, tt.open)
		}
	}
	short := Event{ID: "b", Start: start, End: start.Add(5 * time.Minute)}
	if CheckInOpen(short, start.Add(6*time.Minute), 10*time.Minute) {
		t.Error("a meeting that ended can still be checked in")
	}
	if (&Room{CheckedIn: []string{"a"}}).CheckedInTo("b") || !(&Room{CheckedIn: []string{"a"}}).CheckedInTo("a") || (*Room)(nil).CheckedInTo("a") {
		t.Error("CheckedInTo is wrong")
	}
}
