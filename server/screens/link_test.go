package screens_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/internal/browsertest"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/secret"
)

const publicURL = "https://placard.test"

// qrHarness is a harness whose screens sign in by mode, with the sandbox's
// application registered for the edge server's callback.
func qrHarness(t *testing.T, mode string, tune ...func(*screens.Config)) *harness {
	t.Helper()
	return qrHarnessOn(t, sandbox.Options{}, mode, tune...)
}

func qrHarnessOn(t *testing.T, opts sandbox.Options, mode string, tune ...func(*screens.Config)) *harness {
	t.Helper()
	opts.RedirectURIs = []string{publicURL + screens.CallbackPath}
	return newHarnessOn(t, opts,
		append([]func(*screens.Config){func(c *screens.Config) {
			c.SignIn, c.PublicURL, c.Organisation = mode, publicURL, "Placard Demo"
		}}, tune...)...)
}

// linkToken is the token of the sign-in link a screen's QR code carries.
func linkToken(t *testing.T, st wire.State) string {
	t.Helper()
	if st.Code == nil || st.Code.QR.To != wire.QRAuthCode {
		t.Fatalf("the screen offers no sign-in link: %+v", st.Code)
	}
	link, err := browsertest.ReadQRPath(st.Code.QR.Size, st.Code.QR.Path)
	if err != nil {
		t.Fatal(err)
	}
	token, ok := strings.CutPrefix(link, publicURL+screens.LinkPath)
	if !ok || token == "" || strings.ContainsAny(token, "/?#") {
		t.Fatalf("the QR code carries %q, want a link under %s", link, publicURL+screens.LinkPath)
	}
	return token
}

// phone is a phone's browser following a screen's link.
type phone struct {
	h       *harness
	token   string
	hold    string // its cookie's secret
	binding string
	authURL string
}

// newHold is a browser's secret, as its cookie holds it.
func newHold() string { return strings.Repeat("h", 10) + secret.New() }

// open opens the link in a new browser and types the number the screen
// shows.
func (h *harness) open(id, token string) *phone {
	h.t.Helper()
	p := &phone{h: h, token: token, hold: newHold()}
	page, err := h.m.OpenLink(context.Background(), token, p.hold)
	if err != nil {
		h.t.Fatalf("opening the link: %v", err)
	}
	st := h.wait(id, 5*time.Second, "the number to type", func(st wire.State) bool { return st.Code != nil && st.Code.Match != "" })
	if page.Screen != "Lobby TV" || page.Organisation != "Placard Demo" || len(st.Code.Match) != screens.MatchDigits {
		h.t.Fatalf("the phone's page %+v, the screen shows %q", page, st.Code.Match)
	}
	p.authURL, p.binding, err = h.m.TypeNumber(context.Background(), token, p.hold, st.Code.Match, "")
	if err != nil {
		h.t.Fatalf("typing the right number: %v", err)
	}
	return p
}

// signIn has upn sign in at the sandbox's page and returns the callback
// the browser comes back with.
func (p *phone) signIn(upn string) screens.Callback {
	p.h.t.Helper()
	loc, err := p.h.sb.Authorize(p.authURL, upn)
	if err != nil {
		p.h.t.Fatalf("the sign-in page: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Path != screens.CallbackPath {
		p.h.t.Fatalf("sent back to %s", loc)
	}
	q := u.Query()
	return screens.Callback{State: q.Get("state"), Binding: p.binding, Code: q.Get("code"), Error: q.Get("error"), ErrorText: q.Get("error_description")}
}

func outcomeOf(err error) string {
	var le *screens.LinkError
	if errors.As(err, &le) {
		return le.Outcome
	}
	if err == nil {
		return screens.LinkSignedIn
	}
	return "not a LinkError: " + err.Error()
}

func finish(h *harness, cb screens.Callback) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := h.m.FinishLink(ctx, cb)
	return err
}

// otherThan returns a number of the screen's length other than n.
func otherThan(n string) string {
	if n == "10" {
		return "11"
	}
	return "10"
}

func TestAScreenSignsInByQRCode(t *testing.T) {
	h := qrHarness(t, server.SignInQR)
	id := h.screen("Lobby TV")
	st := h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	if st.Code.UserCode != "" || st.Code.VerificationURI != "" || st.Code.Match != "" {
		t.Errorf("a screen that signs in by QR code shows %+v", st.Code)
	}
	if n := h.sb.Requests("devicecode"); n != 0 {
		t.Errorf("%d device codes asked for", n)
	}
	token := linkToken(t, st)
	cb := h.open(id, token).signIn("grace@placard.example")
	if err := finish(h, cb); err != nil {
		t.Fatalf("finishing the sign-in: %v", err)
	}
	st = h.waitPhase(id, 10*time.Second, wire.PhaseDashboard)
	if st.Dashboard.User.Name != "Grace Hopper" {
		t.Errorf("the screen shows %q", st.Dashboard.User.Name)
	}
	events, _ := h.store.Audit(context.Background(), 50)
	found := false
	for _, e := range events {
		found = found || (e.Kind == server.AuditSignIn && e.Outcome == "success" && e.Detail == server.PathAuthCode && e.Account == "grace@placard.example")
	}
	if !found {
		t.Errorf("no sign-in audited with the path %s: %+v", server.PathAuthCode, events)
	}

	// Nothing is used twice: the link, the callback.
	if _, err := h.m.OpenLink(context.Background(), token, newHold()); outcomeOf(err) != screens.LinkUsed {
		t.Errorf("the used link opens again: %v", err)
	}
	if err := finish(h, cb); outcomeOf(err) != screens.LinkUsed {
		t.Errorf("a replayed callback: %v, want used", err)
	}
}

func TestAWrongNumberEndsTheLinkAndTheScreenShowsANewOne(t *testing.T) {
	h := qrHarness(t, server.SignInQR)
	id := h.screen("Lobby TV")
	token := linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode))
	hold := newHold()
	if _, err := h.m.OpenLink(context.Background(), token, hold); err != nil {
		t.Fatal(err)
	}
	match := h.wait(id, 5*time.Second, "the number", func(st wire.State) bool { return st.Code != nil && st.Code.Match != "" }).Code.Match
	if _, _, err := h.m.TypeNumber(context.Background(), token, hold, otherThan(match), ""); outcomeOf(err) != screens.LinkWrongNumber {
		t.Fatalf("a wrong number: %v", err)
	}
	// The right one afterwards is too late: the link is dead.
	if _, _, err := h.m.TypeNumber(context.Background(), token, hold, match, ""); outcomeOf(err) != screens.LinkUsed {
		t.Errorf("the right number after a wrong one: %v, want used", err)
	}
	st := h.waitPhase(id, 5*time.Second, wire.PhaseError)
	if st.Problem.Kind != wire.ProblemWrongNumber {
		t.Errorf("problem %+v, want wrong_number", st.Problem)
	}
	next := linkToken(t, h.waitPhase(id, 10*time.Second, wire.PhaseCode))
	if next == token {
		t.Error("the screen shows the dead link again")
	}
	if n := h.sb.Requests("authorize"); n != 0 {
		t.Errorf("%d requests reached the identity platform's sign-in", n)
	}
}

// The first browser to open a link holds it: the screen shows its number
// only then, and another browser can neither open the link nor type the
// number, before or after the first typed it.
func TestALinkIsHeldByTheFirstBrowserThatOpensIt(t *testing.T) {
	h := qrHarness(t, server.SignInQR)
	id := h.screen("Lobby TV")
	token := linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode))
	ctx := context.Background()
	first, second := newHold(), newHold()
	if _, err := h.m.OpenLink(ctx, token, first); err != nil {
		t.Fatal(err)
	}
	match := h.wait(id, 5*time.Second, "the number", func(st wire.State) bool { return st.Code != nil && st.Code.Match != "" }).Code.Match
	if _, err := h.m.OpenLink(ctx, token, second); outcomeOf(err) != screens.LinkOpenedElsewhere {
		t.Errorf("a second browser opening the link: %v, want opened_elsewhere", err)
	}
	if _, _, err := h.m.TypeNumber(ctx, token, second, match, ""); outcomeOf(err) != screens.LinkOpenedElsewhere {
		t.Errorf("a second browser typing the number: %v, want opened_elsewhere", err)
	}
	if _, err := h.m.OpenLink(ctx, token, first); err != nil {
		t.Errorf("the first browser opening it again: %v", err)
	}
	if _, _, err := h.m.TypeNumber(ctx, token, first, match, ""); err != nil {
		t.Fatalf("the first browser typing the number: %v", err)
	}
	if _, err := h.m.OpenLink(ctx, token, second); outcomeOf(err) != screens.LinkUsed {
		t.Errorf("a second browser once the number is typed: %v, want used", err)
	}
}

// A screen whose link's number was typed does not keep a dead QR code
// when the phone does not come back: after TypedWait it offers a fresh
// link, and the phone that was signing in may still finish.
func TestAScreenOffersAFreshLinkWhenATypedOneDoesNotFinish(t *testing.T) {
	h := qrHarness(t, server.SignInQR, func(c *screens.Config) { c.TypedWait = time.Second })
	id := h.screen("Lobby TV")
	token := linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode))
	p := h.open(id, token)
	fresh := h.wait(id, 10*time.Second, "a fresh link", func(st wire.State) bool {
		return st.Phase == wire.PhaseCode && st.Code.QR.Path != "" && linkToken(t, st) != token
	})
	if fresh.Code.Match != "" {
		t.Errorf("the fresh link shows a number before any phone opened it: %s", fresh.Code.Match)
	}
	if err := finish(h, p.signIn("ada@placard.example")); err != nil {
		t.Fatalf("the first phone finishing beside the fresh link: %v", err)
	}
	st := h.waitPhase(id, 10*time.Second, wire.PhaseDashboard)
	if st.Dashboard.User.Name != "Ada Lovelace" {
		t.Errorf("the screen shows %q", st.Dashboard.User.Name)
	}
	if _, err := h.m.OpenLink(context.Background(), linkToken(t, fresh), newHold()); outcomeOf(err) != screens.LinkExpired {
		t.Errorf("the fresh link once the screen signed in: %v, want expired", err)
	}
}

func TestACallbackWithAWrongOrMissingStateChangesNothing(t *testing.T) {
	h := qrHarness(t, server.SignInQR)
	id := h.screen("Lobby TV")
	p := h.open(id, linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode)))
	cb := p.signIn("grace@placard.example")
	for name, forged := range map[string]screens.Callback{
		"no state":            {Binding: cb.Binding, Code: cb.Code},
		"another state":       {State: cb.State + "x", Binding: cb.Binding, Code: cb.Code},
		"no cookie":           {State: cb.State, Code: cb.Code},
		"another's cookie":    {State: cb.State, Binding: "forged", Code: cb.Code},
		"an error, no cookie": {State: cb.State, Error: "access_denied"},
	} {
		if err := finish(h, forged); outcomeOf(err) != screens.LinkInvalidState {
			t.Errorf("%s: %v, want invalid_state", name, err)
		}
	}
	select {
	case st := <-h.pub.states(id):
		t.Errorf("a forged callback changed the screen: %s %+v", st.Phase, st.Problem)
	default:
	}
	// The phone that started it still finishes it.
	if err := finish(h, cb); err != nil {
		t.Fatalf("the genuine callback after forged ones: %v", err)
	}
	h.waitPhase(id, 10*time.Second, wire.PhaseDashboard)
}

func TestADeclinedSignInIsShownAndANewLinkFollows(t *testing.T) {
	h := qrHarness(t, server.SignInQR)
	id := h.screen("Lobby TV")
	token := linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode))
	cb := h.open(id, token).signIn("")
	if err := finish(h, cb); outcomeOf(err) != screens.LinkDeclined {
		t.Fatalf("a declined sign-in: %v", err)
	}
	st := h.waitPhase(id, 5*time.Second, wire.PhaseError)
	if st.Problem.Kind != wire.ProblemDeclined {
		t.Errorf("problem %+v", st.Problem)
	}
	if next := linkToken(t, h.waitPhase(id, 10*time.Second, wire.PhaseCode)); next == token {
		t.Error("the screen shows the declined link again")
	}
}

func TestALinkExpiresWithTheScreensCode(t *testing.T) {
	h := qrHarness(t, server.SignInQR, func(c *screens.Config) { c.LinkLifetime = 2 * time.Second })
	id := h.screen("Lobby TV")
	first := linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode))
	second := linkToken(t, h.waitPhase(id, 10*time.Second, wire.PhaseCode))
	if first == second {
		t.Fatal("the link was not replaced")
	}
	if _, err := h.m.OpenLink(context.Background(), first, newHold()); outcomeOf(err) != screens.LinkExpired {
		t.Errorf("a replaced link: %v, want expired", err)
	}
	if _, err := h.m.OpenLink(context.Background(), "not-a-link", newHold()); outcomeOf(err) != screens.LinkExpired {
		t.Errorf("an unknown link: %v, want expired", err)
	}
}

// A phone that picked the number is not cut off by the code's renewal: the
// screen waits for its sign-in.
func TestASignInInProgressIsNotReplaced(t *testing.T) {
	h := qrHarness(t, server.SignInQR, func(c *screens.Config) { c.LinkLifetime = 2 * time.Second })
	id := h.screen("Lobby TV")
	p := h.open(id, linkToken(t, h.waitPhase(id, 5*time.Second, wire.PhaseCode)))
	time.Sleep(3 * time.Second) // past the link's life, at Microsoft's page
	if err := finish(h, p.signIn("ada@placard.example")); err != nil {
		t.Fatalf("finishing after the link's life: %v", err)
	}
	h.waitPhase(id, 10*time.Second, wire.PhaseDashboard)
}

func TestBothOffersTheCodeAndTheQRCodeAndTakesEither(t *testing.T) {
	h := qrHarness(t, server.SignInBoth)
	id := h.screen("Lobby TV")
	st := h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	if st.Code.UserCode == "" || st.Code.QR.To != wire.QRAuthCode {
		t.Fatalf("both shows %+v, want a user code and the QR code on the authorization-code path", st.Code)
	}
	linkToken(t, st)
	if out := h.sb.Approve(st.Code.UserCode, "ada@placard.example"); out != sandbox.OutcomeApproved {
		t.Fatalf("approving: %s", out)
	}
	h.waitPhase(id, 15*time.Second, wire.PhaseDashboard)
}

// With "Block device code flow", a screen in both offers the QR code alone
// and says why; in device-code it says what to change.
func TestABlockedDeviceCodeLeavesTheQRCode(t *testing.T) {
	h := qrHarness(t, server.SignInBoth)
	h.sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	id := h.screen("Lobby TV")
	st := h.wait(id, 10*time.Second, "the QR code alone", func(st wire.State) bool {
		return st.Phase == wire.PhaseCode && st.Code.UserCode == "" && st.Code.CodeBlocked
	})
	if err := finish(h, h.open(id, linkToken(t, st)).signIn("grace@placard.example")); err != nil {
		t.Fatal(err)
	}
	h.waitPhase(id, 10*time.Second, wire.PhaseDashboard)

	d := qrHarness(t, server.SignInDeviceCode)
	d.sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	id = d.screen("Lobby TV")
	st = d.waitPhase(id, 10*time.Second, wire.PhaseError)
	if st.Problem.Kind != wire.ProblemCodeBlocked || st.Problem.Code != "AADSTS53003" {
		t.Errorf("device-code under the block: %+v, want code_blocked with AADSTS53003", st.Problem)
	}
}

// Protocol tracking: a session begun with a device code is refused at its
// next refresh once the block is on; the screen returns to sign-in with the
// QR code and the reason, and signing in by QR code brings it back.
func TestASessionBegunWithADeviceCodeFallsBackToTheQRCodeAtItsRefresh(t *testing.T) {
	// Access tokens that live a few seconds: every poll refreshes.
	h := qrHarnessOn(t, sandbox.Options{AccessTokenLifetime: 2 * time.Second}, server.SignInBoth, fastPolls)
	id := h.screen("Lobby TV")
	h.signIn(id, "ada@placard.example")
	h.sb.SetFaults(sandbox.Faults{BlockDeviceCode: true})
	st := h.wait(id, 15*time.Second, "the QR code alone", func(st wire.State) bool {
		return st.Phase == wire.PhaseCode && st.Code.UserCode == "" && st.Code.CodeBlocked
	})
	events, _ := h.store.Audit(context.Background(), 50)
	found := false
	for _, e := range events {
		found = found || (e.Kind == server.AuditRefreshFailed && e.Outcome == identity.KindCodeFlowBlocked.String())
	}
	if !found {
		t.Errorf("the refused refresh is not audited: %+v", events)
	}
	if err := finish(h, h.open(id, linkToken(t, st)).signIn("ada@placard.example")); err != nil {
		t.Fatal(err)
	}
	h.waitPhase(id, 10*time.Second, wire.PhaseDashboard)
	// Its refreshes work: the session began by authorization code.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.sb.AwaitRequests(ctx, "token", h.sb.Requests("token")+2); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.m.State(ctx, id, 0); st.Phase != wire.PhaseDashboard {
		t.Errorf("after a refresh the screen shows %s %+v", st.Phase, st.Problem)
	}
}

// A sign-in whose offer ends while its code is being redeemed (here: a
// device code finishes first, in both) is not taken by the screen: the
// phone is told it expired, and the tokens the redemption saved are
// forgotten, not left in the store for an account that nothing shows.
func TestTokensOfASignInNoScreenTookAreForgotten(t *testing.T) {
	h := qrHarness(t, server.SignInBoth)
	id := h.screen("Lobby TV")
	st := h.waitPhase(id, 5*time.Second, wire.PhaseCode)
	cb := h.open(id, linkToken(t, st)).signIn("ada@placard.example")

	// The redemption of Ada's code waits at the identity platform while
	// Grace approves the screen's device code.
	redeeming, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.sent.mu.Lock()
	h.sent.before = func(r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), "grant_type=authorization_code") {
			once.Do(func() { close(redeeming) })
			<-release
		}
	}
	h.sent.mu.Unlock()
	finished := make(chan error, 1)
	go func() { finished <- finish(h, cb) }()
	select {
	case <-redeeming:
	case <-time.After(10 * time.Second):
		t.Fatal("the code was not redeemed")
	}
	if out := h.sb.Approve(st.Code.UserCode, "grace@placard.example"); out != sandbox.OutcomeApproved {
		t.Fatalf("approving the device code: %s", out)
	}
	h.wait(id, 15*time.Second, "Grace's dashboard", func(st wire.State) bool {
		return st.Phase == wire.PhaseDashboard && st.Dashboard.User.Name == "Grace Hopper"
	})
	close(release)
	if err := <-finished; outcomeOf(err) != screens.LinkExpired {
		t.Errorf("the phone whose sign-in the screen did not take is told %v, want expired", err)
	}
	ada := sandbox.AccountID("ada@placard.example")
	if _, err := h.store.TokenCache(context.Background(), ada); !server.IsNotFound(err) {
		t.Errorf("the store keeps a token cache for Ada, whom no screen took: %v", err)
	}
	if _, err := h.store.Account(context.Background(), ada); !server.IsNotFound(err) {
		t.Errorf("the store keeps Ada's account: %v", err)
	}
}
