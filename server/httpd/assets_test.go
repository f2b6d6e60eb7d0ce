package httpd

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
)

// testAssets are a static file and an "app.wasm" with its compressed forms,
// made here as `make wasm` makes them (which leaves the raw file out; an
// older build has it too).
func testAssets(t *testing.T, withRaw ...bool) (*Assets, []byte) {
	t.Helper()
	wasm := bytes.Repeat([]byte("\x00asm placard screen "), 500)
	var br, gz bytes.Buffer
	bw := brotli.NewWriterLevel(&br, 5)
	bw.Write(wasm)
	bw.Close()
	gw := gzip.NewWriter(&gz)
	gw.Write(wasm)
	gw.Close()
	files := fstest.MapFS{"app.wasm.br": {Data: br.Bytes()}, "app.wasm.gz": {Data: gz.Bytes()}}
	if len(withRaw) > 0 && withRaw[0] {
		files["app.wasm"] = &fstest.MapFile{Data: wasm}
	}
	a, err := NewAssets(fstest.MapFS{"placard.css": {Data: []byte("body{}")}}, files)
	if err != nil {
		t.Fatal(err)
	}
	return a, wasm
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

func TestTheGzipTrailerIsTheLastFourBytesHoweverTheyAreWritten(t *testing.T) {
	data := []byte("0123456789abcdef")
	for _, chunk := range []int{1, 2, 3, 4, 5, 16} {
		var tail gzipTail
		for i := 0; i < len(data); i += chunk {
			tail.Write(data[i:min(i+chunk, len(data))])
		}
		if string(tail[:]) != "cdef" {
			t.Errorf("written %d bytes at a time: the tail is %q, want %q", chunk, tail[:], "cdef")
		}
	}
}
