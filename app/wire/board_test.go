package wire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestABoardRoundTripsInAState(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	st := State{
		Phase: PhaseDashboard, Now: at,
		Screen: Screen{Name: "Lobby", TimeZone: "Europe/Paris", Lang: "fr", Layout: LayoutRooms},
		Board: &Board{
			Kind: BoardRooms, Title: "Floor 2", Fresh: at.Add(-time.Minute), Stale: true,
			Tiles: []Tile{
				{Name: "Aurora", UPN: "aurora@contoso.example", Status: RoomFree, Until: at.Add(5 * time.Hour),
					Next:     &Slot{Start: at.Add(5 * time.Hour), End: at.Add(6 * time.Hour), Subject: "Review"},
					Capacity: 8, Floor: "2", Building: "North"},
				{Name: "Borealis", UPN: "borealis@contoso.example", Status: RoomBusy, Until: at.Add(30 * time.Minute).In(paris),
					Current: &Slot{Start: at.Add(-30 * time.Minute), End: at.Add(30 * time.Minute), Private: true}},
			},
		},
	}
	b, err := Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeFromServer(b)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(State)
	// Times come back as the same instants, whatever zone they were made
	// in: the screen writes them in its own.
	if !got.Board.Tiles[1].Until.Equal(st.Board.Tiles[1].Until) {
		t.Errorf("Until came back as %v, want %v", got.Board.Tiles[1].Until, st.Board.Tiles[1].Until)
	}
	st.Board.Tiles[1].Until = st.Board.Tiles[1].Until.UTC()
	got.Board.Tiles[1].Until = got.Board.Tiles[1].Until.UTC()
	if !reflect.DeepEqual(got.Board, st.Board) {
		t.Errorf("round trip changed the board:\n got %+v\nwant %+v", got.Board, st.Board)
	}
	if got.Dashboard != nil {
		t.Errorf("a board's state came back with a dashboard: %+v", got.Dashboard)
	}

	people := State{Phase: PhaseDashboard, Now: at, Screen: Screen{Layout: LayoutPeople}, Board: &Board{
		Kind: BoardPeople, Title: "Team",
		Tiles: []Tile{{Name: "Adele Vance", UPN: "adele@contoso.example", Status: "Busy", Activity: "InACall",
			Initials: "AV", Photo: PhotoPath + "lobby/abc", FreeAt: at.Add(90 * time.Minute)}},
	}}
	b, err = Encode(people)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = DecodeFromServer(b); err != nil {
		t.Fatal(err)
	}
	if got := m.(State); !reflect.DeepEqual(got.Board, people.Board) {
		t.Errorf("round trip changed the people board:\n got %+v\nwant %+v", got.Board, people.Board)
	}
	// A person's tile carries none of a room's fields, and zero times
	// are left out rather than sent as year 1.
	for _, absent := range []string{`"until"`, `"capacity"`, `"current"`, `"next"`, `"consent"`, `"0001-`} {
		if strings.Contains(string(b), absent) {
			t.Errorf("the people board's message has %s: %s", absent, b)
		}
	}
}

func TestABoardWithoutConsentCarriesThePermissionAndWhoGrantsIt(t *testing.T) {
	in := Board{Kind: BoardRooms, Consent: &Consent{Permissions: []string{"Place.Read.All"}, By: ConsentAdmin}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"rooms","consent":{"permissions":["Place.Read.All"],"by":"admin"}}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var out Board
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip changed the board: got %+v, want %+v", out, in)
	}
}
