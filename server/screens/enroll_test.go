package screens_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/sqlite"
)

// manual makes screens wait for an administrator, as with a real tenant.
func manual(c *screens.Config) {
	c.AutoEnroll = false
	c.EnrollPoll = 50 * time.Millisecond
}

func TestAnUnenrolledScreenAsksForNoCode(t *testing.T) {
	h := newHarness(t, manual)
	lobby := h.screen("Lobby TV")
	st := h.waitPhase(lobby, 5*time.Second, wire.PhasePairing)
	if st.Pairing == nil || !regexp.MustCompile(`^\d{6}$`).MatchString(st.Pairing.Number) {
		t.Fatalf("pairing state %+v: want a 6-digit number", st.Pairing)
	}
	if st.Code != nil {
		t.Fatalf("a screen waiting for enrollment was sent a code: %+v", st.Code)
	}

	// Another screen, approved, gets its code: by then Lobby TV's session
	// has had every chance to ask for one too.
	hall := h.screen("Hall")
	number := h.waitPhase(hall, 5*time.Second, wire.PhasePairing).Pairing.Number
	if _, err := h.m.Approve(t.Context(), number, "test"); err != nil {
		t.Fatal(err)
	}
	h.waitPhase(hall, 5*time.Second, wire.PhaseCode)
	if n := h.sb.Requests("devicecode"); n != 1 {
		t.Errorf("the sandbox received %d device-code requests, want 1 (Hall's only)", n)
	}
	if s, _ := h.store.Screen(t.Context(), lobby); s.Enrolled {
		t.Error("Lobby TV became enrolled")
	}
}

func TestAnApprovalFromAnotherProcessStartsTheSignIn(t *testing.T) {
	h := newHarness(t, manual)
	id := h.screen("Kitchen")
	number := h.waitPhase(id, 5*time.Second, wire.PhasePairing).Pairing.Number

	// The CLI opens the same database file in its own process.
	other, err := sqlite.Open(t.Context(), h.db)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	sc, err := screens.Approve(t.Context(), other, "  "+number[:3]+" "+number[3:]+" ", "placard CLI", time.Now(), nil)
	if err != nil {
		t.Fatalf("approving %s from another store: %v", number, err)
	}
	if sc.ID != id || !sc.Enrolled || sc.PairingNumber != "" {
		t.Errorf("approved %+v", sc)
	}
	h.waitPhase(id, 5*time.Second, wire.PhaseCode)

	events, _ := h.store.Audit(t.Context(), 10)
	if !hasEvent(events, server.AuditEnrolled, id, "by placard CLI") {
		t.Errorf("no enrollment in the audit trail: %+v", events)
	}
}

func TestAPairingNumberShownByTwoScreensIsRefused(t *testing.T) {
	h := newHarness(t, manual)
	a := h.screen("Lobby TV")
	number := h.waitPhase(a, 5*time.Second, wire.PhasePairing).Pairing.Number
	b := h.screen("Unknown")
	h.waitPhase(b, 5*time.Second, wire.PhasePairing)
	if _, err := h.store.UpdateScreen(t.Context(), b, func(sc *server.Screen) error {
		sc.PairingNumber = number
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	_, err := h.m.Approve(t.Context(), number, "test")
	if server.ErrorCode(err) != server.ECONFLICT {
		t.Fatalf("approving a number two screens show: %v, want a conflict", err)
	}
	for _, want := range []string{"2 screens", "Lobby TV", "Unknown", a, b, "by its id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	all, _ := h.m.Overview(t.Context())
	for _, st := range all {
		if !st.Clash {
			t.Errorf("%s is not flagged as sharing its pairing number", st.Screen.Name)
		}
	}
	if _, err := h.m.Approve(t.Context(), a, "test"); err != nil {
		t.Fatalf("approving by id: %v", err)
	}
	h.waitPhase(a, 5*time.Second, wire.PhaseCode)
}

func TestApproveSaysWhatIsWrong(t *testing.T) {
	h := newHarness(t, manual)
	enrolled := h.screen("Enrolled")
	n := h.waitPhase(enrolled, 5*time.Second, wire.PhasePairing).Pairing.Number
	if _, err := h.m.Approve(t.Context(), n, "test"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref, code, says string
	}{
		{"12345", server.EINVALID, "has 5 digits, not 6"},
		{"1234567", server.EINVALID, "has 7 digits"},
		{"12a456", server.EINVALID, `has a 'a'`},
		{"", server.EINVALID, "has 0 digits"},
		{"000000", server.ENOTFOUND, "no screen waits with pairing number 000000"},
		{"saaaaaaaaaaaaaaaa", server.ENOTFOUND, "no screen has the id"},
		{enrolled, server.ECONFLICT, "already enrolled"},
	}
	for _, tt := range tests {
		_, err := h.m.Approve(t.Context(), tt.ref, "test")
		if server.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("Approve(%q) = %v (%s), want %s saying %q", tt.ref, err, server.ErrorCode(err), tt.code, tt.says)
		}
	}
}

func TestRevokingASignedInScreenDeniesItAndSignsItOut(t *testing.T) {
	var pub *denials
	h := newHarness(t, func(c *screens.Config) {
		pub = &denials{Publisher: c.Publisher}
		c.Publisher = pub
	})
	id := h.screen("Lobby TV")
	code := h.waitPhase(id, 5*time.Second, wire.PhaseCode).Code.UserCode
	h.sb.Approve(code, "ada@placard.example")
	h.waitPhase(id, 10*time.Second, wire.PhaseDashboard)
	sc, _ := h.store.Screen(t.Context(), id)
	account := sc.AccountID

	if _, err := h.m.Revoke(t.Context(), id, "grace@placard.example"); err != nil {
		t.Fatal(err)
	}
	reason, ok := pub.denied(id)
	if !ok || !strings.Contains(reason, "revoked") {
		t.Fatalf("the screen's connections were not told it was revoked (denied %v, %q)", ok, reason)
	}
	if _, err := h.store.Screen(t.Context(), id); !server.IsNotFound(err) {
		t.Errorf("the revoked screen is still stored (%v)", err)
	}
	if _, err := h.m.Authenticate(t.Context(), screens.Credential{ScreenID: id, Secret: "x"}); err == nil {
		t.Error("a revoked screen still authenticates")
	}
	if _, err := h.store.TokenCache(t.Context(), account); !server.IsNotFound(err) {
		t.Errorf("Ada's tokens were kept after her only screen was revoked (%v)", err)
	}
	if h.m.Active() != 0 {
		t.Errorf("%d sessions still run", h.m.Active())
	}
	events, _ := h.store.Audit(t.Context(), 20)
	if !hasEvent(events, server.AuditScreenRevoked, id, "by grace@placard.example") {
		t.Errorf("no revocation in the audit trail: %+v", events)
	}
	for _, e := range events {
		if e.Kind == server.AuditScreenRevoked && e.Account != "ada@placard.example" {
			t.Errorf("the revocation names account %q, want Ada's", e.Account)
		}
	}
}

func TestRenameAndSettingsReachTheScreenAtOnce(t *testing.T) {
	h := newHarness(t)
	id := h.screen("Hall")
	h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	if _, err := h.m.Rename(t.Context(), id, "  Main hall ", "test"); err != nil {
		t.Fatal(err)
	}
	h.wait(id, 5*time.Second, "the new name", func(st wire.State) bool { return st.Screen.Name == "Main hall" })

	set := server.ScreenSettings{TimeZone: "Asia/Tokyo", Clock24: true, Lang: "fr", Privacy: true, Hours: "22:00-06:00"}
	if _, err := h.m.SetSettings(t.Context(), id, set, "test"); err != nil {
		t.Fatal(err)
	}
	st := h.wait(id, 5*time.Second, "the new settings", func(st wire.State) bool { return st.Screen.TimeZone == "Asia/Tokyo" })
	if !st.Screen.Clock24 || st.Screen.Lang != "fr" || !st.Screen.Privacy {
		t.Errorf("the screen shows %+v", st.Screen)
	}
	sc, _ := h.store.Screen(t.Context(), id)
	if sc.Name != "Main hall" || sc.Settings != set {
		t.Errorf("stored %q %+v", sc.Name, sc.Settings)
	}
	events, _ := h.store.Audit(t.Context(), 10)
	if !hasEvent(events, server.AuditScreenRenamed, id, `from "Hall"`) || !hasEvent(events, server.AuditSettings, id, "Asia/Tokyo") {
		t.Errorf("the audit trail lacks the rename or the settings: %+v", events)
	}
}

func TestBadNamesAndSettingsAreRefusedWithTheReason(t *testing.T) {
	h := newHarness(t)
	id := h.screen("Hall")
	h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	if _, err := h.m.Rename(t.Context(), id, " ", "test"); server.ErrorCode(err) != server.EINVALID || !strings.Contains(err.Error(), "empty") {
		t.Errorf("renaming to a blank name: %v", err)
	}
	tests := []struct {
		set  server.ScreenSettings
		says string
	}{
		{server.ScreenSettings{TimeZone: "Mars/Olympus"}, "not an IANA zone"},
		{server.ScreenSettings{TimeZone: "Local"}, "not an IANA zone"},
		{server.ScreenSettings{Lang: "english"}, "not a language tag"},
		{server.ScreenSettings{Hours: "7-19"}, "HH:MM-HH:MM"},
		{server.ScreenSettings{Hours: "24:00-07:00"}, "HH:MM-HH:MM"},
		{server.ScreenSettings{Hours: "07:00-07:00"}, "same time"},
	}
	for _, tt := range tests {
		_, err := h.m.SetSettings(t.Context(), id, tt.set, "test")
		if server.ErrorCode(err) != server.EINVALID || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("SetSettings(%+v) = %v, want invalid saying %q", tt.set, err, tt.says)
		}
	}
	if _, err := h.m.Rename(t.Context(), "snotthere", "X", "test"); !server.IsNotFound(err) {
		t.Errorf("renaming a missing screen: %v", err)
	}
}

func TestParsePairingNumber(t *testing.T) {
	for in, want := range map[string]string{"482913": "482913", "482 913": "482913", " 482-913 ": "482913", "4 8 2 9 1 3": "482913"} {
		if got, err := screens.ParsePairingNumber(in); err != nil || got != want {
			t.Errorf("ParsePairingNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"48291", "4829134", "４８２９１３", "482913x", strings.Repeat("1", 40)} {
		if _, err := screens.ParsePairingNumber(in); server.ErrorCode(err) != server.EINVALID {
			t.Errorf("ParsePairingNumber(%q) = %v, want invalid", in, err)
		}
	}
}

// FuzzParsePairingNumber: what a person types never panics the parser, and
// whatever it accepts is six ASCII digits.
func FuzzParsePairingNumber(f *testing.F) {
	for _, s := range []string{"482913", "482 913", "482-913", "", "abc", "１２３４５６", "\x00"} {
		f.Add(s)
	}
	digits := regexp.MustCompile(`^[0-9]{6}$`)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := screens.ParsePairingNumber(s)
		if err == nil && !digits.MatchString(n) {
			t.Fatalf("ParsePairingNumber(%q) accepted %q", s, n)
		}
		if err != nil && server.ErrorCode(err) != server.EINVALID {
			t.Fatalf("ParsePairingNumber(%q): error without a code: %v", s, err)
		}
	})
}

// FuzzParseCredential: a screen's cookie is client input; the parser never
// panics and what it accepts is an id and a secret with no separator left.
func FuzzParseCredential(f *testing.F) {
	for _, s := range []string{"sabc.secret", ".", "a.", ".b", "", "a.b.c", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := screens.ParseCredential(s)
		if !ok {
			return
		}
		if c.ScreenID == "" || c.Secret == "" || strings.Contains(c.ScreenID, ".") || len(s) > 200 {
			t.Fatalf("ParseCredential(%q) accepted %+v", s, c)
		}
		if c.String() != s {
			t.Fatalf("ParseCredential(%q) round trips to %q", s, c.String())
		}
	})
}

func hasEvent(events []server.AuditEvent, kind, screenID, detail string) bool {
	for _, e := range events {
		if e.Kind == kind && e.ScreenID == screenID && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

// denials records the denials a publisher is asked to send.
type denials struct {
	screens.Publisher
	mu  sync.Mutex
	got map[string]string
}

func (d *denials) Disconnect(id string, msg []byte) {
	if m, err := wire.DecodeFromServer(msg); err == nil {
		if den, ok := m.(wire.Denied); ok {
			d.mu.Lock()
			if d.got == nil {
				d.got = map[string]string{}
			}
			d.got[id] = den.Reason
			d.mu.Unlock()
		}
	}
	d.Publisher.Disconnect(id, msg)
}

func (d *denials) denied(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.got[id]
	return r, ok
}
