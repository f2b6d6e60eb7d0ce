package identity_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/sandbox"
)

// refreshHook is a transport that lets a test act on the identity
// platform's answers to refresh-token grants.
type refreshHook struct {
	next http.RoundTripper
	// answered, when set, is called with each refresh grant's request
	// once the platform has answered it, before the answer is returned.
	answered func(*http.Request)
}

func (h *refreshHook) RoundTrip(req *http.Request) (*http.Response, error) {
	grant := ""
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), "grant_type=refresh_token") {
			grant = "refresh_token"
		}
	}
	res, err := h.next.RoundTrip(req)
	if err != nil || grant == "" || h.answered == nil {
		return res, err
	}
	// The whole answer is read first, as if it had arrived.
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	h.answered(req)
	return res, nil
}

// hooked returns a client whose refresh grants go through a refreshHook,
// against a sandbox that ends the session of a refresh token sent twice.
func hooked(t *testing.T) (*identity.Client, *sandbox.Sandbox, *memCaches, *refreshHook, identity.Account) {
	t.Helper()
	hook := &refreshHook{}
	c, sb, caches := newClient(t, func(cfg *identity.Config) {
		hook.next = cfg.HTTPClient.Transport
		cfg.HTTPClient = &http.Client{Transport: hook}
	})
	sb.SetFaults(sandbox.Faults{RefuseReusedRefreshToken: true})
	acct, err := signIn(t, c, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return c, sb, caches, hook, acct
}

func TestCallersRefusedOneTokenShareOneRefresh(t *testing.T) {
	c, sb, _, _, acct := hooked(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old, _, err := c.Token(ctx, acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// Graph refused the token everywhere at once: the poll and a quick
	// booking, or several forced refreshes after a 401.
	const callers = 6
	tokens := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { tokens[i], _, errs[i] = c.Token(ctx, acct.ID, old) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if tokens[i] == old || tokens[i] != tokens[0] {
			t.Errorf("caller %d got the refused token %v, or another new one", i, tokens[i] == old)
		}
	}
	if n := sb.Requests("token refresh_token"); n != 1 {
		t.Errorf("%d refresh grants were sent, want one: the others presented a spent refresh token", n)
	}
	// The session is whole: the next refresh works.
	if _, _, err := c.Token(ctx, acct.ID, tokens[0]); err != nil {
		t.Fatalf("the next refresh: %v", err)
	}
}

func TestARefreshAnsweredIsSavedWhenItsCallerGivesUp(t *testing.T) {
	c, sb, _, hook, acct := hooked(t)
	old, _, err := c.Token(context.Background(), acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hook.answered = func(*http.Request) { cancel() }
	c.Token(ctx, acct.ID, old) // its outcome is the caller's affair
	hook.answered = nil

	// The rotated refresh token was kept: the old one, sent again, would
	// end the session.
	bg, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	tok, src, err := c.Token(bg, acct.ID, "")
	if err != nil || tok == old || src != identity.FromCache {
		t.Fatalf("after the abandoned refresh: %v, the old token %v, source %v: the refresh was not saved", err, tok == old, src)
	}
	if _, _, err := c.Token(bg, acct.ID, tok); err != nil {
		t.Fatalf("the next refresh: %v", err)
	}
	if n := sb.Requests("token refresh_token"); n != 2 {
		t.Errorf("%d refresh grants, want 2", n)
	}
}

func TestForgetDuringARefreshLeavesNothingBehind(t *testing.T) {
	c, _, caches, hook, acct := hooked(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old, _, err := c.Token(ctx, acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	answered, release := make(chan struct{}), make(chan struct{})
	hook.answered = func(*http.Request) {
		close(answered)
		<-release
	}
	waiting := make(chan struct{}, 1)
	identity.OnLockWait(c, func(string) {
		select {
		case waiting <- struct{}{}:
		default:
		}
	})

	refreshed := make(chan error, 1)
	go func() {
		_, _, err := c.Token(ctx, acct.ID, old)
		refreshed <- err
	}()
	<-answered // the platform has rotated the tokens; they are not saved yet
	forgot := make(chan error, 1)
	go func() { forgot <- c.Forget(ctx, acct.ID) }()
	var forgetErr error
	select {
	case <-waiting: // the sign-out waits for the refresh
	case forgetErr = <-forgot: // or it did not wait
		forgot <- forgetErr
	}
	close(release)
	if err := <-refreshed; err != nil && identity.KindOf(err) != identity.KindSignedOut {
		t.Errorf("the refresh: %v", err)
	}
	if err := <-forgot; err != nil {
		t.Fatalf("Forget: %v", err)
	}

	if caches.has(acct.ID) {
		t.Error("the refresh saved the tokens of an account that was signed out")
	}
	_, _, err = c.Token(ctx, acct.ID, "")
	if k := identity.KindOf(err); k != identity.KindSignedOut {
		t.Errorf("a token after sign-out: kind %v (%v), want signed out", k, err)
	}
}

func TestTokensDeletedFromTheStoreAreGoneFromMemoryToo(t *testing.T) {
	c, sb, caches := newClient(t)
	acct, err := signIn(t, c, func(code string) { sb.Approve(code, "ada@placard.example") })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := c.Token(ctx, acct.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Another process (the CLI) signs the account out.
	if err := caches.DeleteCache(ctx, acct.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Token(ctx, acct.ID, "")
	if k := identity.KindOf(err); k != identity.KindSignedOut {
		t.Errorf("a token after the cache was deleted: kind %v (%v), want signed out", k, err)
	}
}

func TestWaitingForAnAccountEndsWithItsContext(t *testing.T) {
	c, _, _, hook, acct := hooked(t)
	old, _, err := c.Token(context.Background(), acct.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	answered, release := make(chan struct{}), make(chan struct{})
	hook.answered = func(*http.Request) {
		close(answered)
		<-release
	}
	defer close(release)
	go c.Token(context.Background(), acct.ID, old)
	<-answered
	ctx, cancel := context.WithCancel(context.Background())
	identity.OnLockWait(c, func(string) { cancel() })
	if _, _, err := c.Token(ctx, acct.ID, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("a call given up while it waited: %v, want context.Canceled", err)
	}
}
