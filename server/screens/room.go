package screens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/limit"
)

// A room's panel (the room layout) is a dashboard of the room's own
// account: the same source, snapshot and agenda, and on the screen a
// status band (free, busy, soon) computed from the agenda and the
// screen's clock, so that it turns at the minute without waiting for the
// edge server (wire.RoomStatus). What only the edge server knows is in
// wire.Room: which meetings were checked in.

// roomAgenda is a room panel's agenda, and what its view adds: on a
// panel in privacy mode its meetings lose their subject and location but
// keep their organiser, whom people at the door look for (a private
// meeting has lost both already: convert); checkedIn are the meetings of
// the day checked in. It returns copies: the account's data is shared.
func roomAgenda(a *wire.Agenda, d *accountData, privacy bool) (*wire.Agenda, *wire.Room) {
	if a == nil {
		return nil, nil
	}
	room := &wire.Room{}
	for _, e := range a.Today {
		if slices.Contains(d.checkedIn, e.ID) {
			room.CheckedIn = append(room.CheckedIn, e.ID)
		}
	}
	if !privacy {
		return a, room
	}
	strip := func(events []wire.Event) []wire.Event {
		if events == nil {
			return nil
		}
		out := make([]wire.Event, len(events))
		for i, e := range events {
			e.Subject, e.Location = "", ""
			out[i] = e
		}
		return out
	}
	return &wire.Agenda{Today: strip(a.Today), Tomorrow: strip(a.Tomorrow)}, room
}

// Room actions are rarer than a quick booking's taps and come in runs
// (check in, extend, end): a panel may act a dozen times in ten minutes,
// and a room's panels together twice that; bound all the same, since a
// stolen screen cookie must not churn a room's day.
var (
	DefaultRoomActionsPerScreen  = limit.Rate{Max: 12, Per: 10 * time.Minute}
	DefaultRoomActionsPerAccount = limit.Rate{Max: 24, Per: 10 * time.Minute}
)

func newRoomLimits(cfg Config) bookLimits {
	return bookLimits{perScreen: limit.New(DefaultRoomActionsPerScreen, cfg.Now), perAccount: limit.New(DefaultRoomActionsPerAccount, cfg.Now)}
}

// errRoomRefused is an action the room's calendar, as Graph has it now,
// does not allow: the slot is taken, the meeting is over or not yet
// begun, a check-in outside its time.
var errRoomRefused = server.Errorf(server.ECONFLICT, "the room's calendar does not allow it")

// RoomAction does, as the room's own account, what a person asked on a
// room's panel that an administrator lets act (wire.RoomAction), and
// shows the panel what became of it (room-result). Every action is
// audited and rate-limited, and decided from the room's calendar as Graph
// has it now, not as the panel last showed it.
//
// Graph lets only a meeting's organiser change its times; the room is an
// attendee of the meetings others book in it (a room's account answers
// invitations, as Exchange's resource booking does). So:
//   - End now (of the meeting in progress, or of one about to start) of a
//     meeting the room organised (one booked on its panel) moves its end
//     to now (PATCH), or deletes it when it has not begun; of anyone
//     else's, the room declines it, which frees the room and tells the
//     organiser (for an occurrence of a series, that occurrence only).
//   - Extend of the room's own meeting moves its end ExtendStep later; of
//     anyone else's, the room books a meeting of its own right after it.
//   - Book now books a meeting the room organises, from now.
//   - Check in is recorded by the edge server (auto-release reads it):
//     Graph has nothing to say of it.
//
// https://learn.microsoft.com/en-us/graph/api/event-update — the page does
// not say what an attendee's change of start or end is answered
// (unconfirmed): the sandbox answers 400 as event-cancel documents for an
// attendee (https://learn.microsoft.com/en-us/graph/api/event-cancel: "You
// need to be an organizer"), and placard never sends one.
// https://learn.microsoft.com/en-us/graph/api/event-decline — the decline,
// with its comment and sendResponse.
func (m *Manager) RoomAction(ctx context.Context, screenID string, a wire.RoomAction) error {
	s := m.session(screenID)
	var w *watch
	var sc wire.Screen
	var set server.ScreenSettings
	if s != nil {
		s.mu.Lock()
		if s.shown != nil {
			w = s.shown.w
		}
		set = s.screen.Settings
		sc = m.screenInfoLocked(s, m.cfg.Now())
		s.mu.Unlock()
	}
	outcome := wire.Booking{Action: a.Action}
	switch {
	case s == nil || w == nil:
		return server.Errorf(server.ECONFLICT, "screen %s shows no signed-in room to act on", screenID)
	case !set.Actions || set.LayoutOrDefault() != server.LayoutRoom:
		// The screen offers no button: whoever asks holds its cookie
		// and not its page. Graph is asked nothing.
		outcome.Problem = wire.BookScreenRefused
		m.showBooking(s, outcome)
		m.auditRoom(ctx, screenID, sc.Name, w, a, "refused", "the screen may not act on a room (settings actions and layout)")
		return server.Errorf(server.EFORBIDDEN, "an administrator does not let screen %s act on a room (settings actions and layout room)", screenID)
	case !m.bookable:
		outcome.Problem = wire.BookNotAllowed
		m.showBooking(s, outcome)
		return server.Errorf(server.EFORBIDDEN, "room actions are not enabled on this server (they need %s)", ScopeBook)
	}

	var err error = errTooManyBookings
	if m.roomActs.allow(screenID, w.account.ID) {
		err = m.withToken(ctx, w, func(token string) error {
			var err error
			outcome, err = m.roomAct(ctx, token, w, sc, set, a)
			return err
		})
	}
	outcome.OK, outcome.Action = err == nil, a.Action
	if err != nil {
		outcome.Problem = roomProblem(err)
		m.log.Warn("room action", "screen", screenID, "account", w.account.Username, "action", a.Action, "err", err)
		m.auditRoom(ctx, screenID, sc.Name, w, a, outcome.Problem, err.Error())
	} else {
		m.log.Info("room action", "screen", screenID, "account", w.account.Username, "action", a.Action, "start", outcome.Start, "end", outcome.End)
		m.auditRoom(ctx, screenID, sc.Name, w, a, "ok", roomDetail(a, outcome))
	}
	m.showBooking(s, outcome)
	if err != nil {
		return fmt.Errorf("screens: room action %s on %s: %w", a.Action, screenID, err)
	}
	return nil
}

// roomAct does one action with the room's token, and makes the room's
// next snapshot at once so that every panel of the room shows it without
// waiting for the next read of the calendar.
func (m *Manager) roomAct(ctx context.Context, token string, w *watch, sc wire.Screen, set server.ScreenSettings, a wire.RoomAction) (wire.Booking, error) {
	now := m.cfg.Now()
	found, err := m.cfg.Graph.CalendarView(ctx, token, now.Add(-12*time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return wire.Booking{}, err
	}
	events := blocking(found)
	var target graph.Event
	var te wire.Event
	if a.Action != wire.ActBook {
		i := slices.IndexFunc(found, func(e graph.Event) bool { return e.ID == a.Event })
		if i < 0 {
			return wire.Booking{}, fmt.Errorf("meeting %.40s… is no longer in the room's calendar: %w", a.Event, errRoomRefused)
		}
		target = found[i]
		var ok bool
		if te, ok = convert(target, time.UTC); !ok || !te.Blocks() {
			return wire.Booking{}, fmt.Errorf("the meeting is all-day or cancelled: %w", errRoomRefused)
		}
	}
	inProgress := !te.Start.After(now) && te.End.After(now)
	switch a.Action {
	case wire.ActBook:
		start := now.Truncate(time.Minute)
		end := start.Add(time.Duration(a.Minutes) * time.Minute)
		if _, busy := wire.BusyUntil(events, now); busy {
			return wire.Booking{}, fmt.Errorf("the room is busy: %w", errRoomRefused)
		}
		if next := wire.FreeFrom(events, now); !next.IsZero() && next.Before(end) {
			return wire.Booking{}, fmt.Errorf("a meeting starts at %s, before %d minutes are over: %w", next.Format(time.RFC3339), a.Minutes, errRoomRefused)
		}
		created, err := m.cfg.Graph.CreateEvent(ctx, token, graph.NewEvent{
			Subject: "Booked on " + sc.Name,
			Start:   graph.At(start, time.UTC),
			End:     graph.At(end, time.UTC),
			ShowAs:  "busy",
		})
		if err != nil {
			return wire.Booking{}, err
		}
		w.update(func(d *accountData) { d.events = append(slices.Clone(d.events), created) })
		// Booked at the door by whoever stands there: checked in.
		if err := m.checkIn(ctx, w, created, now); err != nil {
			return wire.Booking{}, err
		}
		return wire.Booking{Start: start, End: end}, nil

	case wire.ActExtend:
		if !inProgress {
			return wire.Booking{}, fmt.Errorf("the meeting is not in progress: %w", errRoomRefused)
		}
		end := te.End.Add(wire.ExtendStep)
		for _, o := range events {
			if o.ID != te.ID && o.Start.Before(end) && o.End.After(te.End) {
				return wire.Booking{}, fmt.Errorf("the next meeting starts at %s: %w", o.Start.Format(time.RFC3339), errRoomRefused)
			}
		}
		if target.IsOrganizer {
			changed, err := m.cfg.Graph.UpdateEvent(ctx, token, target.ID, graph.EventChange{End: ptr(graph.At(end, time.UTC))})
			if err != nil {
				return wire.Booking{}, err
			}
			w.update(func(d *accountData) { d.events = replaceEvent(d.events, changed) })
			return wire.Booking{Start: te.Start, End: end}, nil
		}
		// Someone else's meeting: its times are its organiser's. The room
		// books the next quarter of an hour itself, right after it.
		created, err := m.cfg.Graph.CreateEvent(ctx, token, graph.NewEvent{
			Subject: extensionSubject(target),
			Start:   graph.At(te.End, time.UTC),
			End:     graph.At(end, time.UTC),
			ShowAs:  "busy",
		})
		if err != nil {
			return wire.Booking{}, err
		}
		w.update(func(d *accountData) { d.events = append(slices.Clone(d.events), created) })
		return wire.Booking{Start: te.Start, End: end}, nil

	case wire.ActEnd:
		// A meeting about to start (soon) may be ended too: people at the
		// door who checked in and are done, or who give the room up.
		soon := te.Start.After(now) && te.Start.Sub(now) <= wire.SoonBefore
		if !inProgress && !soon {
			return wire.Booking{}, fmt.Errorf("the meeting is neither in progress nor about to start: %w", errRoomRefused)
		}
		if target.IsOrganizer && soon {
			// The room's own meeting, not begun: it goes. It has no
			// attendees to tell (a panel books with none).
			// https://learn.microsoft.com/en-us/graph/api/event-delete
			if err := m.cfg.Graph.DeleteEvent(ctx, token, target.ID); err != nil {
				return wire.Booking{}, err
			}
			w.update(func(d *accountData) { d.events = removeEvent(d.events, target.ID) })
			return wire.Booking{Start: te.Start, End: now}, nil
		}
		if target.IsOrganizer {
			// The room's own meeting ends now: it stays in the calendar,
			// as it took place.
			end := now.Truncate(time.Second)
			if !end.After(te.Start) {
				end = te.Start.Add(time.Second)
			}
			changed, err := m.cfg.Graph.UpdateEvent(ctx, token, target.ID, graph.EventChange{End: ptr(graph.At(end, time.UTC))})
			if err != nil {
				return wire.Booking{}, err
			}
			w.update(func(d *accountData) { d.events = replaceEvent(d.events, changed) })
			return wire.Booking{Start: te.Start, End: end}, nil
		}
		err := m.cfg.Graph.DeclineEvent(ctx, token, target.ID, graph.Reply{
			Comment:      fmt.Sprintf("The meeting was ended early on the room's panel (%s) at %s UTC: the room is free from then.", sc.Name, now.UTC().Format("15:04")),
			SendResponse: true,
		})
		if err != nil {
			return wire.Booking{}, err
		}
		w.update(func(d *accountData) { d.events = removeEvent(d.events, target.ID) })
		return wire.Booking{Start: te.Start, End: now}, nil

	case wire.ActCheckIn:
		if !wire.CheckInOpen(te, now, set.ReleaseAfter()) {
			return wire.Booking{}, fmt.Errorf("check-in is open from %s before the start until %s after it: %w", wire.CheckInBefore, set.ReleaseAfter(), errRoomRefused)
		}
		if err := m.checkIn(ctx, w, target, now); err != nil {
			return wire.Booking{}, err
		}
		return wire.Booking{Start: te.Start, End: te.End}, nil
	}
	return wire.Booking{}, server.Errorf(server.EINVALID, "unknown room action %q", a.Action)
}

// checkIn records that people came to a meeting: the room's panels show
// it, and auto-release keeps the meeting.
func (m *Manager) checkIn(ctx context.Context, w *watch, ev graph.Event, now time.Time) error {
	ok, err := m.cfg.Store.PutRoomMark(ctx, server.RoomMark{AccountID: w.account.ID, EventID: ev.ID, Kind: server.RoomCheckedIn, At: now})
	if err != nil {
		return err
	}
	if !ok {
		// Checked in already (twice is once), or released meanwhile.
		marks, err := m.cfg.Store.RoomMarks(ctx, w.account.ID, now.Add(-marksKept))
		if err != nil {
			return err
		}
		for _, mk := range marks {
			if mk.EventID == ev.ID && mk.Kind == server.RoomReleased {
				return fmt.Errorf("the meeting was released: %w", errRoomRefused)
			}
		}
	}
	w.update(func(d *accountData) {
		if !slices.Contains(d.checkedIn, ev.ID) {
			d.checkedIn = append(slices.Clone(d.checkedIn), ev.ID)
		}
	})
	return nil
}

// extensionSubject names the meeting a room books to extend someone
// else's.
func extensionSubject(ev graph.Event) string {
	if name := ev.Organizer.EmailAddress.Name; name != "" && !ev.Private() {
		return "Extended: " + name
	}
	return "Extended meeting"
}

// replaceEvent is events with ev in place of the event of the same id.
func replaceEvent(events []graph.Event, ev graph.Event) []graph.Event {
	out := slices.Clone(events)
	for i := range out {
		if out[i].ID == ev.ID {
			out[i] = ev
			return out
		}
	}
	return append(out, ev)
}

// removeEvent is events without the event of the id.
func removeEvent(events []graph.Event, id string) []graph.Event {
	return slices.DeleteFunc(slices.Clone(events), func(e graph.Event) bool { return e.ID == id })
}

func ptr[T any](v T) *T { return &v }

// roomProblem says in a word why a room action failed.
func roomProblem(err error) string {
	switch {
	case errors.Is(err, errRoomRefused):
		return wire.BookRefused
	case graph.StatusOf(err) == http.StatusBadRequest, graph.StatusOf(err) == http.StatusConflict:
		// Graph refused the change itself (a meeting changed meanwhile,
		// a rule of the room's mailbox).
		return wire.BookRefused
	}
	return bookingProblem(err)
}

// roomDetail is what the audit trail says an action did.
func roomDetail(a wire.RoomAction, b wire.Booking) string {
	switch a.Action {
	case wire.ActBook:
		return fmt.Sprintf("book %d minutes from %s", a.Minutes, b.Start.UTC().Format(time.RFC3339))
	case wire.ActExtend:
		return "extend a meeting to " + b.End.UTC().Format(time.RFC3339)
	case wire.ActEnd:
		return "end a meeting at " + b.End.UTC().Format(time.RFC3339)
	}
	return "check in to the meeting of " + b.Start.UTC().Format(time.RFC3339)
}

// auditRoom writes an action of a room's panel to the audit trail.
func (m *Manager) auditRoom(ctx context.Context, screenID, name string, w *watch, a wire.RoomAction, outcome, detail string) {
	m.audit(context.WithoutCancel(ctx), server.AuditEvent{Kind: server.AuditRoomAction, ScreenID: screenID, ScreenName: name,
		Account: w.account.Username, Outcome: a.Action + ": " + outcome, Detail: detail})
}
