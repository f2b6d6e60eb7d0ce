package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/sandbox"
)

const lobby = "lobby@placard.example"

// monday is a fixed clock: the lobby's demo day has nothing before 11:30
// UTC.
var monday = time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC)

func mondayClient(t *testing.T, opts ...func(*sandbox.Options)) (*graph.Client, *sandbox.Sandbox) {
	t.Helper()
	o := sandbox.Options{Now: func() time.Time { return monday }}
	for _, f := range opts {
		f(&o)
	}
	sb, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return graph.New("", &http.Client{Transport: sb.Transport()}), sb
}

func wantStatus(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != status || ge.Code != code {
		t.Fatalf("%v, want Graph's %d %s", err, status, code)
	}
}

func TestCalendarDeltaRoundsAndResync(t *testing.T) {
	c, sb := mondayClient(t)
	ctx := context.Background()
	tok := token(t, sb, lobby, "Calendars.ReadWrite")
	from := monday.Truncate(24 * time.Hour)
	q := graph.DeltaQuery{Start: from, End: from.Add(48 * time.Hour), PageSize: 3}
	first, err := c.CalendarDelta(ctx, tok, q)
	if err != nil {
		t.Fatal(err)
	}
	view, err := c.CalendarView(ctx, tok, q.Start, q.End)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Changed) != len(view) || first.Pages != (len(view)+2)/3 || first.DeltaLink == "" || len(first.Removed) != 0 {
		t.Fatalf("a first round: %d events in %d pages, calendarView %d", len(first.Changed), first.Pages, len(view))
	}
	for _, ev := range first.Changed {
		if ev.Start.TimeZone != "UTC" || ev.ResponseStatus.Response == "" || ev.Type == "" {
			t.Fatalf("an event of delta: %+v", ev)
		}
	}

	booked, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: "ada@placard.example", Subject: "Walk-in", Start: monday.Add(5 * time.Minute), End: monday.Add(25 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	next, err := c.CalendarDelta(ctx, tok, graph.DeltaQuery{Link: first.DeltaLink})
	if err != nil || len(next.Changed) != 1 || next.Changed[0].ID != booked.ID || next.Changed[0].AttendeeResponse(lobby) != "accepted" {
		t.Fatalf("after a booking: %+v %v", next, err)
	}
	if err := c.DeclineEvent(ctx, tok, booked.ID, graph.Reply{Comment: "Released", SendResponse: true}); err != nil {
		t.Fatal(err)
	}
	next, err = c.CalendarDelta(ctx, tok, graph.DeltaQuery{Link: next.DeltaLink})
	if err != nil || !slices.Equal(next.Removed, []string{booked.ID}) {
		t.Fatalf("after a decline: %+v %v", next, err)
	}

	sb.SetFaults(sandbox.Faults{ExpireDeltaTokens: true})
	_, err = c.CalendarDelta(ctx, tok, graph.DeltaQuery{Link: next.DeltaLink})
	if !errors.Is(err, graph.ErrResync) {
		t.Fatalf("an expired token: %v, want ErrResync", err)
	}
	wantStatus(t, err, 410, "SyncStateNotFound")
	if _, err := c.CalendarDelta(ctx, tok, q); err != nil {
		t.Errorf("a new round after a resync: %v", err)
	}
	// Other failures are Graph's errors, not a resync.
	_, err = c.CalendarDelta(ctx, token(t, sb, lobby, "User.Read"), q)
	if errors.Is(err, graph.ErrResync) {
		t.Errorf("a 403 taken for a resync")
	}
	wantStatus(t, err, 403, "ErrorAccessDenied")
}

func TestSchedulesInBatchesOfTwenty(t *testing.T) {
	c, sb := mondayClient(t, func(o *sandbox.Options) { o.NumberedUsers = 40 })
	ctx := context.Background()
	tok := token(t, sb, "ada@placard.example", "Calendars.ReadBasic")
	var addresses []string
	for i := 1; i <= 40; i++ {
		addresses = append(addresses, fmt.Sprintf("user%04d@placard.example", i))
	}
	addresses = append(addresses, lobby, "nobody@placard.example")
	q := graph.ScheduleQuery{Schedules: addresses, Start: monday, End: monday.Add(8 * time.Hour), Interval: 60}
	batches, posts := sb.Requests("graph /$batch"), sb.Requests("graph /me/calendar/getSchedule")
	got, err := c.Schedules(ctx, tok, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(addresses) {
		t.Fatalf("%d schedules for %d addresses", len(got), len(addresses))
	}
	for i, s := range got {
		if s.ScheduleID != addresses[i] {
			t.Errorf("schedule %d is %s, want %s", i, s.ScheduleID, addresses[i])
		}
		if wantErr := addresses[i] == "nobody@placard.example"; (s.Error != nil) != wantErr || (!wantErr && len(s.AvailabilityView) != 8) {
			t.Errorf("%s: view %q, error %+v", s.ScheduleID, s.AvailabilityView, s.Error)
		}
	}
	if b, p := sb.Requests("graph /$batch")-batches, sb.Requests("graph /me/calendar/getSchedule")-posts; b != 1 || p != 3 {
		t.Errorf("42 schedules took %d batches of %d getSchedule, want 1 of 3", b, p)
	}
	// A room shares its meetings' subjects (its copies say the
	// organiser's name), but a private one's.
	var shared int
	for _, it := range got[40].ScheduleItems {
		if it.Start.TimeZone != "UTC" {
			t.Errorf("a room's item: %+v", it)
		}
		if it.Subject != "" {
			shared++
		}
	}
	if shared == 0 || shared == len(got[40].ScheduleItems) {
		t.Errorf("%d of the lobby's %d items with a subject: the demo day has one private meeting", shared, len(got[40].ScheduleItems))
	}

	// Up to 20: one request, no batch.
	batches = sb.Requests("graph /$batch")
	if got, err := c.Schedules(ctx, tok, graph.ScheduleQuery{Schedules: addresses[:20], Start: monday, End: monday.Add(time.Hour)}); err != nil || len(got) != 20 || len(got[0].AvailabilityView) != 2 {
		t.Errorf("20 schedules by the default 30 minutes: %d %v", len(got), err)
	}
	if sb.Requests("graph /$batch") != batches {
		t.Error("20 schedules went through a batch")
	}
	// Graph's refusal, inside a batch or not, is its error.
	_, err = c.Schedules(ctx, tok, graph.ScheduleQuery{Schedules: addresses, Start: monday, End: monday.AddDate(0, 0, 70)})
	wantStatus(t, err, 400, "ErrorTimeIntervalTooBig")
	_, err = c.Schedules(ctx, tok, graph.ScheduleQuery{Schedules: addresses[:2], Start: monday, End: monday.AddDate(0, 0, 70)})
	wantStatus(t, err, 400, "ErrorTimeIntervalTooBig")
}

func TestPresencesByUserIDInChunks(t *testing.T) {
	c, sb := mondayClient(t)
	ctx := context.Background()
	tok := token(t, sb, "ada@placard.example", "Presence.Read.All", "User.ReadBasic.All")
	grace, err := c.User(ctx, tok, "grace@placard.example")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{grace.ID}
	for i := range 700 {
		ids = append(ids, fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
	}
	before := sb.Requests("graph /communications/getPresencesByUserId")
	got, err := c.PresencesByUserID(ctx, tok, ids)
	if err != nil {
		t.Fatal(err)
	}
	if n := sb.Requests("graph /communications/getPresencesByUserId") - before; len(got) != len(ids) || n != 2 {
		t.Fatalf("%d presences in %d requests for %d ids", len(got), n, len(ids))
	}
	if got[0].ID != grace.ID || got[0].Activity != "InACall" || got[1].Availability != "PresenceUnknown" {
		t.Errorf("presences %+v %+v", got[0], got[1])
	}
	_, err = c.PresencesByUserID(ctx, token(t, sb, "ada@placard.example", "Presence.Read"), ids[:1])
	wantStatus(t, err, 403, "Forbidden")
}

func TestPlacesAndGroupMembers(t *testing.T) {
	c, sb := mondayClient(t)
	ctx := context.Background()
	tok := token(t, sb, "ada@placard.example", "Place.Read.All", "GroupMember.Read.All", "User.ReadBasic.All")
	rooms, err := c.Rooms(ctx, tok)
	if err != nil || len(rooms) != len(sb.Rooms().Rooms) {
		t.Fatalf("rooms: %d %v", len(rooms), err)
	}
	i := slices.IndexFunc(rooms, func(r graph.Room) bool { return r.EmailAddress == lobby })
	if i < 0 || rooms[i].DisplayName != "Lobby Room" || int(rooms[i].Capacity) != 8 || rooms[i].Building == "" || rooms[i].FloorLabel == "" {
		t.Errorf("the lobby: %+v", rooms)
	}
	lists, err := c.RoomLists(ctx, tok)
	if err != nil || len(lists) != 2 {
		t.Fatalf("room lists: %+v %v", lists, err)
	}
	in, err := c.RoomsIn(ctx, tok, lists[0].EmailAddress)
	if err != nil || len(in) == 0 || len(in) >= len(rooms) {
		t.Errorf("the rooms of %s: %d %v", lists[0].EmailAddress, len(in), err)
	}
	_, err = c.RoomsIn(ctx, tok, lists[0].ID)
	wantStatus(t, err, 404, "ErrorItemNotFound")
	_, err = c.Rooms(ctx, token(t, sb, "ada@placard.example", "User.Read"))
	wantStatus(t, err, 403, "ErrorAccessDenied")

	team := sb.Groups()[0]
	if g, err := c.Group(ctx, tok, team.ID); err != nil || g.ID != team.ID || g.DisplayName != "Team" {
		t.Errorf("the group: %+v %v", g, err)
	}
	_, err = c.Group(ctx, tok, "00000000-0000-0000-0000-000000000000")
	wantStatus(t, err, 404, "Request_ResourceNotFound")
	_, err = c.Group(ctx, token(t, sb, "ada@placard.example", "User.ReadBasic.All"), team.ID)
	wantStatus(t, err, 403, "Authorization_RequestDenied")
	members, err := c.GroupMembers(ctx, tok, team.ID)
	if err != nil || len(members) != len(team.Members) || members[0].UserPrincipalName != team.Members[0] || members[0].DisplayName == "" {
		t.Fatalf("members: %+v %v", members, err)
	}
	bare, err := c.GroupMembers(ctx, token(t, sb, "ada@placard.example", "GroupMember.Read.All"), team.ID)
	if err != nil || len(bare) != len(team.Members) || bare[0].ID != members[0].ID || bare[0].DisplayName != "" {
		t.Errorf("members without User.ReadBasic.All: %+v %v", bare, err)
	}
	if _, _, err := c.UserPhoto(ctx, tok, "katherine@placard.example"); graph.StatusOf(err) != 404 {
		t.Errorf("a photo nobody has: %v", err)
	}
	if b, ct, err := c.UserPhoto(ctx, tok, "grace@placard.example"); err != nil || ct != "image/png" || len(b) == 0 {
		t.Errorf("Grace's photo: %s %v", ct, err)
	}
}

func TestARoomAnswersMeetingsButMovesOnlyItsOwn(t *testing.T) {
	c, sb := mondayClient(t)
	ctx := context.Background()
	room := token(t, sb, lobby, "Calendars.ReadWrite")
	start := monday.Add(5 * time.Minute)
	own, err := c.CreateEvent(ctx, room, graph.NewEvent{Subject: "Booked at the door", Start: graph.At(start, time.UTC), End: graph.At(start.Add(30*time.Minute), time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	end := graph.At(start.Add(45*time.Minute), time.UTC)
	moved, err := c.UpdateEvent(ctx, room, own.ID, graph.EventChange{End: &end})
	if got, _ := moved.End.Time(); err != nil || !got.Equal(start.Add(45*time.Minute)) {
		t.Fatalf("extending the room's own booking: %+v %v", moved.End, err)
	}
	theirs, err := sb.BookRoom(lobby, sandbox.Booking{Organizer: "grace@placard.example", Subject: "Review", Start: start.Add(50 * time.Minute), End: start.Add(70 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	later := graph.At(start.Add(80*time.Minute), time.UTC)
	_, err = c.UpdateEvent(ctx, room, theirs.ID, graph.EventChange{End: &later})
	wantStatus(t, err, 400, "ErrorInvalidRequest")
	if err := c.TentativelyAcceptEvent(ctx, room, theirs.ID, graph.Reply{SendResponse: true}); err != nil {
		t.Fatal(err)
	}
	ev, err := c.GetEvent(ctx, room, theirs.ID)
	if err != nil || ev.ResponseStatus.Response != "tentativelyAccepted" || ev.IsOrganizer {
		t.Errorf("after tentativelyAccept: %+v %v", ev.ResponseStatus, err)
	}
	if err := c.AcceptEvent(ctx, room, theirs.ID, graph.Reply{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelEvent(ctx, room, theirs.ID, "not mine"); graph.StatusOf(err) != 400 {
		t.Errorf("a room cancelling someone else's meeting: %v", err)
	}
	if err := c.DeclineEvent(ctx, room, own.ID, graph.Reply{}); graph.StatusOf(err) != 400 {
		t.Errorf("declining one's own meeting: %v", err)
	}
}
