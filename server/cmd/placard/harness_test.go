package main

// How the tests of this package start placard. Read this file first.
//
// There are two ways, each in one place:
//   - testServer and startOn run the edge server's Main in the test's
//     process on 127.0.0.1:0, with a temporary data directory: a test then
//     reaches inside (m.Sandbox, m.Screens, m.Store) as well as over HTTP.
//   - start runs placard's command line (`placard [flags]`, `placard
//     sandbox`, ...) either in the test's process (inProcess: run() in a
//     goroutine) or in a process of its own (ownProcess: the test binary
//     running main, see TestMain), which a test can kill as a power cut
//     would or signal as an init system does. Both read what placard
//     prints the same way: its banner says where it listens.
//
// startSandbox and startSandboxProc start `placard sandbox` these two
// ways; startReplicaProcs starts replicas in processes of their own. The
// sandbox's control API is reached through sandboxctl (sb.ctl); waiting
// is done with await (on a channel) or eventually (asking again), never
// with a fixed sleep.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/sandbox/sandboxctl"
	"github.com/placard/placard/server/screens"
)

// TestMain lets a test run the binary's main in a process of its own
// (start with ownProcess).
func TestMain(m *testing.M) {
	if os.Getenv("PLACARD_TEST_CHILD") == "1" {
		main()
		return
	}
	os.Exit(pgtest.Main(m))
}

// testServer starts the edge server in sandbox mode on 127.0.0.1:0 with a
// fresh data directory, as `make run` does with ./data.
func testServer(t *testing.T, tune ...func(*Main)) *Main {
	t.Helper()
	return startOn(t, filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", tune...)
}

// startOn starts the edge server in the test's process on a data
// directory and address of the test's choosing (a restart reuses both),
// with the screens' grace and hold times shortened; tune adjusts the
// server before it starts.
func startOn(t *testing.T, dataDir, addr string, tune ...func(*Main)) *Main {
	t.Helper()
	cfg, err := ParseConfig([]string{"-addr", addr, "-data", dataDir, "-log-level", "info"}, noEnvironment, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Stderr: testLog{t}}
	m.Tune = func(c *screens.Config) {
		c.Grace = 2 * time.Second
		c.ProblemHold = 2 * time.Second
	}
	for _, f := range tune {
		f(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("starting placard: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing placard: %v", err)
		}
	})
	return m
}

// inTheMorning runs the server's clock, and so its sandbox's and its
// screens' (which follow the server's), from 10:00 UTC of today. A test
// whose screens show a day (its meetings, "free until", a booking minutes
// from now) then passes at any hour: at 23:30 the sandbox's next meeting
// would be tomorrow's, and a booking 3 minutes on could cross midnight.
// The date stays today's, so that the days tested go on with the
// calendar (the sandbox's own tests walk two years of them).
// PLACARD_TEST_TIME=23:55 runs these tests at another time of day.
func inTheMorning(m *Main) {
	at := 10 * time.Hour
	if s := os.Getenv("PLACARD_TEST_TIME"); s != "" {
		hm, err := time.Parse("15:04", s)
		if err != nil {
			panic(fmt.Sprintf("PLACARD_TEST_TIME=%q: want a time of day such as 23:55", s))
		}
		at = time.Duration(hm.Hour())*time.Hour + time.Duration(hm.Minute())*time.Minute
	}
	now := time.Now()
	y, mo, d := now.UTC().Date()
	shift := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Add(at).Sub(now)
	m.Now = func() time.Time { return time.Now().Add(shift) }
}

// testLog sends the server's log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// how is where start runs placard.
type how int

const (
	// inProcess runs placard's command line in the test's process.
	inProcess how = iota
	// ownProcess runs it in a process of its own, to be killed or
	// signalled.
	ownProcess
)

// launch is a placard to start: its arguments, its environment
// (KEY=VALUE; in its own process it also inherits the test's), where its
// log (stderr) goes, the test's log by default, and, in its own process,
// its working directory (the test's by default).
type launch struct {
	args []string
	env  []string
	log  io.Writer
	dir  string
}

// proc is a placard that start started.
type proc struct {
	t    *testing.T
	args []string
	cmd  *exec.Cmd // ownProcess only

	mu      sync.Mutex
	lines   []string      // what it printed on stdout so far
	read    int           // lines await has looked at
	more    chan struct{} // closed and replaced when a line arrives or it exits
	exited  chan struct{} // closed once it has exited
	exitErr error         // how it exited, once exited is closed

	// url is where it serves (set by the helpers that read its banner);
	// a replica's leases follow its log, database is its -database and
	// token a viewer token made there for its /metrics.
	url      string
	leases   *leaseLog
	database string
	token    string
}

// start starts placard with l, in the test's process or in its own; it
// ends with the test (killed, or cancelled and waited for: an in-process
// placard that ends with an error fails the test).
func start(t *testing.T, where how, l launch) *proc {
	t.Helper()
	if l.log == nil {
		l.log = testLog{t}
	}
	p := &proc{t: t, args: l.args, more: make(chan struct{}), exited: make(chan struct{})}
	var out io.ReadCloser
	var wait func() error
	switch where {
	case ownProcess:
		p.cmd = exec.Command(os.Args[0], l.args...)
		p.cmd.Env = append(append(os.Environ(), "PLACARD_TEST_CHILD=1"), l.env...)
		p.cmd.Stderr = l.log
		p.cmd.Dir = l.dir
		var err error
		if out, err = p.cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wait = p.cmd.Wait
		t.Cleanup(func() { p.cmd.Process.Kill(); <-p.exited })
	case inProcess:
		env := map[string]string{}
		for _, kv := range l.env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		ctx, cancel := context.WithCancel(context.Background())
		r, w := io.Pipe()
		out = r
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, l.args, func(k string) string { return env[k] }, w, l.log)
			w.Close()
		}()
		wait = func() error { return <-done }
		t.Cleanup(func() {
			cancel()
			<-p.exited
			if p.exitErr != nil {
				t.Errorf("placard %s: %v", strings.Join(l.args, " "), p.exitErr)
			}
		})
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		io.Copy(io.Discard, out)
		err := wait()
		p.mu.Lock()
		p.exitErr = err
		close(p.more)
		p.mu.Unlock()
		close(p.exited)
	}()
	return p
}

// await reads what placard prints until a line matches re, and returns
// the line's submatches; it fails the test if placard exits first or
// within passes.
func (p *proc) await(within time.Duration, what string, re *regexp.Regexp) []string {
	p.t.Helper()
	timeout := time.After(within)
	for {
		p.mu.Lock()
		for ; p.read < len(p.lines); p.read++ {
			if m := re.FindStringSubmatch(p.lines[p.read]); m != nil {
				p.read++
				p.mu.Unlock()
				return m
			}
		}
		more := p.more
		p.mu.Unlock()
		select {
		case <-p.exited:
			p.mu.Lock()
			pending := p.read < len(p.lines)
			p.mu.Unlock()
			if !pending {
				p.t.Fatalf("placard %s exited (%v) before printing %s (its log says why)", strings.Join(p.args, " "), p.exitErr, what)
			}
		case <-more:
		case <-timeout:
			p.t.Fatalf("placard %s printed no %s within %v", strings.Join(p.args, " "), what, within)
		}
	}
}

// screenRE is the line of the edge server's banner that says where its
// screens are; its group is the port.
var screenRE = regexp.MustCompile(`Screen:\s+http://(?:localhost|127\.0\.0\.1):(\d+)/`)

// awaitServer waits for an edge server's banner and sets its URL.
func (p *proc) awaitServer(within time.Duration) *proc {
	p.t.Helper()
	p.url = "http://127.0.0.1:" + p.await(within, "banner", screenRE)[1]
	return p
}

// metric reads one of a replica's metrics as Prometheus does, with a
// viewer token made on the command line against its database, as an
// operator would.
func (p *proc) metric(t *testing.T, name string) int {
	t.Helper()
	if p.token == "" {
		out, err := runCLI(t, "admin", "token", "-database", p.database, "-name", "metrics", "-role", "viewer")
		if p.token = regexp.MustCompile(`padm_[a-z2-7]+\.[A-Za-z0-9_-]{43}`).FindString(out); err != nil || p.token == "" {
			t.Fatalf("making a viewer token on the replicas' database: %v\n%s", err, out)
		}
	}
	status, body := getMetrics(t, p.url+"/metrics", p.token)
	if status != http.StatusOK {
		t.Fatalf("/metrics of %s answered %d: %s", p.url, status, body)
	}
	return int(metric(t, body, name))
}

// server is the placard as the helpers that take a server see it.
func (p *proc) server() *Main { return &Main{URL: p.url} }

// wait waits for placard to exit and returns how it did.
func (p *proc) wait() error {
	<-p.exited
	return p.exitErr
}

// running says whether placard has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends placard in its own process at once, as a power cut would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// startChild runs the edge server in a process of its own on dataDir and
// waits for its banner.
func startChild(t *testing.T, dataDir string) *proc {
	t.Helper()
	return start(t, ownProcess, launch{args: []string{"-addr", "127.0.0.1:0", "-data", dataDir, "-log-level", "warn"}}).awaitServer(30 * time.Second)
}

// standalone is a `placard sandbox`, in the test's process or in its own.
type standalone struct {
	URL      string
	CertFile string
	client   *http.Client // trusts the sandbox's certificate
	ctl      *sandboxctl.Client
}

// startSandbox runs `placard sandbox` in the test's process on a free
// loopback port and waits for it to say where it listens.
func startSandbox(t *testing.T, flags ...string) *standalone {
	t.Helper()
	return sandboxOf(t, inProcess, flags)
}

// startSandboxProc runs `placard sandbox` in a process of its own.
func startSandboxProc(t *testing.T) *standalone {
	t.Helper()
	return sandboxOf(t, ownProcess, nil)
}

// edgeFlagsRE is the line of `placard sandbox`'s banner that says how to
// point an edge server at it.
var edgeFlagsRE = regexp.MustCompile(`-authority (https://\S+)/` + sandbox.TenantID + ` -graph-url \S+ -ca-file (\S+)`)

func sandboxOf(t *testing.T, where how, flags []string) *standalone {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sandbox")
	p := start(t, where, launch{args: append([]string{"sandbox", "-addr", "127.0.0.1:0", "-data", dir}, flags...)})
	m := p.await(60*time.Second, "how to point an edge server at it", edgeFlagsRE)
	sb := &standalone{URL: m[1], CertFile: m[2]}
	pem, err := os.ReadFile(sb.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	sb.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	sb.ctl = sandboxctl.New(sb.URL, sb.client)
	return sb
}

// pointedAt points an edge server at a placard sandbox as at a real
// tenant.
func pointedAt(sb *standalone) func(*Main) {
	return func(m *Main) {
		m.Config.ClientID = sandbox.ClientID
		m.Config.Authority = sb.URL + "/" + sandbox.TenantID
		m.Config.GraphURL = sb.URL + "/v1.0"
		m.Config.CAFile = sb.CertFile
	}
}

// startReplicaProcs runs n edge server replicas on the database, pointed
// at the sandbox, all at once, with the extra flags. They log in JSON, at
// info: the lines of their leases say which owns an account.
func startReplicaProcs(t *testing.T, n int, sb *standalone, dbURL string, extra ...string) []*proc {
	t.Helper()
	out := make([]*proc, n)
	changed := &notifier{ch: make(chan struct{})}
	for i := range out {
		args := append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"),
			"-log-level", "info", "-log-format", "json",
			"-client-id", sandbox.ClientID, "-authority", sb.URL + "/" + sandbox.TenantID,
			"-graph-url", sb.URL + "/v1.0", "-ca-file", sb.CertFile, "-database", dbURL}, extra...)
		leases := &leaseLog{t: t, owned: map[string]bool{}, changed: changed}
		out[i] = start(t, ownProcess, launch{args: args, env: []string{"PLACARD_KEY=" + testKey}, log: leases})
		out[i].leases, out[i].database = leases, dbURL
	}
	for _, p := range out {
		p.awaitServer(60 * time.Second)
	}
	return out
}

// ctlOf returns a client of the control API of an edge server's sandbox.
func ctlOf(m *Main) *sandboxctl.Client { return sandboxctl.New(m.URL, nil) }

// await receives from ch until ok says a value is the one waited for, and
// returns it; it fails the test if ch closes first or within passes.
func await[T any](tb testing.TB, ch <-chan T, within time.Duration, what string, ok func(T) bool) T {
	tb.Helper()
	timeout := time.After(within)
	for {
		select {
		case v, open := <-ch:
			if !open {
				tb.Fatalf("no %s: the stream ended", what)
			}
			if ok(v) {
				return v
			}
		case <-timeout:
			tb.Fatalf("no %s within %v", what, within)
		}
	}
}

// eventually asks until ok answers true, failing the test after within
// with ok's last word on what it saw. It is for what has no event to wait
// on: a page read again over HTTP, a status an API client polls. It asks
// every 50 ms, as often as a client reasonably would.
func eventually(tb testing.TB, within time.Duration, what string, ok func() (bool, string)) {
	tb.Helper()
	timeout := time.After(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		done, saw := ok()
		if done {
			return
		}
		select {
		case <-tick.C:
		case <-timeout:
			tb.Fatalf("no %s within %v: %s", what, within, saw)
		}
	}
}
