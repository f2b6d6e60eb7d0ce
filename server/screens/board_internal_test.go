package screens

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/source"
)

// A board is put together from the part its snapshot and privacy make,
// encoded once, with each screen's id in its photos' addresses: the bytes
// must be exactly those of the whole state encoded.
func TestABoardPutTogetherIsTheStateEncoded(t *testing.T) {
	m := testManager()
	at := time.Date(2026, 11, 23, 9, 30, 1, 500, time.UTC)
	people := &boardData{Kind: wire.BoardPeople, Read: true, Fresh: at.Truncate(time.Minute), People: []boardPerson{
		{Name: `Ada "<&>" Lovelace`, UPN: "ada@placard.example", ID: "1", Availability: "Busy", Activity: "InACall", Photo: []byte("jpeg"), PhotoType: "image/jpeg",
			Busy: []busySpan{{Start: at.Add(-time.Hour), End: at.Add(time.Hour)}, {Start: at.Add(time.Hour), End: at.Add(2 * time.Hour)}}},
		{Name: "Kim\x00 Park", UPN: "kim@placard.example", Photo: []byte("png"), PhotoType: "image/png"},
		{Name: "Grace Hopper", UPN: "grace@placard.example"},
	}}
	people.tagPhotos()
	rooms := &boardData{Kind: wire.BoardRooms, Title: "Paris HQ", Read: true, Rooms: []boardRoom{
		{Name: "Atelier", UPN: "atelier@placard.example", Known: true, Capacity: 6, Floor: "2nd floor",
			Busy: []busySpan{{Start: at.Add(-time.Hour), End: at.Add(time.Hour), Subject: "Plan"}, {Start: at.Add(3 * time.Hour), End: at.Add(4 * time.Hour), Private: true}}},
		{Name: "Lobby", UPN: "lobby@placard.example", Known: true, Busy: []busySpan{{Start: at.Add(10 * time.Minute), End: at.Add(time.Hour), Subject: "Soon"}}},
		{Name: "Boardroom", UPN: "boardroom@placard.example", Known: true},
		{Name: "Ghost", UPN: "ghost@placard.example"},
	}}
	for _, tt := range []struct {
		name    string
		data    *boardData
		privacy bool
	}{{"people", people, false}, {"rooms", rooms, false}, {"rooms in privacy mode", rooms, true}} {
		t.Run(tt.name, func(t *testing.T) {
			lk := look{id: "sabcdefghijklmnop", now: at, st: wire.State{Phase: wire.PhaseDashboard,
				Screen: wire.Screen{Name: "Lobby", TimeZone: "UTC", Lang: "en", Layout: tt.data.Kind, Privacy: tt.privacy}},
				boardSnap: &source.Snapshot[*boardData]{Seq: 1, At: at, Value: tt.data}}
			r, err := m.render(lk)
			if err != nil {
				t.Fatal(err)
			}
			st := m.state(lk)
			want, err := wire.Encode(st)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Join(m.message(r, lk), nil); string(got) != string(want) {
				t.Errorf("put together:\n got %s\nwant %s", got, want)
			}
			if !json.Valid(want) || strings.Contains(string(want), `\u0000`) {
				t.Errorf("invalid JSON, or a control character: %s", want)
			}
			if tt.privacy && strings.Contains(string(want), "Plan") {
				t.Errorf("a subject in privacy mode: %s", want)
			}
		})
	}

	b, until := boardAt(people, at, false)
	ada := b.Tiles[0]
	if ada.Name != `Ada "<&>" Lovelace` || ada.Initials != "AL" || !ada.FreeAt.Equal(at.Add(2*time.Hour)) || ada.Status != "Busy" || ada.Activity != "InACall" ||
		!strings.HasPrefix(ada.Photo, wire.PhotoPath+photoMark+"/") {
		t.Errorf("Ada's tile %+v: want busy, free at the end of her second meeting, with her photo", ada)
	}
	if grace := b.Tiles[1]; grace.Status != presenceUnknown || !grace.FreeAt.IsZero() || grace.Photo != "" || grace.Initials != "GH" {
		t.Errorf("Grace's tile %+v: want her presence unknown, free, initials", grace)
	}
	if kim := b.Tiles[2]; kim.Name != "Kim Park" {
		t.Errorf("a control character is left in %q", kim.Name)
	}
	if !until.Equal(at.Add(time.Hour)) {
		t.Errorf("the people's board holds until %v, want the start of Ada's next meeting", until)
	}

	b, until = boardAt(rooms, at, false)
	var order []string
	for _, tile := range b.Tiles {
		order = append(order, tile.Name+":"+tile.Status)
	}
	if got := strings.Join(order, " "); got != "Boardroom:free Lobby:soon Atelier:busy Ghost:unknown" {
		t.Errorf("rooms in order %s", got)
	}
	if atelier := b.Tiles[2]; !atelier.Until.Equal(at.Add(time.Hour)) || atelier.Current.Subject != "Plan" || atelier.Next == nil || !atelier.Next.Private || atelier.Next.Subject != "" {
		t.Errorf("the Atelier %+v (now %+v, next %+v)", atelier, atelier.Current, atelier.Next)
	}
	if lobby := b.Tiles[1]; !lobby.Until.Equal(at.Add(10*time.Minute)) || lobby.Next.Subject != "Soon" {
		t.Errorf("the lobby %+v", lobby)
	}
	// The lobby's meeting starts first: the board changes then.
	if !until.Equal(at.Add(10 * time.Minute)) {
		t.Errorf("the rooms' board holds until %v", until)
	}
}

// Every screen of a board with the same privacy shares one encoding of
// each snapshot, until the time it shows changes (a meeting starts).
func TestABoardIsEncodedOncePerPrivacyOfASnapshot(t *testing.T) {
	m := testManager()
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	snap := &source.Snapshot[*boardData]{Seq: 1, At: at, Value: &boardData{Kind: wire.BoardRooms, Read: true, Rooms: []boardRoom{
		{Name: "Lobby", UPN: "lobby@placard.example", Known: true, Busy: []busySpan{{Start: at.Add(time.Hour), End: at.Add(2 * time.Hour), Subject: "Review"}}}}}}
	view := func(id string, now time.Time, privacy bool) *boardView {
		return m.boardView(look{id: id, now: now, boardSnap: snap, st: wire.State{Screen: wire.Screen{Privacy: privacy}}})
	}
	first := view("s1", at, false)
	if view("s2", at, false) != first || view("s3", at.Add(time.Minute), false) != first {
		t.Error("screens of one board and privacy, or a minute later, encoded it again")
	}
	if view("s4", at, true) == first {
		t.Error("a screen in privacy mode shares the encoding with subjects")
	}
	if n := m.encodes.Load(); n != 2 {
		t.Errorf("%d encodings for two views", n)
	}
	// Within wire.RoomSoonWithin of the meeting the lobby turns "soon": a
	// new view.
	if view("s1", at.Add(time.Hour-wire.RoomSoonWithin+time.Minute), false) == first {
		t.Error("the view of a free room is reused once its meeting is near")
	}
}

// A board's owner publishes its people's photos when they change (and
// now and then), their tags always: another replica keeps the photos it
// has, and one that has none shows initials until the next.
func TestABoardsPhotosArePublishedWhenTheyChange(t *testing.T) {
	d := &boardData{Kind: wire.BoardPeople, Read: true, People: []boardPerson{
		{Name: "Ada", UPN: "ada@placard.example", Availability: "Busy", Photo: []byte("jpeg of ada"), PhotoType: "image/jpeg"},
		{Name: "Kim", UPN: "kim@placard.example"},
	}}
	d.tagPhotos()
	var bp boardPublisher
	full, err := bp.encode(d)
	if err != nil {
		t.Fatal(err)
	}
	moved := *d
	moved.People = append([]boardPerson(nil), d.People...)
	moved.People[0].Availability = "Available"
	lean, err := bp.encode(&moved)
	if err != nil {
		t.Fatal(err)
	}
	if len(lean) >= len(full) || strings.Contains(string(lean), `"photo":`) {
		t.Errorf("a presence change publishes the photos again: %s", lean)
	}
	first, err := decodeBoard(&boardData{}, full)
	if err != nil {
		t.Fatal(err)
	}
	if data, _, ok := first.photo(d.People[0].Tag); !ok || string(data) != "jpeg of ada" {
		t.Fatalf("the photo published is not read: %q %v", data, ok)
	}
	next, err := decodeBoard(first, lean)
	if err != nil {
		t.Fatal(err)
	}
	if next.People[0].Availability != "Available" || next.People[0].Tag != d.People[0].Tag {
		t.Errorf("after a lean publication: %+v", next.People[0])
	}
	if data, _, ok := next.photo(d.People[0].Tag); !ok || string(data) != "jpeg of ada" {
		t.Error("a replica lost the photo it had")
	}
	late, err := decodeBoard(&boardData{}, lean)
	if err != nil {
		t.Fatal(err)
	}
	if late.People[0].Tag != "" {
		t.Error("a replica without the photo's bytes names it")
	}
	if b, _ := boardAt(late, time.Now(), false); b.Tiles[0].Photo != "" || b.Tiles[0].Initials != "A" {
		t.Errorf("without the bytes, the tile %+v", b.Tiles[0])
	}
	// A new photo is published with its bytes.
	moved.People[1].Photo, moved.People[1].PhotoType = []byte("png of kim"), "image/png"
	moved.tagPhotos()
	withKim, err := bp.encode(&moved)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := decodeBoard(&boardData{}, withKim); len(got.People[1].Photo) == 0 || len(got.People[0].Photo) == 0 {
		t.Error("a changed photo was not published with the bytes of all")
	}
}
