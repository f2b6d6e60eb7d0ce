package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/placard/placard/server/buildinfo"
	"github.com/placard/placard/server/metrics"
)

// scrape reads /metrics as Prometheus does, with its own parser.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want Prometheus's text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("Prometheus cannot parse /metrics: %v", err)
	}
	return fams
}

// sample returns the value of the family's sample with these labels.
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("%s has no sample %v", name, labels)
	return 0
}

func TestPrometheusReadsWhatWasCounted(t *testing.T) {
	m := metrics.New()
	fams := scrape(t, m)
	if n := sample(t, fams, "placard_graph_polls_total", nil); n != 0 {
		t.Errorf("polls before any: %v", n)
	}
	if _, ok := fams["placard_sign_ins_total"]; ok && len(fams["placard_sign_ins_total"].Metric) > 0 {
		t.Errorf("a sign-in outcome appears before any was counted")
	}

	m.SignIn("success")
	m.SignIn("success")
	m.SignIn("declined")
	m.GraphRequest("$batch", 200)
	m.GraphRequest("/me/presence", 429)
	m.Message("out", "state")
	m.Message("in", `a "quoted"\type`+"\n")
	m.Connections(7)
	m.Connections(5)
	m.Lease(true)
	m.Lease(true)
	m.Lease(false)
	m.TokenRefresh("ok")
	m.PollLag(20 * time.Millisecond)
	m.PollLag(2 * time.Second)
	m.PollLag(2 * time.Minute)

	fams = scrape(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"placard_sign_ins_total", map[string]string{"outcome": "success"}, 2},
		{"placard_sign_ins_total", map[string]string{"outcome": "declined"}, 1},
		{"placard_graph_requests_total", map[string]string{"endpoint": "$batch", "status": "200"}, 1},
		{"placard_graph_requests_total", map[string]string{"endpoint": "/me/presence", "status": "429"}, 1},
		{"placard_websocket_messages_total", map[string]string{"direction": "out", "type": "state"}, 1},
		{"placard_websocket_messages_total", map[string]string{"direction": "in", "type": `a "quoted"\type` + "\n"}, 1},
		{"placard_screens_connected", nil, 5},
		{"placard_accounts_owned", nil, 1},
		{"placard_lease_changes_total", map[string]string{"change": "gained"}, 2},
		{"placard_lease_changes_total", map[string]string{"change": "lost"}, 1},
		{"placard_token_refreshes_total", map[string]string{"outcome": "ok"}, 1},
		{"placard_graph_polls_total", nil, 3},
	} {
		if got := sample(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	h := fams["placard_graph_poll_lag_seconds"].Metric[0].Histogram
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 122.02 {
		t.Errorf("lag histogram: count %d, sum %v; want 3, 122.02", h.GetSampleCount(), h.GetSampleSum())
	}
	cumulative := map[float64]uint64{}
	for _, b := range h.Bucket {
		cumulative[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	for le, want := range map[float64]uint64{.01: 0, .05: 1, 1: 1, 5: 2, 60: 2} {
		if cumulative[le] != want {
			t.Errorf("lag ≤ %v: %d, want %d", le, cumulative[le], want)
		}
	}
}

func TestTheRuntimesAndTheProcesssOwnAreThere(t *testing.T) {
	fams := scrape(t, metrics.New())
	if n := sample(t, fams, "go_goroutines", nil); n < 1 {
		t.Errorf("go_goroutines %v", n)
	}
	for _, name := range []string{"go_memstats_heap_alloc_bytes", "go_memstats_sys_bytes", "go_threads", "process_cpu_seconds_total",
		"process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"} {
		if v := sample(t, fams, name, nil); v <= 0 {
			t.Errorf("%s = %v", name, v)
		}
	}
	// What a file-descriptor alert and a memory alert compare.
	if open, max := sample(t, fams, "process_open_fds", nil), sample(t, fams, "process_max_fds", nil); open > max {
		t.Errorf("%v file descriptors open, over the most the process may open (%v)", open, max)
	}
	if rss, vsz := sample(t, fams, "process_resident_memory_bytes", nil), sample(t, fams, "process_virtual_memory_bytes", nil); rss > vsz {
		t.Errorf("resident memory %v over the virtual memory %v", rss, vsz)
	}
}

// The GC's pauses are a summary, as client_golang writes them: its count
// is the GC cycles completed.
func TestGCPausesAreASummaryCountingCycles(t *testing.T) {
	runtime.GC()
	f := scrape(t, metrics.New())["go_gc_duration_seconds"]
	if f == nil || f.GetType() != dto.MetricType_SUMMARY || len(f.Metric) != 1 {
		t.Fatalf("go_gc_duration_seconds is %v, want one summary", f)
	}
	s := f.Metric[0].GetSummary()
	var st debug.GCStats
	debug.ReadGCStats(&st)
	if s.GetSampleCount() < 1 || s.GetSampleCount() > uint64(st.NumGC) {
		t.Errorf("%d GC cycles counted, want from 1 to %d", s.GetSampleCount(), st.NumGC)
	}
	if len(s.Quantile) != 5 || s.Quantile[0].GetQuantile() != 0 || s.Quantile[4].GetQuantile() != 1 {
		t.Errorf("quantiles %v, want the minimum, the quartiles and the maximum", s.Quantile)
	}
	if s.Quantile[4].GetValue() < s.Quantile[0].GetValue() || s.GetSampleSum() < s.Quantile[4].GetValue() {
		t.Errorf("pauses: %v, total %v", s.Quantile, s.GetSampleSum())
	}
}

// placard_build_info follows Prometheus's convention for build
// information (prometheus_build_info, go_info): labels and the value 1.
func TestBuildInfoIsAGaugeOfOneLabelledWithTheBuild(t *testing.T) {
	in := buildinfo.Read()
	f := scrape(t, metrics.New())["placard_build_info"]
	if f == nil || f.GetType() != dto.MetricType_GAUGE || len(f.Metric) != 1 {
		t.Fatalf("placard_build_info is %v, want one gauge", f)
	}
	want := map[string]string{"version": in.Version, "revision": in.Commit, "goversion": in.GoVersion, "goos": in.OS, "goarch": in.Arch}
	if v := sample(t, scrape(t, metrics.New()), "placard_build_info", want); v != 1 {
		t.Errorf("placard_build_info%v = %v, want 1", want, v)
	}
	if in.GoVersion != runtime.Version() {
		t.Errorf("goversion %q, want the toolchain's %q", in.GoVersion, runtime.Version())
	}
}
