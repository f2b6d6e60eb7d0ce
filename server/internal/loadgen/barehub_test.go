package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBareHubBroadcastsToAGroupAndToEveryone(t *testing.T) {
	hub := NewBareHub()
	go hub.Run()
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(srv.Close)
	fleet, err := New(Config{URL: srv.URL, Accounts: []string{"a", "b", "c"}, Prefix: "bare", Bare: true, Parallel: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fleet.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fleet.Grow(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if err := AwaitClients(ctx, srv.URL, 30); err != nil {
		t.Fatal(err)
	}
	post := func(query, availability string) {
		t.Helper()
		msg := `{"type":"state","data":{"phase":"dashboard","dashboard":{"presence":{"availability":"` + availability + `","activity":"x"}}}}`
		res, err := http.Post(srv.URL+"/broadcast"+query, "application/json", strings.NewReader(msg))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("broadcast: %v %v", err, res)
		}
		res.Body.Close()
	}
	// A fleet gives screen i the account i % 3: group 1 is account "b".
	var b []*Screen
	for _, s := range fleet.Screens() {
		if s.Account == "b" {
			b = append(b, s)
		}
	}
	post("?group=1&groups=3", "Busy")
	if _, err := AwaitAvailability(ctx, b, "Busy"); err != nil {
		t.Fatal(err)
	}
	post("", "Away")
	if _, err := AwaitAvailability(ctx, fleet.Screens(), "Away"); err != nil {
		t.Fatal(err)
	}
	for _, s := range fleet.Screens() {
		if n, _ := s.Frames(); (s.Account == "b") != (n == 2) {
			t.Errorf("screen %s of %s received %d messages", s.Name, s.Account, n)
		}
	}
}
