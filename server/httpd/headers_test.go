package httpd

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOpenerPolicyOnlyWhereBrowsersApplyIt(t *testing.T) {
	for _, c := range []struct {
		host string
		tls  bool
		want bool
	}{
		{"127.0.0.1:8080", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{"tv.localhost", false, true},
		// A TV on the LAN, on plain HTTP: ignored, and reported as an
		// error on every page.
		{"placard.lan:8080", false, false},
		{"192.168.1.20:8080", false, false},
		{"placard.lan", true, true},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = c.host
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		securityHeaders(http.NotFoundHandler()).ServeHTTP(w, r)
		if got := w.Header().Get("Cross-Origin-Opener-Policy") != ""; got != c.want {
			t.Errorf("%s (TLS %v): Cross-Origin-Opener-Policy sent %v, want %v", c.host, c.tls, got, c.want)
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s (TLS %v): no Content-Security-Policy", c.host, c.tls)
		}
	}
}
