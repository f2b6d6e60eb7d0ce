package screens

import (
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
)

// A state is encoded once without its clock (to tell a change); the clock
// written into those bytes must give exactly the state encoded with it.
func TestStampNowGivesTheStateEncodedWithItsClock(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 1, 500, time.FixedZone("CET", 3600))
	st := wire.State{Phase: wire.PhaseDashboard, Screen: wire.Screen{Name: `"now":"0001-01-01T00:00:00Z"`},
		Dashboard: &wire.Dashboard{User: wire.User{Name: "Ada"}, Agenda: &wire.Agenda{Today: []wire.Event{{Subject: "now"}}}}}
	body, err := wire.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	st.Now = at
	want, _ := wire.Encode(st)
	if got := stampNow(body, at); string(got) != string(want) {
		t.Errorf("stamped:\n got %s\nwant %s", got, want)
	}
}

// The screens of an account rendered together share one agenda per zone
// and privacy setting, made once; another time makes new ones.
func TestAgendaIsMadeOncePerZoneAndPrivacyAtATime(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	w := &watch{}
	w.data.events = nil
	paris := w.agendaLocked(at, "Europe/Paris", false)
	if again := w.agendaLocked(at, "Europe/Paris", false); again != paris {
		t.Error("the same zone at the same time made a second agenda")
	}
	if w.agendaLocked(at, "Europe/Paris", true) == paris || w.agendaLocked(at, "Asia/Seoul", false) == paris {
		t.Error("another privacy setting or zone shares an agenda")
	}
	if w.agendaLocked(at.Add(time.Second), "Europe/Paris", false) == paris {
		t.Error("another time reuses an agenda made earlier")
	}
}
