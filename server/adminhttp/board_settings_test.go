package adminhttp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/placard/placard/server"
)

// A board's settings: rooms as a room list's address, a list or one
// string of addresses; people and a group; what the API then shows.
func TestABoardsSettingsAreReadAsAListOrAStringAndShownAsAList(t *testing.T) {
	tests := []struct {
		in   string
		want server.ScreenSettings
		says string // "" when accepted
	}{
		{in: `{"layout":"rooms","rooms":"floor2@placard.example"}`,
			want: server.ScreenSettings{Layout: "rooms", Rooms: "floor2@placard.example"}},
		{in: `{"layout":"rooms","rooms":["a@placard.example","b@placard.example","A@placard.example"]}`,
			want: server.ScreenSettings{Layout: "rooms", Rooms: "a@placard.example,b@placard.example"}},
		{in: `{"layout":"rooms","rooms":"a@placard.example, b@placard.example\nc@placard.example"}`,
			want: server.ScreenSettings{Layout: "rooms", Rooms: "a@placard.example,b@placard.example,c@placard.example"}},
		{in: `{"layout":"people","people":["ada@placard.example"],"group":"0b7d1e9c-5f1a-4c36-9f4e-1d2a3b4c5d6e"}`,
			want: server.ScreenSettings{Layout: "people", People: "ada@placard.example", PeopleGroup: "0b7d1e9c-5f1a-4c36-9f4e-1d2a3b4c5d6e"}},
		{in: `{"layout":"rooms","rooms":["not an address"]}`, says: "not an email address"},
		{in: `{"layout":"rooms","rooms":[1]}`, says: "list of strings"},
		{in: `{"layout":"people","group":"../groups"}`, says: "not a group's id"},
		{in: `{"layout":"people","people":"` + manyPeople(651) + `"}`, says: "at most 650"},
	}
	for _, tt := range tests {
		set, err := decodeSettings([]byte(tt.in))
		if tt.says != "" {
			if server.ErrorCode(err) != server.EINVALID || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("decoding %.80s: %v, want invalid saying %q", tt.in, err, tt.says)
			}
			continue
		}
		if err != nil {
			t.Errorf("refused %s: %v", tt.in, err)
			continue
		}
		tt.want.ReleaseAfterMinutes = server.DefaultReleaseAfter
		if set != tt.want {
			t.Errorf("decoding %s: got %+v, want %+v", tt.in, set, tt.want)
		}
	}
	out, err := json.Marshal(settingsOut(server.ScreenSettings{Layout: "rooms", Rooms: "a@placard.example,b@placard.example"}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"rooms":["a@placard.example","b@placard.example"]`) || !strings.Contains(string(out), `"people":[]`) || !strings.Contains(string(out), `"group":""`) {
		t.Errorf("the API shows a board's settings as %s", out)
	}
}

func manyPeople(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "p%d@placard.example,", i)
	}
	return b.String()
}
