package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

func TestASecondSignalEndsASlowShutdown(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"), "-log-level", "warn")
	cmd.Env = append(os.Environ(), "PLACARD_TEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testLog{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	await := func(what string, re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the server ended before printing %s", what)
				}
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-deadline:
				t.Fatalf("the server printed no %s", what)
			}
		}
	}
	port := await("banner", regexp.MustCompile(`Screen:\s+http://localhost:(\d+)/`))[1]

	// A client that sends half a request body holds the graceful
	// shutdown for its whole timeout.
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /sandbox/devicelogin HTTP/1.1\r\nHost: 127.0.0.1:"+port+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nuser_code=")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	await("shutdown notice", regexp.MustCompile(`shutting down`))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		err := waitErr
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("the server ended with %v, want ended by the second SIGTERM", err)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("the server ended with %v: the second SIGTERM was caught and ignored, want the process ended by it", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server is still running after a second SIGTERM")
	}
}
