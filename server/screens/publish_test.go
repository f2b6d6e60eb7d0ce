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
