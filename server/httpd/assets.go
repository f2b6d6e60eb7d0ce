package httpd

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
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
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// Assets serves /web/: the static files, and app.wasm under a name that
// carries its content hash, compressed (brotli or gzip, as the browser
// accepts) and cached for good. It is go-app's ResourceResolver.
//
// The binary embeds app.wasm's brotli form only (`make wasm` keeps the raw
// file out of it). The gzip form, for browsers that get no brotli (over
// plain HTTP, as on most screens of a LAN), is made from it at the first
// request for it, once, and kept; a client that accepts neither gets the
// brotli form decompressed as it is sent.
type Assets struct {
	static fs.FS
	// wasm holds app.wasm's stored forms, read from it as each request is
	// served: an embedded file is read in place, so the server keeps no
	// copy in memory.
	wasm     fs.FS
	forms    map[string]wasmForm // stored, by encoding: "br", "" (identity) when built in
	rawSize  int                 // the length of app.wasm itself
	wasmName string              // app.<hash>.wasm
	version  string
	// gzipped makes the gzip form the first time it is asked for.
	gzipped func() ([]byte, error)
}

// wasmForm is one form of app.wasm in the Assets' file system.
type wasmForm struct {
	name string
	size int
}

// gzipLevel is the gzip form's: flate's default takes 0.3 s for the 8 MB
// app.wasm and comes within 0.5% of its best compression, which takes
// 0.8 s (measured on the build of 2026-12-06).
const gzipLevel = gzip.DefaultCompression

// NewAssets reads the static files and the built app.wasm (its .br form
// with the .size beside it, and the raw file when present) from the two
// file systems.
func NewAssets(static, wasm fs.FS) (*Assets, error) {
	a := &Assets{static: static, wasm: wasm, forms: map[string]wasmForm{}}
	for enc, name := range map[string]string{"": "app.wasm", "br": "app.wasm.br"} {
		fi, err := fs.Stat(wasm, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("httpd: reading %s: %w", name, err)
		}
		a.forms[enc] = wasmForm{name: name, size: int(fi.Size())}
	}
	raw, hasRaw := a.forms[""]
	br, hasBrotli := a.forms["br"]
	switch {
	case hasRaw:
		a.rawSize = raw.size
	case hasBrotli:
		b, err := fs.ReadFile(wasm, "app.wasm.size")
		if err != nil {
			return nil, fmt.Errorf("httpd: reading app.wasm.size, the length of app.wasm beside its brotli form: %w (build with `make wasm`)", err)
		}
		if a.rawSize, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || a.rawSize <= 0 {
			return nil, fmt.Errorf("httpd: app.wasm.size holds %q, not the length of app.wasm (build with `make wasm`)", b)
		}
	}
	// The name is the hash of one stored form of app.wasm: the brotli one
	// when there is one (a fifth of the raw file, which is then never read
	// at start).
	named := raw
	if hasBrotli {
		named = br
	}
	h := sha256.New()
	if hasRaw || hasBrotli {
		f, err := wasm.Open(named.name)
		if err != nil {
			return nil, fmt.Errorf("httpd: reading %s: %w", named.name, err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("httpd: reading %s: %w", named.name, err)
		}
	}
	a.gzipped = sync.OnceValues(a.makeGzip)
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

// openRaw opens app.wasm itself: the raw file when it was built in, else
// the brotli form, decompressed as it is read.
func (a *Assets) openRaw() (io.ReadCloser, error) {
	if raw, ok := a.forms[""]; ok {
		return a.wasm.Open(raw.name)
	}
	f, err := a.wasm.Open(a.forms["br"].name)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{brotli.NewReader(f), f}, nil
}

// makeGzip makes app.wasm's gzip form. It runs once (a.gzipped); the form is
// then kept, 2.2 MB of the heap, for as long as the server runs.
func (a *Assets) makeGzip() ([]byte, error) {
	r, err := a.openRaw()
	if err != nil {
		return nil, fmt.Errorf("httpd: making app.wasm's gzip form: %w", err)
	}
	defer r.Close()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzipLevel)
	if err != nil {
		return nil, fmt.Errorf("httpd: making app.wasm's gzip form: %w", err)
	}
	n, err := io.Copy(zw, r)
	if err == nil {
		err = zw.Close()
	}
	if err == nil && n != int64(a.rawSize) {
		err = fmt.Errorf("app.wasm is %d bytes, not the %d its build recorded (build with `make wasm`)", n, a.rawSize)
	}
	if err != nil {
		return nil, fmt.Errorf("httpd: making app.wasm's gzip form: %w", err)
	}
	return b.Bytes(), nil
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
	length := a.rawSize
	var gzipped []byte
	switch enc {
	case "br":
		length = a.forms["br"].size
	case "gzip":
		var err error
		if gzipped, err = a.gzipped(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		length = len(gzipped)
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
	// The brotli form was made by the build and is checked by its tests:
	// a failure here is the client going away, and the status is sent
	// already.
	var f io.ReadCloser
	var err error
	switch enc {
	case "gzip":
		w.Write(gzipped)
		return
	case "br":
		f, err = a.wasm.Open(a.forms["br"].name)
	default:
		f, err = a.openRaw()
	}
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(w, f)
}

// pickEncoding chooses brotli when it was built, else gzip, else none,
// among what the request accepts (q=0 refuses).
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
	if (ok["br"] || ok["*"]) && have["br"].size > 0 {
		return "br"
	}
	if ok["gzip"] || ok["*"] {
		return "gzip" // made from a stored form
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
