package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// longPollServer serves the control API, and says on the channel when the
// handler of a long poll (?after=) has returned.
func longPollServer(t *testing.T, sb *sandbox.Sandbox) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	h := sb.Handler()
	returned := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Query().Has("after") {
			returned <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, returned
}

// askAfter begins GET users/{upn}/requests?after=...; the answer's
// headers have arrived when it returns.
func askAfter(t *testing.T, ctx context.Context, srv *httptest.Server, upn, after string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/sandbox/api/users/"+upn+"/requests?after="+after, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readRequests(t *testing.T, res *http.Response) []sandbox.GraphRequest {
	t.Helper()
	var out []sandbox.GraphRequest
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s, %v", res.Request.URL, res.Status, err)
	}
	return out
}

func endpoints(reqs []sandbox.GraphRequest) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Endpoint)
	}
	return out
}

func TestAClientWaitsForAUsersNextGraphRequest(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, _ := longPollServer(t, sb)
	adaAuth := bearer(t, sb, ada, "User.Read", "Presence.Read")
	batch := `{"requests":[{"id":"presence","method":"GET","url":"/me/presence"},{"id":"me","method":"GET","url":"/me"}]}`
	if a := send(t, gc, "POST", graphBase+"/$batch", batch, "Authorization", adaAuth, "Content-Type", "application/json"); a.status != 200 {
		t.Fatalf("ada's batch: %d %s", a.status, a.raw)
	}

	// Requests after the mark exist: the answer lists those alone.
	got := readRequests(t, askAfter(t, t.Context(), srv, ada, "1"))
	if len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 || got[0].Endpoint != "graph /me/presence" {
		t.Fatalf("ada's requests after 1: %+v, want numbers 2 and 3", got)
	}

	// None after it: the wait has begun when the headers arrive, and
	// another user's request does not end it; the user's next one does.
	res := askAfter(t, t.Context(), srv, ada, "3")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("waiting for ada's request 4: %s", res.Status)
	}
	get(t, gc, graphBase+"/me", "Authorization", bearer(t, sb, grace, "User.Read"))
	get(t, gc, graphBase+"/me/presence", "Authorization", adaAuth)
	got = readRequests(t, res)
	if len(got) != 1 || got[0].Seq != 4 || got[0].Endpoint != "graph /me/presence" {
		t.Fatalf("the wait for ada's request 4 ended with %+v (%v), want her presence request alone", got, endpoints(got))
	}

	// The Go API does the same.
	ctx, cancel := context.WithCancel(t.Context())
	waiting := make(chan struct{})
	done := make(chan []sandbox.GraphRequest)
	go func() {
		reqs, _ := sb.AwaitUserRequests(ctx, ada, 4, func() { close(waiting) })
		done <- reqs
	}()
	<-waiting
	get(t, gc, graphBase+"/me", "Authorization", adaAuth)
	if got := <-done; len(got) != 1 || got[0].Seq != 5 {
		t.Errorf("AwaitUserRequests after 4: %+v, want request 5", got)
	}
	cancel()
	if _, err := sb.AwaitUserRequests(ctx, ada, 5, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("AwaitUserRequests with its context ended: %v", err)
	}
}

func TestALongPollForGraphRequestsEnds(t *testing.T) {
	t.Parallel()
	t.Run("with an empty list when nothing arrives in time", func(t *testing.T) {
		t.Parallel()
		sb, _ := newSandbox(t, func(o *sandbox.Options) { o.LongPoll = 50 * time.Millisecond })
		srv, _ := longPollServer(t, sb)
		if got := readRequests(t, askAfter(t, t.Context(), srv, ada, "0")); got == nil || len(got) != 0 {
			t.Errorf("no request within the long poll: %+v, want []", got)
		}
	})
	t.Run("when the client goes away", func(t *testing.T) {
		t.Parallel()
		sb, _ := newSandbox(t) // waits 25 s at most
		srv, returned := longPollServer(t, sb)
		ctx, cancel := context.WithCancel(t.Context())
		askAfter(t, ctx, srv, ada, "0")
		cancel()
		select {
		case <-returned:
		case <-time.After(15 * time.Second):
			t.Fatal("the long poll still waits 15 s after its client went away")
		}
	})
	for _, c := range []struct {
		name, upn, after string
		status           int
	}{
		{"at once for an unknown user", "nobody@placard.example", "0", http.StatusNotFound},
		{"at once for a negative number", ada, "-1", http.StatusBadRequest},
		{"at once for a number that is none", ada, "last", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sb, _ := newSandbox(t)
			srv, _ := longPollServer(t, sb)
			res := askAfter(t, t.Context(), srv, c.upn, c.after)
			var body map[string]string
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != c.status || body["error"] == "" {
				t.Errorf("after=%s for %s: %s %v (%v), want %d saying why", c.after, c.upn, res.Status, body, err, c.status)
			}
		})
	}
}
