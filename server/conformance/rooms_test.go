package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/sandbox"
)

// Room panels and boards through placard's Graph client: calendarView
// delta, meetings answered by a room's account, getSchedule, presence of
// many, places and a group's members, and the consent they need.

// signInWith signs in as upn asking for scopes. On a real tenant the run's
// one sign-in serves, when PLACARD_SCOPES holds the scopes; else the case
// is skipped, saying which.
func (tg *target) signInWith(t *testing.T, upn string, scopes ...string) *session {
	t.Helper()
	if tg.real() {
		for _, sc := range scopes {
			if !slices.Contains(tg.scopes, sc) {
				t.Skipf("on a real tenant: PLACARD_SCOPES has no %s (it needs %v)", sc, scopes)
			}
		}
		return realSession(t, tg)
	}
	saved := tg.scopes
	tg.scopes = scopes
	defer func() { tg.scopes = saved }()
	return tg.signIn(t, upn)
}

func ids(evs []graph.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	slices.Sort(out)
	return out
}

func TestCalendarDeltaRounds(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signInWith(t, "lobby@placard.example", "User.Read", "Calendars.ReadWrite")
		tok := s.result.AccessToken
		c := tg.graph()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		now := time.Now()
		if !tg.real() {
			now = tg.sb.Now()
		}
		from := now.Truncate(time.Hour).Add(-12 * time.Hour)
		q := graph.DeltaQuery{Start: from, End: from.Add(48 * time.Hour), PageSize: 2}
		first, err := c.CalendarDelta(ctx, tok, q)
		if err != nil {
			t.Fatal(err)
		}
		view, err := c.CalendarView(ctx, tok, q.Start, q.End)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(first.Changed), ids(view)) || first.DeltaLink == "" {
			t.Fatalf("a first round gave %d events in %d pages, calendarView %d", len(first.Changed), first.Pages, len(view))
		}
		if len(view) > 2 && first.Pages < 2 {
			t.Errorf("%d events in %d page of at most 2", len(view), first.Pages)
		}
		// A meeting made and one deleted, in the next rounds.
		start := now.Add(10 * time.Minute).UTC().Truncate(time.Minute)
		ev, err := c.CreateEvent(ctx, tok, graph.NewEvent{Subject: "placard conformance: delta", Start: graph.At(start, time.UTC), End: graph.At(start.Add(5*time.Minute), time.UTC), ShowAs: "free"})
		if err != nil {
			t.Fatal(err)
		}
		next, err := c.CalendarDelta(ctx, tok, graph.DeltaQuery{Link: first.DeltaLink})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ids(next.Changed), ev.ID) {
			t.Errorf("the round after a new event: %v", ids(next.Changed))
		}
		if err := c.DeleteEvent(ctx, tok, ev.ID); err != nil {
			t.Fatal(err)
		}
		gone, err := c.CalendarDelta(ctx, tok, graph.DeltaQuery{Link: next.DeltaLink})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(gone.Removed, ev.ID) {
			t.Errorf("the round after a deletion removed %v, not %s", gone.Removed, ev.ID)
		}

		tg.sandboxOnly(t, "a tenant's delta tokens cannot be made to expire on purpose")
		tg.sb.SetFaults(sandbox.Faults{ExpireDeltaTokens: true})
		_, err = c.CalendarDelta(ctx, tok, graph.DeltaQuery{Link: gone.DeltaLink})
		if !errors.Is(err, graph.ErrResync) {
			t.Fatalf("an expired token: %v, want ErrResync", err)
		}
		wantGraphError(t, err, 410, "SyncStateNotFound")
		if _, err := c.CalendarDelta(ctx, tok, q); err != nil {
			t.Errorf("a new round: %v", err)
		}
		// Outlook's budget is counted per mailbox.
		if b := tg.sb.Budgets(); !slices.ContainsFunc(b.Outlook.Mailboxes, func(m sandbox.MailboxLoad) bool {
			return m.UPN == "lobby@placard.example" && m.InWindow >= first.Pages+next.Pages+gone.Pages && m.PeakConcurrent >= 1
		}) {
			t.Errorf("the lobby's Outlook budget: %+v", b.Outlook.Mailboxes)
		}
	})
}

func TestARoomsAccountAnswersMeetings(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "the suite cannot book a tenant's room as another person from Outlook")
		s := tg.signInWith(t, "lobby@placard.example", "User.Read", "Calendars.ReadWrite")
		room := s.result.AccessToken
		c := tg.graph()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The lobby's demo day is free for an hour from the sandbox's
		// start.
		start := tg.sb.Now().Add(5 * time.Minute).Truncate(time.Minute)
		booked, err := tg.sb.BookRoom("lobby@placard.example", sandbox.Booking{Organizer: "ada@placard.example", Subject: "Walk-through", Start: start, End: start.Add(15 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.GetEvent(ctx, room, booked.ID)
		if err != nil || ev.Subject != "Ada Lovelace" || ev.ResponseStatus.Response != "accepted" || ev.IsOrganizer {
			t.Fatalf("the room's copy: %+v %v", ev, err)
		}
		later := graph.At(start.Add(30*time.Minute), time.UTC)
		_, err = c.UpdateEvent(ctx, room, booked.ID, graph.EventChange{End: &later})
		wantGraphError(t, err, 400, "ErrorInvalidRequest")
		err = c.CancelEvent(ctx, room, booked.ID, "not the organiser")
		wantGraphError(t, err, 400, "ErrorAccessDenied")
		if err := c.DeclineEvent(ctx, room, booked.ID, graph.Reply{Comment: "Released: nobody checked in", SendResponse: true}); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetEvent(ctx, room, booked.ID)
		wantGraphError(t, err, 404, "ErrorItemNotFound")
		day, err := tg.sb.DayEvents("ada@placard.example", "")
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(day, func(e sandbox.Event) bool { return e.ICalUID == booked.ICalUID }); i < 0 || day[i].AttendeeResponse("lobby@placard.example") != "declined" {
			t.Errorf("the organiser's copy after the room's decline: %+v", day)
		}

		// The room's own booking: extended by the room.
		own, err := c.CreateEvent(ctx, room, graph.NewEvent{Subject: "Booked at the door", Start: graph.At(start.Add(20*time.Minute), time.UTC), End: graph.At(start.Add(35*time.Minute), time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		end := graph.At(start.Add(50*time.Minute), time.UTC)
		if ev, err := c.UpdateEvent(ctx, room, own.ID, graph.EventChange{End: &end}); err != nil || !ev.IsOrganizer {
			t.Errorf("extending the room's own booking: %+v %v", ev, err)
		}
		if err := c.CancelEvent(ctx, room, own.ID, "ended early"); err != nil {
			t.Errorf("ending the room's own booking: %v", err)
		}

		// The stand-up series of the Studio: one occurrence declined, the
		// others kept.
		studio := tg.signInWith(t, "studio@placard.example", "Calendars.ReadWrite").result.AccessToken
		week, err := c.CalendarView(ctx, studio, start, start.AddDate(0, 0, 8))
		if err != nil {
			t.Fatal(err)
		}
		var ups []graph.Event
		for _, e := range week {
			if e.Type == "occurrence" && e.SeriesMasterID != "" {
				ups = append(ups, e)
			}
		}
		if len(ups) < 4 {
			t.Fatalf("%d stand-ups in eight days", len(ups))
		}
		master, err := c.GetEvent(ctx, studio, ups[0].SeriesMasterID)
		if err != nil || master.Type != "seriesMaster" {
			t.Errorf("the series master: %+v %v", master, err)
		}
		if err := c.DeclineEvent(ctx, studio, ups[1].ID, graph.Reply{Comment: "Released"}); err != nil {
			t.Fatal(err)
		}
		after, err := c.CalendarView(ctx, studio, start, start.AddDate(0, 0, 8))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(after), len(week)-1; got != want || slices.Contains(ids(after), ups[1].ID) || !slices.Contains(ids(after), ups[2].ID) {
			t.Errorf("after declining one occurrence: %d events, want %d", got, want)
		}
	})
}

func TestGetSchedule(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signInWith(t, "ada@placard.example", "User.Read", "Calendars.ReadBasic")
		tok := s.result.AccessToken
		c := tg.graph()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		me := mustMe(t, c, tok)
		now := time.Now().UTC().Truncate(time.Hour)
		if !tg.real() {
			now = tg.sb.Now().UTC().Truncate(time.Hour)
		}
		addresses := []string{me.Mail, "nobody-" + me.ID[:8] + "@" + domainOf(me.UserPrincipalName)}
		if !tg.real() {
			addresses = append(addresses, "lobby@placard.example", "grace@placard.example")
		}
		got, err := c.Schedules(ctx, tok, graph.ScheduleQuery{Schedules: addresses, Start: now, End: now.Add(8 * time.Hour), Interval: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(addresses) {
			t.Fatalf("%d schedules for %v", len(got), addresses)
		}
		for i, sc := range got {
			switch {
			case i == 1 && (sc.Error == nil || sc.Error.ResponseCode == ""):
				t.Errorf("an unknown address: %+v", sc)
			case i != 1 && (sc.Error != nil || len(sc.AvailabilityView) != 8 || sc.WorkingHours == nil):
				t.Errorf("%s: %+v", sc.ScheduleID, sc)
			}
		}
		_, err = c.Schedules(ctx, tok, graph.ScheduleQuery{Schedules: addresses[:1], Start: now, End: now.AddDate(0, 0, 70)})
		wantGraphError(t, err, 400, "ErrorTimeIntervalTooBig")

		tg.sandboxOnly(t, "a tenant has been seen to allow 100 schedules a request where the page says 20; the sandbox holds the documented 20")
		many := make([]string, graph.MaxSchedules+1)
		for i := range many {
			many[i] = fmt.Sprintf("person%d@placard.example", i)
		}
		batches := tg.sb.Requests("graph /$batch")
		if got, err := c.Schedules(ctx, tok, graph.ScheduleQuery{Schedules: many, Start: now, End: now.Add(time.Hour)}); err != nil || len(got) != len(many) {
			t.Errorf("21 schedules in two requests of a batch: %d %v", len(got), err)
		}
		if tg.sb.Requests("graph /$batch") != batches+1 {
			t.Error("21 schedules were not read through one $batch")
		}
	})
}

func domainOf(upn string) string {
	for i := len(upn) - 1; i >= 0; i-- {
		if upn[i] == '@' {
			return upn[i+1:]
		}
	}
	return upn
}

func TestPresencesOfMany(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signInWith(t, "ada@placard.example", "User.Read", "Presence.Read.All")
		tok := s.result.AccessToken
		c := tg.graph()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		me := mustMe(t, c, tok)
		nobody := "00000000-0000-0000-0000-00000000000a"
		got, err := c.PresencesByUserID(ctx, tok, []string{me.ID, nobody})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]graph.Presence{}
		for _, p := range got {
			byID[p.ID] = p
		}
		if byID[me.ID].Availability == "" {
			t.Errorf("presences %+v", got)
		}
		t.Logf("the presence of an id of nobody: %+v", byID[nobody])
		tg.sandboxOnly(t, "what a tenant answers for an id of nobody is not documented: logged above")
		if byID[nobody].Availability != "PresenceUnknown" {
			t.Errorf("an id of nobody: %+v", byID[nobody])
		}
		before := tg.sb.Budgets().Presence.Total
		ids := []string{me.ID}
		for i := range graph.MaxPresenceIDs {
			ids = append(ids, fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
		}
		if got, err := c.PresencesByUserID(ctx, tok, ids); err != nil || len(got) != len(ids) {
			t.Fatalf("651 ids: %d %v", len(got), err)
		}
		if n := tg.sb.Budgets().Presence.Total - before; n != 2 {
			t.Errorf("651 ids took %d requests, want 2 (650 a request)", n)
		}
	})
}

func TestPlacesAndGroups(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signInWith(t, "grace@placard.example", "User.Read", "Place.Read.All")
		tok := s.result.AccessToken
		c := tg.graph()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		lists, err := c.RoomLists(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		rooms, err := c.Rooms(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		var listed int
		for _, l := range lists {
			in, err := c.RoomsIn(ctx, tok, l.EmailAddress)
			if err != nil {
				t.Fatalf("the rooms of %s: %v", l.EmailAddress, err)
			}
			listed += len(in)
		}
		t.Logf("%d rooms, %d room lists holding %d", len(rooms), len(lists), listed)
		tg.sandboxOnly(t, "a tenant's rooms, lists and groups are its own")
		if len(rooms) < 6 || len(lists) < 2 || listed != len(rooms) {
			t.Errorf("%d rooms, %d lists holding %d", len(rooms), len(lists), listed)
		}
		members := tg.signInWith(t, "grace@placard.example", "GroupMember.Read.All", "User.ReadBasic.All").result.AccessToken
		team := tg.sb.Groups()[0]
		got, err := c.GroupMembers(ctx, members, team.ID)
		if err != nil || len(got) != len(team.Members) {
			t.Fatalf("the members of %s: %d %v", team.DisplayName, len(got), err)
		}
		for i, m := range got {
			if m.UserPrincipalName != team.Members[i] || m.DisplayName == "" {
				t.Errorf("member %d: %+v", i, m)
			}
		}
	})
}

func TestPlaceReadAllNeedsAnAdministratorsConsent(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "a tenant's administrator's consent cannot be withdrawn on purpose")
		had := tg.signInWith(t, "ada@placard.example", "User.Read", "Place.Read.All")
		tg.sb.SetFaults(sandbox.Faults{PlaceConsentMissing: true})
		ctx, cancel := context.WithTimeout(context.Background(), tg.timeout())
		defer cancel()
		pc := tg.msal(t, tg.clientID)
		dc, err := pc.AcquireTokenByDeviceCode(ctx, []string{"User.Read", "Place.Read.All"})
		if err != nil {
			t.Fatal(err)
		}
		if out := tg.sb.Approve(dc.Result.UserCode, "ada@placard.example"); out != sandbox.OutcomeConsent {
			t.Fatalf("approving: %s", out)
		}
		_, err = dc.AuthenticationResult(ctx)
		if e := wantOAuth(t, err, "invalid_grant", 90094); e.SubError != "consent_required" {
			t.Errorf("suberror %q", e.SubError)
		}
		// A session that had it is refreshed without it: Graph refuses
		// its places.
		res, err := had.refresh(ctx, []string{"User.Read"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tg.graph().Rooms(ctx, res.AccessToken)
		wantGraphError(t, err, 403, "ErrorAccessDenied")
	})
}
