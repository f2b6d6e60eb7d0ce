package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
)

// A rooms board signed in through the edge server: a meeting's subject
// that the room's calendar shares reaches the screen, a private meeting's
// never does, in a frame or in the page the server prerenders.
func TestARoomsBoardNeverSendsAPrivateSubjectInAFrameOrItsPage(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning)
	lobby := "lobby@" + sandbox.TenantDomain
	if _, err := m.Sandbox.SetRoomKeepsSubject(lobby, true); err != nil {
		t.Fatal(err)
	}
	now := m.Sandbox.Now()
	end := now.Add(20 * time.Minute).Truncate(time.Minute)
	for _, b := range []sandbox.Booking{
		{Organizer: "alan@placard.example", Subject: "Open review", Start: now.Add(-time.Minute), End: end},
		{Organizer: "grace@placard.example", Subject: "Secret merger", Start: end, End: end.Add(30 * time.Minute), Sensitivity: "private"},
	} {
		if _, err := m.Sandbox.BookRoom(lobby, b); err != nil {
			t.Fatal(err)
		}
	}

	s := openScreen(t, m, "Lobby board")
	first := s.waitPhase(15*time.Second, wire.PhaseCode).Code.UserCode
	token := newToken(t, m)
	_, list := call(t, m, token, "GET", "/admin/api/screens", "")
	id := ""
	for _, sc := range list["screens"].([]any) {
		if sc := sc.(map[string]any); sc["name"] == "Lobby board" {
			id = sc["id"].(string)
		}
	}
	if id == "" {
		t.Fatalf("the screen is not listed: %v", list)
	}
	if status, body := call(t, m, token, "PUT", "/admin/api/screens/"+id+"/settings", `{"layout":"rooms","rooms":"paris-hq@placard.example"}`); status != 200 {
		t.Fatalf("setting the board: %d %v", status, body)
	}
	// The board's sign-in asks for its permissions: a new code.
	code := s.waitFor(15*time.Second, "a new code", func(st wire.State) bool {
		return st.Phase == wire.PhaseCode && st.Code.UserCode != first
	}).Code.UserCode
	if out := m.Sandbox.Approve(code, "ada@placard.example"); out != sandbox.OutcomeApproved {
		t.Fatalf("approving %s: %s", code, out)
	}
	st := s.waitFor(20*time.Second, "the lobby's open review", func(st wire.State) bool {
		if st.Board == nil {
			return false
		}
		for _, tile := range st.Board.Tiles {
			if tile.UPN == lobby && tile.Current != nil && tile.Current.Subject == "Open review" {
				return true
			}
		}
		return false
	})
	if st.Dashboard != nil || st.Screen.Layout != server.LayoutRooms {
		t.Errorf("a board's state: layout %q, dashboard %+v", st.Screen.Layout, st.Dashboard)
	}
	for _, tile := range st.Board.Tiles {
		if tile.UPN == lobby && (tile.Next == nil || !tile.Next.Start.Equal(end) || tile.Next.Subject != "") {
			t.Errorf("the lobby's next meeting %+v: want the private one, without its subject", tile.Next)
		}
	}
	b, _ := json.Marshal(st)
	if strings.Contains(string(b), "Secret") {
		t.Errorf("a private meeting's subject was sent: %s", b)
	}
	_, html := get(t, s.client, m.URL+"/?screen="+url.QueryEscape("Lobby board"))
	if !strings.Contains(html, "Open+review") && !strings.Contains(html, "Open review") {
		t.Fatalf("the prerendered page has no shared subject (is it the board's?):\n%.3000s", html)
	}
	for _, secret := range []string{"Secret", "merger"} {
		if strings.Contains(html, secret) {
			t.Errorf("the prerendered page has %q of a private meeting", secret)
		}
	}
}

// The admin page sets a screen's board (rooms by list or address, one
// per line or separated by commas) and says what consent it needs.
func TestTheAdminPageSetsABoardAndSaysWhatConsentItNeeds(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning)
	s := openScreen(t, m, "Lobby board")
	s.waitPhase(15*time.Second, wire.PhaseCode)
	id := screenID(t, m, s.name)
	b := newAdminBrowser(t, m)
	csrf := b.login(newToken(t, m))
	form := url.Values{"csrf": {csrf}, "layout": {"rooms"}, "rooms": {"paris-hq@placard.example,\r\nturing@placard.example"}}
	if res, body := b.post("/admin/screens/"+id+"/settings", form); res.StatusCode != 303 {
		t.Fatalf("saving a rooms board: %s\n%.500s", res.Status, body)
	}
	sc, err := m.Store.Screen(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Settings.Layout != server.LayoutRooms || sc.Settings.Rooms != "paris-hq@placard.example,turing@placard.example" {
		t.Errorf("stored %+v", sc.Settings)
	}
	_, page := b.get("/admin/screens/" + id)
	if !strings.Contains(page, "paris-hq@placard.example, turing@placard.example</textarea>") {
		t.Errorf("the page does not show the board's rooms:\n%.3000s", page)
	}
	for _, says := range []string{"Place.Read.All", "an administrator", "Presence.Read.All", "GroupMember.Read.All"} {
		if !strings.Contains(page, says) {
			t.Errorf("the page does not say %q of a board's consent", says)
		}
	}
	form = url.Values{"csrf": {csrf}, "layout": {"people"}, "group": {"not a group"}}
	if res, _ := b.post("/admin/screens/"+id+"/settings", form); res.StatusCode == 303 {
		t.Error("a group id that is not one was saved")
	}
}
