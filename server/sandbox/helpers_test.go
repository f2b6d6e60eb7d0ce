package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/sandbox"
)

const (
	login     = "https://" + sandbox.LoginHost
	graphBase = "https://" + sandbox.GraphHost + "/v1.0"
	tenant    = login + "/" + sandbox.TenantID
	ada       = "ada@placard.example"
	grace     = "grace@placard.example"
	kim       = "kim@placard.example"
	lobby     = "lobby@placard.example"
)

// newSandbox returns a sandbox whose clock the test moves, and an HTTP
// client that reaches it as MSAL and the Graph client do.
func newSandbox(t *testing.T, opts ...func(*sandbox.Options)) (*sandbox.Sandbox, *http.Client) {
	t.Helper()
	o := sandbox.Options{VerificationURL: "https://placard.test/sandbox/devicelogin", Seed: 7}
	for _, f := range opts {
		f(&o)
	}
	sb, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return sb, &http.Client{Transport: sb.Transport(), Timeout: 10 * time.Second}
}

// answer is an HTTP answer with its JSON body decoded.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func do(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.Contains(res.Header.Get("Content-Type"), "json") && strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("%s %s: the JSON answer does not decode: %v\n%s", req.Method, req.URL, err, raw)
		}
	}
	return a
}

func get(t *testing.T, c *http.Client, u string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, c, req)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

func send(t *testing.T, c *http.Client, method, u, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, c, req)
}

var (
	guidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	stsTimeRE   = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`)
	descTailRE  = regexp.MustCompile(`\r\nTrace ID: ([0-9a-f-]{36})\r\nCorrelation ID: ([0-9a-f-]{36})\r\nTimestamp: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)$`)
	graphDateRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
)

// wantSTS checks an answer of the identity platform against the error it
// should be, in the platform's exact JSON shape: the description starts
// with the AADSTS code and ends with trace lines matching the other fields.
func wantSTS(t *testing.T, a answer, status int, oauth string, code int) {
	t.Helper()
	if a.status != status || a.body["error"] != oauth {
		t.Fatalf("got %d %v, want %d %s: %s", a.status, a.body["error"], status, oauth, a.raw)
	}
	codes, _ := a.body["error_codes"].([]any)
	if len(codes) != 1 || codes[0] != float64(code) {
		t.Errorf("error_codes %v, want [%d]", a.body["error_codes"], code)
	}
	desc, _ := a.body["error_description"].(string)
	if !strings.HasPrefix(desc, "AADSTS"+itoa(code)+": ") {
		t.Errorf("error_description %q does not start with AADSTS%d", desc, code)
	}
	m := descTailRE.FindStringSubmatch(desc)
	if m == nil {
		t.Fatalf("error_description %q does not end with trace, correlation and timestamp lines", desc)
	}
	if m[1] != a.body["trace_id"] || m[2] != a.body["correlation_id"] || m[3] != a.body["timestamp"] {
		t.Errorf("trace lines %v disagree with trace_id %v, correlation_id %v, timestamp %v", m[1:], a.body["trace_id"], a.body["correlation_id"], a.body["timestamp"])
	}
	for _, k := range []string{"trace_id", "correlation_id"} {
		if s, _ := a.body[k].(string); !guidRE.MatchString(s) {
			t.Errorf("%s %q is not a GUID", k, s)
		}
	}
	if s, _ := a.body["timestamp"].(string); !stsTimeRE.MatchString(s) {
		t.Errorf("timestamp %q is not the platform's \"2016-01-09 02:02:12Z\"", s)
	}
	if a.body["error_uri"] != "https://login.microsoftonline.com/error?code="+itoa(code) {
		t.Errorf("error_uri %v", a.body["error_uri"])
	}
	if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("an answer of the identity platform has Cache-Control %q", cc)
	}
}

// wantGraph checks an error answer of Graph: status, code, and the body's
// shape {"error": {"code", "message", "innerError": {date, request-id,
// client-request-id}}}, with the request id in the headers too.
func wantGraph(t *testing.T, a answer, status int, code string) string {
	t.Helper()
	e, _ := a.body["error"].(map[string]any)
	if a.status != status || e == nil || e["code"] != code {
		t.Fatalf("got %d %v, want %d %s: %s", a.status, e["code"], status, code, a.raw)
	}
	msg, _ := e["message"].(string)
	if msg == "" {
		t.Errorf("a Graph error without a message: %s", a.raw)
	}
	inner, _ := e["innerError"].(map[string]any)
	if d, _ := inner["date"].(string); !graphDateRE.MatchString(d) {
		t.Errorf("innerError.date %q", d)
	}
	if id, _ := inner["request-id"].(string); !guidRE.MatchString(id) || a.header.Get("request-id") != id {
		t.Errorf("innerError.request-id %q, header request-id %q", id, a.header.Get("request-id"))
	}
	if inner["client-request-id"] == nil {
		t.Errorf("innerError has no client-request-id: %s", a.raw)
	}
	return msg
}

func itoa(n int) string { return strconv.Itoa(n) }

// userInfo is one demo user as the sandbox lists it.
func userInfo(t *testing.T, sb *sandbox.Sandbox, upn string) sandbox.UserInfo {
	t.Helper()
	for _, u := range sb.Users() {
		if u.UPN == upn {
			return u
		}
	}
	t.Fatalf("no demo user %s", upn)
	return sandbox.UserInfo{}
}
