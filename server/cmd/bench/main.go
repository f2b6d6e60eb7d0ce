// Command bench measures placard at scale against a bare gorilla/websocket
// hub, in the same run, with the same clients and message sizes, and prints
// one table (metric, placard, baseline, ratio, goal, met); the same table
// is written as JSON.
//
// placard runs as a child process (the binary of `make build`), pointed at
// the emulated Microsoft 365 tenant in another (`placard sandbox`) as at
// Microsoft's, so that its memory and CPU are its own: the screens run
// here, and enroll with a provisioning link. The baseline hub runs as a
// third child process (this program, `bench hub`).
// Every client dials from an address of its own in 127.0.0.0/8. The
// program raises its limit of open files (children inherit it), stops by
// itself, and bounds every wait.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/placard/placard/server/internal/loadgen"
	"github.com/placard/placard/server/sandbox/sandboxctl"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "hub" {
		if err := serveHub(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench hub:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the flags of a run.
type options struct {
	placard  string
	stages   []int
	accounts int
	out      string
	period   time.Duration // placard's presence polling period (its default)
	soak     time.Duration
	quiet    int // screens signed in one at a time, for approval → dashboard
	profile  bool
	parallel int // screens signing in at once
	// paintRuns is how many times first paint loads each page, at each
	// CPU speed (0: not measured).
	paintRuns int
	// paintTrace records a performance trace of a first load of each page.
	paintTrace bool
	// oneAccount is how many screens show one account (0: not measured).
	oneAccount int
	// storm restarts placard under the last stage's screens.
	storm bool
	// waiting is how many screens wait for a sign-in (0: not measured).
	waiting int
}

func parse(args []string) (options, error) {
	var o options
	var stages string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.placard, "placard", "bin/placard", "the placard binary to measure (make build)")
	fs.StringVar(&stages, "screens", "1000,5000,10000", "screen counts to measure at, ascending")
	fs.IntVar(&o.accounts, "accounts", 200, "accounts the screens share (screen i shows account i mod this)")
	fs.StringVar(&o.out, "out", ".cache/bench", "directory for the JSON results and placard's log")
	fs.DurationVar(&o.soak, "soak", 0, "after the last stage, keep the screens for this long under changing presence and calendars, and check for growth, drops and errors")
	fs.IntVar(&o.quiet, "quiet", 20, "screens signed in one at a time first, to time approval → dashboard on a quiet server")
	fs.IntVar(&o.parallel, "parallel", 1000, "screens signing in at once: each waits seconds for MSAL's next poll of its approved code, so many must be under way")
	fs.BoolVar(&o.profile, "profile", false, "profile placard (its -debug-addr) and this program while screens sign in and at each stage's end: CPU and heap profiles in -out, for go tool pprof")
	fs.IntVar(&o.paintRuns, "paint", 5, "loads of each page for first paint, with and without the TV's CPU throttle (0: no first paint)")
	fs.BoolVar(&o.paintTrace, "paint-trace", false, "after first paint, record a performance trace of one load of each page at the TV's throttle, into -out (trace-placard.json, trace-bare.json: Perfetto or Chromium's performance panel)")
	fs.IntVar(&o.oneAccount, "one-account", -1, "screens on one account, signed in together, beside the accounts' pattern (0: none; default: the last stage's count)")
	fs.BoolVar(&o.storm, "storm", true, "after the last stage, stop placard with SIGTERM and start it again: how long until every screen is back on its dashboard")
	fs.IntVar(&o.waiting, "waiting", 1000, "screens waiting for a sign-in, for what they cost (0: none)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.period = 30 * time.Second
	for _, f := range strings.Split(stages, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(o.stages) > 0 && n <= o.stages[len(o.stages)-1]) {
			return o, fmt.Errorf("-screens %q must be ascending whole numbers, e.g. 1000,5000,10000", stages)
		}
		o.stages = append(o.stages, n)
	}
	if o.accounts < 1 || o.accounts > 10000 {
		return o, fmt.Errorf("-accounts %d must be between 1 and 10000", o.accounts)
	}
	if o.quiet < 0 || o.quiet > o.stages[0] {
		return o, fmt.Errorf("-quiet %d must be between 0 and the first stage (%d)", o.quiet, o.stages[0])
	}
	if o.oneAccount < 0 {
		o.oneAccount = o.stages[len(o.stages)-1]
	}
	// A provisioning link enrolls at most 10,000 screens, and the
	// sandbox has as many numbered users at most.
	if last := o.stages[len(o.stages)-1]; last > maxScreens {
		return o, fmt.Errorf("-screens %d: at most %d screens", last, maxScreens)
	}
	if o.oneAccount > maxScreens {
		return o, fmt.Errorf("-one-account %d must be between 0 and %d", o.oneAccount, maxScreens)
	}
	if o.waiting < 0 || o.waiting > maxScreens {
		return o, fmt.Errorf("-waiting %d must be between 0 and %d", o.waiting, maxScreens)
	}
	if o.paintRuns < 0 || o.paintRuns > 50 {
		return o, fmt.Errorf("-paint %d must be between 0 and 50", o.paintRuns)
	}
	return o, nil
}

// maxScreens is the most screens a stage brings up: what one provisioning
// link enrolls (admin.MaxLinkScreens).
const maxScreens = 10_000

// Row is one line of the table.
type Row struct {
	Metric   string   `json:"metric"`
	Unit     string   `json:"unit"`
	Placard  *float64 `json:"placard"`
	Baseline *float64 `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Goal     string   `json:"goal,omitempty"`
	Met      *bool    `json:"met,omitempty"`
}

// Result is what a run writes as JSON.
type Result struct {
	Started  time.Time         `json:"started"`
	Machine  string            `json:"machine"`
	Go       string            `json:"go"`
	Options  map[string]string `json:"options"`
	Rows     []Row             `json:"rows"`
	Notes    []string          `json:"notes,omitempty"`
	Duration string            `json:"duration"`
}

func num(v float64) *float64 { return &v }

// add appends a row; goal is checked on the ratio (ratioGoal > 0) or on
// the value (maxGoal > 0).
func (r *Result) add(metric, unit string, placard float64, baseline *float64, goal string, ratioGoal, maxGoal float64) {
	row := Row{Metric: metric, Unit: unit, Placard: num(placard), Baseline: baseline, Goal: goal}
	if baseline != nil && *baseline > 0 {
		row.Ratio = num(placard / *baseline)
	}
	switch {
	case ratioGoal > 0 && row.Ratio != nil:
		met := *row.Ratio <= ratioGoal
		row.Met = &met
	case maxGoal > 0:
		met := placard <= maxGoal
		row.Met = &met
	}
	r.Rows = append(r.Rows, row)
}

func run(args []string) error {
	o, err := parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	started := time.Now()
	need := filesNeeded(o)
	limit, err := raiseFileLimit(need)
	if err != nil {
		return err
	}
	if limit < uint64(need) {
		return fmt.Errorf("%d screens need %d open files here and in placard, and the limit is %d (its hard limit): raise it (ulimit -Hn, as root) or measure fewer screens", o.stages[len(o.stages)-1], need, limit)
	}
	fmt.Printf("open files: limit %d, %d needed (screens and the servers' sockets; children inherit it)\n", limit, need)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	res := &Result{Started: started.UTC(), Machine: machine(), Go: runtime.Version(), Options: map[string]string{
		"screens": fmt.Sprint(o.stages), "accounts": strconv.Itoa(o.accounts), "soak": o.soak.String(),
		"paint": strconv.Itoa(o.paintRuns), "one-account": strconv.Itoa(o.oneAccount), "storm": strconv.FormatBool(o.storm),
		"waiting": strconv.Itoa(o.waiting)}}

	if err := costAtRest(o, res); err != nil {
		return err
	}
	if o.paintRuns > 0 {
		if err := firstPaint(context.Background(), o, res); err != nil {
			return err
		}
	}
	sample, err := atScale(o, res)
	if err != nil {
		return err
	}
	if o.waiting > 0 {
		if err := waiting(context.Background(), o, o.waiting, res); err != nil {
			return err
		}
	}
	if o.oneAccount > 0 {
		if err := oneAccount(context.Background(), o, o.oneAccount, sample, res); err != nil {
			return err
		}
	}
	res.Duration = time.Since(started).Round(time.Second).String()
	printTable(os.Stdout, res)
	b, _ := json.MarshalIndent(res, "", "  ")
	path := filepath.Join(o.out, "bench-"+started.UTC().Format("20060102-150405")+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(o.out, "last.json"), b, 0o644)
	fmt.Println("written to", path)
	if o.soak > 0 {
		// A soak is a check: growth, a dropped screen or an error fails it.
		for _, r := range res.Rows {
			if (strings.HasPrefix(r.Metric, "soak") || strings.HasPrefix(r.Metric, "errors")) && r.Met != nil && !*r.Met {
				return fmt.Errorf("the soak failed: %s is %.3g %s (goal %s)", r.Metric, *r.Placard, r.Unit, r.Goal)
			}
		}
	}
	return nil
}

// filesNeeded is the most open files one process needs: this one holds
// the screens of the last count, and at each count the baseline's clients
// beside the screens of the count before (the baseline is measured, and its
// clients closed, before placard's screens grow); placard holds its screens
// and the pages and approvals under way.
func filesNeeded(o options) int {
	most, before := 0, 0
	for _, n := range o.stages {
		most = max(most, before+n, n+2*o.parallel)
		before = n
	}
	most = max(most, o.oneAccount+2*o.parallel, o.waiting+2*o.parallel)
	return most + 1024
}

// raiseFileLimit raises the limit of open files to want (the hard limit
// too when allowed, as root), or to the hard limit.
func raiseFileLimit(want int) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("reading the limit of open files: %w", err)
	}
	w := uint64(want)
	if l.Cur >= w {
		return l.Cur, nil
	}
	if l.Max < w {
		raised := syscall.Rlimit{Cur: w, Max: w}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return w, nil
		}
		w = l.Max
	}
	l.Cur = w
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("raising the limit of open files to %d: %w", w, err)
	}
	return w, nil
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			kb, _ := strconv.Atoi(f[1])
			mem = fmt.Sprintf(", %d GB", (kb+512*1024)/1024/1024)
		}
	}
	return fmt.Sprintf("%s, %d CPUs%s, %s/%s", model, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH)
}

// process is a child server.
type process struct {
	cmd   *exec.Cmd
	addr  string
	dir   string   // placard's data directory
	args  []string // placard's flags beyond -addr, -data and -log-level
	url   string
	log   string
	debug string // placard's profiler (-debug-addr), "" for none
	// metrics is where placard serves /metrics (-metrics-addr: on -addr
	// it is for administrators only); the hub's url.
	metrics string
	done    chan struct{}
}

// freeAddr returns a free loopback port's address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startPlacard starts placard in sandbox mode on a free port with its data
// in dir, and waits until /readyz answers; it returns how long that took.
func startPlacard(o options, dir, logPath string, extra ...string) (*process, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	return startPlacardOn(o, addr, dir, logPath, extra...)
}

// startPlacardOn starts placard on addr: a restarted server listens where
// its screens look for it.
func startPlacardOn(o options, addr, dir, logPath string, extra ...string) (*process, time.Duration, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	metrics, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	args := append([]string{"-addr", addr, "-data", dir, "-log-level", "warn", "-metrics-addr", metrics}, extra...)
	cmd := exec.Command(o.placard, args...)
	cmd.Env = append(os.Environ(), "PLACARD_CLIENT_ID=")
	cmd.Stdout, cmd.Stderr = io.Discard, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, 0, fmt.Errorf("starting %s: %w (build it with make build)", o.placard, err)
	}
	p := &process{cmd: cmd, addr: addr, dir: dir, args: extra, url: "http://" + addr, metrics: "http://" + metrics, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	took, err := p.awaitReady("/readyz", 30*time.Second, start)
	if err != nil {
		p.stop()
		return nil, 0, fmt.Errorf("placard: %w (its log: %s)", err, logPath)
	}
	return p, took, nil
}

// startHub starts the baseline hub (this program) on a free port.
func startHub() (*process, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(self, "hub", "-addr", addr)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	p := &process{cmd: cmd, url: "http://" + addr, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	took, err := p.awaitReady("/goroutines", 30*time.Second, start)
	if err != nil {
		p.stop()
		return nil, 0, fmt.Errorf("baseline hub: %w", err)
	}
	return p, took, nil
}

func (p *process) awaitReady(path string, within time.Duration, start time.Time) (time.Duration, error) {
	c := &http.Client{Timeout: time.Second}
	for time.Since(start) < within {
		select {
		case <-p.done:
			return 0, errors.New("exited while starting")
		default:
		}
		if res, err := c.Get(p.url + path); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("not ready within %v", within)
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// usage is a process's CPU time and resident memory, from /proc.
type usage struct {
	cpu time.Duration
	rss int64 // bytes
	at  time.Time
}

func (p *process) usage() usage {
	u := usage{at: time.Now()}
	pid := p.cmd.Process.Pid
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+2:])
			// Fields 14 and 15 of stat (utime, stime) in clock ticks of
			// 1/100 s; f starts at field 3.
			if len(f) > 13 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				u.cpu = time.Duration(ut+st) * 10 * time.Millisecond
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				u.rss = kb * 1024
			}
		}
	}
	return u
}

// cpuPerMinute is the CPU seconds per minute between two usages.
func cpuPerMinute(a, b usage) float64 {
	return (b.cpu - a.cpu).Seconds() / b.at.Sub(a.at).Minutes()
}

// liveHeap collects placard's garbage (through its profiler) and returns
// the bytes its heap holds then: what a leak grows, without the noise of
// garbage not yet collected or memory not yet returned to the system.
func (p *process) liveHeap() int64 {
	c := &http.Client{Timeout: time.Minute}
	if p.debug == "" {
		return 0
	}
	if res, err := c.Get(p.debug + "/debug/pprof/heap?gc=1"); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	res, err := c.Get(p.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_alloc_bytes "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int64(n)
		}
	}
	return 0
}

// metric reads one of placard's /metrics values (0 when it has none).
func (p *process) metric(name string) float64 {
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(p.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// goroutines asks a server how many goroutines it runs: placard's
// /metrics, the hub's /goroutines.
func (p *process) goroutines() int {
	c := &http.Client{Timeout: 10 * time.Second}
	for _, u := range []string{p.metrics + "/metrics", p.url + "/goroutines"} {
		res, err := c.Get(u)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			continue
		}
		if strings.HasSuffix(u, "/goroutines") {
			n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return n
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return int(n)
			}
		}
	}
	return 0
}

// costAtRest measures the binary's size, and placard's start-to-ready and
// idle memory without screens (the median of three starts on a data
// directory made by a first one, as a deployed server starts).
func costAtRest(o options, res *Result) error {
	st, err := os.Stat(o.placard)
	if err != nil {
		return fmt.Errorf("%s: %w (build it with make build)", o.placard, err)
	}
	dir, err := os.MkdirTemp("", "placard-bench-rest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Its tenant, as every stage's but first paint's: a start reads the
	// authority's metadata from it, as from Microsoft.
	sb, err := startTenant(o, filepath.Join(dir, "sandbox"), filepath.Join(o.out, "sandbox-rest.log"), 0)
	if err != nil {
		return err
	}
	defer sb.stop()
	var starts, rss, hubStarts []float64
	for i := range 4 {
		p, took, err := startPlacard(o, filepath.Join(dir, "data"), filepath.Join(o.out, "placard-rest.log"), sb.edgeFlags()...)
		if err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
		u := p.usage()
		p.stop()
		if i == 0 {
			continue // made the data directory and its keys
		}
		starts = append(starts, took.Seconds()*1000)
		rss = append(rss, float64(u.rss)/1e6)
		h, took, err := startHub()
		if err != nil {
			return err
		}
		h.stop()
		hubStarts = append(hubStarts, took.Seconds()*1000)
	}
	res.add("binary size", "MB", float64(st.Size())/1e6, nil, "≤ 30 MB", 0, 30)
	res.add("start to ready (median of 3)", "ms", median(starts), num(median(hubStarts)), "≤ 300 ms", 0, 300)
	res.add("idle RSS, no screens", "MB", median(rss), nil, "≤ 40 MB", 0, 40)
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// percentile returns the p-th percentile (0..100) of v, nearest rank.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// accountsOf returns the numbered accounts of the sandbox.
func accountsOf(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%04d@placard.example", i+1)
	}
	return out
}

// stage is what was measured at one screen count.
type stage struct {
	n                                 int
	accountP50, accountP99, screenP99 float64 // ms
	rssPerScreen, goroutinesPerScreen float64
	// Where the RSS is: goroutine stacks and the live heap, per screen.
	stacksPerScreen, heapPerScreen float64
	cpuIdle, cpuChange             float64
	batchesPerAccountPeriod        float64
	signInRate                     float64 // screens a second, while they sign in together
	signInCPU                      float64 // placard's CPU milliseconds per screen signed in
	// The sandbox's (the emulated Microsoft's, in a process of its own):
	// CPU milliseconds per screen signed in, CPU under change, RSS (MB).
	sbSignInCPU, sbCPUChange, sbRSS float64
}

// atScale runs placard and the baseline hub at each screen count.
func atScale(o options, res *Result) ([]byte, error) {
	ctx := context.Background()
	// Placard's profiler (-debug-addr, on a loopback port of its own) is
	// for -profile, and for the soak, which collects placard's garbage
	// before each sample.
	e, err := startEdge(o, "scale", o.accounts, "-codes-per-minute", "1000000")
	if err != nil {
		return nil, err
	}
	defer e.stop()
	p, sb, ctl := e.p, e.sb, e.sb.ctl
	var prof *profiler
	if o.profile {
		prof = &profiler{dir: o.out, placard: p.debug}
	}
	hub, _, err := startHub()
	if err != nil {
		return nil, err
	}
	defer hub.stop()
	time.Sleep(2 * time.Second)
	p0, h0 := p.usage(), hub.usage()
	pg0, hg0 := p.goroutines(), hub.goroutines()
	stack0, heap0 := p.metric("go_memstats_stack_inuse_bytes"), p.liveHeap()
	logPath := p.log

	accounts := accountsOf(o.accounts)
	link, err := e.link(ctx, o, "Bench", o.stages[len(o.stages)-1])
	if err != nil {
		return nil, err
	}
	fleet, err := loadgen.New(loadgen.Config{URL: p.url, Accounts: accounts, Prefix: "screen", Parallel: o.parallel,
		// A sign-in waits its turn among o.parallel on a busy machine.
		SignInWithin: 5 * time.Minute, Sandbox: sb.url, SandboxRoots: sb.roots, Link: link})
	if err != nil {
		return nil, err
	}
	defer fleet.Close()

	// Approval → dashboard, one screen at a time on a quiet server; the
	// first dashboard sizes the baseline's messages.
	quietLink, err := e.link(ctx, o, "Quiet", max(o.quiet, 1))
	if err != nil {
		return nil, err
	}
	quiet, err := loadgen.New(loadgen.Config{URL: p.url, Accounts: accounts, Prefix: "quiet", Parallel: 1,
		FirstAddr: netipAddr(127, 2, 0, 1), Sandbox: sb.url, SandboxRoots: sb.roots, Link: quietLink})
	if err != nil {
		return nil, err
	}
	if err := quiet.Grow(ctx, max(o.quiet, 1)); err != nil {
		return nil, err
	}
	sample := quiet.Sample()
	msal, ours, err := signInSplit(ctx, ctl, quiet.Screens())
	quiet.Close()
	if err != nil {
		return nil, err
	}
	if o.quiet > 0 {
		res.add("approval → tokens (MSAL's polling wait), p99", "ms", percentile(msal, 99), nil, "", 0, 0)
		res.add("tokens → dashboard frame (placard), p99", "ms", percentile(ours, 99), nil, "≤ 300 ms", 0, 300)
	}

	var stages []stage
	var lastBaseline baselineStage
	availability := []string{"DoNotDisturb", "Away"}
	for si, n := range o.stages {
		// The baseline first, with the same clients and message size: its
		// clients are closed before placard's screens grow, so that this
		// process never holds both at the largest count.
		tb := time.Now()
		bs, err := baseline(ctx, o, hub, h0, hg0, n, sample)
		if err != nil {
			return nil, err
		}
		fmt.Printf("%d clients: baseline measured (%v)\n", n, time.Since(tb).Round(time.Second))

		t0, cpu0, sbCPU0 := time.Now(), p.usage(), sb.usage()
		stopProfile := prof.cpu(fmt.Sprintf("signin-%d", n), 20*time.Second)
		grown := n - len(fleet.Screens())
		err = fleet.Grow(ctx, grown)
		took := time.Since(t0)
		stopProfile()
		if err != nil {
			return nil, err
		}
		st := stage{n: n, signInRate: float64(grown) / took.Seconds(),
			signInCPU:   float64((p.usage().cpu - cpu0.cpu).Milliseconds()) / float64(grown),
			sbSignInCPU: float64((sb.usage().cpu - sbCPU0.cpu).Milliseconds()) / float64(grown)}
		fmt.Printf("%d screens signed in (%d in %v: %.1f a second, placard's CPU %.1f ms each)\n", n, grown, took.Round(time.Second), st.signInRate, st.signInCPU)
		printSteps(fleet.Screens()[n-grown:])
		time.Sleep(3 * time.Second)

		// Idle: one polling period with nothing changing.
		var before, after map[string]int
		if before, err = ctl.Requests(ctx); err != nil {
			return nil, err
		}
		a := p.usage()
		time.Sleep(o.period)
		b := p.usage()
		if after, err = ctl.Requests(ctx); err != nil {
			return nil, err
		}
		st.cpuIdle = cpuPerMinute(a, b)
		st.batchesPerAccountPeriod = float64(after["graph /$batch"]-before["graph /$batch"]) /
			float64(o.accounts) / (b.at.Sub(a.at).Seconds() / o.period.Seconds())
		st.rssPerScreen = float64(b.rss-p0.rss) / float64(n) / 1e3
		st.goroutinesPerScreen = float64(p.goroutines()-pg0) / float64(n)
		// Stacks before the collection that liveHeap asks for (which
		// shrinks them), after the RSS.
		st.stacksPerScreen = (p.metric("go_memstats_stack_inuse_bytes") - stack0) / float64(n) / 1e3
		st.heapPerScreen = float64(p.liveHeap()-heap0) / float64(n) / 1e3

		// Change: every account's presence, each seen at its next poll.
		want := availability[si%2]
		a, sa := p.usage(), sb.usage()
		stopProfile = prof.cpu(fmt.Sprintf("change-%d", n), o.period)
		var wg sync.WaitGroup
		errs := make(chan error, len(accounts))
		for _, upn := range accounts {
			wg.Go(func() {
				if err := ctl.SetPresence(ctx, upn, want, want); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 3*o.period)
		arrivals, err := loadgen.AwaitAvailability(wctx, fleet.Screens(), want)
		cancel()
		stopProfile()
		if err != nil {
			return nil, err
		}
		b, sbb := p.usage(), sb.usage()
		st.cpuChange = cpuPerMinute(a, b)
		st.sbCPUChange, st.sbRSS = cpuPerMinute(sa, sbb), float64(sbb.rss)/1e6
		users, err := ctl.Users(ctx)
		if err != nil {
			return nil, err
		}
		served := map[string]time.Time{}
		for _, u := range users {
			served[u.UPN] = u.PresenceServedAt
		}
		var perScreen []float64
		last := map[string]float64{}
		for i, s := range fleet.Screens() {
			ms := arrivals[i].Sub(served[s.Account]).Seconds() * 1000
			perScreen = append(perScreen, ms)
			last[s.Account] = max(last[s.Account], ms)
		}
		var perAccount []float64
		for _, v := range last {
			perAccount = append(perAccount, v)
		}
		st.accountP50, st.accountP99 = percentile(perAccount, 50), percentile(perAccount, 99)
		st.screenP99 = percentile(perScreen, 99)

		// The baseline, same clients, same message size.
		prof.heap(fmt.Sprintf("%d", n))
		stages = append(stages, st)
		report(res, o, st, bs)
		lastBaseline = bs
		fmt.Printf("%d screens measured\n", n)
	}
	for _, s := range fleet.Screens() {
		if err := s.Dropped(); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("screen %s dropped: %v", s.Name, err))
		}
	}
	last := stages[len(stages)-1]
	res.add(fmt.Sprintf("Graph $batch per account per poll period (%d screens)", last.n), "requests", last.batchesPerAccountPeriod, nil, "1", 0, 1.05)
	res.add(fmt.Sprintf("Graph $batch per screen per poll period (%d per account)", last.n/o.accounts), "requests",
		last.batchesPerAccountPeriod*float64(o.accounts)/float64(last.n), nil, fmt.Sprintf("1/%d", last.n/o.accounts), 0,
		1.05*float64(o.accounts)/float64(last.n))

	if o.soak > 0 {
		if err := soak(ctx, o, p, ctl, fleet, accounts, res); err != nil {
			return nil, err
		}
	}
	errorsInLog, err := countErrors(logPath)
	if err != nil {
		return nil, err
	}
	if o.storm {
		if err := reconnectStorm(ctx, o, p, fleet, p0, lastBaseline, res); err != nil {
			return nil, err
		}
		after, err := countErrors(p.log)
		if err != nil {
			return nil, err
		}
		errorsInLog += after
	}
	res.add("errors in placard's log", "lines", float64(errorsInLog), nil, "0", 0, 0.5)
	return sample, nil
}

// signInSplit splits each screen's approval → dashboard into the wait for
// MSAL's next poll (approval → tokens issued, at the sandbox) and
// placard's part (tokens issued → the dashboard frame at the screen).
func signInSplit(ctx context.Context, ctl *sandboxctl.Client, screens []*loadgen.Screen) (msal, ours []float64, err error) {
	codes, err := ctl.Codes(ctx)
	if err != nil {
		return nil, nil, err
	}
	byCode := map[string]sandboxctl.CodeInfo{}
	for _, c := range codes {
		byCode[c.UserCode] = c
	}
	for _, s := range screens {
		c, ok := byCode[s.Code]
		if !ok || c.RedeemedAt.IsZero() {
			return nil, nil, fmt.Errorf("screen %s: its code %s was not redeemed at the sandbox", s.Name, s.Code)
		}
		msal = append(msal, c.RedeemedAt.Sub(c.ApprovedAt).Seconds()*1000)
		ours = append(ours, s.SignedInAt.Sub(c.RedeemedAt).Seconds()*1000)
	}
	return msal, ours, nil
}

// baselineStage is the bare hub's measurements at one screen count.
type baselineStage struct {
	groupP50, groupP99, broadcastP99  float64
	broadcastP50                      float64
	broadcastLast                     []float64 // ms to the last client, one per full broadcast
	rssPerScreen, goroutinesPerScreen float64
	cpuIdle, cpuChange                float64
}

// baseline connects n clients to the bare hub and measures it as placard
// was measured: one message per "account" group, spread over a polling
// period as placard's polls are, then full broadcasts.
func baseline(ctx context.Context, o options, hub *process, h0 usage, hg0, n int, sample []byte) (baselineStage, error) {
	var bs baselineStage
	if sample == nil {
		return bs, errors.New("no dashboard received to size the baseline's messages")
	}
	fleet, err := loadgen.New(loadgen.Config{URL: hub.url, Accounts: accountsOf(o.accounts), Prefix: "screen", Parallel: 200,
		Bare: true, FirstAddr: netipAddr(127, 3, 0, 1)})
	if err != nil {
		return bs, err
	}
	defer fleet.Close()
	if err := fleet.Grow(ctx, n); err != nil {
		return bs, err
	}
	if err := loadgen.AwaitClients(ctx, hub.url, n); err != nil {
		return bs, err
	}
	time.Sleep(3 * time.Second)
	idle := o.period / 2
	a := hub.usage()
	time.Sleep(idle)
	b := hub.usage()
	bs.cpuIdle = cpuPerMinute(a, b)
	bs.rssPerScreen = float64(b.rss-h0.rss) / float64(n) / 1e3
	bs.goroutinesPerScreen = float64(hub.goroutines()-hg0) / float64(n)

	post := func(query string, msg []byte) (time.Time, error) {
		sent := time.Now()
		res, err := http.Post(hub.url+"/broadcast"+query, "application/json", bytes.NewReader(msg))
		if err != nil {
			return sent, err
		}
		res.Body.Close()
		return sent, nil
	}
	// One message per group, spread over a polling period.
	msg := withAvailability(sample, "Busy")
	sent := make([]time.Time, o.accounts)
	a = hub.usage()
	gap := o.period / time.Duration(o.accounts)
	for g := range o.accounts {
		if sent[g], err = post(fmt.Sprintf("?group=%d&groups=%d", g, o.accounts), msg); err != nil {
			return bs, err
		}
		time.Sleep(gap)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	arrivals, err := loadgen.AwaitAvailability(wctx, fleet.Screens(), "Busy")
	cancel()
	if err != nil {
		return bs, err
	}
	b = hub.usage()
	bs.cpuChange = cpuPerMinute(a, b)
	last := make([]float64, o.accounts)
	for i := range fleet.Screens() {
		g := i % o.accounts
		last[g] = max(last[g], arrivals[i].Sub(sent[g]).Seconds()*1000)
	}
	bs.groupP50, bs.groupP99 = percentile(last, 50), percentile(last, 99)

	// Full broadcasts: every client at once.
	var all []float64
	for i, want := range []string{"Away", "Busy", "Away", "Busy", "Away"} {
		s, err := post("", withAvailability(sample, want))
		if err != nil {
			return bs, err
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		arrivals, err := loadgen.AwaitAvailability(wctx, fleet.Screens(), want)
		cancel()
		if err != nil {
			return bs, fmt.Errorf("baseline broadcast %d: %w", i+1, err)
		}
		last := 0.0
		for _, at := range arrivals {
			ms := at.Sub(s).Seconds() * 1000
			all = append(all, ms)
			last = max(last, ms)
		}
		bs.broadcastLast = append(bs.broadcastLast, last)
	}
	bs.broadcastP50, bs.broadcastP99 = percentile(all, 50), percentile(all, 99)
	for _, s := range fleet.Screens() {
		if err := s.Dropped(); err != nil {
			return bs, fmt.Errorf("baseline client %s dropped: %w", s.Name, err)
		}
	}
	return bs, nil
}

// withAvailability is a dashboard message with another availability.
func withAvailability(sample []byte, availability string) []byte {
	var m map[string]any
	json.Unmarshal(sample, &m)
	if d, ok := m["data"].(map[string]any); ok {
		if db, ok := d["dashboard"].(map[string]any); ok {
			db["presence"] = map[string]string{"availability": availability, "activity": availability}
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// report adds a stage's rows.
func report(res *Result, o options, st stage, bs baselineStage) {
	at := fmt.Sprintf(" (%d screens, %d per account)", st.n, st.n/o.accounts)
	goalAt := func(g string, r float64) (string, float64) {
		if st.n == o.stages[len(o.stages)-1] {
			return g, r
		}
		return "", 0
	}
	res.add("screens signed in together"+at, "a second", st.signInRate, nil, "", 0, 0)
	res.add("placard's CPU per screen signed in"+at, "ms", st.signInCPU, nil, "", 0, 0)
	res.add("presence change → frame at every screen of its account, p50"+at, "ms", st.accountP50, num(bs.groupP50), "", 0, 0)
	res.add("presence change → frame at every screen of its account, p99"+at, "ms", st.accountP99, num(bs.groupP99), "", 0, 0)
	g, r := goalAt("≤ 1.5× baseline", 1.5)
	res.add("every screen updated, p99 per screen"+at+"; baseline: full broadcast", "ms", st.screenP99, num(bs.broadcastP99), g, r, 0)
	g, r = goalAt("≤ 2.5× baseline", 2.5)
	if st.n == 1000 {
		g, r = "≤ 2.5× baseline", 2.5
	}
	res.add("server RSS per screen"+at, "KB", st.rssPerScreen, num(bs.rssPerScreen), g, r, 0)
	res.add("goroutine stacks per screen"+at, "KB", st.stacksPerScreen, nil, "", 0, 0)
	res.add("live heap per screen"+at, "KB", st.heapPerScreen, nil, "", 0, 0)
	res.add("goroutines per screen"+at, "", st.goroutinesPerScreen, num(bs.goroutinesPerScreen), "", 0, 0)
	res.add("CPU idle"+at, "s/min", st.cpuIdle, num(bs.cpuIdle), "", 0, 0)
	g, r = goalAt("≤ 2× baseline", 2)
	res.add("CPU under change"+at, "s/min", st.cpuChange, num(bs.cpuChange), g, r, 0)
	res.add("CPU under change above idle"+at+": the changes' own cost", "s/min", aboveIdle(st.cpuChange, st.cpuIdle), num(aboveIdle(bs.cpuChange, bs.cpuIdle)), "", 0, 0)
	res.add("the sandbox's CPU per screen signed in (emulated Microsoft, a process of its own)"+at, "ms", st.sbSignInCPU, nil, "", 0, 0)
	res.add("the sandbox's CPU under change"+at, "s/min", st.sbCPUChange, nil, "", 0, 0)
	res.add("the sandbox's RSS"+at, "MB", st.sbRSS, nil, "", 0, 0)
}

// aboveIdle is CPU under change less CPU idle (s/min): what the changes
// cost beyond what runs anyway (placard's polls of Graph, the pings).
func aboveIdle(change, idle float64) float64 { return max(change-idle, 0) }

// printSteps prints where the screens' sign-ins took their time.
func printSteps(screens []*loadgen.Screen) {
	steps := []struct {
		name string
		of   func(loadgen.Steps) time.Duration
	}{
		{"page", func(s loadgen.Steps) time.Duration { return s.Page }},
		{"socket and hello", func(s loadgen.Steps) time.Duration { return s.Socket }},
		{"hello → code", func(s loadgen.Steps) time.Duration { return s.Code }},
		{"approval", func(s loadgen.Steps) time.Duration { return s.Approve }},
		{"approved → dashboard", func(s loadgen.Steps) time.Duration { return s.Dashboard }},
	}
	fmt.Print("  sign-in steps, p50 / p99 (ms):")
	for _, st := range steps {
		var v []float64
		for _, s := range screens {
			v = append(v, st.of(s.Steps).Seconds()*1000)
		}
		fmt.Printf(" %s %.0f / %.0f;", st.name, percentile(v, 50), percentile(v, 99))
	}
	fmt.Println()
}

// soak keeps the screens for o.soak under changing presence and calendars,
// and checks that goroutines and memory do not grow beyond noise and that
// no screen was dropped.
func soak(ctx context.Context, o options, p *process, ctl *sandboxctl.Client, fleet *loadgen.Fleet, accounts []string, res *Result) error {
	fmt.Printf("soak: %v\n", o.soak)
	end := time.Now().Add(o.soak)
	type sample struct {
		g         int
		rss, heap int64
	}
	take := func() sample {
		x := sample{heap: p.liveHeap(), g: p.goroutines(), rss: p.usage().rss}
		fmt.Printf("soak: %d goroutines, RSS %.0f MB, live heap %.0f MB\n", x.g, float64(x.rss)/1e6, float64(x.heap)/1e6)
		return x
	}
	var samples []sample
	rng := rand.New(rand.NewPCG(1, 2))
	values := []string{"Available", "Busy", "Away", "DoNotDisturb", "BeRightBack"}
	next := time.Now()
	for time.Now().Before(end) {
		// A tenth of the accounts change presence, and one gets a new
		// event, every few seconds.
		for range max(1, len(accounts)/10) {
			upn := accounts[rng.IntN(len(accounts))]
			v := values[rng.IntN(len(values))]
			if err := ctl.SetPresence(ctx, upn, v, v); err != nil {
				return err
			}
		}
		upn := accounts[rng.IntN(len(accounts))]
		start := time.Now().Add(time.Duration(rng.IntN(120)) * time.Minute).UTC().Truncate(time.Minute)
		// The body Graph's POST /me/events takes.
		event := map[string]any{"subject": "Soak " + start.Format("15:04"),
			"start": map[string]string{"dateTime": start.Format("2006-01-02T15:04:05"), "timeZone": "UTC"},
			"end":   map[string]string{"dateTime": start.Add(30 * time.Minute).Format("2006-01-02T15:04:05"), "timeZone": "UTC"}}
		if _, err := ctl.AddEvent(ctx, upn, event); err != nil {
			return err
		}
		if !time.Now().Before(next) {
			samples = append(samples, take())
			next = time.Now().Add(30 * time.Second)
		}
		time.Sleep(3 * time.Second)
	}
	samples = append(samples, take())
	// Growth: the last third against the first third (after warm-up).
	third := max(1, len(samples)/3)
	avg := func(s []sample) (float64, float64, float64) {
		var g, r, h float64
		for _, x := range s {
			g += float64(x.g)
			r += float64(x.rss)
			h += float64(x.heap)
		}
		n := float64(len(s))
		return g / n, r / n, h / n
	}
	g1, r1, h1 := avg(samples[:third])
	g2, r2, h2 := avg(samples[len(samples)-third:])
	dropped := 0
	for _, s := range fleet.Screens() {
		if s.Dropped() != nil {
			dropped++
		}
	}
	res.add(fmt.Sprintf("soak %v, %d screens: goroutine growth", o.soak, len(fleet.Screens())), "%", 100*(g2-g1)/g1, nil, "≤ 1%", 0, 1)
	res.add(fmt.Sprintf("soak %v, %d screens: RSS growth", o.soak, len(fleet.Screens())), "%", 100*(r2-r1)/r1, nil, "≤ 10%", 0, 10)
	if h1 > 0 {
		res.add(fmt.Sprintf("soak %v, %d screens: live heap growth (after a collection)", o.soak, len(fleet.Screens())), "%", 100*(h2-h1)/h1, nil, "≤ 5%", 0, 5)
	}
	res.add(fmt.Sprintf("soak %v: screens dropped", o.soak), "screens", float64(dropped), nil, "0", 0, 0.5)
	return nil
}

// countErrors counts the lines of placard's log at level ERROR.
func countErrors(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte("level=ERROR")), nil
}

// printTable prints the rows as a Markdown table.
func printTable(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nplacard at scale: %s, %s, run took %s\n\n", res.Machine, res.Go, res.Duration)
	fmt.Fprintln(w, "| metric | placard | baseline | ratio | goal | met |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | --- | --- |")
	f := func(v *float64, unit string) string {
		if v == nil {
			return "—"
		}
		s := strconv.FormatFloat(*v, 'f', digits(*v), 64)
		if unit != "" {
			s += " " + unit
		}
		return s
	}
	for _, r := range res.Rows {
		ratio, met := "—", "—"
		if r.Ratio != nil {
			ratio = strconv.FormatFloat(*r.Ratio, 'f', 2, 64) + "×"
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		goal := r.Goal
		if goal == "" {
			goal = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Metric, f(r.Placard, r.Unit), f(r.Baseline, r.Unit), ratio, goal, met)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func digits(v float64) int {
	switch a := max(v, -v); {
	case a >= 100:
		return 0
	case a >= 10:
		return 1
	case a >= 1:
		return 2
	}
	return 3
}

func netipAddr(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

// serveHub is `bench hub -addr A`: the baseline hub in a process of its
// own, until it is told to stop.
func serveHub(args []string) error {
	fs := flag.NewFlagSet("bench hub", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	h := loadgen.NewBareHub()
	go h.Run()
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// profiler takes profiles of placard, through its -debug-addr, and of this
// program (the load generator), for go tool pprof: where a stage's time
// goes on either side.
type profiler struct {
	dir     string
	placard string // placard's profiler, http://host:port; "" for none
}

// cpu profiles placard for d and this program until the returned
// function is called, which waits for placard's profile; both are written
// to the out directory as cpu-<name>-placard.pprof and cpu-<name>-bench.pprof.
func (pr *profiler) cpu(name string, d time.Duration) (stop func()) {
	if pr == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pr.fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), "cpu-"+name+"-placard.pprof", d+time.Minute)
	}()
	var self *os.File
	if f, err := os.Create(filepath.Join(pr.dir, "cpu-"+name+"-bench.pprof")); err == nil {
		if pprof.StartCPUProfile(f) == nil {
			self = f
		} else {
			f.Close()
		}
	}
	return func() {
		if self != nil {
			pprof.StopCPUProfile()
			self.Close()
		}
		<-done
	}
}

// heap writes placard's heap profile as heap-<name>-placard.pprof.
func (pr *profiler) heap(name string) {
	if pr != nil {
		pr.fetch("/debug/pprof/heap?gc=1", "heap-"+name+"-placard.pprof", time.Minute)
	}
}

func (pr *profiler) fetch(path, file string, within time.Duration) {
	c := &http.Client{Timeout: within}
	res, err := c.Get(pr.placard + path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: profiling placard: %v\n", err)
		return
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "bench: profiling placard: %s %v\n", res.Status, err)
		return
	}
	if err := os.WriteFile(filepath.Join(pr.dir, file), b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return
	}
	fmt.Printf("profile: %s\n", filepath.Join(pr.dir, file))
}
