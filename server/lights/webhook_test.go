package lights_test

import (
	"context"
	"crypto/hmac"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
)

// accounts is a FollowFunc whose presences the test sets.
type accounts struct {
	mu        sync.Mutex
	followers map[string][]lights.Follower
}

func (a *accounts) follow(_ context.Context, upn string, f lights.Follower) (func(), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.followers == nil {
		a.followers = map[string][]lights.Follower{}
	}
	a.followers[upn] = append(a.followers[upn], f)
	f.Presence(server.Presence{Availability: "Available", Activity: "Available", SignedIn: true, Updated: time.Now()})
	return func() {}, nil
}

func (a *accounts) set(upn, availability string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.followers[upn] {
		f.Presence(server.Presence{Availability: availability, Activity: availability, SignedIn: true, Updated: time.Now()})
	}
}

// received is one webhook delivery.
type received struct {
	body      []byte
	signature string
	timestamp string
	at        time.Time
}

func receiver(t *testing.T, hang <-chan struct{}) (*httptest.Server, <-chan received) {
	ch := make(chan received, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		ch <- received{body: b, signature: r.Header.Get(lights.SignatureHeader), timestamp: r.Header.Get(lights.TimestampHeader), at: time.Now()}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func TestWebhooksGetEachChangeAndARegularResendSigned(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	hanging, _ := receiver(t, hang)
	good, got := receiver(t, nil)
	store := newStore(t)
	acc := &accounts{}
	const every = 700 * time.Millisecond
	s := lights.NewService(lights.Config{Store: store, Follow: acc.follow,
		Webhooks: lights.WebhookConfig{Every: every, Timeout: 30 * time.Second, Attempts: 2, RetryWait: 100 * time.Millisecond}})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The hanging receiver comes first: it must not delay the other.
	made, err := s.Create(t.Context(), lights.New{Name: "desk", Account: "ada@placard.example",
		Webhooks: []string{hanging.URL + "/hang", good.URL + "/ok"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	next := func(what string) received {
		t.Helper()
		select {
		case r := <-got:
			if want := lights.Sign([]byte(made.WebhookSecret), r.timestamp, r.body); !hmac.Equal([]byte(r.signature), []byte(want)) || r.timestamp == "" {
				t.Errorf("%s: signature %q, want %q", what, r.signature, want)
			}
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10 s", what)
		}
		return received{}
	}
	first := next("the presence when the key was made")
	if !strings.Contains(string(first.body), `"availability":"Available"`) || !strings.Contains(string(first.body), `"signed_in":true`) {
		t.Errorf("first body %s", first.body)
	}
	changed := time.Now()
	acc.set("ada@placard.example", "Busy")
	r := next("the change")
	if !strings.Contains(string(r.body), `"availability":"Busy"`) || r.at.Sub(changed) > 5*time.Second {
		t.Errorf("the change: %s after %v", r.body, r.at.Sub(changed))
	}
	r2 := next("the re-send")
	if string(r2.body) != string(r.body) || r2.at.Sub(r.at) < every/2 {
		t.Errorf("the re-send: %s after %v, want the same body after about %v", r2.body, r2.at.Sub(r.at), every)
	}
}
