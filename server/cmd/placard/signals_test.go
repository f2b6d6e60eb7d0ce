package main

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

func TestASecondSignalEndsASlowShutdown(t *testing.T) {
	p := start(t, ownProcess, launch{args: []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "data"), "-log-level", "warn"}})
	port := p.await(30*time.Second, "banner", screenRE)[1]

	// A client that sends half a request body holds the graceful
	// shutdown for its whole timeout.
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /sandbox/devicelogin HTTP/1.1\r\nHost: 127.0.0.1:"+port+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nuser_code=")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.await(30*time.Second, "shutdown notice", regexp.MustCompile(`shutting down`))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		err := p.exitErr
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
