package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/server"
)

func testRoomMarks(t *testing.T, s server.Store) {
	ctx := context.Background()
	in := server.RoomMark{AccountID: "room1", EventID: "e1", Kind: server.RoomCheckedIn, At: at}
	if ok, err := s.PutRoomMark(ctx, in); err != nil || !ok {
		t.Fatalf("a check-in: %v %v", ok, err)
	}
	// Checked in, a meeting is not released; nor checked in twice.
	for _, kind := range []string{server.RoomReleased, server.RoomCheckedIn} {
		if ok, err := s.PutRoomMark(ctx, server.RoomMark{AccountID: "room1", EventID: "e1", Kind: kind, At: at.Add(time.Minute)}); err != nil || ok {
			t.Errorf("a second mark (%s) of a meeting: %v %v, want none", kind, ok, err)
		}
	}
	rel := server.RoomMark{AccountID: "room1", EventID: "e2", Kind: server.RoomReleased, At: at.Add(2 * time.Minute)}
	if ok, err := s.PutRoomMark(ctx, rel); err != nil || !ok {
		t.Fatalf("a release: %v %v", ok, err)
	}
	if ok, err := s.PutRoomMark(ctx, server.RoomMark{AccountID: "room2", EventID: "e1", Kind: server.RoomReleased, At: at}); err != nil || !ok {
		t.Errorf("another room's meeting of the same id: %v %v", ok, err)
	}
	if _, err := s.PutRoomMark(ctx, server.RoomMark{AccountID: "room1", EventID: "e3", Kind: "deleted", At: at}); server.ErrorCode(err) != server.EINVALID {
		t.Errorf("a mark of no kind: %v, want invalid", err)
	}
	got, err := s.RoomMarks(ctx, "room1", at)
	if err != nil || len(got) != 2 || got[0] != in || got[1] != rel {
		t.Fatalf("room1's marks %+v %v, want %+v and %+v", got, err, in, rel)
	}
	if got, _ := s.RoomMarks(ctx, "room1", at.Add(time.Minute)); len(got) != 1 || got[0] != rel {
		t.Errorf("room1's marks since a minute later: %+v", got)
	}
	// A release Graph refused is forgotten, and tried again.
	if err := s.DeleteRoomMark(ctx, "room1", "e2", server.RoomReleased); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoomMark(ctx, "room1", "e1", server.RoomReleased); err != nil {
		t.Errorf("forgetting a mark of another kind: %v", err)
	}
	if ok, err := s.PutRoomMark(ctx, rel); err != nil || !ok {
		t.Errorf("the release again: %v %v", ok, err)
	}
	if err := s.DeleteRoomMarksBefore(ctx, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RoomMarks(ctx, "room1", time.Time{}); len(got) != 1 || got[0] != rel {
		t.Errorf("after forgetting the old marks: %+v", got)
	}

	// Ten replicas release one meeting at once: one does.
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.PutRoomMark(ctx, server.RoomMark{AccountID: "room3", EventID: "e9", Kind: server.RoomReleased, At: at.Add(time.Duration(i) * time.Second)})
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d of ten racers released one meeting, want 1", won.Load())
	}
}
