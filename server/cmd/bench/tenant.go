package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/sandbox/sandboxctl"
)

// The emulated tenant runs in a process of its own (`placard sandbox`),
// and placard uses it as it would Microsoft's: -client-id, -authority,
// -graph-url and -ca-file. In production the identity platform and Graph
// run elsewhere; inside placard's process, the sandbox's work (RSA
// signatures, calendars encoded as JSON, thousands of users' state) was
// counted as placard's CPU and memory, which the bare hub it is measured
// against has nothing of. The sandbox's own CPU and memory are reported on
// rows of their own.

// tenant is a `placard sandbox` in a process of its own.
type tenant struct {
	*process
	certFile string
	ctl      *sandboxctl.Client // trusts the sandbox's certificate
	roots    *x509.CertPool
}

// startTenant starts `placard sandbox` with users numbered users on a
// free loopback port, its state in dir, and waits until its control API
// answers.
func startTenant(o options, dir, logPath string, users int) (*tenant, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.placard, "sandbox", "-addr", addr, "-data", dir, "-users", strconv.Itoa(users))
	cmd.Stdout, cmd.Stderr = io.Discard, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s sandbox: %w (build it with make build)", o.placard, err)
	}
	p := &process{cmd: cmd, addr: addr, dir: dir, url: "https://" + addr, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	t := &tenant{process: p, certFile: filepath.Join(dir, sandbox.ListenerCertFile)}
	// The certificate is written before the sandbox listens; numbered
	// users' calendars take a moment to make.
	for time.Since(start) < time.Minute {
		select {
		case <-p.done:
			return nil, fmt.Errorf("the sandbox exited while starting (its log: %s)", logPath)
		default:
		}
		if t.roots == nil {
			if pem, err := os.ReadFile(t.certFile); err == nil {
				roots := x509.NewCertPool()
				if roots.AppendCertsFromPEM(pem) {
					t.roots = roots
					t.ctl = sandboxctl.New(p.url, &http.Client{Timeout: time.Minute, Transport: &http.Transport{
						TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 64}})
				}
			}
		}
		if t.ctl != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := t.ctl.App(ctx)
			cancel()
			if err == nil {
				return t, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("the sandbox was not ready within a minute (its log: %s)", logPath)
}

// edgeFlags point placard at the tenant, as at Microsoft's.
func (t *tenant) edgeFlags() []string {
	return []string{"-client-id", sandbox.ClientID, "-authority", t.url + "/" + sandbox.TenantID,
		"-graph-url", t.url + "/v1.0", "-ca-file", t.certFile}
}

// edge is placard pointed at a sandbox of its own, each in its process.
type edge struct {
	p  *process
	sb *tenant
	// dir holds both data directories; removed by stop.
	dir string
	// adminToken is an admin token made on placard's data directory.
	adminToken string
}

// startEdge starts a sandbox with users numbered users and placard
// pointed at it, with its profiler (-debug-addr) and extra flags; logs go
// to o.out as placard-<name>.log and sandbox-<name>.log.
func startEdge(o options, name string, users int, extra ...string) (*edge, error) {
	dir, err := os.MkdirTemp("", "placard-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	e := &edge{dir: dir}
	e.sb, err = startTenant(o, filepath.Join(dir, "sandbox"), filepath.Join(o.out, "sandbox-"+name+".log"), users)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	debug, err := freeAddr()
	if err != nil {
		e.stop()
		return nil, err
	}
	args := append(append([]string{"-debug-addr", debug}, e.sb.edgeFlags()...), extra...)
	e.p, _, err = startPlacard(o, filepath.Join(dir, "data"), filepath.Join(o.out, "placard-"+name+".log"), args...)
	if err != nil {
		e.stop()
		return nil, err
	}
	e.p.debug = "http://" + debug
	return e, nil
}

// stop stops placard, then the sandbox, and removes their data.
func (e *edge) stop() {
	if e.p != nil {
		e.p.stop()
	}
	if e.sb != nil {
		e.sb.stop()
	}
	os.RemoveAll(e.dir)
}

// adminTokenRE matches an admin token as `placard admin token` prints it.
var adminTokenRE = regexp.MustCompile(`padm_[a-z2-7]+\.[A-Za-z0-9_-]{43}`)

// link makes a provisioning link for max screens in a group of its own,
// named name, through placard's admin API with an admin token made on its
// data directory (as an operator does, beside the running server), and
// returns the link's token: a fleet of kiosks started with it enrolls
// without a pairing approval each.
func (e *edge) link(ctx context.Context, o options, name string, max int) (string, error) {
	if e.adminToken == "" {
		out, err := exec.CommandContext(ctx, o.placard, "admin", "token", "-data", e.p.dir, "-name", "bench", "-role", "admin").CombinedOutput()
		if e.adminToken = adminTokenRE.FindString(string(out)); err != nil || e.adminToken == "" {
			return "", fmt.Errorf("making an admin token: %v: %s", err, out)
		}
	}
	var group struct {
		ID string `json:"id"`
	}
	if err := e.admin(ctx, "/admin/api/groups", map[string]any{"name": name}, &group); err != nil {
		return "", err
	}
	var link struct {
		URL string `json:"url"`
	}
	if err := e.admin(ctx, "/admin/api/groups/"+group.ID+"/links", map[string]any{"max_screens": max, "expires_in": "24h"}, &link); err != nil {
		return "", err
	}
	u, err := url.Parse(link.URL)
	if err != nil || u.Query().Get("link") == "" {
		return "", fmt.Errorf("the new provisioning link's URL %q carries no link", link.URL)
	}
	return u.Query().Get("link"), nil
}

// admin posts body to placard's admin API and decodes its answer.
func (e *edge) admin(ctx context.Context, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.p.url+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.adminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, res.Status, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return errors.Join(fmt.Errorf("POST %s: reading its answer", path), err)
	}
	return nil
}
