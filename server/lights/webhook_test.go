package lights_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
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

func (a *accounts) follow(_ context.Context, id string, f lights.Follower) (func(), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.followers == nil {
		a.followers = map[string][]lights.Follower{}
	}
	a.followers[id] = append(a.followers[id], f)
	f.Presence(server.Presence{Availability: "Available", Activity: "Available", SignedIn: true, Updated: time.Now()})
	return func() {}, nil
}

func (a *accounts) set(upn, availability string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.followers[accountID(upn)] {
		f.Presence(server.Presence{Availability: availability, Activity: availability, SignedIn: true, Updated: time.Now()})
	}
}

// received is one webhook delivery.
type received struct {
	body      []byte
	header    http.Header
	signature string // webhook-signature
	timestamp string // webhook-timestamp
	at        time.Time
}

// loopback lets webhooks reach the test's receivers.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

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
		ch <- received{body: b, header: r.Header.Clone(), signature: r.Header.Get("webhook-signature"), timestamp: r.Header.Get("webhook-timestamp"), at: time.Now()}
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
	s := lights.NewService(lights.Config{Store: store, Box: testBox, Follow: acc.follow,
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: every, Timeout: 30 * time.Second, Attempts: 2, RetryWait: 100 * time.Millisecond}})
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
			if err := verifyStandard(made.WebhookSecret, r.header, r.body); err != nil {
				t.Errorf("%s: %v", what, err)
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
	s := lights.NewService(lights.Config{Store: newStore(t), Box: testBox, Follow: (&accounts{}).follow,
		Log:      slog.New(slog.NewTextHandler(logged, nil)),
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: time.Hour, Timeout: 5 * time.Second, Attempts: 1, RetryWait: time.Millisecond}})
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

// verifyStandard checks a delivery as a Standard Webhooks receiver does
// (the specification's algorithm, written out apart from placard's).
func verifyStandard(secret string, h http.Header, body []byte) error {
	rest, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return fmt.Errorf("secret %.8s... does not start with whsec_", secret)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < 24 {
		return fmt.Errorf("secret's key: %d bytes, %v", len(key), err)
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if !strings.HasPrefix(id, "msg_") || ts == "" {
		return fmt.Errorf("webhook-id %q, webhook-timestamp %q", id, ts)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("webhook-signature %q, want %q", h.Get("webhook-signature"), want)
}

// awaitLog returns the next log line that holds what, failing after 10 s.
func awaitLog(t *testing.T, l lines, what string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line := <-l:
			if strings.Contains(line, what) {
				return line
			}
		case <-deadline:
			t.Fatalf("no log line with %q within 10 s", what)
		}
	}
}

// counter is a receiver that counts what it gets.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func counting(t *testing.T, h http.HandlerFunc) (*httptest.Server, *counter) {
	c := &counter{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

// A webhook aimed at the edge server's own network is refused when it is
// dialled, by address: a literal loopback address, and a name that
// resolves to one (as DNS rebinding would make a public name do).
func TestAWebhookToALoopbackAddressIsRefusedWhenDialled(t *testing.T) {
	srv, hits := counting(t, func(w http.ResponseWriter, r *http.Request) {})
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	for _, u := range []string{srv.URL + "/hook", "http://localhost:" + port + "/hook"} {
		t.Run(u, func(t *testing.T) {
			logged := make(lines, 64)
			s := lights.NewService(lights.Config{Store: newStore(t), Box: testBox, Follow: (&accounts{}).follow,
				Log:      slog.New(slog.NewTextHandler(logged, nil)),
				Webhooks: lights.WebhookConfig{Every: time.Hour, Timeout: 5 * time.Second, Attempts: 3, RetryWait: time.Millisecond}})
			if err := s.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Create(t.Context(), lights.New{Name: "desk", Account: "ada@placard.example", Webhooks: []string{u}}, "test"); err != nil {
				t.Fatal(err)
			}
			line := awaitLog(t, logged, "a webhook failed")
			if !strings.Contains(line, "loopback") || !strings.Contains(line, "-webhook-allow-networks") || !strings.Contains(line, "attempts=1") {
				t.Errorf("the refusal says %s", line)
			}
		})
	}
	if n := hits.hits(); n != 0 {
		t.Errorf("the loopback receiver got %d requests", n)
	}
}

// A receiver's redirect is not followed: the signed body goes nowhere
// else, and the delivery is not retried.
func TestAWebhookFollowsNoRedirect(t *testing.T) {
	elsewhere, elsewhereHits := counting(t, func(w http.ResponseWriter, r *http.Request) {})
	redirecting, hits := counting(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/stolen", http.StatusTemporaryRedirect)
	})
	logged := make(lines, 64)
	s := lights.NewService(lights.Config{Store: newStore(t), Box: testBox, Follow: (&accounts{}).follow,
		Log:      slog.New(slog.NewTextHandler(logged, nil)),
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: time.Hour, Timeout: 5 * time.Second, Attempts: 3, RetryWait: time.Millisecond}})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Create(t.Context(), lights.New{Name: "desk", Account: "ada@placard.example", Webhooks: []string{redirecting.URL + "/hook"}}, "test"); err != nil {
		t.Fatal(err)
	}
	line := awaitLog(t, logged, "a webhook failed")
	if !strings.Contains(line, "redirect") || !strings.Contains(line, "307") {
		t.Errorf("the failure says %s", line)
	}
	if n := elsewhereHits.hits(); n != 0 {
		t.Errorf("the redirect was followed: its target got %d requests", n)
	}
	if n := hits.hits(); n != 1 {
		t.Errorf("the redirecting receiver got %d requests, want 1 (a redirect is not retried)", n)
	}
}

// Which addresses a webhook may reach, decided without sending anything.
func TestWebhookAddressesAreClassifiedWithoutSendingAnything(t *testing.T) {
	lan := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	for _, tc := range []struct {
		addr  string
		allow []netip.Prefix
		why   string // "" when allowed
	}{
		{"127.0.0.1", nil, "loopback"},
		{"127.200.0.1", nil, "loopback"},
		{"::1", nil, "loopback"},
		{"::ffff:127.0.0.1", nil, "loopback"},
		{"0.0.0.0", nil, "unspecified"},
		{"::", nil, "unspecified"},
		{"10.1.2.3", nil, "private"},
		{"172.16.0.1", nil, "private"},
		{"172.31.255.255", nil, "private"},
		{"192.168.1.10", nil, "private"},
		{"fd00::1", nil, "private"},
		{"169.254.169.254", nil, "link-local"},
		{"fe80::1", nil, "link-local"},
		{"100.64.0.1", nil, "carrier-grade NAT"},
		{"0.1.2.3", nil, "this network"},
		{"198.18.0.1", nil, "benchmarking"},
		{"192.0.2.1", nil, "documentation"},
		{"240.0.0.1", nil, "reserved"},
		{"255.255.255.255", nil, "broadcast"},
		{"224.0.0.1", nil, "multicast"},
		{"ff02::1", nil, "multicast"},
		{"64:ff9b::a9fe:a9fe", nil, "leads to a link-local address"},
		{"2002:7f00:1::1", nil, "leads to a loopback address"},
		{"2001::1", nil, "IETF"},
		{"fec0::1", nil, "site-local"},
		{"192.168.1.10", lan, ""},
		{"192.168.2.10", lan, "private"},
		{"127.0.0.1", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, ""},
		{"8.8.8.8", nil, ""},
		{"2606:4700::1111", nil, ""},
		{"64:ff9b::808:808", nil, ""},
		{"172.32.0.1", nil, ""},
	} {
		err := lights.CheckWebhookAddr(netip.MustParseAddr(tc.addr), tc.allow)
		switch {
		case tc.why == "" && err != nil:
			t.Errorf("%s (allowed %v) is refused: %v", tc.addr, tc.allow, err)
		case tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)):
			t.Errorf("%s (allowed %v): %v, want a refusal that says %q", tc.addr, tc.allow, err, tc.why)
		}
	}
}

// Each delivery has one id, kept by its retries (a receiver drops what it
// has seen), and a signature that a Standard Webhooks receiver checks.
func TestAWebhookIsSignedAsStandardWebhooksAndARetryKeepsItsID(t *testing.T) {
	deliveries := make(chan received, 8)
	first := true
	var mu sync.Mutex
	srv, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		deliveries <- received{body: b, header: r.Header.Clone()}
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			http.Error(w, "not now", http.StatusServiceUnavailable)
		}
	})
	s := lights.NewService(lights.Config{Store: newStore(t), Box: testBox, Follow: (&accounts{}).follow,
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: time.Hour, Timeout: 5 * time.Second, Attempts: 2, RetryWait: time.Millisecond}})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	made, err := s.Create(t.Context(), lights.New{Name: "desk", Account: "ada@placard.example", Webhooks: []string{srv.URL + "/hook"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var got []received
	for range 2 {
		select {
		case d := <-deliveries:
			got = append(got, d)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d deliveries within 10 s, want the first and its retry", len(got))
		}
	}
	for i, d := range got {
		if err := verifyStandard(made.WebhookSecret, d.header, d.body); err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
		if d.header.Get(lights.SignatureHeader) != "" || d.header.Get(lights.TimestampHeader) != "" {
			t.Errorf("delivery %d of a whsec_ key carries the old headers too", i)
		}
	}
	if a, b := got[0].header.Get("webhook-id"), got[1].header.Get("webhook-id"); a != b {
		t.Errorf("the retry has the id %q, the first attempt %q", b, a)
	}
}

// A key made before Standard Webhooks keeps the signature its receivers
// check, and is signed the standard way too, with its secret's text as
// the key.
func TestAKeyMadeBeforeStandardWebhooksIsSignedBothWays(t *testing.T) {
	srv, got := receiver(t, nil)
	store := newStore(t)
	const old = "Zq3xv_Kd9mPo1TXhH5sWj2yE8cBvRnLa7fUgQwYtM0k" // as secret.New made them
	if err := store.CreateLight(t.Context(), server.Light{ID: "lold", Name: "old", Account: "ada@placard.example",
		Hash: make([]byte, 32), Webhooks: []string{srv.URL + "/hook"}, WebhookSecret: []byte(old), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := lights.NewService(lights.Config{Store: store, Box: testBox, Follow: (&accounts{}).follow,
		Webhooks: lights.WebhookConfig{AllowNetworks: loopback, Every: time.Hour, Timeout: 5 * time.Second, Attempts: 1, RetryWait: time.Millisecond}})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	select {
	case r := <-got:
		ts := r.header.Get(lights.TimestampHeader)
		if want := lights.Sign([]byte(old), ts, r.body); ts == "" || r.header.Get(lights.SignatureHeader) != want {
			t.Errorf("X-Placard-Signature %q, want %q", r.header.Get(lights.SignatureHeader), want)
		}
		if err := verifyStandard("whsec_"+base64.StdEncoding.EncodeToString([]byte(old)), r.header, r.body); err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
}
