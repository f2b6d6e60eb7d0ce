package httpd

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/placard/placard/server/admit"
)

// TestPagesAndSignInsPastTheirQueueAreToldWhenToComeBack takes the one
// place of each gate, with no queue, and asks for a screen's page and a
// phone's sign-in page: each is answered 503 with Retry-After and a page
// that loads itself again then, before any work is done for it.
func TestPagesAndSignInsPastTheirQueueAreToldWhenToComeBack(t *testing.T) {
	assets, err := NewAssets(fstest.MapFS{"app-worker.js": {Data: []byte("// worker")}}, fstest.MapFS{"app.wasm": {Data: []byte("\x00asm")}})
	if err != nil {
		t.Fatal(err)
	}
	one := admit.Limits{Running: 1, Queue: 0, Wait: time.Second}
	s := &Server{Assets: assets, Pages: one, SignIns: one}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, c := range []struct {
		path string
		gate *admit.Gate
	}{
		{"/?screen=Lobby", s.pages},
		{"/signin/abc", s.signIns},
	} {
		leave, err := c.gate.Enter(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Get(srv.URL + c.path)
		leave()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if res.StatusCode != http.StatusServiceUnavailable || err != nil || secs < 1 {
			t.Errorf("%s while its gate is full: %s, Retry-After %q; want 503 and whole seconds", c.path, res.Status, res.Header.Get("Retry-After"))
			continue
		}
		if !strings.Contains(string(body), `http-equiv="refresh" content="`+strconv.Itoa(secs)+`"`) {
			t.Errorf("%s: the refusal does not load itself again after %d s:\n%s", c.path, secs, body)
		}
	}
}
