package screens

import (
	"context"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/source"
)

// counting is a Publisher that counts the frames and bytes it is given.
type counting struct{ frames, bytes atomic.Int64 }

func (c *counting) Send(frames ...server.Frame) {
	for _, f := range frames {
		c.frames.Add(1)
		for _, p := range f.Data {
			c.bytes.Add(int64(len(p)))
		}
	}
}
func (c *counting) Disconnect(string, []byte) {}

type idlePoller struct{}

func (idlePoller) Poll(context.Context) time.Duration { return time.Hour }

// aDay is an account's day as Graph gives it: a dozen meetings.
func aDay(now time.Time) []graph.Event {
	var out []graph.Event
	day := now.Truncate(24 * time.Hour)
	for h := 7; h < 19; h++ {
		at := day.Add(time.Duration(h) * time.Hour)
		ev := graph.Event{ID: "e" + strconv.Itoa(h), Subject: "Meeting about topic " + strconv.Itoa(h),
			Location: graph.Location{DisplayName: "Room " + strconv.Itoa(h)},
			Start:    graph.DateTimeTimeZone{DateTime: at.Format("2006-01-02T15:04:05"), TimeZone: "UTC"},
			End:      graph.DateTimeTimeZone{DateTime: at.Add(45 * time.Minute).Format("2006-01-02T15:04:05"), TimeZone: "UTC"}}
		ev.Organizer.EmailAddress.Name = "Ada Lovelace"
		out = append(out, ev)
	}
	return out
}

// BenchmarkFanOutToTheScreensOfOneAccount measures what one snapshot of
// an account costs the core to render and hand to the hub for each of its
// screens, all connected, all changed (one presence change): the lock of
// each session twice, its look, its own part and its bytes.
func BenchmarkFanOutToTheScreensOfOneAccount(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			pub := &counting{}
			m := &Manager{seed: maphash.MakeSeed(), bookable: true, log: nil,
				cfg: Config{Publisher: pub, Now: time.Now, TimeZone: "Europe/Paris"}}
			m.sources = source.NewRuntime(source.Config{Context: b.Context(), Cluster: alone{}})
			m.accounts = source.NewSet[*accountData, *watch](m.sources)
			now := time.Now()
			first := &accountData{name: "Ada Lovelace", photo: newPhoto([]byte("a photo"), "image/jpeg"),
				presence: &wire.Presence{Availability: "Busy", Activity: "InAMeeting"}, events: aDay(now), calendar: true, fresh: now}
			mk := func() *watch {
				w := &watch{m: m, account: server.Account{ID: "acct"}}
				w.src = source.New(m.sources, source.Spec[*accountData]{Key: "acct", Initial: first,
					Own: func() source.Poller { return idlePoller{} }, Encode: encodeData})
				return w
			}
			var w *watch
			for i := range n {
				s := &session{m: m, id: fmt.Sprintf("s%016d", i), phase: wire.PhaseDashboard, conns: 1, changed: make(chan struct{})}
				s.setScreenLocked(server.Screen{Name: fmt.Sprintf("Screen %05d", i+1), Enrolled: true})
				sh := &shown{s: s}
				sub, ok := m.accounts.Subscribe("acct", mk, sh)
				if !ok {
					b.Fatal("not subscribed")
				}
				sh.w, w = sub.Member, sub.Member
				s.shown, s.snap = sh, sub.Latest
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				w.src.Update(func(old *accountData) (*accountData, bool) {
					d := *old
					d.presence = &wire.Presence{Availability: "Busy", Activity: strconv.Itoa(i)}
					return &d, true
				})
			}
			b.StopTimer()
			if got := pub.frames.Load(); got != int64(b.N*n) {
				b.Fatalf("%d frames for %d changes of %d screens", got, b.N, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/screen")
			b.ReportMetric(float64(pub.bytes.Load())/float64(b.N*n), "B/frame")
		})
	}
}
