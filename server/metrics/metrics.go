// Package metrics counts what the edge server does, for Prometheus. It
// keeps its own set of metrics (no global state) and never labels with
// anything a person or a token could put there: labels are our own words
// and numbers.
//
// It writes Prometheus's text exposition format itself: the few counters,
// gauges and one histogram here do not need the Prometheus client library,
// which with its protocol buffers was a twelfth of the binary.
package metrics

import (
	"io"
	"maps"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/placard/placard/server/buildinfo"
)

// Metrics is the edge server's set of metrics.
type Metrics struct {
	screens   *gauge
	signIns   *counterVec
	refreshes *counterVec
	graph     *counterVec
	messages  *counterVec
	polls     *counterVec
	pollLag   *histogram
	owned     *gauge
	leases    *counterVec
	offline   *gauge

	families []family
	started  time.Time

	// scrape holds a scrape's reading of the runtime's memory statistics,
	// read once per scrape: runtime.ReadMemStats stops the world.
	scrape sync.Mutex
	ms     runtime.MemStats
}

// A family is one metric's name, help and type, and how to write its
// samples.
type family struct {
	name, help, kind string
	write            func(w io.Writer, name string)
}

// New returns the metrics, with the Go runtime's and the process's own
// (go_goroutines, process_resident_memory_bytes, ...).
func New() *Metrics {
	m := &Metrics{
		screens:   &gauge{},
		signIns:   newCounterVec("outcome"),
		refreshes: newCounterVec("outcome"),
		graph:     newCounterVec("endpoint", "status"),
		messages:  newCounterVec("direction", "type"),
		polls:     newCounterVec(),
		pollLag:   newHistogram(.01, .05, .1, .5, 1, 5, 15, 60),
		owned:     &gauge{},
		leases:    newCounterVec("change"),
		offline:   &gauge{},
		started:   time.Now(),
	}
	m.families = []family{
		{"placard_screens_connected", "WebSocket connections of screens open now.", "gauge", m.screens.write},
		{"placard_sign_ins_total", "Device-code sign-ins by outcome (success, declined, expired, blocked, ...).", "counter", m.signIns.write},
		{"placard_token_refreshes_total", "Access tokens obtained with a refresh token, by outcome.", "counter", m.refreshes.write},
		{"placard_graph_requests_total", "Microsoft Graph requests by endpoint and HTTP status (0: no answer).", "counter", m.graph.write},
		{"placard_websocket_messages_total", "WebSocket messages by direction (in, out) and type.", "counter", m.messages.write},
		{"placard_graph_polls_total", "Polls of Microsoft Graph, one per account per tick.", "counter", m.polls.write},
		{"placard_graph_poll_lag_seconds", "How late a poll of Microsoft Graph started after it was due.", "histogram", m.pollLag.write},
		{"placard_accounts_owned", "Accounts this replica owns now: it alone reads Graph and refreshes tokens for them.", "gauge", m.owned.write},
		{"placard_screens_offline", "Enrolled screens offline for longer than their group's threshold (the whole fleet, every replica's screens).", "gauge", m.offline.write},
		{"placard_lease_changes_total", "Accounts' leases this replica gained or lost.", "counter", m.leases.write},
		{"placard_build_info", "The build of placard that runs: its version, commit (revision) and Go version as labels, with the value 1 (Prometheus's convention for build information).", "gauge", writeBuildInfo},
	}
	m.families = append(m.families, runtimeFamilies(m.started, &m.ms)...)
	slices.SortFunc(m.families, func(a, b family) int { return strings.Compare(a.name, b.name) })
	return m
}

// writeBuildInfo writes placard_build_info: the same values as `placard
// version` and the admin page, read from the binary itself.
func writeBuildInfo(w io.Writer, name string) {
	in := buildinfo.Read()
	io.WriteString(w, name+labelSet([]string{"goarch", "goos", "goversion", "revision", "version"},
		[]string{in.Arch, in.OS, in.GoVersion, in.Commit, in.Version})+" 1\n")
}

// Handler serves /metrics in Prometheus's text format (version 0.0.4).
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.write(w)
	})
}

// write writes every metric in Prometheus's text format.
func (m *Metrics) write(w io.Writer) {
	var b strings.Builder
	m.scrape.Lock()
	runtime.ReadMemStats(&m.ms)
	for _, f := range m.families {
		b.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		b.WriteString("# TYPE " + f.name + " " + f.kind + "\n")
		f.write(&b, f.name)
	}
	m.scrape.Unlock()
	io.WriteString(w, b.String())
}

// SignIn counts a sign-in's outcome.
func (m *Metrics) SignIn(outcome string) { m.signIns.inc(outcome) }

// Lease counts an account's lease gained (true) or lost by this replica.
func (m *Metrics) Lease(gained bool) {
	if gained {
		m.owned.add(1)
		m.leases.inc("gained")
		return
	}
	m.owned.add(-1)
	m.leases.inc("lost")
}

// TokenRefresh counts a refresh's outcome.
func (m *Metrics) TokenRefresh(outcome string) { m.refreshes.inc(outcome) }

// PollLag records a poll and how late it started.
func (m *Metrics) PollLag(d time.Duration) {
	m.polls.inc()
	m.pollLag.observe(max(d, 0).Seconds())
}

// ScreensOffline sets the number of screens offline past their threshold.
func (m *Metrics) ScreensOffline(n int) { m.offline.set(int64(n)) }

// Connections sets the number of open screen connections.
func (m *Metrics) Connections(n int) { m.screens.set(int64(n)) }

// Message counts a WebSocket message.
func (m *Metrics) Message(direction, kind string) { m.messages.inc(direction, kind) }

// GraphRequest counts a Graph request's answer.
func (m *Metrics) GraphRequest(endpoint string, status int) {
	m.graph.inc(endpoint, strconv.Itoa(status))
}

// gauge is a value that goes up and down.
type gauge struct {
	mu sync.Mutex
	v  int64
}

func (g *gauge) set(v int64) {
	g.mu.Lock()
	g.v = v
	g.mu.Unlock()
}

func (g *gauge) add(d int64) {
	g.mu.Lock()
	g.v += d
	g.mu.Unlock()
}

func (g *gauge) write(w io.Writer, name string) {
	g.mu.Lock()
	v := g.v
	g.mu.Unlock()
	io.WriteString(w, name+" "+strconv.FormatInt(v, 10)+"\n")
}

// counterVec counts by the values of its labels (at most two): a sample
// appears once it was counted.
type counterVec struct {
	labels []string
	mu     sync.Mutex
	counts map[labelValues]uint64
}

// labelValues are a sample's label values: a map key that costs no
// allocation per count (a count per WebSocket message).
type labelValues [2]string

func newCounterVec(labels ...string) *counterVec {
	if len(labels) > len(labelValues{}) {
		panic("metrics: a counter has at most two labels")
	}
	return &counterVec{labels: labels, counts: map[labelValues]uint64{}}
}

func (c *counterVec) inc(values ...string) {
	var key labelValues
	copy(key[:], values)
	c.mu.Lock()
	c.counts[key]++
	c.mu.Unlock()
}

func (c *counterVec) write(w io.Writer, name string) {
	c.mu.Lock()
	counts := maps.Clone(c.counts)
	c.mu.Unlock()
	if len(c.labels) == 0 && len(counts) == 0 {
		counts[labelValues{}] = 0 // a counter without labels is always there
	}
	lines := make([]string, 0, len(counts))
	for k, n := range counts {
		lines = append(lines, name+labelSet(c.labels, k[:])+" "+strconv.FormatUint(n, 10)+"\n")
	}
	slices.Sort(lines)
	for _, l := range lines {
		io.WriteString(w, l)
	}
}

// histogram counts observations into buckets of upper bounds.
type histogram struct {
	bounds []float64
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

func newHistogram(bounds ...float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds))}
}

func (h *histogram) observe(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i, _ := slices.BinarySearch(h.bounds, v); i < len(h.bounds) {
		h.counts[i]++
	}
	h.sum += v
	h.count++
}

func (h *histogram) write(w io.Writer, name string) {
	h.mu.Lock()
	counts, sum, count := slices.Clone(h.counts), h.sum, h.count
	h.mu.Unlock()
	var cum uint64
	for i, b := range h.bounds {
		cum += counts[i]
		io.WriteString(w, name+`_bucket{le="`+formatFloat(b)+`"} `+strconv.FormatUint(cum, 10)+"\n")
	}
	io.WriteString(w, name+`_bucket{le="+Inf"} `+strconv.FormatUint(count, 10)+"\n")
	io.WriteString(w, name+"_sum "+formatFloat(sum)+"\n")
	io.WriteString(w, name+"_count "+strconv.FormatUint(count, 10)+"\n")
}

// runtimeFamilies are the Go runtime's and the process's metrics, under
// the names, help and types Prometheus's own Go client (client_golang's Go
// and process collectors) gives them. ms is the scrape's reading of the
// memory statistics.
func runtimeFamilies(started time.Time, ms *runtime.MemStats) []family {
	value := func(v func() float64) func(io.Writer, string) {
		return func(w io.Writer, name string) { io.WriteString(w, name+" "+formatFloat(v())+"\n") }
	}
	memStat := func(v func(*runtime.MemStats) uint64) func(io.Writer, string) {
		return func(w io.Writer, name string) {
			io.WriteString(w, name+" "+strconv.FormatUint(v(ms), 10)+"\n")
		}
	}
	fs := []family{
		{"go_goroutines", "Number of goroutines that currently exist.", "gauge",
			value(func() float64 { return float64(runtime.NumGoroutine()) })},
		{"go_threads", "Number of OS threads created.", "gauge",
			value(func() float64 { n, _ := runtime.ThreadCreateProfile(nil); return float64(n) })},
		{"go_info", "Information about the Go environment.", "gauge", func(w io.Writer, name string) {
			io.WriteString(w, name+labelSet([]string{"version"}, []string{runtime.Version()})+" 1\n")
		}},
		{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use.", "gauge",
			memStat(func(ms *runtime.MemStats) uint64 { return ms.HeapAlloc })},
		{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", "gauge",
			memStat(func(ms *runtime.MemStats) uint64 { return ms.HeapInuse })},
		{"go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator.", "gauge",
			memStat(func(ms *runtime.MemStats) uint64 { return ms.StackInuse })},
		{"go_memstats_sys_bytes", "Number of bytes obtained from system.", "gauge",
			memStat(func(ms *runtime.MemStats) uint64 { return ms.Sys })},
		// Its _count is the number of completed GC cycles.
		{"go_gc_duration_seconds", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", "summary",
			writeGCPauses},
		{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge",
			value(func() float64 { return float64(started.UnixNano()) / 1e9 })},
		{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter",
			value(func() float64 {
				var ru syscall.Rusage
				if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
					return 0
				}
				return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
			})},
		// The soft limit, which open(2) enforces: what an alert on
		// process_open_fds / process_max_fds needs.
		{"process_max_fds", "Maximum number of open file descriptors.", "gauge",
			value(func() float64 {
				var l syscall.Rlimit
				if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
					return 0
				}
				return float64(l.Cur)
			})},
	}
	// Linux tells the rest in /proc.
	if _, err := os.Stat("/proc/self/statm"); err == nil {
		fs = append(fs,
			family{"process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", value(func() float64 { return statm(1) })},
			family{"process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", value(func() float64 { return statm(0) })},
			family{"process_open_fds", "Number of open file descriptors.", "gauge", value(func() float64 {
				fds, err := os.ReadDir("/proc/self/fd")
				if err != nil {
					return 0
				}
				return float64(len(fds))
			})},
		)
	}
	return fs
}

// writeGCPauses writes the GC pauses as client_golang does: the minimum,
// quartiles and maximum of the recent pauses, their total and their count.
func writeGCPauses(w io.Writer, name string) {
	var st debug.GCStats
	st.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&st)
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		io.WriteString(w, name+labelSet([]string{"quantile"}, []string{q})+" "+formatFloat(st.PauseQuantiles[i].Seconds())+"\n")
	}
	io.WriteString(w, name+"_sum "+formatFloat(st.PauseTotal.Seconds())+"\n")
	io.WriteString(w, name+"_count "+strconv.FormatInt(st.NumGC, 10)+"\n")
}

// statm reads a field of /proc/self/statm, in pages, as bytes: 0 is the
// virtual memory size, 1 the resident set.
func statm(field int) float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) <= field {
		return 0
	}
	pages, err := strconv.ParseFloat(fields[field], 64)
	if err != nil {
		return 0
	}
	return pages * float64(os.Getpagesize())
}

// labelSet writes {name="value",...}, the values escaped as the format
// asks (backslash, double quote and line feed); nothing when there are no
// labels.
func labelSet(names, values []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		v := ""
		if i < len(values) {
			v = values[i]
		}
		b.WriteString(n + `="` + labelEscaper.Replace(v) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
