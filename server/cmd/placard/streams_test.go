package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// streamFrom opens a presence stream with key from the loopback address
// from (127.0.0.x: the whole block is this machine's), and returns the
// answer's status, its error message, and a function that closes it.
func streamFrom(t *testing.T, m *Main, key, from string) (int, string, func()) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", m.URL+"/api/v1/presence", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("opening a stream from %s: %v", from, err)
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&e)
		res.Body.Close()
		cancel()
		if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
			t.Errorf("a refused stream has no Retry-After")
		}
		return res.StatusCode, e.Error, func() {}
	}
	// The first event: the stream is counted.
	nextEvent(t, readEvents(res.Body), 10*time.Second, "the first event")
	closed := false
	end := func() {
		if !closed {
			closed = true
			cancel()
			res.Body.Close()
		}
	}
	t.Cleanup(end)
	return res.StatusCode, "", end
}

// Presence streams are capped per key, per client address and in all: a
// leaked key (plain text in an ESP32) cannot fill the descriptor table.
func TestPresenceStreamsAreCappedPerKeyPerAddressAndInAll(t *testing.T) {
	m := testServer(t, fastPresence, func(m *Main) {
		m.Config.SSEPerKey, m.Config.SSEPerAddress, m.Config.SSETotal = 2, 3, 6
	})
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	keys := map[string]string{}
	for _, name := range []string{"desk", "lamp", "hall", "door"} {
		_, keys[name] = addLight(t, m, admin, `{"name":"`+name+`","account":"grace@placard.example"}`)
	}
	open := func(name, from string, want int, says string) func() {
		t.Helper()
		status, msg, end := streamFrom(t, m, keys[name], from)
		if status != want || !strings.Contains(msg, says) {
			t.Fatalf("%s's stream from %s: %d %q, want %d saying %q", name, from, status, msg, want, says)
		}
		return end
	}
	first := open("desk", "127.0.0.2", http.StatusOK, "")
	open("desk", "127.0.0.3", http.StatusOK, "")
	open("desk", "127.0.0.4", http.StatusTooManyRequests, "this light key has 2 presence streams open")

	open("lamp", "127.0.0.5", http.StatusOK, "")
	open("lamp", "127.0.0.5", http.StatusOK, "")
	open("hall", "127.0.0.5", http.StatusOK, "")
	open("hall", "127.0.0.5", http.StatusTooManyRequests, "127.0.0.5 has 3 presence streams open")

	open("hall", "127.0.0.6", http.StatusOK, "")
	open("door", "127.0.0.7", http.StatusTooManyRequests, "the server has 6 presence streams open")

	// The rest of the server still answers.
	if res, err := http.Get(m.URL + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz with every stream taken: %v", err)
	} else {
		res.Body.Close()
	}

	// A stream that ends gives its place back.
	first()
	eventually(t, 10*time.Second, "place given back by a closed stream", func() (bool, string) {
		status, _, _ := streamFrom(t, m, keys["door"], "127.0.0.7")
		return status == http.StatusOK, fmt.Sprintf("last answer %d", status)
	})
}
