package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/sandbox"
)

// proc is placard in a process of its own (the test binary running main,
// see TestMain), which a test can kill as a power cut would.
type proc struct {
	cmd *exec.Cmd
	url string
}

// startProc runs placard with args and env and returns once a line of its
// output matches banner, with the banner's first group.
func startProc(t *testing.T, args []string, env []string, banner *regexp.Regexp) (*exec.Cmd, string) {
	t.Helper()
	cmd, found := launch(t, args, env, banner)
	return cmd, awaitBanner(t, args, found)
}

// launch starts placard; the banner's first group arrives on the channel.
func launch(t *testing.T, args []string, env []string, banner *regexp.Regexp) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "PLACARD_TEST_CHILD=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testLog{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := banner.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	return cmd, found
}

func awaitBanner(t *testing.T, args []string, found <-chan string) string {
	t.Helper()
	select {
	case v := <-found:
		return v
	case <-time.After(60 * time.Second):
		t.Fatalf("placard %s printed no banner", strings.Join(args, " "))
		return ""
	}
}

// startSandboxProc runs `placard sandbox` in a process of its own.
func startSandboxProc(t *testing.T) *standalone {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sandbox")
	_, flags := startProc(t, []string{"sandbox", "-addr", "127.0.0.1:0", "-data", dir}, nil,
		regexp.MustCompile(`Edge server:\s+(.*)$`))
	m := regexp.MustCompile(`-authority (https://\S+)/` + sandbox.TenantID + ` -graph-url \S+ -ca-file (\S+)`).FindStringSubmatch(flags)
	if m == nil {
		t.Fatalf("placard sandbox printed %q", flags)
	}
	sb := &standalone{URL: m[1], CertFile: m[2]}
	pem, err := os.ReadFile(sb.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	sb.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	return sb
}

// startReplicaProcs runs n edge server replicas on the database, pointed
// at the sandbox, all at once.
func startReplicaProcs(t *testing.T, n int, sb *standalone, dbURL string) []*proc {
	t.Helper()
	out := make([]*proc, n)
	banners := make([]<-chan string, n)
	args := make([][]string, n)
	for i := range out {
		args[i] = []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"), "-log-level", "warn",
			"-client-id", sandbox.ClientID, "-authority", sb.URL + "/" + sandbox.TenantID,
			"-graph-url", sb.URL + "/v1.0", "-ca-file", sb.CertFile, "-database", dbURL}
		var cmd *exec.Cmd
		cmd, banners[i] = launch(t, args[i], []string{"PLACARD_KEY=" + testKey}, regexp.MustCompile(`Screen:\s+http://localhost:(\d+)/`))
		out[i] = &proc{cmd: cmd}
	}
	for i := range out {
		out[i].url = "http://127.0.0.1:" + awaitBanner(t, args[i], banners[i])
	}
	return out
}

// enroll approves a waiting screen with the command line, on the
// replicas' database.
func enroll(t *testing.T, s *wsScreen, dbURL string) {
	t.Helper()
	number := s.waitPhase(15*time.Second, wire.PhasePairing).Pairing.Number
	var out strings.Builder
	if err := run(t.Context(), []string{"screens", "approve", number, "-database", dbURL}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("approving %s: %v\n%s", number, err, out.String())
	}
}

// requests reads the sandbox's count of requests of one endpoint.
func (sb *standalone) requests(t *testing.T, endpoint string) int {
	t.Helper()
	res, err := sb.client.Get(sb.URL + "/sandbox/api/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(res.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	return counts[endpoint]
}

// owned reads how many accounts a replica owns, from its /metrics.
func (p *proc) owned(t *testing.T) int {
	t.Helper()
	return replicaMetric(t, &Main{URL: p.url}, "placard_accounts_owned")
}

func TestReplicaProcessesShareOneSchemaAndFailOverAKilledOwner(t *testing.T) {
	sb := startSandboxProc(t)
	db := pgtest.DB(t)

	// Three replicas start at once on an empty database.
	replicas := startReplicaProcs(t, 3, sb, db)
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("schema_version has %d rows (%v), want one", rows, err)
	}

	// Two screens of one account, on two replicas.
	lobby := openScreen(t, &Main{URL: replicas[0].url}, "Lobby TV")
	enroll(t, lobby, db)
	lobby.signInThrough(sb, "ada@placard.example")
	hall := openScreen(t, &Main{URL: replicas[1].url}, "Hall")
	enroll(t, hall, db)
	hall.signInThrough(sb, "ada@placard.example")
	signIns := sb.requests(t, "devicecode")

	owner := -1
	deadline := time.Now().Add(15 * time.Second)
	for owner < 0 && time.Now().Before(deadline) {
		for i, r := range replicas {
			if r.owned(t) == 1 {
				owner = i
			}
		}
	}
	if owner < 0 {
		t.Fatal("no replica owns the account")
	}

	// The tokens expire, and the owner dies before it reads Graph again:
	// another replica takes the account, refreshes it once, and the
	// screens (those of the dead replica reconnected to the others) show
	// fresh data without a new sign-in.
	refreshes := sb.requests(t, "token refresh_token")
	res, err := sb.client.Post(sb.URL+"/sandbox/api/clock", "application/json", strings.NewReader(`{"advance":"2h"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	sb.setPresence(t, "ada@placard.example", "DoNotDisturb", "Presenting")
	killed := time.Now()
	replicas[owner].cmd.Process.Kill()
	replicas[owner].cmd.Wait()
	var survivors []*proc
	for i, r := range replicas {
		if i != owner {
			survivors = append(survivors, r)
		}
	}
	for _, s := range []*wsScreen{lobby, hall} {
		for _, r := range survivors {
			if r == replicas[0] && s == lobby || r == replicas[1] && s == hall {
				goto connected
			}
		}
		s.reconnect(&Main{URL: survivors[0].url})
	connected:
	}
	took := false
	for time.Since(killed) < 15*time.Second && !took {
		for _, r := range survivors {
			if r.owned(t) == 1 {
				took = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !took {
		t.Fatalf("no replica owns the account 15 s after its owner was killed")
	}
	t.Logf("a survivor owns the account %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	for _, s := range []*wsScreen{lobby, hall} {
		s.waitFor(30*time.Second, "fresh data after the failover", func(st wire.State) bool {
			return st.Phase == wire.PhaseDashboard && st.Dashboard.Presence != nil && st.Dashboard.Presence.Activity == "Presenting"
		})
	}
	if n := sb.requests(t, "devicecode"); n != signIns {
		t.Errorf("%d new device codes after the failover: the account had to sign in again", n-signIns)
	}
	if n := sb.requests(t, "token refresh_token") - refreshes; n != 1 {
		t.Errorf("the account was refreshed %d times across the cluster after its tokens expired, want once", n)
	}
}
