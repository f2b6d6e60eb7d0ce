package httpd

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Assets serves /web/: the static files, and app.wasm under a name that
// carries its content hash, precompressed (brotli or gzip, as the browser
// accepts) and cached for good. It is go-app's ResourceResolver.
//
// The binary embeds app.wasm compressed only (`make wasm` keeps the raw
// file out of it): a browser that accepts neither encoding gets the gzip
// form decompressed as it is sent, which costs no memory at rest.
type Assets struct {
	static fs.FS
	// wasm holds app.wasm's forms, read from it as each request is
	// served: an embedded file is read in place, so the server keeps no
	// copy in memory.
	wasm     fs.FS
	forms    map[string]wasmForm // by encoding: "br", "gzip", "" (identity) when built in
	rawSize  int                 // the length of app.wasm itself
	wasmName string              // app.<hash>.wasm
	version  string
}

// wasmForm is one form of app.wasm in the Assets' file system.
type wasmForm struct {
	name string
	size int
}

// NewAssets reads the static files and the built app.wasm (its .br and .gz
// forms, and the raw file when present) from the two file systems.
func NewAssets(static, wasm fs.FS) (*Assets, error) {
	a := &Assets{static: static, wasm: wasm, forms: map[string]wasmForm{}}
	for enc, name := range map[string]string{"": "app.wasm", "br": "app.wasm.br", "gzip": "app.wasm.gz"} {
		fi, err := fs.Stat(wasm, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("httpd: reading %s: %w", name, err)
		}
		a.forms[enc] = wasmForm{name: name, size: int(fi.Size())}
	}
	// The name is the hash of one form of app.wasm: the gzip form when
	// there is one (a quarter of the raw file, which is then never read
	// at start), else the raw file.
	gz, hasGzip := a.forms["gzip"]
	named, hasRaw := a.forms[""]
	if hasGzip {
		named = gz
	}
	h := sha256.New()
	var tail gzipTail
	if hasGzip || hasRaw {
		f, err := wasm.Open(named.name)
		if err != nil {
			return nil, fmt.Errorf("httpd: reading %s: %w", named.name, err)
		}
		_, err = io.Copy(io.MultiWriter(h, &tail), f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("httpd: reading %s: %w", named.name, err)
		}
	}
	switch {
	case hasRaw:
		a.rawSize = a.forms[""].size
	case hasGzip && gz.size >= 18:
		// gzip's trailer ends with the data's length (RFC 1952 ISIZE).
		a.rawSize = int(binary.LittleEndian.Uint32(tail[:]))
	default:
		delete(a.forms, "br") // nothing to derive the raw file from
	}
	wasmHash := hex.EncodeToString(h.Sum(nil))[:16]
	a.wasmName = "app." + wasmHash + ".wasm"
	// The version covers the static files too: a new stylesheet is a new
	// version for the service worker.
	var names []string
	fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(static, n)
		if err != nil {
			return nil, err
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	a.version = hex.EncodeToString(h.Sum(nil))[:16]
	return a, nil
}

// gzipTail keeps the last four bytes written to it: a gzip stream's ISIZE.
type gzipTail [4]byte

func (t *gzipTail) Write(p []byte) (int, error) {
	if len(p) >= len(t) {
		copy(t[:], p[len(p)-len(t):])
	} else {
		copy(t[:], t[len(p):])
		copy(t[len(t)-len(p):], p)
	}
	return len(p), nil
}

// HasWasm reports whether app.wasm was built into the binary.
func (a *Assets) HasWasm() bool { return a.rawSize > 0 }

// Version changes whenever any asset changes.
func (a *Assets) Version() string { return a.version }

// WasmPath is the URL of app.wasm.
func (a *Assets) WasmPath() string { return "/web/" + a.wasmName }

// Resolve maps a resource path to its URL: app.wasm to its hashed name,
// everything else to itself.
func (a *Assets) Resolve(loc string) string {
	switch {
	case loc == "" || loc == "/":
		return "/"
	case strings.HasPrefix(loc, "https://") || strings.HasPrefix(loc, "http://"):
		return loc
	case strings.Trim(loc, "/") == "web/app.wasm":
		return a.WasmPath()
	}
	return "/" + strings.TrimLeft(loc, "/")
}

// ServeHTTP serves /web/...
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/web/")
	if name == a.wasmName || name == "app.wasm" {
		a.serveWasm(w, r, name == a.wasmName)
		return
	}
	b, err := fs.ReadFile(a.static, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", `"`+a.version+`"`)
	if ct := contentType(name); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

func (a *Assets) serveWasm(w http.ResponseWriter, r *http.Request, hashed bool) {
	if !a.HasWasm() {
		http.Error(w, "app.wasm was not built into this binary: build the server with `make build`", http.StatusNotFound)
		return
	}
	enc := pickEncoding(r.Header.Get("Accept-Encoding"), a.forms)
	form, stored := a.forms[enc]
	length := form.size
	if enc == "" {
		length = a.rawSize
	}
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Vary", "Accept-Encoding")
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	if hashed {
		// The name changes with the content: cache it for good, so that a
		// reload downloads no Wasm.
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	// go-app's loader shows progress from the identity length.
	h.Set("X-Content-Length", strconv.Itoa(a.rawSize))
	h.Set("Content-Length", strconv.Itoa(length))
	if r.Method == http.MethodHead {
		return
	}
	// The forms were made by the build and are checked by its tests: a
	// failure here is the client going away, and the status is sent
	// already.
	if !stored {
		form = a.forms["gzip"]
	}
	f, err := a.wasm.Open(form.name)
	if err != nil {
		return
	}
	defer f.Close()
	if stored {
		io.Copy(w, f)
		return
	}
	// Derived from the gzip form as it is sent.
	if zr, err := gzip.NewReader(f); err == nil {
		io.Copy(w, zr)
	}
}

// pickEncoding chooses brotli, else gzip, else none, among what the
// request accepts (q=0 refuses) and what was built.
func pickEncoding(accept string, have map[string]wasmForm) string {
	ok := map[string]bool{}
	for _, part := range strings.Split(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); found {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		ok[name] = true
	}
	for _, enc := range []string{"br", "gzip"} {
		if (ok[enc] || ok["*"]) && have[enc].size > 0 {
			return enc
		}
	}
	return ""
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".woff2":
		return "font/woff2"
	case ".json", ".webmanifest":
		return "application/manifest+json"
	}
	return ""
}

func (a *Assets) readStatic(name string) ([]byte, error) { return fs.ReadFile(a.static, name) }
