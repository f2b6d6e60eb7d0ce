package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/placard/placard/server/buildinfo"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/secret"
)

// runWith runs placard's command line with args and an environment, and
// returns what it printed and its error.
func runWith(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, &out, io.Discard)
	return out.String(), err
}

func TestVersionPrintsTheBuildThatTheAdminPageAndMetricsShow(t *testing.T) {
	out, err := runWith(t, nil, "version")
	if err != nil {
		t.Fatal(err)
	}
	in := buildinfo.Read()
	if strings.TrimSpace(out) != in.String() || !strings.Contains(out, in.GoVersion) {
		t.Errorf("placard version printed %q, want %q", out, in)
	}
	m := testServer(t)
	b := newAdminBrowser(t, m)
	b.login(newToken(t, m))
	_, page := b.get("/admin")
	shown := regexp.MustCompile(`data-testid="admin-version"[^>]*>(.*?)</dd>`).FindStringSubmatch(page)
	if shown == nil || !strings.Contains(shown[1], in.Version) || !strings.Contains(shown[1], in.Commit) || !strings.Contains(shown[1], in.GoVersion) {
		t.Errorf("the admin page's version: %q, want %s, %s and %s", shown, in.Version, in.Commit, in.GoVersion)
	}
	body := scrape(t, m)
	if want := `placard_build_info{goarch="` + in.Arch + `",goos="` + in.OS + `",goversion="` + in.GoVersion + `",revision="` + in.Commit + `",version="` + in.Version + `"} 1`; !strings.Contains(body, want) {
		t.Errorf("/metrics has no %s", want)
	}
}

func TestHealthcheckAsksTheServerTheSameFlagsConfigure(t *testing.T) {
	m := testServer(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL, "http://"))
	// Readiness remembers a good answer of the identity platform for a
	// while: the fault comes before the first.
	m.Sandbox.SetFaults(sandbox.Faults{IdentityUnreachable: true})
	_, err := runWith(t, nil, "healthcheck", "-addr", ":"+port)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "the identity platform does not answer") {
		t.Errorf("not ready: %v, want the 503 and its reason", err)
	}
	m.Sandbox.SetFaults(sandbox.Faults{})

	// -addr as the server was given it (every interface: asked on
	// loopback), and from the environment.
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"healthcheck", "-addr", ":" + port}, nil},
		{[]string{"healthcheck", "-addr", "0.0.0.0:" + port}, nil},
		{[]string{"healthcheck"}, map[string]string{"PLACARD_ADDR": "127.0.0.1:" + port}},
	} {
		out, err := runWith(t, tc.env, tc.args...)
		if err != nil || !strings.Contains(out, "http://127.0.0.1:"+port+"/readyz: ready") {
			t.Errorf("%v %v: %q, %v; want ready", tc.args, tc.env, out, err)
		}
	}

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	if _, err := runWith(t, nil, "healthcheck", "-addr", free); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("no server on %s: %v, want connection refused", free, err)
	}
	if _, err := runWith(t, nil, "healthcheck", "-addr", "8080"); err == nil || !strings.Contains(err.Error(), "-addr") {
		t.Errorf("a bad -addr: %v, want it named", err)
	}
}

// The image's HEALTHCHECK runs the command in a container with no shell:
// its exit code is what Docker and podman read.
func TestHealthcheckExitsZeroWhenReadyAndOneWhenNot(t *testing.T) {
	m := testServer(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL, "http://"))
	code := func(addr string) int {
		cmd := exec.Command(os.Args[0], "healthcheck", "-addr", addr)
		cmd.Env = append(os.Environ(), "PLACARD_TEST_CHILD=1")
		out, err := cmd.CombinedOutput()
		t.Logf("placard healthcheck -addr %s: %s", addr, out)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	m.Sandbox.SetFaults(sandbox.Faults{IdentityUnreachable: true})
	if c := code(":" + port); c != 1 {
		t.Errorf("not ready: exit %d, want 1", c)
	}
	m.Sandbox.SetFaults(sandbox.Faults{})
	if c := code(":" + port); c != 0 {
		t.Errorf("ready: exit %d, want 0", c)
	}
}

func TestHealthcheckOverTLSTrustsExactlyTheServersCertificate(t *testing.T) {
	certPath, keyPath, _ := selfSigned(t, t.TempDir(), 1)
	m := testServer(t, func(m *Main) { m.Config.TLSCert, m.Config.TLSKey = certPath, keyPath })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL, "https://"))
	out, err := runWith(t, nil, "healthcheck", "-addr", ":"+port, "-tls-cert", certPath, "-tls-key", keyPath)
	if err != nil || !strings.Contains(out, "https://127.0.0.1:"+port+"/readyz: ready") {
		t.Errorf("over TLS: %q, %v", out, err)
	}
	otherCert, otherKey, _ := selfSigned(t, t.TempDir(), 2)
	_, err = runWith(t, nil, "healthcheck", "-addr", ":"+port, "-tls-cert", otherCert, "-tls-key", otherKey)
	if err == nil || !strings.Contains(err.Error(), "does not present the certificate of -tls-cert") {
		t.Errorf("a server with another certificate: %v, want refused", err)
	}
}

func TestCheckConfigAcceptsWhatStartsWithoutStartingAnything(t *testing.T) {
	// The address is taken: a start would fail to listen; the check
	// opens no listener, so it does not notice.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	key, _ := secret.NewKeyString()
	out, err := runWith(t, map[string]string{"PLACARD_KEY": key, "PLACARD_DATABASE_URL": "postgres://placard:pw@127.0.0.1:1/placard"},
		"-check-config", "-addr", ln.Addr().String(), "-data", data)
	if err != nil || !strings.Contains(out, "this configuration starts") || !strings.Contains(out, "PostgreSQL") {
		t.Errorf("-check-config of a good configuration: %q, %v", out, err)
	}
	if strings.Contains(out, "pw@") {
		t.Errorf("-check-config printed the database's password: %q", out)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-check-config made the data directory: %v", err)
	}
}

func TestCheckConfigNamesWhatWouldStopAStart(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, _ := selfSigned(t, dir, 1)
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	withKeyFile := filepath.Join(dir, "withkey")
	os.Mkdir(withKeyFile, 0o700)
	os.WriteFile(filepath.Join(withKeyFile, "key"), []byte("not a key"), 0o600)
	readableKey := filepath.Join(dir, "readablekey")
	os.Mkdir(readableKey, 0o700)
	k, _ := secret.NewKeyString()
	os.WriteFile(filepath.Join(readableKey, "key"), []byte(k), 0o644)
	os.Chmod(filepath.Join(readableKey, "key"), 0o644)
	realTenant := map[string]string{"PLACARD_CLIENT_ID": "11111111-2222-3333-4444-555555555555", "PLACARD_TENANT": "contoso.onmicrosoft.com", "PLACARD_ENROLL": "manual"}
	with := func(a, b map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out
	}
	data := filepath.Join(dir, "data")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"a bad value, as a start reports it", nil, []string{"-log-level", "loud"}, "-log-level"},
		{"a database without a shared key", map[string]string{"PLACARD_DATABASE_URL": "postgres://h/db"}, []string{"-data", data}, "set PLACARD_KEY"},
		{"a key that is not one", map[string]string{"PLACARD_KEY": "short"}, []string{"-data", data}, "PLACARD_KEY"},
		{"a data directory others may read", nil, []string{"-data", open}, "chmod 700"},
		{"a data directory that is a file", nil, []string{"-data", notPEM}, "is not a directory"},
		{"a key file that is not a key", nil, []string{"-data", withKeyFile}, "key file"},
		{"a key file others may read", nil, []string{"-data", readableKey}, "chmod 600"},
		{"a certificate file that is not there", nil, []string{"-data", data, "-tls-cert", filepath.Join(dir, "none.pem"), "-tls-key", keyPath}, "none.pem"},
		{"a certificate without its key", nil, []string{"-data", data, "-tls-cert", certPath, "-tls-key", notPEM}, "-tls-key"},
		{"a broker's CA that is not PEM", nil, []string{"-data", data, "-mqtt-url", "mqtts://broker.example:8883", "-mqtt-ca", notPEM}, "-mqtt-ca"},
		{"sign-in by QR without https", with(realTenant, nil), []string{"-data", data, "-addr", "127.0.0.1:8080", "-sign-in", "qr"}, "needs an https public URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runWith(t, tc.env, append([]string{"-check-config"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("-check-config %v: %v, want an error naming %q", tc.args, err, tc.want)
			}
			if out != "" {
				t.Errorf("a failed check printed %q", out)
			}
		})
	}
	// The same real tenant with TLS passes: the check is not merely
	// refusing real tenants.
	out, err := runWith(t, realTenant, "-check-config", "-data", data, "-addr", "127.0.0.1:8443", "-sign-in", "qr", "-tls-cert", certPath, "-tls-key", keyPath)
	if err != nil || !strings.Contains(out, "https://") {
		t.Errorf("a real tenant over TLS: %q, %v", out, err)
	}
}
