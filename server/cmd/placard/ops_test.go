package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/sandbox/sandboxctl"
	"github.com/placard/placard/server/screens"
)

func TestReadinessTellsStrangersNoDetail(t *testing.T) {
	m := testServer(t)
	m.Sandbox.SetFaults(sandbox.Faults{IdentityUnreachable: true})
	res, body := get(t, httpClient(t), m.URL+"/readyz")
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the identity platform unreachable: %s", res.Status)
	}
	for _, detail := range []string{"https://", "login.microsoftonline.com", "openid-configuration", sandbox.TenantID} {
		if strings.Contains(body, detail) {
			t.Errorf("/readyz tells anyone %q: %s", detail, body)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	m := testServer(t)
	c := httpClient(t)
	m.Sandbox.SetFaults(sandbox.Faults{IdentityUnreachable: true})
	res, body := get(t, c, m.URL+"/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "the identity platform does not answer") {
		t.Errorf("/readyz with the identity platform unreachable: %s %s", res.Status, body)
	}
	if res, _ := get(t, c, m.URL+"/healthz"); res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s: the process is up whatever its dependencies", res.Status)
	}
	m.Sandbox.SetFaults(sandbox.Faults{})
	if res, body := get(t, c, m.URL+"/readyz"); res.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %s %s", res.Status, body)
	}
}

// metric reads one sample of the exposition format, 0 when absent.
func metric(t *testing.T, body, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	return 0
}

func TestMetricsMoveWithASignIn(t *testing.T) {
	m := testServer(t, fastPolls)
	before := scrape(t, m)
	s := openScreen(t, m, "Lobby TV")
	s.signIn(m, "ada@placard.example")
	// Past the access token's life, the next poll refreshes it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tokens, batches := m.Sandbox.Requests("token"), m.Sandbox.Requests("graph /$batch")
	m.Sandbox.Advance(2 * time.Hour)
	if err := m.Sandbox.AwaitRequests(ctx, "token", tokens+1); err != nil {
		t.Fatal(err)
	}
	if err := m.Sandbox.AwaitRequests(ctx, "graph /$batch", batches+2); err != nil {
		t.Fatal(err)
	}
	after := scrape(t, m)
	for _, tt := range []struct {
		name string
		min  float64
	}{
		{`placard_screens_connected`, 1},
		{`placard_sign_ins_total{outcome="success"}`, 1},
		{`placard_graph_requests_total{endpoint="/me/presence",status="200"}`, 1},
		{`placard_graph_requests_total{endpoint="calendarView/delta",status="200"}`, 1},
		{`placard_graph_requests_total{endpoint="$batch",status="200"}`, 1},
		{`placard_websocket_messages_total{direction="out",type="state"}`, 2},
		{`placard_graph_polls_total`, 1},
		{`placard_token_refreshes_total{outcome="success"}`, 1},
		{`placard_graph_poll_lag_seconds_count`, 1},
	} {
		if got := metric(t, after, tt.name) - metric(t, before, tt.name); got < tt.min {
			t.Errorf("%s moved by %v, want at least %v", tt.name, got, tt.min)
		}
	}
}

func fastPolls(m *Main) {
	tune := m.Tune
	m.Tune = func(c *screens.Config) {
		tune(c)
		c.PollEvery = 200 * time.Millisecond
		c.CalendarEvery = 200 * time.Millisecond
		c.ScheduleEvery = 200 * time.Millisecond
	}
}

func TestRestartKeepsScreensSignedIn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := startOn(t, dir, "127.0.0.1:0")
	s := openScreen(t, first, "Lobby TV")
	s.signIn(first, "grace@placard.example")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := startOn(t, dir, "127.0.0.1:0")
	s.reconnect(second)
	st := s.waitFor(20*time.Second, "the dashboard again", func(st wire.State) bool { return st.Phase != "" })
	if st.Phase != wire.PhaseDashboard || st.Dashboard.User.Name != "Grace Hopper" {
		t.Fatalf("after a restart the screen shows %s %+v", st.Phase, st.Dashboard)
	}
	if n := second.Sandbox.Requests("devicecode"); n != 0 {
		t.Errorf("the restarted server asked for %d device codes", n)
	}
}

func TestShutdownTellsScreensToReconnect(t *testing.T) {
	m := startOn(t, filepath.Join(t.TempDir(), "data"), "127.0.0.1:0")
	s := openScreen(t, m, "Hall")
	s.waitPhase(15*time.Second, wire.PhaseCode)
	go m.Close()
	select {
	case <-s.byes:
	case <-time.After(10 * time.Second):
		t.Fatal("the screen was not told the server is going")
	}
}

func TestDataDirectoryHoldsNoTokenInPlainText(t *testing.T) {
	m := testServer(t, fastPolls)
	s := openScreen(t, m, "Lobby TV")
	s.signIn(m, "ada@placard.example")
	// A refresh writes the cache again.
	expireTokens(t, m)
	if err := m.Close(); err != nil { // flushes the write-ahead log
		t.Fatal(err)
	}
	dir := m.Config.DataDir
	checked := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for what, re := range secretShapes {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s holds a %s in plain text: %.40q", path, what, b[loc[0]:loc[1]])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 2 {
		t.Fatalf("checked %d files in %s: the data directory should hold the database and the key", checked, dir)
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsCarryNoToken(t *testing.T) {
	var logs syncBuffer
	m := testServer(t, fastPolls, func(m *Main) {
		m.Config.LogLevel = "debug"
		m.Config.LogFormat = "json"
		m.Stderr = &logs
	})
	s := openScreen(t, m, "Lobby TV")
	s.signIn(m, "ada@placard.example")
	// A refresh, then a revocation: the paths where tokens and errors of
	// the identity platform meet the log.
	expireTokens(t, m)
	m.Sandbox.Revoke("ada@placard.example")
	m.Sandbox.Advance(2 * time.Hour)
	s.waitPhase(15*time.Second, wire.PhaseError)
	out := logs.String()
	if !strings.Contains(out, `"kind":"refresh_failed"`) {
		t.Fatalf("the log lacks the refresh failure; it holds:\n%.3000s", out)
	}
	for what, re := range secretShapes {
		if loc := re.FindStringIndex(out); loc != nil {
			t.Errorf("the log holds a %s: %.60q", what, out[loc[0]:loc[1]])
		}
	}
}

// TestTheProfilerAnswersOnlyOnItsOwnLoopbackAddress: -debug-addr serves
// Go's profiler apart from the screens' server, which never answers it.
func TestTheProfilerAnswersOnlyOnItsOwnLoopbackAddress(t *testing.T) {
	m := testServer(t, func(m *Main) { m.Config.DebugAddr = "127.0.0.1:0" })
	if m.DebugURL == "" || m.DebugURL == m.URL {
		t.Fatalf("the profiler's URL is %q (the server's %q)", m.DebugURL, m.URL)
	}
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(m.DebugURL + "/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("the profiler answered %d: %.200s", code, body)
	}
	if code, _ := get(m.DebugURL + "/debug/pprof/cmdline"); code == http.StatusOK {
		t.Error("the profiler tells the command line, which may hold a database password")
	}
	if code, body := get(m.URL + "/debug/pprof/goroutine?debug=1"); strings.Contains(body, "goroutine profile:") {
		t.Errorf("the screens' server answered the profiler's path (%d)", code)
	}

	// A page of another site, its name rebound to 127.0.0.1, names its
	// own host: refused.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.DebugURL, "http://"))
	hosts := []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		{"LocalHost", http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
		{"127.0.0.2", http.StatusOK},
		{"attacker.example:" + port, http.StatusForbidden},
		{"attacker.example", http.StatusForbidden},
		{"localhost.attacker.example:" + port, http.StatusForbidden},
		{"127.0.0.1.nip.io:" + port, http.StatusForbidden},
		{"192.168.1.2:" + port, http.StatusForbidden},
	}
	for _, h := range hosts {
		req, err := http.NewRequest(http.MethodGet, m.DebugURL+"/debug/pprof/goroutine?debug=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = h.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != h.want {
			t.Errorf("the profiler, asked with Host %q, answered %d, want %d", h.host, res.StatusCode, h.want)
		}
	}
}

// TestTheProfilerListensOnlyOnALoopbackAddress: an address that is not
// loopback once listened on (as a name may resolve) serves nothing.
func TestTheProfilerListensOnlyOnALoopbackAddress(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0"} {
		m := &Main{}
		if err := m.serveDebug(addr); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("serving the profiler on %s: %v, want a refusal", addr, err)
		}
		if m.debug != nil {
			t.Errorf("a profiler server was made for %s", addr)
		}
	}
}

func TestKillDashNineLosesNothingAcknowledged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := startChild(t, dir)
	s := openScreen(t, &Main{URL: c.url}, "Lobby TV")
	code := s.waitPhase(15*time.Second, wire.PhaseCode).Code.UserCode
	if out, err := ctlOf(c.server()).Approve(t.Context(), code, "ada@placard.example"); err != nil || out != sandboxctl.OutcomeApproved {
		t.Fatalf("approving %s: %s %v", code, out, err)
	}
	s.waitPhase(20*time.Second, wire.PhaseDashboard)

	// The dashboard was shown: the sign-in is acknowledged. A power cut
	// now must not lose it.
	c.kill()

	c2 := startChild(t, dir)
	s.reconnect(&Main{URL: c2.url})
	st := s.waitFor(20*time.Second, "a state", func(st wire.State) bool { return st.Phase != "" })
	if st.Phase != wire.PhaseDashboard || st.Dashboard.User.Name != "Ada Lovelace" {
		t.Fatalf("after kill -9 and a restart the screen shows %s %+v", st.Phase, st.Dashboard)
	}
}

// expireTokens moves the sandbox's clock past the access tokens' life and
// waits for the refresh that follows.
func expireTokens(t *testing.T, m *Main) {
	t.Helper()
	before := m.Sandbox.Requests("token")
	m.Sandbox.Advance(2 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.Sandbox.AwaitRequests(ctx, "token", before+1); err != nil {
		t.Fatalf("no refresh after the tokens expired: %v", err)
	}
}

func TestAFailedStartFreesItsAddress(t *testing.T) {
	// Take a free port, then fail the start after listening on it: the
	// certificate files hold no certificate.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []string{cert, key} {
		if err := os.WriteFile(f, []byte("not PEM"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := ParseConfig([]string{"-addr", addr, "-data", filepath.Join(dir, "data"), "-tls-cert", cert, "-tls-key", key}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Stderr: testLog{t}}
	if err := m.Run(context.Background()); err == nil {
		m.Close()
		t.Fatal("placard started with a certificate file that holds none")
	}
	again, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("after a failed start, %s is still taken: %v", addr, err)
	}
	again.Close()
}
