package sandboxctl_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/sandbox/sandboxctl"
)

const ada = "ada@placard.example"

// newClient serves a fresh sandbox's control API on loopback and returns
// the sandbox and a client of it, with a client that reaches its emulated
// services as MSAL does.
func newClient(t *testing.T) (*sandbox.Sandbox, *sandboxctl.Client, *http.Client) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{VerificationURL: "https://placard.test/sandbox/devicelogin", Seed: 7, LongPoll: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return sb, sandboxctl.New(srv.URL, &http.Client{Timeout: 10 * time.Second}), &http.Client{Transport: sb.Transport(), Timeout: 10 * time.Second}
}

// deviceCode asks the emulated identity platform for a device code, as a
// screen does, and returns its user code.
func deviceCode(t *testing.T, c *http.Client) string {
	t.Helper()
	res, err := c.PostForm("https://"+sandbox.LoginHost+"/"+sandbox.TenantID+"/oauth2/v2.0/devicecode",
		url.Values{"client_id": {sandbox.ClientID}, "scope": {"User.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		UserCode string `json:"user_code"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.UserCode == "" {
		t.Fatalf("devicecode: %s %v", res.Status, err)
	}
	return body.UserCode
}

func TestTheClientChangesWhatTheSandboxServes(t *testing.T) {
	sb, c, _ := newClient(t)
	ctx := t.Context()

	want := sandbox.Faults{GraphThrottleSeconds: 5, LatencyMS: 20}
	if err := c.SetFaults(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Faults(ctx); err != nil || got != want || sb.Faults() != want {
		t.Errorf("faults: read %+v (%v), the sandbox has %+v, want %+v", got, err, sb.Faults(), want)
	}

	if err := c.SetPresence(ctx, ada, "Busy", "InAMeeting"); err != nil {
		t.Fatal(err)
	}
	users, err := c.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range users {
		if u.UPN == ada {
			found = true
			if u.Availability != "Busy" || u.Activity != "InAMeeting" {
				t.Errorf("Ada's presence is %s/%s, want Busy/InAMeeting", u.Availability, u.Activity)
			}
		}
	}
	if !found {
		t.Errorf("the users listed lack %s: %+v", ada, users)
	}

	day := time.Now().UTC().Add(time.Hour).Truncate(time.Hour)
	ev, err := c.AddEvent(ctx, ada, map[string]any{
		"subject": "Planning",
		"start":   map[string]string{"dateTime": day.Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
		"end":     map[string]string{"dateTime": day.Add(30 * time.Minute).Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
	})
	if err != nil || ev["subject"] != "Planning" || ev["id"] == "" {
		t.Errorf("adding an event: %v %v", ev, err)
	}
	events, err := c.Calendar(ctx, ada, day, day.Add(time.Hour))
	found = false
	for _, e := range events {
		found = found || e["id"] == ev["id"]
	}
	if err != nil || !found {
		t.Errorf("the calendar from %v lacks the event added: %v %v", day, events, err)
	}

	if err := c.Revoke(ctx, ada); err != nil {
		t.Fatal(err)
	}
	now, err := c.Advance(ctx, 90*time.Minute)
	if err != nil || now.Sub(sb.Now()).Abs() > time.Minute || time.Until(now) < 80*time.Minute {
		t.Errorf("advancing the clock: %v %v, the sandbox says %v", now, err, sb.Now())
	}
	if read, err := c.Now(ctx); err != nil || read.Before(now) || read.Sub(now) > time.Minute {
		t.Errorf("reading the clock after advancing it to %v: %v %v", now, read, err)
	}
	app, err := c.App(ctx)
	if err != nil || app.ClientID != sandbox.ClientID || app.TenantDomain != sandbox.TenantDomain {
		t.Errorf("app: %+v %v", app, err)
	}
}

func TestTheClientApprovesOnThePhonePageAndReadsCodesAndRequests(t *testing.T) {
	_, c, msal := newClient(t)
	ctx := t.Context()
	code := deviceCode(t, msal)

	if out, err := c.Approve(ctx, code, ada); err != nil || out != sandbox.OutcomeApproved {
		t.Fatalf("approving %s: %q %v", code, out, err)
	}
	if out, err := c.Approve(ctx, code, ada); err != nil || out != sandbox.OutcomeUsed {
		t.Errorf("approving %s again: %q %v, want used", code, out, err)
	}
	if out, err := c.Decline(ctx, "NOSUCHCODE"); err != nil || out != sandbox.OutcomeInvalid {
		t.Errorf("declining a code never issued: %q %v, want invalid", out, err)
	}
	codes, err := c.Codes(ctx)
	if err != nil || len(codes) != 1 || codes[0].UserCode != code || codes[0].State != sandbox.CodeApproved || codes[0].User != ada {
		t.Errorf("codes: %+v %v", codes, err)
	}
	counts, err := c.Requests(ctx)
	if err != nil || counts["devicecode"] != 1 {
		t.Errorf("request counts: %v %v, want one devicecode", counts, err)
	}
	if log, err := c.UserRequests(ctx, ada); err != nil || len(log) != 0 {
		t.Errorf("Ada's Graph requests: %+v %v, want none yet", log, err)
	}
	// Nothing arrives: the long poll ends empty when the sandbox's wait
	// does, not with an error.
	if log, err := c.UserRequestsAfter(ctx, ada, 0); err != nil || len(log) != 0 {
		t.Errorf("waiting for Ada's Graph requests: %+v %v, want an empty answer", log, err)
	}
}

func TestTheClientSaysWhatTheAPIRefused(t *testing.T) {
	_, c, _ := newClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for name, err := range map[string]error{
		"an unknown user's presence":  c.SetPresence(ctx, "nobody@placard.example", "Busy", "Busy"),
		"a presence Graph never says": c.SetPresence(ctx, ada, "Sleepy", "Sleepy"),
		"faults out of range":         c.SetFaults(ctx, sandbox.Faults{LatencyMS: -1}),
	} {
		if err == nil || !strings.Contains(err.Error(), "sandbox API") || !strings.Contains(err.Error(), " 40") {
			t.Errorf("%s: %v, want the API's refusal with its status", name, err)
		}
	}
	if err := c.SetPresence(ctx, ada, "Sleepy", "Sleepy"); err == nil || !strings.Contains(err.Error(), `availability "Sleepy"`) {
		t.Errorf("the refusal %v does not carry the API's words", err)
	}
}

func TestRoomsGroupsMeetingsAndBudgets(t *testing.T) {
	sb, c, _ := newClient(t)
	ctx := context.Background()
	rooms, err := c.Rooms(ctx)
	if err != nil || len(rooms.Rooms) < 6 || len(rooms.RoomLists) < 2 {
		t.Fatalf("rooms: %+v %v", rooms, err)
	}
	groups, err := c.Groups(ctx)
	if err != nil || len(groups) == 0 || len(groups[0].Members) < 12 {
		t.Fatalf("groups: %+v %v", groups, err)
	}
	if ri, err := c.SetRoomKeepsSubject(ctx, "lobby@placard.example", true); err != nil || !ri.KeepSubject {
		t.Errorf("keep subject: %+v %v", ri, err)
	}
	// The room's demo day follows the date: the first hour it has free
	// three days from now, whatever the day and the hour.
	var now time.Time
	var ev, room map[string]any
	for h := range 24 {
		now = sb.Now().Add(72*time.Hour + time.Duration(h)*time.Hour).UTC().Truncate(time.Hour)
		ev = map[string]any{"subject": "From Outlook",
			"start": map[string]string{"dateTime": now.Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
			"end":   map[string]string{"dateTime": now.Add(15 * time.Minute).Format("2006-01-02T15:04:05"), "timeZone": "UTC"}}
		if room, err = c.BookAs(ctx, "lobby@placard.example", ada, ev); !errors.Is(err, sandboxctl.ErrDeclined) {
			break
		}
	}
	if err != nil || room["subject"] != "From Outlook" || room["id"] == nil {
		t.Fatalf("booking: %v %v", room, err)
	}
	if _, err := c.BookAs(ctx, "lobby@placard.example", "grace@placard.example", ev); !errors.Is(err, sandboxctl.ErrDeclined) {
		t.Errorf("an overlapping booking: %v", err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	day, err := c.Events(ctx, "lobby@placard.example", now.In(paris).Format("2006-01-02"))
	if err != nil || !slices.ContainsFunc(day, func(e map[string]any) bool { return e["id"] == room["id"] }) {
		t.Fatalf("the day: %d %v", len(day), err)
	}
	if err := c.CancelMeeting(ctx, "lobby@placard.example", room["id"].(string)); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelMeeting(ctx, "lobby@placard.example", "AAMkAGI2none"); err == nil {
		t.Error("cancelling an unknown event")
	}
	if b, err := c.Budgets(ctx); err != nil || b.Outlook.Limit != 10_000 || b.Presence.Limit != 1_500 {
		t.Errorf("budgets: %+v %v", b, err)
	}
}
