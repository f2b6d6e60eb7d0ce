package sandbox_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

func TestDemoPageShowsCodesUsersAndSwitches(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, c := controlServer(t, sb)
	empty := get(t, c, srv.URL+"/sandbox/")
	if empty.status != 200 || !strings.Contains(string(empty.raw), `data-testid="sandbox-codes-empty"`) {
		t.Fatalf("%d %s", empty.status, empty.raw)
	}
	uc, dc := deviceCode(t, gc, "User.Read")
	sb.NameCode(uc, "Lobby TV")
	page := get(t, c, srv.URL+"/sandbox/")
	html := string(page.raw)
	for _, want := range []string{
		`data-testid="sandbox-code" data-user-code="` + uc + `" data-state="pending"`,
		`<td>Lobby TV</td>`,
		`href="/sandbox/devicelogin?code=` + uc + `"`,
		`data-testid="sandbox-user" data-upn="` + grace + `" data-availability="Busy" data-activity="InACall"`,
		`<form method="post" action="/sandbox/presence"`,
		`<form method="post" action="/sandbox/revoke"`,
		`<form method="post" action="/sandbox/faults" data-testid="sandbox-faults"`,
		`<form method="post" action="/sandbox/clock"`,
		`<img src="data:image/png;base64,`,
		`no presence (no Teams licence)`,
		`data-testid="sandbox-client-id">` + sandbox.ClientID,
		`-sandbox-addr 127.0.0.1:9443`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(html, dc[:24]) {
		t.Error("the page shows a device code")
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "style=") {
		t.Error("the page has a script or an inline style, which the CSP refuses")
	}
	if page.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", page.header.Get("Cache-Control"))
	}
}

func TestDemoPageFormsChangeTheSandbox(t *testing.T) {
	t.Parallel()
	sb, _ := newSandbox(t)
	srv, c := controlServer(t, sb)
	submit := func(path string, v url.Values) answer {
		t.Helper()
		return postForm(t, c, srv.URL+path, v)
	}
	redirected := func(a answer) {
		t.Helper()
		if a.status != 303 || a.header.Get("Location") != "/sandbox/" {
			t.Errorf("got %d %s, want 303 back to /sandbox/: %s", a.status, a.header.Get("Location"), a.raw)
		}
	}

	redirected(submit("/sandbox/faults", url.Values{"conditional_access_block": {"on"}, "graph_throttle_seconds": {"12"}, "latency_ms": {""}}))
	if f := sb.Faults(); f != (sandbox.Faults{ConditionalAccessBlock: true, GraphThrottleSeconds: 12}) {
		t.Errorf("faults %+v", f)
	}
	redirected(submit("/sandbox/faults", url.Values{"block_device_code": {"on"}}))
	if f := sb.Faults(); f != (sandbox.Faults{BlockDeviceCode: true}) {
		t.Errorf("faults %+v", f)
	}
	redirected(submit("/sandbox/faults", url.Values{}))
	if f := sb.Faults(); f != (sandbox.Faults{}) {
		t.Errorf("unchecked boxes are off: %+v", f)
	}
	redirected(submit("/sandbox/presence", url.Values{"upn": {ada}, "availability": {"Away"}, "activity": {"OutOfOffice"}}))
	if u := userInfo(t, sb, ada); u.Availability != "Away" || u.Activity != "OutOfOffice" {
		t.Errorf("presence %+v", u)
	}
	redirected(submit("/sandbox/revoke", url.Values{"upn": {grace}}))
	if u := userInfo(t, sb, grace); u.RevokedAt.IsZero() {
		t.Error("grace's sessions were not revoked")
	}
	before := sb.Now()
	redirected(submit("/sandbox/clock", url.Values{"advance": {"15m"}}))
	if d := sb.Now().Sub(before); d < 15*time.Minute || d > 16*time.Minute {
		t.Errorf("the clock moved by %v", d)
	}

	for _, bad := range []struct {
		path string
		v    url.Values
	}{
		{"/sandbox/faults", url.Values{"latency_ms": {"soon"}}},
		{"/sandbox/faults", url.Values{"graph_throttle_seconds": {"-3"}}},
		{"/sandbox/presence", url.Values{"upn": {ada}, "availability": {"Sleepy"}, "activity": {"Away"}}},
		{"/sandbox/presence", url.Values{"upn": {"nobody@placard.example"}, "availability": {"Away"}, "activity": {"Away"}}},
		{"/sandbox/revoke", url.Values{"upn": {"nobody@placard.example"}}},
		{"/sandbox/clock", url.Values{"advance": {"-1h"}}},
	} {
		a := submit(bad.path, bad.v)
		if a.status != 400 || !strings.Contains(string(a.raw), `data-testid="sandbox-error"`) {
			t.Errorf("%s %v: %d, want the page with what was wrong", bad.path, bad.v, a.status)
		}
	}
}
