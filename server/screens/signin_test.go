package screens_test

import (
	"context"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sandbox"
)

// A sign-in with a device code is audited with its path, and the screen's
// QR code says it leads to the verification page.
func TestADeviceCodeSignInIsAuditedWithItsPath(t *testing.T) {
	h := newHarness(t)
	id := h.screen("Lobby TV")
	st := h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	if st.Code.QR.To != wire.QRDeviceCode || st.Code.UserCode == "" {
		t.Fatalf("the screen shows %+v, want a user code and a QR code to the verification page", st.Code)
	}
	if out := h.sb.Approve(st.Code.UserCode, "ada@placard.example"); out != sandbox.OutcomeApproved {
		t.Fatalf("approving: %s", out)
	}
	h.waitPhase(id, 15*time.Second, wire.PhaseDashboard)
	events, err := h.store.Audit(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Kind == server.AuditSignIn && e.Outcome == "success" {
			if e.Detail != server.PathDeviceCode || e.Account != "ada@placard.example" {
				t.Errorf("the sign-in is audited as %+v, want the path %s", e, server.PathDeviceCode)
			}
			return
		}
	}
	t.Errorf("no successful sign-in in the audit trail: %+v", events)
}
