package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/screens"
)

// BenchmarkPresenceChangeToSSEEvent measures how long a presence change
// (made in the sandbox) takes to reach a light's event stream, with the
// shortest presence period the flags allow (-presence-every 1s): the
// poll's wait (up to one period) plus reading Graph and fanning out. It
// reports the median and the 99th percentile of at least 30 changes.
func BenchmarkPresenceChangeToSSEEvent(b *testing.B) {
	ctx := context.Background()
	cfg, err := ParseConfig([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(b.TempDir(), "data"), "-presence-every", "1s", "-log-level", "error"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Run(ctx); err != nil {
		b.Fatal(err)
	}
	defer m.Close()

	// One screen signs Grace in, then a light key follows her.
	sc, _, err := m.Screens.Open(ctx, "Bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Screens.Attach(ctx, sc.ID, screens.Hello{}); err != nil {
		b.Fatal(err)
	}
	eventually(b, 20*time.Second, "code", func() (bool, string) {
		st, err := m.Screens.State(ctx, sc.ID, time.Second)
		if err == nil && st.Phase == wire.PhaseCode {
			m.Sandbox.Approve(st.Code.UserCode, "grace@placard.example")
			return true, ""
		}
		return false, fmt.Sprintf("%v %+v", err, st)
	})
	made, err := m.Lights.Create(ctx, lights.New{Name: "bench", Account: "grace@placard.example"}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", m.URL+"/api/v1/presence", nil)
	req.Header.Set("Authorization", "Bearer "+made.Key)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	events := readEvents(res.Body)
	await := func(want string) time.Time {
		timeout := time.After(20 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					b.Fatal("the stream ended")
				}
				var p presenceAnswer
				if json.Unmarshal([]byte(e.data), &p) == nil && p.SignedIn && !p.Stale && (want == "" || p.Availability == want) {
					return e.at
				}
			case <-timeout:
				b.Fatalf("no event with %q within 20 s", want)
			}
		}
	}
	await("")

	states := []string{"Available", "Busy", "Away", "DoNotDisturb"}
	var lat []time.Duration
	b.ResetTimer()
	// Percentiles need samples: at least 30, whatever b.N.
	for i := 0; i < max(b.N, 30); i++ {
		want := states[i%len(states)]
		// A change comes at any moment of the period, not just after a
		// poll.
		b.StopTimer()
		time.Sleep(rand.N(time.Second))
		b.StartTimer()
		start := time.Now()
		if err := m.Sandbox.SetPresence("grace@placard.example", want, want); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, await(want).Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op") // the time per change is what p50 and p99 say
}
