// Package browsertest runs Debian's headless Chromium for placard's browser
// tests, through chromedp. Without Chromium the tests skip, and say how to
// get it; with CI=true they fail instead, so that CI never passes a run in
// which no browser test ran.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium binary: $PLACARD_CHROMIUM, else
// the first of chromium, chromium-browser, google-chrome on the PATH.
func Chromium() (string, error) {
	if p := os.Getenv("PLACARD_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (install Debian's: apt-get install chromium, or set PLACARD_CHROMIUM)")
}

// Options shape the browser.
type Options struct {
	Width, Height int
	// Scale is the device scale factor (1 by default).
	Scale float64
	// Flags are more command-line flags, e.g. "host-resolver-rules":
	// "MAP tv.example 127.0.0.1" to reach a test server by a name that
	// is not a secure context.
	Flags map[string]any
}

// New starts a headless Chromium for the test and returns the context of
// its first tab; the browser ends with the test.
func New(t testing.TB, opts ...Options) context.Context {
	t.Helper()
	path, err := Chromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test cannot run: %v", err)
		}
		t.Skipf("browser test skipped: %v", err)
	}
	// The profile is removed by hand, not by t.TempDir: Chromium's helper
	// processes may still be writing to it when the test ends.
	profile, err := os.MkdirTemp("", "placard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Width: 1280, Height: 720}
	if len(opts) > 0 {
		o = opts[0]
		if o.Width == 0 || o.Height == 0 {
			o.Width, o.Height = 1280, 720
		}
	}
	alloc := Offline(path, profile, o.Width, o.Height)
	for name, value := range o.Flags {
		alloc = append(alloc, chromedp.Flag(name, value))
	}
	if o.Scale > 0 {
		alloc = append(alloc, chromedp.Flag("force-device-scale-factor", fmt.Sprint(o.Scale)))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), alloc...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		for range 3 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return ctx
}

// Tab opens another tab of the same browser (a phone beside the screen).
func Tab(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// Device opens a tab in a browser context of its own: another device,
// with cookies and storage of its own (kiosks that start with the same
// address).
//
// The tab is made in a new window: headless Chromium opens no tab in a
// browser context that has none ("no browser is open"), which is what
// chromedp's WithNewBrowserContext asks of it.
func Device(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	var id target.ID
	err := chromedp.Run(browser, chromedp.ActionFunc(func(ctx context.Context) error {
		c := chromedp.FromContext(ctx)
		exec := cdp.WithExecutor(ctx, c.Browser)
		bc, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(exec)
		if err != nil {
			return err
		}
		id, err = target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(exec)
		return err
	}))
	if err != nil {
		t.Fatalf("opening a tab in a browser context of its own: %v", err)
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(id))
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("attaching to the tab of a browser context of its own: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// Run runs actions with a deadline, failing the test with what was being
// waited for when it passes.
func Run(t testing.TB, ctx context.Context, within time.Duration, what string, actions ...chromedp.Action) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Run(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestID is the CSS selector of a data-testid hook.
func TestID(id string, more ...string) string {
	return `[data-testid="` + id + `"]` + strings.Join(more, "")
}

// State is the selector of the screen in a given data-state.
func State(state string) string {
	return TestID("screen", `[data-state="`+state+`"]`)
}

// Until waits for a JavaScript expression to be true. It polls on an
// interval, not on animation frames: a tab behind another (the screen
// while the phone page is open) gets no animation frame.
func Until(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(50*time.Millisecond))
}

// Offline is how placard's tests and its bench start Chromium: headless,
// its profile in profile, with the flags a sandboxed, offline machine
// needs (without the background-networking ones Chromium keeps trying
// Google's hosts).
func Offline(path, profile string, width, height int) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", false),
		chromedp.Flag("mute-audio", true),
	}
}
