package screens_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/screens"
)

// groupOf puts screens in a group that shares its sign-ins.
func groupOf(t *testing.T, h *harness, ids ...string) {
	t.Helper()
	ctx := context.Background()
	if err := h.store.CreateGroup(ctx, server.Group{ID: "g1", Name: "Lobby", SharedSignIn: true}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := h.store.UpdateScreen(ctx, id, func(sc *server.Screen) error { sc.Group = "g1"; return nil }); err != nil {
			t.Fatal(err)
		}
		h.m.Changed(ctx, id)
	}
}

// On the device-code path, a screen of a group that shares its sign-ins
// shows a QR code that leads to the edge server's page of the choice
// first; the choice made there for the code signs in the whole group,
// and none, only the screen.
func TestTheDeviceCodePathAsksThePhoneWhetherToSignInTheGroup(t *testing.T) {
	for _, tt := range []struct {
		scope string
		both  bool
	}{{screens.ScopeGroup, true}, {screens.ScopeScreen, false}, {"", false}} {
		t.Run("scope "+tt.scope, func(t *testing.T) {
			h := qrHarness(t, server.SignInDeviceCode)
			ctx := context.Background()
			var ids []string
			for _, name := range []string{"Lobby east", "Lobby west"} {
				sc, _, err := h.m.Open(ctx, name, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, sc.ID)
			}
			east, west := ids[0], ids[1]
			groupOf(t, h, east, west)
			for _, id := range ids {
				if err := h.m.Attach(ctx, id, screens.Hello{}); err != nil {
					t.Fatal(err)
				}
			}
			st := h.waitPhase(east, 20*time.Second, wire.PhaseCode)
			link, err := browsertest.ReadQRPath(st.Code.QR.Size, st.Code.QR.Path)
			if err != nil {
				t.Fatal(err)
			}
			token, ok := strings.CutPrefix(link, publicURL+screens.ScopePath)
			if !ok || token == "" || st.Code.QR.To != wire.QRDeviceCode {
				t.Fatalf("the QR code of a screen of a group that shares its sign-ins carries %q (to %s), want the page of the choice", link, st.Code.QR.To)
			}
			offer, err := h.m.OpenScope(ctx, token)
			if err != nil || offer.UserCode != st.Code.UserCode || offer.Choice.Group != "Lobby" || offer.Choice.Screens != 2 {
				t.Fatalf("the page of the choice: %+v, %v", offer, err)
			}
			onward, err := h.m.ChooseDeviceScope(ctx, token, tt.scope)
			if err != nil || !strings.HasPrefix(onward, "https://placard.test/sandbox/devicelogin") {
				t.Fatalf("choosing %q: %q, %v", tt.scope, onward, err)
			}
			if out := h.sb.Approve(st.Code.UserCode, "ada@placard.example"); out != "approved" {
				t.Fatalf("approving: %s", out)
			}
			h.waitPhase(east, 20*time.Second, wire.PhaseDashboard)
			if tt.both {
				h.waitPhase(west, 20*time.Second, wire.PhaseDashboard)
			} else if sc, _ := h.store.Screen(ctx, west); sc.AccountID != "" {
				t.Error("a sign-in for its own screen signed in another screen of its group")
			}
		})
	}
}
