package deploy

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// root is the repository's root, dist where make release writes.
var (
	root = func() string { abs, _ := filepath.Abs(".."); return abs }()
	dist = filepath.Join(root, "dist")
)

// release is what make release stamped: from make's environment, else
// computed as the Makefile computes it.
type stamp struct{ version, commit, created string }

func want(t *testing.T) stamp {
	t.Helper()
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v (run through make test-deploy, which says what it built)", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	s := stamp{os.Getenv("VERSION"), os.Getenv("COMMIT"), os.Getenv("CREATED")}
	if s.version == "" {
		s.version = git("describe", "--tags", "--always", "--dirty")
	}
	if s.commit == "" {
		s.commit = git("rev-parse", "HEAD")
	}
	if s.created == "" {
		s.created = git("log", "-1", "--format=%cI")
	}
	return s
}

// artifact is a file of dist/: a missing one fails the test (never
// skips it), with what makes it.
func artifact(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(dist, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v: run make release first (make test-deploy does)", p, err)
	}
	return p
}

// tool finds a program the test needs; with CI=true a missing one fails
// the test, else it skips with how to install it.
func tool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: apt-get install %s (make test-deploy does, as root)", name, debianPackage)
	}
	t.Skipf("%s is not installed: apt-get install %s", name, debianPackage)
	return ""
}

// command runs a program with a bound on its time and returns its
// combined output.
func command(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is an environment with no PLACARD_* variable of the test's
// own, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLACARD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// server is a placard binary serving a sandbox on a loopback port.
type server struct {
	url string
	cmd *exec.Cmd
}

// startServer runs binary in sandbox mode on 127.0.0.1 and returns once
// its banner says where it listens.
func startServer(t *testing.T, binary string) *server {
	t.Helper()
	cmd := exec.Command(binary, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"), "-log-level", "warn")
	cmd.Env = cleanEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("the server's log:\n%s", stderr.String())
		}
	})
	found := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		re := regexp.MustCompile(`Screen:\s+http://localhost:(\d+)/`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- "http://127.0.0.1:" + m[1]
			}
		}
		cmd.Wait()
	}()
	select {
	case u := <-found:
		return &server{url: u, cmd: cmd}
	case <-exited:
		t.Fatalf("%s ended before serving:\n%s", binary, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s printed no banner in 60 s", binary)
	}
	return nil
}
