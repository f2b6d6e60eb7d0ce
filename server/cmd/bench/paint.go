package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
)

// The first-paint stage: headless Chromium loads a screen's page and the
// baseline's (a bare go-app page of one component, built from ./barepage
// and served by go-app's own handler), one after the other, several times
// each, with and without a TV's processor (4× CPU throttle). Each load is
// a new browser context: an empty cache and no service worker, as a TV
// that opens the page for the first time.

// barePagePkg is the baseline page's program.
const barePagePkg = "github.com/placard/placard/server/cmd/bench/barepage"

// tvThrottle is the CPU slowdown of a TV's processor against this
// machine's.
const tvThrottle = 4

// paintScript runs in every document before its own scripts. It reports
// through the binding benchPaint, as soon as each is known, two times on
// the page's performance timeline (milliseconds since the navigation
// started): first contentful paint, and the start of the first animation
// frame in which the code is laid out and visible (not hidden, not
// transparent, with text). Pushed, not polled: once the Wasm starts, it
// keeps the page's main thread busy for seconds, and every question would
// wait behind it.
const paintScript = `(() => {
	const report = (what, at) => window.benchPaint(JSON.stringify({what, at}));
	new PerformanceObserver((list) => {
		for (const e of list.getEntries()) {
			if (e.name === "first-contentful-paint") {
				report("fcp", e.startTime);
			}
		}
	}).observe({type: "paint", buffered: true});
	const look = (now) => {
		const el = document.querySelector('[data-testid="user-code"]');
		if (el && el.textContent.trim() !== "" &&
			el.checkVisibility({opacityProperty: true, visibilityProperty: true})) {
			report("shown", now);
			return;
		}
		requestAnimationFrame(look);
	};
	requestAnimationFrame(look);
	document.addEventListener("DOMContentLoaded", () => {
		const nav = performance.getEntriesByType("navigation")[0];
		report("firstbyte", nav.responseStart);
		report("lastbyte", nav.responseEnd);
		report("dcl", performance.now());
	});
})();`

// load is one page load's measurements.
type load struct {
	fcp, visible float64 // ms
	wasm         int64   // bytes of Wasm received from the network
	// The page's first and last byte and its DOMContentLoaded (ms), when
	// known by its first paint: where the time before it went.
	firstByte, lastByte, dcl float64
}

// paintSide is one page's loads: first loads, without and with the TV's
// throttle, and the Wasm bytes of a first load and its reload.
type paintSide struct {
	first, tv             []load
	wasmFirst, wasmReload int64
}

// firstPaint measures placard's screen page against the bare go-app page,
// runs loads of each, and adds the rows.
func firstPaint(ctx context.Context, o options, res *Result) error {
	started := time.Now()
	bare, err := buildBarePage(ctx, filepath.Join(o.out, "barepage"))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "placard-bench-paint-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Each load comes from an address of its own, as a TV does, through
	// X-Forwarded-For from a trusted loopback proxy: a server limits the
	// screens one address may register.
	p, _, err := startPlacard(o, filepath.Join(dir, "data"), filepath.Join(o.out, "placard-paint.log"),
		"-codes-per-minute", "1000000", "-trusted-proxies", "127.0.0.1/32")
	if err != nil {
		return err
	}
	defer p.stop()
	b, err := startBarePage(bare)
	if err != nil {
		return err
	}
	defer b.stop()
	// Every load of placard's page is a new screen: a TV that opens it
	// for the first time.
	screen := func(i int) string { return fmt.Sprintf("%s/?screen=Paint+%d", p.url, i+1) }
	ours, theirs, err := comparePaint(ctx, dir, o.paintRuns, screen, func(int) string { return b.url + "/" })
	if err != nil {
		return err
	}
	reportPaint(res, ours, theirs)
	printSplit("placard", ours)
	printSplit("bare go-app page", theirs)
	if o.paintTrace {
		if err := tracePaint(ctx, dir, o.out, screen(2*o.paintRuns), b.url+"/"); err != nil {
			return err
		}
	}
	fmt.Printf("first paint measured (%d loads of each page, %v)\n", 2*o.paintRuns, time.Since(started).Round(time.Second))
	return nil
}

// comparePaint loads two pages runs times each, with and without the
// TV's throttle, alternately, so that a burst of load on the machine falls
// on both alike. Load i of a page is the URL page(i); the Wasm is counted
// on the first run, as it does not change from run to run. Chromium's
// profile goes in dir.
func comparePaint(ctx context.Context, dir string, runs int, ours, theirs func(i int) string) (a, b paintSide, err error) {
	chromium, err := browsertest.Chromium()
	if err != nil {
		return a, b, fmt.Errorf("first paint: %w", err)
	}
	browser, closeBrowser, err := startChromium(ctx, chromium, dir)
	if err != nil {
		return a, b, err
	}
	defer closeBrowser()
	for i := range runs {
		for _, side := range []struct {
			s    *paintSide
			page func(int) string
		}{{&a, ours}, {&b, theirs}} {
			first, reload, err := loadPage(browser, side.page(2*i), 1, 2*i, i == 0)
			if err != nil {
				return a, b, err
			}
			tv, _, err := loadPage(browser, side.page(2*i+1), tvThrottle, 2*i+1, false)
			if err != nil {
				return a, b, err
			}
			side.s.first = append(side.s.first, first)
			side.s.tv = append(side.s.tv, tv)
			if i == 0 {
				side.s.wasmFirst, side.s.wasmReload = first.wasm, reload.wasm
			}
		}
	}
	return a, b, nil
}

// each is one measure of each load.
func each(loads []load, f func(load) float64) []float64 {
	out := make([]float64, len(loads))
	for i, l := range loads {
		out[i] = f(l)
	}
	return out
}

// printSplit prints where a page's time to its first paint went, medians
// in ms: the page's first and last byte, DOMContentLoaded, and first
// contentful paint.
func printSplit(name string, side paintSide) {
	for _, c := range []struct {
		name  string
		loads []load
	}{{"", side.first}, {fmt.Sprintf(" at %d× CPU throttle", tvThrottle), side.tv}} {
		med := func(f func(load) float64) float64 { return median(each(c.loads, f)) }
		fmt.Printf("%s%s, medians (ms): first byte %.0f, last byte %.0f, DOMContentLoaded %.0f, first contentful paint %.0f\n", name, c.name,
			med(func(l load) float64 { return l.firstByte }), med(func(l load) float64 { return l.lastByte }),
			med(func(l load) float64 { return l.dcl }), med(func(l load) float64 { return l.fcp }))
	}
}

// reportPaint adds the first-paint rows: median and p90 of first
// contentful paint and of the code's first visible frame, with and
// without the TV's throttle, against the baseline (goal ≤ 1.2×), and the
// Wasm bytes of a first load and of a reload (goal 0).
func reportPaint(res *Result, ours, theirs paintSide) {
	fcp := func(l load) float64 { return l.fcp }
	visible := func(l load) float64 { return l.visible }
	for _, c := range []struct {
		name         string
		ours, theirs []load
	}{
		{"", ours.first, theirs.first},
		{fmt.Sprintf(" at %d× CPU throttle", tvThrottle), ours.tv, theirs.tv},
	} {
		for _, m := range []struct {
			name string
			f    func(load) float64
		}{
			{"first contentful paint", fcp},
			{"user code visible", visible},
		} {
			a, b := each(c.ours, m.f), each(c.theirs, m.f)
			res.add(fmt.Sprintf("%s%s, median of %d", m.name, c.name, len(a)), "ms", median(a), num(median(b)), "≤ 1.2× baseline", 1.2, 0)
			res.add(fmt.Sprintf("%s%s, p90", m.name, c.name), "ms", percentile(a, 90), num(percentile(b, 90)), "≤ 1.2× baseline", 1.2, 0)
		}
	}
	mb := func(n int64) *float64 { return num(float64(n) / 1e6) }
	res.Rows = append(res.Rows, Row{Metric: "Wasm received on a first load", Unit: "MB",
		Placard: mb(ours.wasmFirst), Baseline: mb(theirs.wasmFirst)})
	met := ours.wasmReload == 0
	res.Rows = append(res.Rows, Row{Metric: "Wasm received on a reload", Unit: "MB",
		Placard: mb(ours.wasmReload), Baseline: mb(theirs.wasmReload), Goal: "0", Met: &met})
}

// startChromium starts a headless Chromium with its profile in dir.
func startChromium(ctx context.Context, path, dir string) (context.Context, func(), error) {
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, browsertest.Offline(path, filepath.Join(dir, "chromium"), 1280, 720)...)
	bctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Run(bctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, nil, fmt.Errorf("starting Chromium (%s): %w", path, err)
	}
	return bctx, func() { cancel(); cancelAlloc() }, nil
}

// tabEvents gathers what a tab reports: the paint times its page pushes,
// and the Wasm it receives from the network (responses whose URL ends in
// .wasm, less those served from the browser's cache or from a service
// worker's cache).
type tabEvents struct {
	mu                       sync.Mutex
	fcp, shown               float64
	firstByte, lastByte, dcl float64
	painted                  chan struct{}              // closed once both paint times are known
	wasm                     map[network.RequestID]bool // .wasm requests, true when from the network
	received                 int64
	finished                 int
}

func (t *tabEvents) listen(ctx context.Context) {
	t.wasm = map[network.RequestID]bool{}
	t.painted = make(chan struct{})
	chromedp.ListenTarget(ctx, func(ev any) {
		t.mu.Lock()
		defer t.mu.Unlock()
		switch ev := ev.(type) {
		case *cdpruntime.EventBindingCalled:
			var p struct {
				What string
				At   float64
			}
			if ev.Name != paintBinding || json.Unmarshal([]byte(ev.Payload), &p) != nil {
				return
			}
			switch {
			case p.What == "fcp" && t.fcp == 0:
				t.fcp = p.At
			case p.What == "shown" && t.shown == 0:
				t.shown = p.At
			case p.What == "firstbyte":
				t.firstByte = p.At
				return
			case p.What == "lastbyte":
				t.lastByte = p.At
				return
			case p.What == "dcl":
				t.dcl = p.At
				return
			default:
				return
			}
			if t.fcp > 0 && t.shown > 0 {
				close(t.painted)
			}
		case *network.EventResponseReceived:
			r := ev.Response
			if !strings.HasSuffix(strings.SplitN(r.URL, "?", 2)[0], ".wasm") {
				return
			}
			cached := r.FromDiskCache || r.FromPrefetchCache ||
				(r.FromServiceWorker && r.ServiceWorkerResponseSource != network.ServiceWorkerResponseSourceNetwork)
			t.wasm[ev.RequestID] = !cached
		case *network.EventLoadingFinished:
			fromNetwork, ok := t.wasm[ev.RequestID]
			if !ok {
				return
			}
			t.finished++
			if fromNetwork {
				t.received += int64(ev.EncodedDataLength)
			}
		}
	})
}

// paintBinding is the function the page calls with its paint times.
const paintBinding = "benchPaint"

// awaitPaint waits for both paint times. The code is visible at the first
// contentful paint, or at the frame that shows it if later: a frame can
// lay out text that is not painted yet (a stylesheet or a font still
// loading), and first contentful paint is the browser's own word for the
// first text painted.
func (t *tabEvents) awaitPaint(l *load) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		select {
		case <-t.painted:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the first contentful paint and the code: %w", ctx.Err())
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		l.fcp, l.visible = t.fcp, max(t.fcp, t.shown)
		l.firstByte, l.lastByte, l.dcl = t.firstByte, t.lastByte, t.dcl
		return nil
	})
}

// awaitWasm waits until every .wasm response has finished (one at least),
// and stores the bytes received.
func (t *tabEvents) awaitWasm(received *int64) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			t.mu.Lock()
			n, done := t.received, t.finished > 0 && t.finished == len(t.wasm)
			t.mu.Unlock()
			if done {
				*received = n
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for the Wasm: %w", ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// reset forgets the Wasm counted so far, before a reload.
func (t *tabEvents) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.wasm)
	t.received, t.finished = 0, 0
}

// loadTimeout bounds one page load, reload included.
const loadTimeout = 60 * time.Second

// loadPage loads url in a new browser context at a CPU throttle, as the
// address 127.4.x.y numbered n (through X-Forwarded-For). With reload, it
// then waits for the Wasm and for the service worker to have cached it,
// and loads the page again: the Wasm bytes of both loads are counted.
func loadPage(browser context.Context, url string, throttle float64, n int, reload bool) (first, again load, err error) {
	return loadPageTraced(browser, url, throttle, n, reload, "")
}

// traceCategories are what Chromium's performance panel records: the
// main thread's tasks (parse, style, layout, paint, scripts), loading and
// the frames.
var traceCategories = []string{"devtools.timeline", "disabled-by-default-devtools.timeline",
	"disabled-by-default-devtools.timeline.frame", "toplevel", "loading", "blink", "blink.user_timing",
	"v8.execute", "disabled-by-default-v8.compile", "netlog", "latencyInfo"}

// loadPageTraced is loadPage, and with trace set it records a performance
// trace of the first load until its code is painted, half a second more,
// written to the file trace in the Trace Event Format (chrome://tracing,
// Perfetto, or the performance panel of Chromium's developer tools).
func loadPageTraced(browser context.Context, url string, throttle float64, n int, reload bool, trace string) (first, again load, err error) {
	tab, cancel, err := newContextTab(browser)
	if err != nil {
		return first, again, err
	}
	defer cancel()
	tab, cancelTimeout := context.WithTimeout(tab, loadTimeout)
	defer cancelTimeout()
	var ev tabEvents
	ev.listen(tab)
	var traced []json.RawMessage
	var traceMu sync.Mutex
	traceDone := make(chan struct{})
	startTrace, endTrace := chromedp.ActionFunc(func(context.Context) error { return nil }), chromedp.ActionFunc(func(context.Context) error { return nil })
	if trace != "" {
		chromedp.ListenTarget(tab, func(e any) {
			switch e := e.(type) {
			case *tracing.EventDataCollected:
				traceMu.Lock()
				for _, v := range e.Value {
					traced = append(traced, json.RawMessage(v))
				}
				traceMu.Unlock()
			case *tracing.EventTracingComplete:
				close(traceDone)
			}
		})
		startTrace = func(ctx context.Context) error {
			return tracing.Start().WithTransferMode(tracing.TransferModeReportEvents).
				WithTraceConfig(&tracing.TraceConfig{IncludedCategories: traceCategories}).Do(ctx)
		}
		endTrace = func(ctx context.Context) error {
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := tracing.End().Do(ctx); err != nil {
				return err
			}
			select {
			case <-traceDone:
			case <-ctx.Done():
				return fmt.Errorf("waiting for the trace: %w", ctx.Err())
			}
			traceMu.Lock()
			defer traceMu.Unlock()
			b, err := json.Marshal(map[string]any{"traceEvents": traced})
			if err != nil {
				return err
			}
			return os.WriteFile(trace, b, 0o644)
		}
	}
	addr := fmt.Sprintf("127.4.%d.%d", n/250, 1+n%250)
	err = chromedp.Run(tab,
		network.Enable(),
		cdpruntime.Enable(),
		network.SetExtraHTTPHeaders(network.Headers{"X-Forwarded-For": addr}),
		emulation.SetCPUThrottlingRate(throttle),
		cdpruntime.AddBinding(paintBinding),
		// The tab first opens a small file of the page's server (both
		// pages have the icon), so that the page loads in a renderer of
		// its own origin. From about:blank, Chromium would start a new
		// renderer for a page that sends Cross-Origin-Opener-Policy
		// (placard's does) and none for one that does not (the bare
		// page's): a TV that opens either as its start page starts one.
		chromedp.Navigate(origin(url)+"/web/icon.svg"),
		startTrace,
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(paintScript).Do(ctx)
			if err != nil {
				return err
			}
			// Not chromedp.Navigate, which waits for the load event.
			_, _, errText, _, err := page.Navigate(url).Do(ctx)
			if err == nil && errText != "" {
				err = errors.New(errText)
			}
			return err
		}),
		ev.awaitPaint(&first),
		endTrace,
	)
	if err != nil {
		return first, again, fmt.Errorf("loading %s: %w", url, err)
	}
	if !reload {
		return first, again, nil
	}
	// The Wasm received, and in the service worker's cache, before the
	// page is loaded again, as a TV loads it the next day.
	err = chromedp.Run(tab,
		ev.awaitWasm(&first.wasm),
		chromedp.ActionFunc(func(ctx context.Context) error {
			for {
				var cached bool
				err := chromedp.Evaluate(wasmCached, &cached, awaitPromise).Do(ctx)
				if err != nil || cached {
					return err
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for the Wasm in the service worker's cache: %w", ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		}),
		chromedp.ActionFunc(func(context.Context) error { ev.reset(); return nil }),
		chromedp.Reload(),
		chromedp.WaitVisible(`[data-testid="user-code"]`, chromedp.ByQuery),
		ev.awaitWasm(&again.wasm),
	)
	if err != nil {
		return first, again, fmt.Errorf("reloading %s: %w", url, err)
	}
	return first, again, nil
}

// origin is a URL's scheme and host.
func origin(u string) string {
	p, err := neturl.Parse(u)
	if err != nil {
		return u
	}
	return p.Scheme + "://" + p.Host
}

// newContextTab opens a tab in a new browser context, in a window of its
// own (headless Chromium opens no tab in a context without a window),
// and closes both when done.
func newContextTab(browser context.Context) (context.Context, func(), error) {
	c := chromedp.FromContext(browser)
	if c == nil || c.Browser == nil {
		return nil, nil, errors.New("no browser to open a tab in")
	}
	exec := cdp.WithExecutor(browser, c.Browser)
	bc, err := target.CreateBrowserContext().Do(exec)
	if err != nil {
		return nil, nil, fmt.Errorf("creating a browser context: %w", err)
	}
	dispose := func() { target.DisposeBrowserContext(bc).Do(exec) }
	id, err := target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(exec)
	if err != nil {
		dispose()
		return nil, nil, fmt.Errorf("opening a tab: %w", err)
	}
	tab, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(id))
	return tab, func() { cancel(); dispose() }, nil
}

// wasmCached reports whether a cache of the page's origin holds a .wasm.
const wasmCached = `(async () => {
	for (const name of await caches.keys()) {
		for (const req of await (await caches.open(name)).keys()) {
			if (new URL(req.url).pathname.endsWith(".wasm")) {
				return true;
			}
		}
	}
	return false;
})()`

func awaitPromise(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams {
	return p.WithAwaitPromise(true)
}

// buildBarePage builds the baseline page into dir: its server (dir/barepage)
// and its Wasm (dir/web/app.wasm), with the module's own go-app. Go's build
// cache makes a second build quick.
func buildBarePage(ctx context.Context, dir string) (string, error) {
	// Absolute: the server runs in dir.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "web"), 0o755); err != nil {
		return "", err
	}
	goBin := "go"
	if g := os.Getenv("GO"); g != "" {
		goBin = g
	}
	for _, b := range []struct {
		out string
		env []string
	}{
		{filepath.Join(dir, "barepage"), nil},
		// As `make wasm` builds placard's.
		{filepath.Join(dir, "web", "app.wasm"), []string{"GOOS=js", "GOARCH=wasm"}},
	} {
		cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s", "-o", b.out, barePagePkg)
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("building the baseline page (%s, from the module's root): %w\n%s", strings.Join(b.env, " "), err, out)
		}
	}
	return dir, nil
}

// startBarePage starts the baseline page's server, built in dir, on a
// free port.
func startBarePage(dir string) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(dir, "barepage"), "-addr", addr)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, url: "http://" + addr, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	if _, err := p.awaitReady("/", 30*time.Second, start); err != nil {
		p.stop()
		return nil, fmt.Errorf("baseline page: %w", err)
	}
	return p, nil
}

// tracePaint records a performance trace of one first load of each page
// at the TV's throttle, into out: trace-placard.json and trace-bare.json.
func tracePaint(ctx context.Context, dir, out, ours, theirs string) error {
	chromium, err := browsertest.Chromium()
	if err != nil {
		return fmt.Errorf("first paint: %w", err)
	}
	browser, closeBrowser, err := startChromium(ctx, chromium, dir)
	if err != nil {
		return err
	}
	defer closeBrowser()
	for i, side := range []struct{ name, url string }{{"placard", ours}, {"bare", theirs}} {
		path := filepath.Join(out, "trace-"+side.name+".json")
		l, _, err := loadPageTraced(browser, side.url, tvThrottle, 1000+i, false, path)
		if err != nil {
			return err
		}
		fmt.Printf("trace: %s (first contentful paint %.0f ms, code visible %.0f ms)\n", path, l.fcp, l.visible)
	}
	return nil
}
