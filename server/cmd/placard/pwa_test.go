package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/chromedp/chromedp"

	"github.com/placard/placard/server/internal/browsertest"
)

// countingProxy stands between the browser and the edge server: it counts
// the requests that reach the server, and can play a server that is down.
type countingProxy struct {
	*httptest.Server
	down  atomic.Bool
	mu    sync.Mutex
	paths map[string]int
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{paths: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			// A server that is gone: the connection closes unanswered.
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		p.mu.Lock()
		p.paths[r.URL.Path]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// count is how many requests for paths matching re reached the server.
func (p *countingProxy) count(re *regexp.Regexp) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for path, c := range p.paths {
		if re.MatchString(path) {
			n += c
		}
	}
	return n
}

var wasmPathRE = regexp.MustCompile(`^/web/app\.[0-9a-f]+\.wasm$`)

func TestReloadDownloadsNoWasmAndOfflineShowsItsPage(t *testing.T) {
	t.Parallel()
	m := testServer(t)
	proxy := newCountingProxy(t, m.URL)
	browser := browsertest.New(t)
	page := proxy.URL + "/?screen=" + url.QueryEscape("Kiosk 7")

	browsertest.Run(t, browser, 30*time.Second, "loading the screen the first time",
		emulate(screenSizes[0]),
		chromedp.Navigate(page),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
		// The service worker has installed, and cached app.wasm.
		chromedp.Evaluate(`navigator.serviceWorker.ready.then(() => { window.placardWorker = true }); 0`, nil),
		browsertest.Until(`window.placardWorker === true && !!navigator.serviceWorker.controller`),
	)
	first := proxy.count(wasmPathRE)
	if first == 0 {
		t.Fatalf("app.wasm never reached the browser through the proxy (requests: %v)", proxy.paths)
	}

	browsertest.Run(t, browser, 30*time.Second, "reloading",
		chromedp.Reload(),
		chromedp.WaitVisible(browsertest.State("code")),
		wasmRuns,
	)
	if again := proxy.count(wasmPathRE) - first; again != 0 {
		t.Errorf("a reload downloaded app.wasm %d more times", again)
	}

	proxy.down.Store(true)
	var title string
	browsertest.Run(t, browser, 30*time.Second, "opening the screen with the edge server down",
		chromedp.Navigate(page),
		chromedp.WaitVisible(`[data-testid="screen"][data-state="reconnecting"] [data-testid="error-title"]`),
		chromedp.Text(browsertest.TestID("error-title"), &title),
	)
	if !strings.Contains(title, "cannot be reached") {
		t.Errorf("the offline page says %q", title)
	}
	checkLayout(t, browser, "reconnecting", screenSizes[0], []string{"error-title", "error-message"})
}

func TestWasmIsSentWithBrotliAndKeptForGood(t *testing.T) {
	m := testServer(t)
	// The Go client must not ask for gzip itself, nor decode the answer.
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	_, js := get(t, c, m.URL+"/app.js")
	wasmURL := regexp.MustCompile(`/web/app\.[0-9a-f]+\.wasm`).FindString(js)
	if wasmURL == "" {
		t.Fatalf("app.js loads no hashed app.wasm:\n%.500s", js)
	}
	fetch := func(accept string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, m.URL+wasmURL, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	plain, raw := fetch("")
	br, compressed := fetch("gzip, deflate, br")
	if plain.Header.Get("Content-Encoding") != "" || !bytes.HasPrefix(raw, []byte("\x00asm")) {
		t.Fatalf("without Accept-Encoding: Content-Encoding %q, body %q…", plain.Header.Get("Content-Encoding"), raw[:min(8, len(raw))])
	}
	if got := br.Header.Get("Content-Encoding"); got != "br" {
		t.Fatalf("Accept-Encoding with br: Content-Encoding %q", got)
	}
	for _, h := range []string{"Cache-Control", "Vary", "Content-Type"} {
		t.Logf("%s: %s", h, br.Header.Get(h))
	}
	if got := br.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") || !strings.Contains(got, "max-age=31536000") {
		t.Errorf("Cache-Control %q, want a year and immutable", got)
	}
	decoded, err := io.ReadAll(brotli.NewReader(bytes.NewReader(compressed)))
	if err != nil {
		t.Fatalf("decoding the brotli body: %v", err)
	}
	if !bytes.Equal(decoded, raw) {
		t.Errorf("the brotli body (%d bytes) does not decode to app.wasm (%d bytes)", len(compressed), len(raw))
	}
	t.Logf("app.wasm: %d bytes, %d with brotli", len(raw), len(compressed))
	if len(compressed) > len(raw)/3 {
		t.Errorf("brotli saves too little: %d of %d bytes", len(compressed), len(raw))
	}
}

func TestManifestAndWorkerServeOnlyOurOwnFiles(t *testing.T) {
	m := testServer(t)
	c := httpClient(t)
	res, body := get(t, c, m.URL+"/manifest.webmanifest")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /manifest.webmanifest: %s", res.Status)
	}
	var man struct {
		Display string `json:"display"`
		Icons   []struct {
			Src string `json:"src"`
		} `json:"icons"`
	}
	if err := json.Unmarshal([]byte(body), &man); err != nil {
		t.Fatal(err)
	}
	if man.Display != "fullscreen" {
		t.Errorf("the served manifest has display %q: go-app's own would say standalone", man.Display)
	}
	for _, i := range man.Icons {
		if res, _ := get(t, c, m.URL+i.Src); res.StatusCode != http.StatusOK {
			t.Errorf("icon %s: %s", i.Src, res.Status)
		}
	}
	_, worker := get(t, c, m.URL+"/app-worker.js")
	for _, want := range []string{"/web/offline.html", "/web/fonts/inter-latin.woff2", "/web/placard.css", ".wasm"} {
		if !strings.Contains(worker, want) {
			t.Errorf("the service worker does not cache %s", want)
		}
	}
	// Nothing the page loads comes from another origin.
	_, html := get(t, c, m.URL+"/?screen=Origin")
	for _, ref := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		u, err := url.Parse(ref[1])
		if err != nil || (u.Host != "" && !sameHost(u.Host, m.URL)) {
			t.Errorf("the page loads %s from another origin", ref[1])
		}
	}
}

func sameHost(host, base string) bool {
	u, _ := url.Parse(base)
	h1, _, _ := net.SplitHostPort(host)
	return host == u.Host || h1 == u.Hostname()
}
