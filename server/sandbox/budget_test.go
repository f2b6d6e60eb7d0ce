package sandbox_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

func TestBudgetsCountRequestsPerMailboxAndWindow(t *testing.T) {
	t.Parallel()
	sb, c := mondaySandbox(t)
	srv, cc := controlServer(t, sb)
	q := url.Values{"startDateTime": {"2026-03-02T00:00:00Z"}, "endDateTime": {"2026-03-03T00:00:00Z"}}.Encode()
	lobbyAuth, adaAuth := bearer(t, sb, lobby, "Calendars.Read", "Presence.Read"), bearer(t, sb, ada, "Calendars.Read.Shared", "Presence.Read")
	for range 3 {
		view(t, c, lobbyAuth, q)
	}
	// Another user's request to the lobby's calendar counts against the
	// lobby's mailbox.
	get(t, c, graphBase+"/users/"+lobby+"/calendarView?"+q, "Authorization", adaAuth)
	get(t, c, graphBase+"/me/presence", "Authorization", adaAuth)
	sb.Advance(11 * time.Minute)
	view(t, c, lobbyAuth, q)
	get(t, c, graphBase+"/me/presence", "Authorization", lobbyAuth)

	var b sandbox.Budgets
	if err := json.Unmarshal(get(t, cc, srv.URL+"/sandbox/api/budgets").raw, &b); err != nil {
		t.Fatal(err)
	}
	if b.Outlook.Limit != 10_000 || b.Outlook.WindowSeconds != 600 || b.Outlook.ConcurrentLimit != 4 {
		t.Errorf("Outlook's limits: %+v", b.Outlook)
	}
	i := slices.IndexFunc(b.Outlook.Mailboxes, func(m sandbox.MailboxLoad) bool { return m.UPN == lobby })
	if i < 0 {
		t.Fatalf("no load for the lobby: %+v", b.Outlook.Mailboxes)
	}
	if m := b.Outlook.Mailboxes[i]; m.Total != 5 || m.InWindow != 1 || m.PeakWindow != 4 || m.PeakConcurrent != 1 {
		t.Errorf("the lobby's mailbox: %+v", m)
	}
	if p := b.Presence; p.Total != 2 || p.InWindow != 1 || p.PeakWindow != 1 {
		t.Errorf("presence: %+v", p.Load)
	}
	// The request log says which mailbox each Outlook request read.
	reqs, _ := sb.UserRequests(ada)
	if !slices.ContainsFunc(reqs, func(r sandbox.GraphRequest) bool {
		return r.Mailbox == lobby && r.Endpoint == "graph /users/{user}/calendarView"
	}) {
		t.Errorf("Ada's requests: %+v", reqs)
	}
}
