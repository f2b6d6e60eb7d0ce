package main

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/placard/placard/server/lights"
)

func TestAWebhookGetsEachSignedChangeFromTheSandbox(t *testing.T) {
	type delivery struct {
		body []byte
		ts   string
		sig  string
	}
	got := make(chan delivery, 64)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{b, r.Header.Get("X-Placard-Timestamp"), r.Header.Get("X-Placard-Signature")}
	}))
	defer recv.Close()
	m := testServer(t, fastPresence, func(m *Main) { m.Webhooks.Every = time.Hour })
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	status, out := call(t, m, admin, "POST", "/admin/api/lights", `{"name":"lamp","account":"grace@placard.example","webhooks":["`+recv.URL+`/presence"]}`)
	secret, _ := out["webhook_secret"].(string)
	if status != http.StatusCreated || secret == "" {
		t.Fatalf("a key with a webhook: %d %v", status, out)
	}
	await := func(what, availability string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case d := <-got:
				if want := lights.Sign([]byte(secret), d.ts, d.body); !hmac.Equal([]byte(d.sig), []byte(want)) {
					t.Fatalf("%s: signature %q, want %q", what, d.sig, want)
				}
				var p presenceAnswer
				if err := json.Unmarshal(d.body, &p); err != nil {
					t.Fatalf("%s: body %s", what, d.body)
				}
				if p.Availability == availability && !p.Stale {
					return
				}
			case <-deadline:
				t.Fatalf("no %s within 15 s", what)
			}
		}
	}
	await("Grace's presence", "Busy")
	setPresence(t, m, "grace@placard.example", "Available", "Available")
	await("the change", "Available")
}
