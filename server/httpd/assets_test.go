package httpd

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
)

// testAssets are a static file and an "app.wasm" with its brotli form and
// length, made here as `make wasm` makes them (which leaves the raw file
// out; an older build has it too).
func testAssets(t *testing.T, withRaw ...bool) (*Assets, []byte) {
	t.Helper()
	wasm, files := testWasm(t)
	if len(withRaw) > 0 && withRaw[0] {
		files["app.wasm"] = &fstest.MapFile{Data: wasm}
	}
	a, err := NewAssets(fstest.MapFS{"placard.css": {Data: []byte("body{}")}}, files)
	if err != nil {
		t.Fatal(err)
	}
	return a, wasm
}

// testWasm is an "app.wasm" and the files `make wasm` embeds for it.
func testWasm(t *testing.T) ([]byte, fstest.MapFS) {
	t.Helper()
	wasm := bytes.Repeat([]byte("\x00asm placard screen "), 500)
	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, 5)
	bw.Write(wasm)
	bw.Close()
	return wasm, fstest.MapFS{
		"app.wasm.br":   {Data: br.Bytes()},
		"app.wasm.size": {Data: []byte(strconv.Itoa(len(wasm)) + "\n")},
	}
}

func TestWasmIsServedPrecompressedAsTheBrowserAccepts(t *testing.T) {
	for _, withRaw := range []bool{false, true} {
		t.Run(map[bool]string{false: "compressed forms only", true: "with the raw file"}[withRaw], func(t *testing.T) {
			testWasmServed(t, withRaw)
		})
	}
}

func testWasmServed(t *testing.T, withRaw bool) {
	a, wasm := testAssets(t, withRaw)
	cases := []struct {
		accept, encoding string
		decode           func(io.Reader) (io.Reader, error)
	}{
		{"gzip, deflate, br, zstd", "br", func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil }},
		{"br;q=0, gzip", "gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
		{"gzip;q=1.0", "gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
		{"", "", func(r io.Reader) (io.Reader, error) { return r, nil }},
		{"identity", "", func(r io.Reader) (io.Reader, error) { return r, nil }},
	}
	for _, c := range cases {
		t.Run("Accept-Encoding "+c.accept, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, a.WasmPath(), nil)
			req.Header.Set("Accept-Encoding", c.accept)
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %s", res.Status)
			}
			h := res.Header
			if got := h.Get("Content-Encoding"); got != c.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, c.encoding)
			}
			if got := h.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q: the hashed app.wasm must be cached for good", got)
			}
			if h.Get("Vary") != "Accept-Encoding" || h.Get("Content-Type") != "application/wasm" {
				t.Errorf("Vary %q, Content-Type %q", h.Get("Vary"), h.Get("Content-Type"))
			}
			r, err := c.decode(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wasm) {
				t.Errorf("the %q body does not decode to app.wasm", c.encoding)
			}
			if res.ContentLength != int64(rec.Body.Len()) {
				t.Errorf("Content-Length %d, but %d bytes were sent", res.ContentLength, rec.Body.Len())
			}
			if c.encoding == "" && (res.ContentLength != int64(len(wasm)) || h.Get("X-Content-Length") != strconv.Itoa(len(wasm))) {
				t.Errorf("identity: Content-Length %d, X-Content-Length %s, want %d", res.ContentLength, h.Get("X-Content-Length"), len(wasm))
			}
		})
	}
}

func TestWasmNameChangesWithItsContent(t *testing.T) {
	a, _ := testAssets(t)
	b, err := NewAssets(fstest.MapFS{}, fstest.MapFS{"app.wasm": {Data: []byte("\x00asm another build")}})
	if err != nil {
		t.Fatal(err)
	}
	if a.WasmPath() == b.WasmPath() || !strings.HasPrefix(a.WasmPath(), "/web/app.") {
		t.Errorf("two builds share the path %s / %s", a.WasmPath(), b.WasmPath())
	}
	if got := a.Resolve("/web/app.wasm"); got != a.WasmPath() {
		t.Errorf("go-app's /web/app.wasm resolves to %s, want %s", got, a.WasmPath())
	}
	// The unhashed name is never cached for good: its content changes.
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/web/app.wasm", nil))
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("/web/app.wasm has Cache-Control %q, want no-cache", got)
	}
}

func TestManifestAsksForTheWholeDisplayWithOurIcons(t *testing.T) {
	rec := httptest.NewRecorder()
	(&Server{}).serveManifest(rec, httptest.NewRequest(http.MethodGet, "/manifest.webmanifest", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/manifest+json" {
		t.Errorf("Content-Type %q", ct)
	}
	var m manifest
	if err := json.NewDecoder(rec.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Display != "fullscreen" || m.StartURL != "/" || m.ThemeColor != screenColour || m.BackgroundColor != screenColour {
		t.Errorf("manifest %+v", m)
	}
	have := map[string]bool{}
	for _, i := range m.Icons {
		if !strings.HasPrefix(i.Src, "/web/") {
			t.Errorf("icon %s is not ours", i.Src)
		}
		have[i.Sizes+" "+i.Purpose] = true
	}
	for _, want := range []string{"192x192 any", "512x512 any", "512x512 maskable"} {
		if !have[want] {
			t.Errorf("the manifest has no %s icon: %+v", want, m.Icons)
		}
	}
}

// opens counts the files opened in a file system, by name.
type opens struct {
	fs.FS
	mu sync.Mutex
	n  map[string]int
}

func (o *opens) Open(name string) (fs.File, error) {
	o.mu.Lock()
	o.n[name]++
	o.mu.Unlock()
	return o.FS.Open(name)
}

func (o *opens) count(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[name]
}

func TestTheGzipFormIsMadeFromTheBrotliFormOnceForEveryRequest(t *testing.T) {
	wasm, files := testWasm(t)
	embedded := &opens{FS: files, n: map[string]int{}}
	a, err := NewAssets(fstest.MapFS{}, embedded)
	if err != nil {
		t.Fatal(err)
	}
	atStart := embedded.count("app.wasm.br") // read once, for the name's hash
	const screens = 8
	bodies := make([][]byte, screens)
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodGet, a.WasmPath(), nil)
			req.Header.Set("Accept-Encoding", "gzip, deflate")
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			bodies[i] = rec.Body.Bytes()
		})
	}
	wg.Wait()
	if got := embedded.count("app.wasm.br") - atStart; got != 1 {
		t.Errorf("%d screens' requests read the brotli form %d times, want once", screens, got)
	}
	for i, b := range bodies {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("screen %d: %v", i, err)
		}
		if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, wasm) {
			t.Errorf("screen %d: the gzip form does not decode to app.wasm (%v)", i, err)
		}
	}
}

func TestAWasmBuildWithoutItsRightLengthIsRefusedSayingWhatToDo(t *testing.T) {
	wasm, files := testWasm(t)
	for _, c := range []struct {
		name, size string // "" leaves app.wasm.size out
		// atStart: NewAssets refuses; else the first gzip request does.
		atStart bool
	}{
		{"no length", "", true},
		{"not a number", "eight", true},
		{"zero", "0", true},
		{"another length", strconv.Itoa(len(wasm) + 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			embedded := fstest.MapFS{"app.wasm.br": files["app.wasm.br"]}
			if c.size != "" {
				embedded["app.wasm.size"] = &fstest.MapFile{Data: []byte(c.size)}
			}
			a, err := NewAssets(fstest.MapFS{}, embedded)
			if c.atStart {
				if err == nil || !strings.Contains(err.Error(), "app.wasm.size") || !strings.Contains(err.Error(), "make wasm") {
					t.Errorf("NewAssets: %v, want an error naming app.wasm.size and make wasm", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, a.WasmPath(), nil)
			req.Header.Set("Accept-Encoding", "gzip")
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			if body := rec.Body.String(); rec.Code != http.StatusInternalServerError || !strings.Contains(body, "make wasm") {
				t.Errorf("%d %q, want 500 saying to build with make wasm", rec.Code, body)
			}
		})
	}
}
