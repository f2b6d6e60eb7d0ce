package sandbox_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

var outcomeRE = regexp.MustCompile(`data-testid="approval-result" data-outcome="([a-z]+)"`)

// phone posts the phone page's form and returns the status and outcome.
func phone(t *testing.T, srvURL string, c *http.Client, code, upn, action string) (int, string, string) {
	t.Helper()
	a := postForm(t, c, srvURL+"/sandbox/devicelogin", url.Values{"user_code": {code}, "user": {upn}, "action": {action}})
	m := outcomeRE.FindStringSubmatch(string(a.raw))
	if m == nil {
		t.Fatalf("no approval-result in the page (%d):\n%s", a.status, a.raw)
	}
	return a.status, m[1], string(a.raw)
}

func TestPhonePageNamesTheScreenAndApprovesOnce(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, c := controlServer(t, sb)
	uc, _ := deviceCode(t, gc, "User.Read")
	sb.NameCode(uc, "Kitchen <TV>")

	page := get(t, c, srv.URL+"/sandbox/devicelogin?code="+uc)
	html := string(page.raw)
	if page.status != 200 || !strings.Contains(html, `data-testid="code-screen">Kitchen &lt;TV&gt;</strong>`) {
		t.Errorf("the page does not name the screen that asked, escaped:\n%s", html)
	}
	for _, want := range []string{`name="user_code" value="` + uc + `"`, `<option value="` + ada + `">`, `<option value="` + kim + `">`, `name="action" value="approve"`, `name="action" value="decline"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "style=") {
		t.Error("the page has a script or an inline style, which the CSP refuses")
	}

	// A person types the code as they read it: lower case, with a space.
	if status, out, html := phone(t, srv.URL, c, strings.ToLower(uc[:4])+" "+uc[4:], grace, "approve"); status != 200 || out != "approved" || !strings.Contains(html, "Kitchen &lt;TV&gt;") {
		t.Errorf("approve: %d %s", status, out)
	}
	if _, out, _ := phone(t, srv.URL, c, uc, grace, "approve"); out != "used" {
		t.Errorf("approving twice: %s, want used", out)
	}
}

func TestPhonePageOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(sb *sandbox.Sandbox)
		upn     string
		action  string
		status  int
		outcome string
	}{
		{"declined", nil, ada, "decline", 200, "declined"},
		{"expired", func(sb *sandbox.Sandbox) { sb.Advance(16 * time.Minute) }, ada, "approve", 200, "expired"},
		{"blocked by Conditional Access", func(sb *sandbox.Sandbox) { sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true}) }, ada, "approve", 403, "blocked"},
		{"nobody chosen", nil, "nobody@placard.example", "approve", 400, "invalid"},
		{"no action", nil, ada, "maybe", 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb, gc := newSandbox(t)
			srv, c := controlServer(t, sb)
			uc, _ := deviceCode(t, gc, "User.Read")
			if tt.prepare != nil {
				tt.prepare(sb)
			}
			status, out, html := phone(t, srv.URL, c, uc, tt.upn, tt.action)
			if status != tt.status || out != tt.outcome {
				t.Errorf("got %d %s, want %d %s", status, out, tt.status, tt.outcome)
			}
			if tt.outcome == "blocked" && !strings.Contains(html, `Error Code: <span data-testid="approval-error-code">53003</span>`) {
				t.Errorf("a blocked sign-in does not show its code for IT:\n%s", html)
			}
		})
	}
}

func TestPhonePageLocksOutAfterWrongCodes(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, c := controlServer(t, sb)
	uc, _ := deviceCode(t, gc, "User.Read")
	// A known code with a wrong account is no guess: it does not count.
	phone(t, srv.URL, c, uc, "nobody@placard.example", "approve")
	for i := range 5 {
		if status, out, _ := phone(t, srv.URL, c, "WRONGCODE", ada, "approve"); status != 400 || out != "invalid" {
			t.Fatalf("wrong code %d: %d %s", i+1, status, out)
		}
	}
	if status, out, _ := phone(t, srv.URL, c, uc, ada, "approve"); status != 429 || out != "locked" {
		t.Fatalf("after five wrong codes, the right one: %d %s, want locked", status, out)
	}
	sb.Advance(16 * time.Minute)
	uc, _ = deviceCode(t, gc, "User.Read")
	if _, out, _ := phone(t, srv.URL, c, uc, ada, "approve"); out != "approved" {
		t.Errorf("after the lockout window: %s", out)
	}
}

// Right codes are no guesses, even when they arrive together: people
// approving a row of screens at once from one address are never locked out,
// however close that address is to its limit of wrong codes.
func TestPhonePageConcurrentRightCodesDoNotLockOut(t *testing.T) {
	t.Parallel()
	sb, gc := newSandbox(t)
	srv, c := controlServer(t, sb)
	for i := range 4 {
		if _, out, _ := phone(t, srv.URL, c, "WRONGCODE", ada, "approve"); out != "invalid" {
			t.Fatalf("wrong code %d: %s", i+1, out)
		}
	}
	const screens = 20
	codes := make([]string, screens)
	for i := range codes {
		codes[i], _ = deviceCode(t, gc, "User.Read")
	}
	outcomes := make([]string, screens)
	var wg sync.WaitGroup
	for i, uc := range codes {
		wg.Go(func() {
			res, err := c.PostForm(srv.URL+"/sandbox/devicelogin", url.Values{"user_code": {uc}, "user": {ada}, "action": {"approve"}})
			if err != nil {
				outcomes[i] = err.Error()
				return
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if m := outcomeRE.FindSubmatch(raw); m != nil {
				outcomes[i] = string(m[1])
			}
		})
	}
	wg.Wait()
	for i, out := range outcomes {
		if out != "approved" {
			t.Errorf("approval %d of %d at once: %q, want approved", i+1, screens, out)
		}
	}
	// The right codes left the count of wrong ones as it was: one more
	// wrong code is allowed, the next locks the address out.
	if status, out, _ := phone(t, srv.URL, c, "WRONGCODE", ada, "approve"); status != 400 || out != "invalid" {
		t.Fatalf("fifth wrong code: %d %s, want 400 invalid", status, out)
	}
	uc, _ := deviceCode(t, gc, "User.Read")
	if status, out, _ := phone(t, srv.URL, c, uc, ada, "approve"); status != 429 || out != "locked" {
		t.Fatalf("a right code after five wrong ones: %d %s, want 429 locked", status, out)
	}
}
