package main

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/placard/placard/server/screens"
)

// A restart does not move the presence's updated when the presence did
// not change, and a light does not go dark (unknown) while the restarted
// server waits for Graph's first answer.
func TestAPresencesUpdatedSurvivesARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := startOn(t, dir, "127.0.0.1:0", fastPresence)
	signedIn(t, first, "grace@placard.example")
	id, key := addLight(t, first, newToken(t, first), `{"name":"desk","account":"grace@placard.example"}`)
	before, _ := awaitPresence(t, first, key, 10*time.Second, "Grace's presence", func(p presenceAnswer) bool { return !p.Stale })
	// Kept in the store (by a goroutine of its own): wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := first.Store.Light(t.Context(), id)
		if err == nil && l.LastPresence.Availability == "Busy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the presence was not kept within 10 s: %+v, %v", l.LastPresence, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// The second server's clock is an hour on: an updated taken from it
	// would show.
	second := startOn(t, dir, "127.0.0.1:0", fastPresence, func(m *Main) {
		tune := m.Tune
		m.Tune = func(c *screens.Config) {
			tune(c)
			c.Now = func() time.Time { return time.Now().Add(time.Hour) }
		}
	})
	status, p, _ := getPresence(t, second, key, "")
	if status != http.StatusOK || p.Availability != "Busy" || !p.Updated.Equal(before.Updated) {
		t.Errorf("at once after the restart: %d %+v, want Busy (stale until Graph answers) updated %v", status, p, before.Updated)
	}
	after, _ := awaitPresence(t, second, key, 10*time.Second, "Grace's presence after the restart", func(p presenceAnswer) bool { return !p.Stale })
	if after.Availability != "Busy" || !after.Updated.Equal(before.Updated) {
		t.Errorf("after the restart: %+v, want Busy updated %v as before", after, before.Updated)
	}
	setPresence(t, second, "grace@placard.example", "Away", "Away")
	changed, _ := awaitPresence(t, second, key, 10*time.Second, "a change", func(p presenceAnswer) bool { return p.Availability == "Away" })
	if !changed.Updated.After(before.Updated.Add(30 * time.Minute)) {
		t.Errorf("a change's updated %v, want the second server's time (an hour after %v)", changed.Updated, before.Updated)
	}
}
