package main

// The docs test: every shell block of README.md and docs/*.md is either
// run here, against this build of placard in sandbox mode on loopback, or
// marked with why it is not (a real tenant). docs/testing.md describes the
// marks; in short, an HTML comment on the line before a block:
//
//	<!-- docs-test -->                  run it; it must exit 0
//	<!-- docs-test: expect RE -->       ... and print a line matching RE
//	<!-- docs-test: until RE -->        it keeps running (a server, a
//	                                    stream): go on once it prints RE;
//	                                    it is stopped when the page ends
//	<!-- docs-test: server ARGS -->     run it while the sandbox edge server
//	                                    runs as `make run ARGS='ARGS'` does
//	<!-- docs-test: broker -->          with an MQTT broker on :1883
//	<!-- docs-test: database -->        with PLACARD_DATABASE_URL set to a
//	                                    fresh PostgreSQL database
//	<!-- docs-test: alone -->           stop what the page's blocks left
//	                                    running first (another way to run
//	                                    the same thing)
//	<!-- docs-test: skip REASON -->     not run, for REASON (all the rest)
//
// Items combine with "; ". The blocks of a page run in order in one
// directory holding ./bin/placard (this build), sharing shell variables;
// the ports they name (8080, 8081, 8082, 9443, 1883) are replaced by free
// loopback ports of the test's, so that a run never meets a server of
// yours; a bare ./bin/placard listens on 127.0.0.1 at the run's 8080
// (PLACARD_ADDR), as make run does on :8080.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/placard/placard/server/internal/pgtest"
	"github.com/placard/placard/server/mqtt/mqtttest"
)

// docsRoot is the repository's root, from this package's directory.
const docsRoot = "../../.."

// docBlock is a shell block of a page and its mark.
type docBlock struct {
	page, text string
	line       int // of the opening fence
	marked     bool
	skip       string // why it is not run
	expect     *regexp.Regexp
	until      *regexp.Regexp
	server     *string // the server's ARGS, when it needs one
	broker     bool
	database   bool
	alone      bool
}

var (
	fenceRE   = regexp.MustCompile("^( *)```+ *([A-Za-z]*)")
	docMarkRE = regexp.MustCompile(`^\s*<!--\s*docs-test(?::\s*(.*?))?\s*-->\s*$`)
)

// shellLanguages are the info strings of blocks a person types into a shell.
var shellLanguages = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

// readDocBlocks reads the shell blocks of a Markdown page and their marks.
func readDocBlocks(page, text string) ([]docBlock, error) {
	lines := strings.Split(text, "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, lang := len(m[1]), m[2]
		end := i + 1
		for end < len(lines) && !strings.HasPrefix(strings.TrimLeft(lines[end], " "), "```") {
			end++
		}
		if !shellLanguages[lang] {
			i = end
			continue
		}
		var body []string
		for _, l := range lines[i+1 : min(end, len(lines))] {
			if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
				l = l[indent:]
			}
			body = append(body, l)
		}
		b := docBlock{page: page, text: strings.Join(body, "\n"), line: i + 1}
		prev := i - 1
		for prev >= 0 && strings.TrimSpace(lines[prev]) == "" {
			prev--
		}
		if prev >= 0 {
			if mark := docMarkRE.FindStringSubmatch(lines[prev]); mark != nil {
				b.marked = true
				if err := b.parseMark(mark[1]); err != nil {
					return nil, fmt.Errorf("%s:%d: %w", page, prev+1, err)
				}
			}
		}
		blocks = append(blocks, b)
		i = end
	}
	return blocks, nil
}

// parseMark reads the items of a block's mark.
func (b *docBlock) parseMark(items string) error {
	if items == "" {
		return nil
	}
	if reason, ok := strings.CutPrefix(items, "skip"); ok {
		// The reason is all the rest: it may say anything.
		if b.skip = strings.TrimSpace(reason); b.skip == "" {
			return fmt.Errorf("docs-test: skip needs a reason")
		}
		return nil
	}
	for _, item := range strings.Split(items, "; ") {
		word, rest, _ := strings.Cut(strings.TrimSpace(item), " ")
		rest = strings.TrimSpace(rest)
		var err error
		switch word {
		case "expect":
			b.expect, err = regexp.Compile(rest)
		case "until":
			b.until, err = regexp.Compile(rest)
		case "server":
			b.server = &rest
		case "broker":
			b.broker = true
		case "database":
			b.database = true
		case "alone":
			b.alone = true
		default:
			return fmt.Errorf("docs-test: unknown item %q (expect, until, server, broker, database, alone; or skip REASON alone)", word)
		}
		if err != nil {
			return fmt.Errorf("docs-test: %s: %w", word, err)
		}
	}
	return nil
}

// commands are what a person types from a block: a transcript's lines
// after "$ " (the rest is what the commands printed), else every line.
func (b docBlock) commands() string {
	lines := strings.Split(b.text, "\n")
	prompt := false
	for _, l := range lines {
		if strings.HasPrefix(l, "$ ") {
			prompt = true
		}
	}
	if !prompt {
		return b.text
	}
	var out []string
	inCommand := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "$ "):
			out, inCommand = append(out, l[2:]), strings.HasSuffix(l, "\\")
		case inCommand:
			out, inCommand = append(out, l), strings.HasSuffix(l, "\\")
		}
	}
	return strings.Join(out, "\n")
}

// docPorts are the ports the pages name, each given a free one by a run.
var docPorts = []string{"8080", "8081", "8082", "9443", "1883"}

// docPortRE finds a documented port in host:port, :port or -p port.
var docPortRE = regexp.MustCompile(`(?:(?:localhost|127\.0\.0\.1|\[::1\])?:|-p )(` + strings.Join(docPorts, "|") + `)\b`)

// TestEveryShellBlockOfTheDocsIsRunOrMarked runs the marked blocks of each
// page; a shell block with no mark fails the test.
func TestEveryShellBlockOfTheDocsIsRunOrMarked(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(docsRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{filepath.Join(docsRoot, "README.md")}, pages...)
	for _, path := range pages {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := filepath.Rel(docsRoot, path)
		blocks, err := readDocBlocks(page, string(text))
		if err != nil {
			t.Error(err)
			continue
		}
		var run []docBlock
		for _, b := range blocks {
			switch {
			case !b.marked:
				t.Errorf("%s:%d: a shell block with no docs-test mark: mark it to be run, or skipped with the reason (docs/testing.md)", b.page, b.line)
			case b.skip != "":
				t.Logf("%s:%d: not run: %s", b.page, b.line, b.skip)
			default:
				run = append(run, b)
			}
		}
		if len(run) > 0 {
			t.Run(page, func(t *testing.T) { runDocPage(t, run) })
		}
	}
}

// docRun is one page's run: its directory, ports, and what it started.
type docRun struct {
	t       *testing.T
	dir     string
	env     []string
	ports   map[string]string // documented port → the run's
	state   string            // the shell variables blocks leave
	server  *proc
	args    string // the server's ARGS
	broker  bool   // an MQTT broker runs
	started []*exec.Cmd
}

func runDocPage(t *testing.T, blocks []docBlock) {
	r := &docRun{t: t, dir: t.TempDir(), ports: map[string]string{}}
	r.state = filepath.Join(r.dir, ".docs-test-state")
	if err := os.MkdirAll(filepath.Join(r.dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	// ./bin/placard is this build: the test binary running main.
	wrapper := fmt.Sprintf("#!/bin/sh\nPLACARD_TEST_CHILD=1 exec %s \"$@\"\n", strconv.Quote(os.Args[0]))
	if err := os.WriteFile(filepath.Join(r.dir, "bin", "placard"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLACARD_") && !strings.HasPrefix(kv, "CI=") {
			r.env = append(r.env, kv)
		}
	}
	for _, p := range docPorts {
		r.ports[p] = strconv.Itoa(freePort(t))
	}
	r.env = append(r.env, "PLACARD_ADDR=127.0.0.1:"+r.ports["8080"])
	t.Cleanup(r.stop)
	for _, b := range blocks {
		if b.alone {
			r.stop()
		}
		if b.broker && !r.broker {
			r.broker = true
			broker := mqtttest.Start(t)
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(broker.URL(), "mqtt://"))
			r.ports["1883"] = port
		}
		if b.database && !r.hasEnv("PLACARD_DATABASE_URL") {
			r.env = append(r.env, "PLACARD_DATABASE_URL="+pgtest.DB(t))
		}
		if b.server != nil {
			r.serve(*b.server)
		}
		r.runBlock(b)
		if t.Failed() {
			return
		}
	}
}

func (r *docRun) hasEnv(k string) bool {
	for _, kv := range r.env {
		if strings.HasPrefix(kv, k+"=") {
			return true
		}
	}
	return false
}

// rewrite gives the documented ports the run's.
func (r *docRun) rewrite(s string) string {
	return docPortRE.ReplaceAllStringFunc(s, func(m string) string {
		port := docPortRE.FindStringSubmatch(m)[1]
		return strings.TrimSuffix(m, port) + r.ports[port]
	})
}

// serve makes sure the sandbox edge server runs as `make run ARGS='args'`
// starts it, in the page's directory, on its port 8080.
func (r *docRun) serve(args string) {
	r.t.Helper()
	if r.server != nil && r.args == args {
		return
	}
	if r.server != nil {
		r.server.cmd.Process.Signal(syscall.SIGTERM)
		r.server.wait()
	}
	argv := append([]string{"-addr", "127.0.0.1:" + r.ports["8080"]}, strings.Fields(r.rewrite(args))...)
	for i, a := range argv {
		argv[i] = strings.Trim(a, `'"`)
	}
	// make run's working directory is the page's: ./data is its data.
	p := start(r.t, ownProcess, launch{args: argv, dir: r.dir})
	r.server, r.args = p.awaitServer(60*time.Second), args
}

// runBlock runs one block in bash, with the shell variables the page's
// blocks before it left.
func (r *docRun) runBlock(b docBlock) {
	t := r.t
	t.Helper()
	// The variables a block sets are kept for the next one: those bash
	// does not start with, whose names are listed before the last ones.
	// -e and -u: a command that fails fails the block. Not pipefail: a
	// person's shell has none, and `cmd | head -n 1` ends cmd early.
	script := `set -eu
__fresh=" $(compgen -v | tr '\n' ' ') "
if [ -f "` + r.state + `" ]; then source "` + r.state + `"; fi
` + r.rewrite(b.commands()) + `
for __v in $(compgen -v); do
  case "$__fresh" in *" $__v "*) continue;; esac
  case "$__v" in __*|BASH_*|PIPESTATUS|_) continue;; esac
  declare -p "$__v"
done > "` + r.state + `.new"
mv "` + r.state + `.new" "` + r.state + `"
`
	where := fmt.Sprintf("%s:%d", b.page, b.line)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", where, err)
	}
	r.started = append(r.started, cmd)
	want := b.until
	if want == nil {
		want = b.expect
	}
	var mu sync.Mutex
	var printed strings.Builder
	matched := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			printed.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if want != nil && want.MatchString(sc.Text()) {
				once.Do(func() { close(matched) })
			}
		}
		io.Copy(io.Discard, out)
	}()
	said := func() string {
		mu.Lock()
		defer mu.Unlock()
		return printed.String()
	}
	if b.until != nil {
		// A server or a stream: it goes on until the page ends.
		select {
		case <-matched:
			t.Logf("%s: printed what it should, and runs on", where)
		case <-readDone:
			t.Errorf("%s ended before printing a line matching %q:\n%s", where, b.until, said())
		case <-ctx.Done():
			t.Errorf("%s printed no line matching %q within a minute:\n%s", where, b.until, said())
		}
		cancel()
		return
	}
	exited := make(chan error, 1)
	go func() { <-readDone; exited <- cmd.Wait() }()
	select {
	case err = <-exited:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-exited
		t.Errorf("%s did not end within a minute", where)
	}
	cancel()
	if err != nil {
		t.Errorf("%s failed (%v):\n%s\n---\n%s", where, err, b.commands(), said())
		return
	}
	if b.expect != nil {
		select {
		case <-matched:
		default:
			t.Errorf("%s printed no line matching %q:\n%s", where, b.expect, said())
		}
	}
	t.Logf("%s ran:\n%s", where, said())
}

// stop ends what the page's blocks left running, and its server.
func (r *docRun) stop() {
	for _, cmd := range r.started {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	r.started = nil
	if r.server != nil {
		r.server.kill()
		r.server, r.args = nil, ""
	}
}

// freePort is a loopback port free now.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
