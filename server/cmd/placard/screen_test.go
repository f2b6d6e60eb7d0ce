package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
)

// screenSize is a shape placard is made for.
type screenSize struct {
	name  string
	w, h  int64
	touch bool
}

// screenSizes are the TVs, the door panel and the tablet of the product;
// the tablet comes last, because only it reloads the page (a screen says
// whether it has touch when it connects).
var screenSizes = []screenSize{
	{"TV 1280×720", 1280, 720, false},
	{"TV 3840×2160", 3840, 2160, false},
	{"door panel 1080×1920", 1080, 1920, false},
	{"tablet 1280×800", 1280, 800, true},
}

// hooksOf are the hooks each state shows (docs/testing.md lists them).
var hooksOf = map[string][]string{
	"pairing": {"screen-name", "pairing-code"},
	"code":    {"screen-name", "user-code", "verification-uri", "qr", "countdown", "clock"},
	"dashboard": {"screen-name", "user-name", "user-photo", "presence", "freshness", "clock", "room-state", "free-at",
		"agenda-item|agenda-empty", "agenda-time|agenda-empty", "agenda-subject|agenda-empty"},
	"error":        {"screen-name", "error-title", "error-message", "error-code"},
	"reconnecting": {"user-name", "user-photo", "presence", "freshness", "clock"},
}

// layout is what the page reports of its geometry.
type layout struct {
	State  string `json:"state"`
	VW     float64
	VH     float64
	Scroll []bool // page, screen: horizontally, vertically
	Hooks  []hookBox
	// Banner is the reconnecting banner's box, nil when none shows.
	Banner *hookBox
}

// hookBox is a visible hook's box, and the part of it that is not hidden by
// an ancestor that clips its overflow.
type hookBox struct {
	ID                        string
	Left, Top, Right, Bottom  float64
	VLeft, VTop, VRight, VBot float64
	// Font is its font size in px; Read is true for what is read from
	// across the room: the dashboard's status line and its agenda rows,
	// and all of a board.
	Font float64
	Read bool
}

// The status line and the agenda are read from 3 m: capitals at least 1/200 of that
// distance (the FAA's rough estimate for 20 arcmin, placard.css), on the
// smallest TV shown at that distance, a 32-inch 16:9 one (its short side
// 398 mm), in Inter, whose capitals are 0.727 em. minReadFont is the
// font size that takes, as a share of the viewport's short side.
const (
	viewingDistanceMM = 3000
	shortSideMM       = 32 * 25.4 * 9 / 18.3576 // 32-inch diagonal, 16:9 (√(16²+9²) = 18.3576)
	capHeightEm       = 0.727
	minReadFont       = viewingDistanceMM / 200.0 / shortSideMM / capHeightEm
)

// layoutJS measures every visible data-testid hook of the page.
const layoutJS = `(() => {
  const de = document.documentElement;
  const root = document.querySelector('[data-testid="screen"]');
  const out = {state: root ? root.dataset.state : "", VW: innerWidth, VH: innerHeight,
    Scroll: [de.scrollWidth > de.clientWidth, de.scrollHeight > de.clientHeight,
             !!root && root.scrollWidth > root.clientWidth + 1, !!root && root.scrollHeight > root.clientHeight + 1],
    Hooks: []};
  const banner = document.querySelector(".banner");
  if (banner) {
    const r = banner.getBoundingClientRect();
    out.Banner = {ID: "banner", Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom};
  }
  for (const el of document.querySelectorAll('[data-testid]')) {
    if (el === root) continue;
    const r = el.getBoundingClientRect();
    if ((r.width === 0 && r.height === 0) || getComputedStyle(el).visibility === "hidden") continue;
    let v = {l: r.left, t: r.top, r: r.right, b: r.bottom};
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const ar = a.getBoundingClientRect();
      v = {l: Math.max(v.l, ar.left), t: Math.max(v.t, ar.top), r: Math.min(v.r, ar.right), b: Math.min(v.b, ar.bottom)};
    }
    // Wholly clipped (an agenda row that did not fit, moved out of
    // sight): not shown.
    if (v.r <= v.l || v.b <= v.t) continue;
    out.Hooks.push({ID: el.dataset.testid, Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom,
      VLeft: v.l, VTop: v.t, VRight: v.r, VBot: v.b,
      Font: parseFloat(getComputedStyle(el).fontSize),
      Read: (!!el.closest(".status-line") && !el.closest(".actions")) || !!el.closest(".agenda-item, .room-state, .free-at, .board-view")});
  }
  return out;
})()`

// checkLayout checks what a person sees of a state at a size: its hooks are
// there, nothing is within 5% of an edge (TV overscan) or cut in height,
// the code and QR are large enough, and nothing scrolls.
func checkLayout(t *testing.T, ctx context.Context, state string, size screenSize, hooks []string) {
	t.Helper()
	var l layout
	browsertest.Run(t, ctx, 10*time.Second, "measuring "+state+" at "+size.name, chromedp.Evaluate(layoutJS, &l))
	if l.State != state {
		t.Errorf("%s: the screen is %q, want %q", size.name, l.State, state)
	}
	if l.VW != float64(size.w) || l.VH != float64(size.h) {
		t.Errorf("%s: viewport is %v×%v", size.name, l.VW, l.VH)
	}
	for i, what := range []string{"the page scrolls horizontally", "the page scrolls vertically", "the screen overflows horizontally", "the screen overflows vertically"} {
		if l.Scroll[i] {
			t.Errorf("%s, %s: %s", state, size.name, what)
		}
	}
	seen := map[string]bool{}
	for _, h := range l.Hooks {
		seen[h.ID] = true
		mx, my := 0.05*l.VW, 0.05*l.VH
		if h.VLeft < mx || h.VTop < my || h.VRight > l.VW-mx || h.VBot > l.VH-my {
			t.Errorf("%s, %s: %s is within 5%% of an edge: %.0f,%.0f–%.0f,%.0f in %v×%v",
				state, size.name, h.ID, h.VLeft, h.VTop, h.VRight, h.VBot, l.VW, l.VH)
		}
		if h.VBot-h.VTop < h.Bottom-h.Top-1 {
			t.Errorf("%s, %s: %s is cut: %.0f of its %.0f px height show", state, size.name, h.ID, h.VBot-h.VTop, h.Bottom-h.Top)
		}
		switch height := h.Bottom - h.Top; h.ID {
		case "user-code":
			if height < 0.06*l.VH {
				t.Errorf("%s: the user code is %.0f px high, less than 6%% of %v", size.name, height, l.VH)
			}
		case "qr":
			if height < 0.25*l.VH {
				t.Errorf("%s: the QR code is %.0f px high, less than 25%% of %v", size.name, height, l.VH)
			}
		}
		// The board holds all of a board's screen, its title (whose place
		// the banner takes) included: its tiles, page and clock count.
		if b := l.Banner; b != nil && h.ID != "board" && h.Left < b.Right && b.Left < h.Right && h.Top < b.Bottom && b.Top < h.Bottom {
			t.Errorf("%s, %s: the reconnecting banner covers %s", state, size.name, h.ID)
		}
		if short := min(l.VW, l.VH); h.Read && h.Font < minReadFont*short-0.5 {
			t.Errorf("%s, %s: %s is %.1f px, under the %.1f px (%.1f%% of the short side) read from %d m",
				state, size.name, h.ID, h.Font, minReadFont*short, 100*minReadFont, viewingDistanceMM/1000)
		}
	}
	// "a|b": either hook will do.
	for _, ids := range hooks {
		if !slices.ContainsFunc(strings.Split(ids, "|"), func(id string) bool { return seen[id] }) {
			t.Errorf("%s, %s: no visible %s", state, size.name, strings.ReplaceAll(ids, "|", " nor "))
		}
	}
}

func TestEveryStateFitsEveryScreenSize(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning)
	browser := browsertest.New(t)

	t.Run("pairing", func(t *testing.T) {
		manual := testServer(t, func(m *Main) { m.Config.AutoEnroll = false })
		tab := openTab(t, browser, manual, "Door 4", "pairing")
		touch := false
		for _, size := range screenSizes {
			showAt(t, tab, size, &touch, "pairing")
			checkLayout(t, tab, "pairing", size, hooksOf["pairing"])
		}
		t.Run("accessibility", func(t *testing.T) { checkAccessibility(t, tab, "pairing") })
	})

	lobby := openTab(t, browser, m, "Lobby TV", "code")
	// An administrator lets it act: on a tablet's size (a touch screen)
	// it shows its buttons.
	allowActions(t, m, "Lobby TV")
	lobbyTouch := false
	t.Run("code", func(t *testing.T) {
		for _, size := range screenSizes {
			showAt(t, lobby, size, &lobbyTouch, "code")
			checkLayout(t, lobby, "code", size, hooksOf["code"])
		}
		showAt(t, lobby, screenSizes[0], &lobbyTouch, "code")
		t.Run("accessibility", func(t *testing.T) { checkAccessibility(t, lobby, "code") })
	})

	code := textOf(t, lobby, "user-code")
	if out := m.Sandbox.Approve(code, "ada@placard.example"); out != "approved" {
		t.Fatalf("approving %s: %s", code, out)
	}
	waitState(t, lobby, 20*time.Second, "dashboard")
	// The calendar is read a moment after the sign-in.
	browsertest.Run(t, lobby, 20*time.Second, "waiting for the agenda", chromedp.WaitVisible(browsertest.TestID("room-state")))
	t.Run("dashboard", func(t *testing.T) {
		for _, size := range screenSizes {
			showAt(t, lobby, size, &lobbyTouch, "dashboard")
			hooks := slices.Clone(hooksOf["dashboard"])
			if size.touch {
				hooks = append(hooks, "sign-out")
			}
			checkLayout(t, lobby, "dashboard", size, hooks)
		}
		// On the tablet, buttons and all.
		t.Run("accessibility", func(t *testing.T) { checkAccessibility(t, lobby, "dashboard") })
		showAt(t, lobby, screenSizes[0], &lobbyTouch, "dashboard")
		var buttons int
		browsertest.Run(t, lobby, 5*time.Second, "counting buttons", chromedp.Evaluate(`document.querySelectorAll("button").length`, &buttons))
		if buttons != 0 {
			t.Errorf("a TV shows %d buttons", buttons)
		}
	})

	t.Run("error", func(t *testing.T) {
		hall := openBlocked(t, browser, m, "Hall")
		if got := textOf(t, hall, "error-code"); !strings.Contains(got, "53003") {
			t.Errorf("error-code %q, want the AADSTS number 53003", got)
		}
		touch := false
		for _, size := range screenSizes {
			showAt(t, hall, size, &touch, "error")
			checkLayout(t, hall, "error", size, hooksOf["error"])
		}
		t.Run("accessibility", func(t *testing.T) { checkAccessibility(t, hall, "error") })
	})

	t.Run("reconnecting", func(t *testing.T) {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		waitState(t, lobby, 10*time.Second, "reconnecting")
		for _, size := range screenSizes {
			// No reload: the edge server is gone.
			showAt(t, lobby, size, nil, "reconnecting")
			checkLayout(t, lobby, "reconnecting", size, hooksOf["reconnecting"])
		}
		if name := textOf(t, lobby, "user-name"); name != "Ada Lovelace" {
			t.Errorf("while reconnecting the screen shows %q, want the last data", name)
		}
	})
}

// axeViolation is one finding of axe-core.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkAccessibility runs axe-core in the page and fails on any serious or
// critical finding. Contrast is checked at the enhanced level (7:1 for
// text, WCAG 2 AAA), which axe leaves off by default: a screen is read
// from across a room. axe-core comes from the npm registry (`make axe`).
func checkAccessibility(t *testing.T, tab context.Context, state string) {
	t.Helper()
	src := axeSource(t)
	var found []axeViolation
	browsertest.Run(t, tab, 60*time.Second, "running axe-core on "+state,
		chromedp.Evaluate(src+";0", nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"], rules: {"color-contrast-enhanced": {enabled: true}}}).then(r => r.violations)`, &found,
			func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	for _, v := range found {
		if v.Impact != "serious" && v.Impact != "critical" {
			t.Logf("axe-core, %s (%s): %s", v.ID, v.Impact, v.Help)
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, n.HTML)
		}
		t.Errorf("axe-core on the %s state, %s (%s): %s\n  %s", state, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
	}
}

// axeSource reads axe-core's script: $PLACARD_AXE, else where `make axe`
// installs it. Without it the test skips, or fails with CI=true.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PLACARD_AXE")
	if path == "" {
		_, here, _, _ := runtime.Caller(0)
		path = filepath.Join(filepath.Dir(here), "..", "..", "..", ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		msg := fmt.Sprintf("accessibility check needs axe-core (%v): run `make axe`, or set PLACARD_AXE to axe.min.js", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return string(b)
}

// The screen's text waits for its font: the page preloads it, with the
// crossorigin that the stylesheet's own request of a font has, so that
// the browser fetches it once, with the stylesheets.
func TestPagePreloadsItsFont(t *testing.T) {
	m := testServer(t, inTheMorning)
	_, html := get(t, httpClient(t), m.URL+"/?screen="+url.QueryEscape("Lobby"))
	head, _, _ := strings.Cut(html, "</head>")
	const want = `<link rel="preload" href="/web/fonts/inter-latin.woff2" as="font" type="font/woff2" crossorigin>`
	if !strings.Contains(head, want) {
		t.Errorf("the page's head has no %s:\n%s", want, head)
	}
}
