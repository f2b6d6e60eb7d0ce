package sandbox_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

// scheduleBody is a getSchedule request.
func scheduleBody(schedules []string, start, end time.Time, interval int) string {
	b, _ := json.Marshal(map[string]any{
		"schedules":                schedules,
		"startTime":                map[string]string{"dateTime": utc(start), "timeZone": "UTC"},
		"endTime":                  map[string]string{"dateTime": utc(end), "timeZone": "UTC"},
		"availabilityViewInterval": interval,
	})
	return string(b)
}

func TestGetSchedule(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	auth := bearer(t, sb, ada, "Calendars.ReadBasic")
	post := func(auth, body string, header ...string) answer {
		t.Helper()
		return send(t, c, "POST", graphBase+"/me/calendar/getSchedule", body, append([]string{"Authorization", auth}, header...)...)
	}
	// A private meeting in the atelier, which keeps subjects, and one in
	// the lobby, which writes the organiser's name.
	from := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	if _, err := sb.BookRoom("atelier@placard.example", sandbox.Booking{Organizer: grace, Subject: "Secret", Start: from.Add(20 * time.Hour), End: from.Add(21 * time.Hour), Sensitivity: "private"}); err != nil {
		t.Fatal(err)
	}
	schedules := []string{lobby, "atelier@placard.example", grace, "nobody@placard.example"}
	a := post(auth, scheduleBody(schedules, from, from.Add(24*time.Hour), 60))
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	values := anys(a.body["value"])
	if len(values) != len(schedules) {
		t.Fatalf("%d schedules for %d addresses", len(values), len(schedules))
	}
	lobbyDay := dayOf(t, sb, lobby)
	for i, v := range values {
		if v["scheduleId"] != schedules[i] {
			t.Errorf("schedule %d is %v, want %s", i, v["scheduleId"], schedules[i])
		}
		if schedules[i] == "nobody@placard.example" {
			e, _ := v["error"].(map[string]any)
			if e == nil || e["responseCode"] == nil || !strings.Contains(fmt.Sprint(e["message"]), "nobody@placard.example") {
				t.Errorf("an unknown address: %v", v)
			}
			continue
		}
		view := v["availabilityView"].(string)
		if len(view) != 24 || strings.Trim(view, "01234") != "" {
			t.Errorf("%s: availabilityView %q", schedules[i], view)
		}
		if wh := v["workingHours"].(map[string]any); wh["startTime"] == nil || wh["timeZone"] == nil {
			t.Errorf("%s: workingHours %v", schedules[i], wh)
		}
		for _, it := range anys(v["scheduleItems"]) {
			start, _ := time.Parse("2006-01-02T15:04:05.0000000", it["start"].(map[string]any)["dateTime"].(string))
			slot := int(start.Sub(from) / time.Hour)
			if slot >= 0 && slot < len(view) && it["status"] == "busy" && view[slot] != '2' {
				t.Errorf("%s: a busy item at %s, view %q", schedules[i], start.Format("15:04"), view)
			}
			switch schedules[i] {
			case grace:
				if it["subject"] != nil || it["isPrivate"] != nil {
					t.Errorf("a person shares free/busy only: %v", it)
				}
			case "atelier@placard.example":
				if it["subject"] == "Secret" {
					t.Errorf("a private meeting's subject: %v", it)
				}
			case lobby:
				if it["isPrivate"] == false && it["subject"] == nil {
					t.Errorf("a room shares subjects: %v", it)
				}
			}
		}
	}
	// The lobby's items are its calendar's meetings, not cancelled.
	n := 0
	for _, e := range lobbyDay {
		if !e.IsCancelled && e.End.After(from) && e.Start.Before(from.Add(24*time.Hour)) {
			n++
		}
	}
	if got := len(anys(values[0]["scheduleItems"])); got != n {
		t.Errorf("%d of the lobby's items, its calendar has %d meetings", got, n)
	}

	t.Run("limits", func(t *testing.T) {
		many := make([]string, sandbox.MaxSchedules+1)
		for i := range many {
			many[i] = fmt.Sprintf("user%d@placard.example", i)
		}
		if a := post(auth, scheduleBody(many[:sandbox.MaxSchedules], from, from.Add(time.Hour), 30)); a.status != 200 {
			t.Errorf("20 schedules: %d", a.status)
		}
		wantGraph(t, post(auth, scheduleBody(many, from, from.Add(time.Hour), 30)), 400, "ErrorMailboxDataArrayTooBig")
		if a := post(auth, scheduleBody([]string{lobby}, from, from.Add(61*24*time.Hour+23*time.Hour), 1440)); a.status != 200 {
			t.Errorf("under 62 days: %d %s", a.status, a.raw)
		}
		wantGraph(t, post(auth, scheduleBody([]string{lobby}, from, from.Add(62*24*time.Hour), 1440)), 400, "ErrorTimeIntervalTooBig")
		wantGraph(t, post(auth, scheduleBody([]string{lobby}, from, from, 30)), 400, "ErrorInvalidTimeInterval")
		wantGraph(t, post(auth, scheduleBody([]string{lobby}, from, from.Add(time.Hour), 4)), 400, "ErrorInvalidMergedFreeBusyInterval")
		wantGraph(t, post(auth, scheduleBody([]string{lobby}, from, from.Add(time.Hour), 1441)), 400, "ErrorInvalidMergedFreeBusyInterval")
	})
	t.Run("the interval defaults to 30 minutes, and may come as a string", func(t *testing.T) {
		body := `{"Schedules":["` + lobby + `"],"StartTime":{"dateTime":"` + utc(from) + `","timeZone":"UTC"},"EndTime":{"dateTime":"` + utc(from.Add(3*time.Hour)) + `","timeZone":"UTC"}}`
		if v := anys(post(auth, body).body["value"]); len(v[0]["availabilityView"].(string)) != 6 {
			t.Errorf("three hours by the default 30 minutes: %v", v[0]["availabilityView"])
		}
		// The concept page's sample writes its property names capitalised
		// and the interval as a string.
		body = strings.TrimSuffix(body, "}") + `,"availabilityViewInterval":"15"}`
		if v := anys(post(auth, body).body["value"]); len(v[0]["availabilityView"].(string)) != 12 {
			t.Errorf("three hours by 15 minutes: %v", v[0]["availabilityView"])
		}
	})
	t.Run("Prefer: outlook.timezone", func(t *testing.T) {
		v := anys(post(auth, scheduleBody([]string{lobby}, from, from.Add(24*time.Hour), 60), "Prefer", `outlook.timezone="Pacific Standard Time"`).body["value"])
		for _, it := range anys(v[0]["scheduleItems"]) {
			if it["start"].(map[string]any)["timeZone"] != "Pacific Standard Time" {
				t.Fatalf("an item in %v", it["start"])
			}
		}
	})
	t.Run("permissions", func(t *testing.T) {
		for _, scope := range []string{"Calendars.Read", "Calendars.ReadWrite"} {
			if a := post(bearer(t, sb, ada, scope), scheduleBody([]string{lobby}, from, from.Add(time.Hour), 30)); a.status != 200 {
				t.Errorf("%s: %d", scope, a.status)
			}
		}
		wantGraph(t, post(bearer(t, sb, ada, "User.Read"), scheduleBody([]string{lobby}, from, from.Add(time.Hour), 30)), 403, "ErrorAccessDenied")
	})
	t.Run("in a batch of 20 schedules a request", func(t *testing.T) {
		var reqs []map[string]any
		for i := range 3 {
			reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "POST", "url": "/me/calendar/getSchedule",
				"headers": map[string]string{"Content-Type": "application/json"},
				"body":    json.RawMessage(scheduleBody([]string{lobby, "turing@placard.example"}, from, from.Add(8*time.Hour), 30))})
		}
		a, res := batch(t, c, auth, reqs...)
		if a.status != 200 || len(res) != 3 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		for id, r := range res {
			body, _ := r["body"].(map[string]any)
			if r["status"] != float64(200) || len(anys(body["value"])) != 2 {
				t.Errorf("request %s of the batch: %v", id, r)
			}
		}
	})
}
