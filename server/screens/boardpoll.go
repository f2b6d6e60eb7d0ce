package screens

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/identity"
)

// How a board reads Graph.
const (
	// boardResolveEvery is how often a board reads its rooms (Places) or
	// people (a group's members, profiles, photos) again: they change
	// rarely (a new room takes up to 48 hours to appear in Places).
	boardResolveEvery = time.Hour
	// boardBefore and boardAfter are the window of free/busy a board
	// reads around now: the meeting under way, and the day's next ones
	// (getSchedule's window must be under 62 days).
	boardBefore = 12 * time.Hour
	boardAfter  = 24 * time.Hour
	// boardInterval is getSchedule's availabilityViewInterval: the view
	// is not used (scheduleItems are), so a coarse one keeps answers
	// small.
	boardInterval = 60
	// outlookBatch is how many getSchedule requests of 20 mailboxes a
	// board sends in one $batch, one after another (dependsOn): Outlook
	// allows 4 concurrent requests per app and mailbox.
	outlookBatch = 4
	// outlookAtOnce is how many boards of one account read Outlook at
	// once on this replica, each with one request under way: three, so
	// that the account's own calendar poll keeps room within the 4.
	outlookAtOnce = 3
	// maxBoardPhoto bounds a person's photo on a board: a board keeps
	// dozens, in memory and in what it publishes; a larger one shows
	// initials (Graph's largest, 648×648, is well under).
	maxBoardPhoto = 256 << 10
)

// outlookGates holds, per account, the boards that read Outlook now.
type outlookGates struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
}

// enter waits for the account's gate; the function it returns leaves it.
func (g *outlookGates) enter(ctx context.Context, accountID string) (func(), error) {
	g.mu.Lock()
	if g.gates == nil {
		g.gates = map[string]chan struct{}{}
	}
	c := g.gates[accountID]
	if c == nil {
		c = make(chan struct{}, outlookAtOnce)
		g.gates[accountID] = c
	}
	g.mu.Unlock()
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// consentError is Graph refusing a board for want of a permission.
type consentError struct{ perm string }

func (e *consentError) Error() string {
	return "screens: Graph refused the board: the account has not consented to " + e.perm
}

// refusedFor turns Graph's refusal of a permission (403: the token lacks
// the scope, or the tenant refused consent) into a consentError.
func refusedFor(err error, perm string) error {
	if graph.StatusOf(err) == http.StatusForbidden {
		return &consentError{perm: perm}
	}
	return err
}

// boardPoller is what one owner of a board's source knows between polls:
// a new owner reads everything again.
type boardPoller struct {
	m *Manager
	b *board

	resolved time.Time // when the rooms or people were read
	title    string
	rooms    []boardRoom   // without their free/busy
	people   []boardPerson // with their photos, without presence or free/busy

	scheduled time.Time // when free/busy was last read
	busy      map[string][]busySpan
	known     map[string]bool

	presenceDue time.Time
	presence    map[string]graph.Presence // by object id

	failures int
}

// Poll reads the board: its rooms or people every boardResolveEvery,
// their free/busy every ScheduleEvery, and a people board's presence at
// the pace the tenant's presence budget allows (shared with accounts'
// own presence and light keys). A refused permission shows as the
// board's consent sentence; other failures keep the last data, marked
// stale, and back off.
func (p *boardPoller) Poll(ctx context.Context) time.Duration {
	m, b := p.m, p.b
	err := m.withAccountToken(ctx, b.account, func(token string) error { return p.read(ctx, token) })
	if ctx.Err() != nil {
		return 0
	}
	now := m.cfg.Now()
	var ce *consentError
	switch {
	case err == nil:
		p.failures = 0
		return p.wait(now)
	case errors.As(err, &ce):
		// Asked again each period: once an administrator consents and
		// the account signs in again, its token carries the
		// permission.
		p.failures = 0
		p.resolved = time.Time{}
		m.log.Warn("a board lacks a permission", "account", b.account.Username, "permission", ce.perm)
		b.update(func(d *boardData) {
			d.Title, d.Rooms, d.People = "", nil, nil
			d.Consent = consentFor(false, ce.perm)
			d.Fresh, d.Stale, d.Read = now.Truncate(time.Minute), false, true
		})
		return m.cfg.PollEvery
	}
	if graph.StatusOf(err) == http.StatusTooManyRequests {
		m.pace.throttled(time.Now())
	}
	p.failures++
	wait := max(backoff(err, p.failures, m.cfg.PollEvery), p.wait(now))
	switch {
	case errors.Is(err, identity.ErrCacheUnreadable) && b.src.GiveUp(cacheHoldOff):
		// Not ready for this account (another key sealed its tokens): a
		// replica that can open them takes the board over, as it takes
		// the account's own source.
		m.log.Error("this replica cannot open an account's token cache: it gives a board of the account up",
			"account", b.account.Username, "err", err, "again_in", cacheHoldOff.String())
		return wait
	case endsSession(err):
		// The account's own source ends it, and its screens.
		wait = max(wait, m.cfg.PollEvery)
	}
	m.log.Warn("reading a board from Microsoft Graph", "account", b.account.Username, "err", err, "retry_in", wait.String())
	b.update(func(d *boardData) { d.Stale, d.Read = true, true })
	return wait
}

// wait is how long until the next read is due.
func (p *boardPoller) wait(now time.Time) time.Duration {
	next := p.scheduled.Add(p.m.cfg.ScheduleEvery)
	if p.b.def.kind == wire.BoardPeople && p.presenceDue.Before(next) {
		next = p.presenceDue
	}
	return max(next.Sub(now), time.Second/10)
}

// read makes one poll: what is due, then the board's next snapshot.
func (p *boardPoller) read(ctx context.Context, token string) error {
	m, b := p.m, p.b
	now := m.cfg.Now()
	if p.resolved.IsZero() || now.Sub(p.resolved) >= boardResolveEvery {
		var err error
		if b.def.kind == wire.BoardRooms {
			err = p.resolveRooms(ctx, token)
		} else {
			err = p.resolvePeople(ctx, token)
		}
		if err != nil {
			return err
		}
		p.resolved, p.scheduled = now, time.Time{}
	}
	// Presence first: it is due more often, and the calendar may wait
	// for the account's other boards.
	if b.def.kind == wire.BoardPeople && !now.Before(p.presenceDue) {
		if err := p.presences(ctx, token); err != nil {
			return err
		}
		p.presenceDue = now.Add(m.boardPresencePeriod())
	}
	if now.Sub(p.scheduled) >= m.cfg.ScheduleEvery {
		if err := p.schedules(ctx, token, now); err != nil {
			return err
		}
		p.scheduled = now
	}
	p.publish(now)
	return nil
}

// publish makes the board's next snapshot of what was read.
func (p *boardPoller) publish(now time.Time) {
	d := boardData{Kind: p.b.def.kind, Title: p.title, Fresh: now.Truncate(time.Minute), Read: true}
	for _, r := range p.rooms {
		r.Busy, r.Known = p.busy[strings.ToLower(r.UPN)], p.known[strings.ToLower(r.UPN)]
		d.Rooms = append(d.Rooms, r)
	}
	for _, pe := range p.people {
		pe.Busy = p.busy[strings.ToLower(pe.UPN)]
		if pr, ok := p.presence[pe.ID]; ok {
			pe.Availability, pe.Activity = pr.Availability, pr.Activity
		}
		d.People = append(d.People, pe)
	}
	d.tagPhotos()
	// A poll that changes nothing (freshness is to the minute) makes no
	// snapshot: nothing to render, nothing to publish to the replicas.
	if reflect.DeepEqual(p.b.src.Latest().Value, &d) {
		return
	}
	p.b.src.Update(func(*boardData) (*boardData, bool) { return &d, true })
}

// resolveRooms reads the board's rooms from the Places API: a room list's
// rooms, rooms by address, or every room of the tenant when the board
// names none.
// https://learn.microsoft.com/en-us/graph/api/place-list
func (p *boardPoller) resolveRooms(ctx context.Context, token string) error {
	g := p.m.cfg.Graph
	entries := p.b.def.rooms.List()
	var rooms []graph.Room
	title := ""
	if len(entries) == 0 {
		all, err := g.Rooms(ctx, token)
		if err != nil {
			return refusedFor(err, permPlaces)
		}
		rooms = all
	} else {
		lists, err := g.RoomLists(ctx, token)
		if err != nil {
			return refusedFor(err, permPlaces)
		}
		var single []string
		nLists := 0
		for _, e := range entries {
			i := -1
			for j, l := range lists {
				if strings.EqualFold(l.EmailAddress, e) {
					i = j
				}
			}
			if i < 0 {
				single = append(single, e)
				continue
			}
			in, err := g.RoomsIn(ctx, token, lists[i].EmailAddress)
			if err != nil {
				return refusedFor(err, permPlaces)
			}
			rooms = append(rooms, in...)
			nLists++
			title = lists[i].DisplayName
		}
		if nLists != 1 || len(single) > 0 {
			title = ""
		}
		if len(single) > 0 {
			all, err := g.Rooms(ctx, token)
			if err != nil {
				return refusedFor(err, permPlaces)
			}
			for _, e := range single {
				found := false
				for _, r := range all {
					if strings.EqualFold(r.EmailAddress, e) {
						rooms, found = append(rooms, r), true
						break
					}
				}
				if !found {
					// Not in Places (yet: a new room takes up to 48
					// hours): shown by its address, its free/busy
					// still read.
					rooms = append(rooms, graph.Room{EmailAddress: e, DisplayName: e})
				}
			}
		}
	}
	out := make([]boardRoom, 0, len(rooms))
	seen := map[string]bool{}
	for _, r := range rooms {
		if r.EmailAddress == "" || seen[strings.ToLower(r.EmailAddress)] {
			continue
		}
		seen[strings.ToLower(r.EmailAddress)] = true
		floor := r.FloorLabel
		if floor == "" && r.FloorNumber != 0 {
			floor = strconv.Itoa(r.FloorNumber.Int())
		}
		name := r.DisplayName
		if name == "" {
			name = r.EmailAddress
		}
		out = append(out, boardRoom{Name: name, UPN: r.EmailAddress, Capacity: r.Capacity.Int(), Floor: floor, Building: r.Building})
	}
	p.rooms, p.title = out, title
	return nil
}

// resolvePeople reads the board's people: a group's members and people by
// user principal name, their profiles and photos.
// https://learn.microsoft.com/en-us/graph/api/group-list-members
// https://learn.microsoft.com/en-us/graph/api/user-get
func (p *boardPoller) resolvePeople(ctx context.Context, token string) error {
	g := p.m.cfg.Graph
	var people []boardPerson
	seen := map[string]bool{}
	add := func(pe boardPerson) {
		if key := strings.ToLower(pe.UPN); !seen[key] {
			seen[key] = true
			people = append(people, pe)
		}
	}
	title := ""
	if id := p.b.def.group; id != "" {
		group, err := g.Group(ctx, token, id)
		if err != nil {
			return refusedFor(err, permMembers)
		}
		if len(p.b.def.people) == 0 {
			title = group.DisplayName
		}
		members, err := g.GroupMembers(ctx, token, id)
		if err != nil {
			return refusedFor(err, permMembers)
		}
		for _, mb := range members {
			if mb.Type != "" && mb.Type != "#microsoft.graph.user" {
				continue // a device, a contact, a nested group
			}
			if mb.UserPrincipalName == "" {
				// Without User.ReadBasic.All, Graph gives members'
				// ids only.
				return &consentError{perm: permUsers}
			}
			add(boardPerson{Name: mb.DisplayName, UPN: mb.UserPrincipalName, ID: mb.ID})
		}
	}
	upns := p.b.def.people.List()
	for len(upns) > 0 {
		n := min(graph.MaxBatch, len(upns))
		reqs := make([]graph.BatchRequest, n)
		for i, upn := range upns[:n] {
			reqs[i] = graph.BatchRequest{ID: strconv.Itoa(i), Method: http.MethodGet,
				URL: "/users/" + url.PathEscape(upn) + "?$select=id,displayName,userPrincipalName"}
		}
		res, err := g.Batch(ctx, token, reqs)
		if err != nil {
			return err
		}
		for i, upn := range upns[:n] {
			var u graph.User
			switch err := res[strconv.Itoa(i)].Decode(&u); {
			case err == nil:
				add(boardPerson{Name: u.DisplayName, UPN: u.UserPrincipalName, ID: u.ID})
			case graph.StatusOf(err) == http.StatusNotFound:
				// Nobody by that name: shown by it, with no presence.
				add(boardPerson{Name: upn, UPN: upn})
			default:
				return refusedFor(err, permUsers)
			}
		}
		upns = upns[n:]
	}
	for i := range people {
		if people[i].Name == "" {
			people[i].Name = people[i].UPN
		}
	}
	if err := p.photos(ctx, token, people); err != nil {
		return err
	}
	p.people, p.title = people, title
	return nil
}

// photos reads the people's photos, 20 to a $batch; someone without one
// shows initials.
func (p *boardPoller) photos(ctx context.Context, token string, people []boardPerson) error {
	var who []int
	for i, pe := range people {
		if pe.ID != "" {
			who = append(who, i)
		}
	}
	for len(who) > 0 {
		n := min(graph.MaxBatch, len(who))
		reqs := make([]graph.BatchRequest, n)
		for k, i := range who[:n] {
			reqs[k] = graph.BatchRequest{ID: strconv.Itoa(k), Method: http.MethodGet, URL: "/users/" + url.PathEscape(people[i].ID) + "/photo/$value"}
		}
		res, err := p.m.cfg.Graph.Batch(ctx, token, reqs)
		if err != nil {
			return err
		}
		for k, i := range who[:n] {
			r := res[strconv.Itoa(k)]
			var b64 string
			if err := r.Decode(&b64); err != nil {
				continue // none (404), or not to be read: initials
			}
			if raw, err := base64.StdEncoding.DecodeString(b64); err == nil && len(raw) > 0 && len(raw) < maxBoardPhoto {
				ph := newPhoto(raw, r.Headers["Content-Type"])
				people[i].Photo, people[i].PhotoType = raw, ph.ctype
			}
		}
		who = who[n:]
	}
	return nil
}

// schedules reads the free/busy of the board's rooms or people around now
// with getSchedule: 20 mailboxes a request, outlookBatch requests a
// $batch one after another, outlookAtOnce boards of the account at a
// time.
// https://learn.microsoft.com/en-us/graph/api/calendar-getschedule
func (p *boardPoller) schedules(ctx context.Context, token string, now time.Time) error {
	var addresses []string
	for _, r := range p.rooms {
		addresses = append(addresses, r.UPN)
	}
	for _, pe := range p.people {
		addresses = append(addresses, pe.UPN)
	}
	busy, known := map[string][]busySpan{}, map[string]bool{}
	for len(addresses) > 0 {
		n := min(graph.MaxSchedules*outlookBatch, len(addresses))
		leave, err := p.m.outlook.enter(ctx, p.b.account.ID)
		if err != nil {
			return err
		}
		infos, err := p.m.cfg.Graph.Schedules(ctx, token, graph.ScheduleQuery{Schedules: addresses[:n],
			Start: now.Add(-boardBefore).Truncate(time.Minute), End: now.Add(boardAfter).Truncate(time.Minute), Interval: boardInterval,
			Sequential: true})
		leave()
		if err != nil {
			return refusedFor(err, permCalendar)
		}
		for _, info := range infos {
			key := strings.ToLower(info.ScheduleID)
			if info.Error != nil {
				continue
			}
			known[key] = true
			var spans []busySpan
			for _, it := range info.ScheduleItems {
				switch it.Status {
				case "busy", "oof", "tentative":
				default:
					continue // free, working elsewhere
				}
				start, err1 := it.Start.Time()
				end, err2 := it.End.Time()
				if err1 != nil || err2 != nil || !end.After(start) {
					continue
				}
				s := busySpan{Start: start.UTC(), End: end.UTC(), Private: it.IsPrivate}
				if !it.IsPrivate {
					s.Subject = it.Subject
				}
				spans = append(spans, s)
			}
			sortSpans(spans)
			busy[key] = spans
		}
		addresses = addresses[n:]
	}
	p.busy, p.known = busy, known
	return nil
}

// sortSpans orders busy spans by their start.
func sortSpans(spans []busySpan) {
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].Start.Before(spans[j-1].Start); j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
}

// presences reads the people's presence with getPresencesByUserId, 650
// ids a request, each within the tenant's presence budget.
// https://learn.microsoft.com/en-us/graph/api/cloudcommunications-getpresencesbyuserid
func (p *boardPoller) presences(ctx context.Context, token string) error {
	var ids []string
	for _, pe := range p.people {
		if pe.ID != "" {
			ids = append(ids, pe.ID)
		}
	}
	out := map[string]graph.Presence{}
	for len(ids) > 0 {
		n := min(graph.MaxPresenceIDs, len(ids))
		if !p.m.pace.await(ctx) {
			return ctx.Err()
		}
		got, err := p.m.cfg.Graph.PresencesByUserID(ctx, token, ids[:n])
		if err != nil {
			return refusedFor(err, permPresence)
		}
		for _, pr := range got {
			out[pr.ID] = pr
		}
		ids = ids[n:]
	}
	p.presence = out
	return nil
}

// boardPresencePeriod is how often a people board reads presence: as an
// account shown on screens does, within the tenant's budget shared with
// them and with light keys (pace).
func (m *Manager) boardPresencePeriod() time.Duration {
	nFollowed := int(m.nFollowed.Load())
	nShown := max(m.accounts.Len()-nFollowed, 0) + m.peopleBoards.Len()
	return m.pace.period(false, nFollowed, nShown, time.Now())
}
