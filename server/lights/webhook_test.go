package lights_test

import (
	"context"
	"crypto/hmac"
	"io"
	"log/slog"
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

// lines is a log destination that hands each line to the test.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

// A webhook's URL may hold the receiver's secret in its path or query (a
// Home Assistant webhook's id): a failed delivery is logged with the host
// only.
func TestAFailedWebhookIsLoggedWithoutItsURL(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	host := gone.Listener.Addr().String()
	gone.Close()
	logged := make(lines, 64)
	s := lights.NewService(lights.Config{Store: newStore(t), Follow: (&accounts{}).follow,
		Log:      slog.New(slog.NewTextHandler(logged, nil)),
		Webhooks: lights.WebhookConfig{Every: time.Hour, Timeout: 5 * time.Second, Attempts: 1, RetryWait: time.Millisecond}})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Create(t.Context(), lights.New{Name: "desk", Account: "ada@placard.example",
		Webhooks: []string{"http://" + host + "/api/webhook/hook-id-s3cret?token=q-s3cret"}}, "test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line := <-logged:
			if strings.Contains(line, "s3cret") {
				t.Fatalf("a log line holds the webhook's secret path or query: %s", line)
			}
			if strings.Contains(line, "a webhook failed") {
				if !strings.Contains(line, host) {
					t.Errorf("the failed webhook's line does not name its host %s: %s", host, line)
				}
				return
			}
		case <-deadline:
			t.Fatal("no failed webhook logged within 10 s")
		}
	}
}
