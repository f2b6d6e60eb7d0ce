package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
)

// A state carries the photo's address, not the picture, and the edge
// server gives the picture only to a screen that shows it.
func TestAPhotoIsServedOnlyToTheScreenThatShowsIt(t *testing.T) {
	t.Parallel()
	m := testServer(t, inTheMorning)
	lobby := openScreen(t, m, "Lobby TV")
	st := lobby.signIn(m, "ada@placard.example")
	photo := st.Dashboard.User.Photo
	if !strings.HasPrefix(photo, "/photo/") {
		t.Fatalf("Ada's photo is %.80q, want an address on the edge server", photo)
	}
	hall := openScreen(t, m, "Hall")
	hall.waitPhase(15*time.Second, wire.PhaseCode)

	fetch := func(client *http.Client, path string) *http.Response {
		t.Helper()
		res, err := client.Get(m.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	res := fetch(lobby.client, photo)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || res.ContentLength < 100 {
		t.Fatalf("the screen's own photo: %s, %s, %d bytes", res.Status, res.Header.Get("Content-Type"), res.ContentLength)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "private") || !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control %q: a photo's address names its content, and it is private", cc)
	}

	for _, tc := range []struct {
		name   string
		client *http.Client
		path   string
	}{
		{"no cookie", &http.Client{}, photo},
		{"another screen's cookie", hall.client, photo},
		{"another photo of the screen", lobby.client, photo[:strings.LastIndex(photo, "/")] + "/0123456789abcdef"},
	} {
		if res := fetch(tc.client, tc.path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", tc.name, res.Status)
		}
	}

	// Signed out, the screen no longer gets the photo.
	if _, err := m.Screens.SignOut(t.Context(), strings.Split(photo, "/")[2], "test"); err != nil {
		t.Fatal(err)
	}
	lobby.waitPhase(15*time.Second, wire.PhaseCode)
	if res := fetch(lobby.client, photo); res.StatusCode != http.StatusNotFound {
		t.Errorf("after signing out: %s, want 404", res.Status)
	}

	// Kim has no photo: initials, and no address.
	kim := openScreen(t, m, "Kim's desk")
	if p := kim.signIn(m, "kim@placard.example").Dashboard.User.Photo; p != "" {
		t.Errorf("an account without a photo has %q", p)
	}
}
