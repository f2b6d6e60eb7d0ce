package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
)

func testCalendarSyncs(t *testing.T, s server.Store) {
	ctx := context.Background()
	if _, err := s.CalendarSync(ctx, "a1"); !server.IsNotFound(err) {
		t.Fatalf("none stored: %v, want not found", err)
	}
	c := server.CalendarSync{AccountID: "a1", Start: at, End: at.AddDate(0, 0, 6), DeltaLink: "https://graph.example/v1.0/me/calendarView/delta?$deltatoken=1",
		Events: []byte(`[{"id":"e1"}]`), UpdatedAt: at}
	v, err := s.PutCalendarSyncIf(ctx, c)
	if err != nil || v == 0 {
		t.Fatalf("the first write: %d %v", v, err)
	}
	if _, err := s.PutCalendarSyncIf(ctx, c); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second first write: %v, want a conflict", err)
	}
	want := c
	want.Version = v
	got, err := s.CalendarSync(ctx, "a1")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	next := want
	next.DeltaLink, next.Events, next.UpdatedAt = next.DeltaLink+"2", []byte(`[]`), at.Add(time.Minute)
	v2, err := s.PutCalendarSyncIf(ctx, next)
	if err != nil || v2 == v {
		t.Fatalf("the next round: %d %v", v2, err)
	}
	// An owner that read version v and lost the lease writes nothing.
	if _, err := s.PutCalendarSyncIf(ctx, want); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a write from an older version: %v, want a conflict", err)
	}
	if got, _ := s.CalendarSync(ctx, "a1"); got.DeltaLink != next.DeltaLink || got.Version != v2 || string(got.Events) != "[]" {
		t.Errorf("after a refused write: %+v", got)
	}
	if err := s.DeleteCalendarSync(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCalendarSync(ctx, "a1"); err != nil {
		t.Errorf("deleting none: %v", err)
	}
	if _, err := s.CalendarSync(ctx, "a1"); !server.IsNotFound(err) {
		t.Errorf("deleted: %v", err)
	}
	if _, err := s.PutCalendarSyncIf(ctx, server.CalendarSync{AccountID: "a1"}); server.ErrorCode(err) != server.EINVALID {
		t.Errorf("no deltaLink: %v, want invalid", err)
	}

	// Racers writing from the same version: one wins.
	if _, err := s.PutCalendarSyncIf(ctx, c); err != nil {
		t.Fatal(err)
	}
	base, _ := s.CalendarSync(ctx, "a1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 10 {
		wg.Go(func() {
			if _, err := s.PutCalendarSyncIf(ctx, base); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if server.ErrorCode(err) != server.ECONFLICT {
				t.Errorf("a racer: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d racers wrote from the same version, want 1", won)
	}
}
