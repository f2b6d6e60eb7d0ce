package sandbox

import (
	"testing"
	"time"
)

func TestConcurrentOutlookRequestsArePeaked(t *testing.T) {
	s, err := New(Options{Now: func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	room := s.users["lobby@"+TenantDomain]
	var ends []func()
	for range 5 {
		ends = append(ends, s.beginMailbox(room))
	}
	for _, end := range ends[:3] {
		end()
	}
	ends = append(ends, s.beginMailbox(room))
	b := s.Budgets()
	if m := b.Outlook.Mailboxes[0]; m.PeakConcurrent != 5 || m.Total != 6 || m.PeakWindow != 6 {
		t.Errorf("five under way at once, then three done and one more: %+v", m)
	}
	for _, end := range ends[3:] {
		end()
	}
	if l := s.load[room.UPN]; l.inFlight != 0 {
		t.Errorf("%d under way after every one ended", l.inFlight)
	}
}
