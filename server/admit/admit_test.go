package admit

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestAGateQueuesPastItsPlacesAndRefusesPastItsQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New("page renders", Limits{Running: 1, Queue: 1, Wait: 10 * time.Second})
		leaveA, err := g.Enter(t.Context())
		if err != nil {
			t.Fatalf("the first caller: %v", err)
		}
		entered := make(chan func())
		go func() {
			leave, err := g.Enter(t.Context())
			if err != nil {
				t.Errorf("the queued caller: %v", err)
			}
			entered <- leave
		}()
		synctest.Wait() // B waits in the queue
		if s := g.Stats(); s.Running != 1 || s.Queued != 1 {
			t.Fatalf("stats %+v, want 1 running and 1 queued", s)
		}
		_, err = g.Enter(t.Context())
		var b *Busy
		if !errors.As(err, &b) {
			t.Fatalf("a caller past the queue: %v, want *Busy", err)
		}
		if b.RetryAfter < time.Second || !strings.Contains(b.Error(), "page renders") {
			t.Errorf("refusal %q: retry after %v, want ≥ 1 s and naming the work", b, b.RetryAfter)
		}
		select {
		case <-entered:
			t.Fatal("the queued caller entered while the place was taken")
		default:
		}
		leaveA()
		leaveB := <-entered
		leaveB()
		leaveB() // a second call gives nothing back twice
		if s := g.Stats(); s.Running != 0 || s.Queued != 0 || s.Refused != 1 {
			t.Errorf("stats %+v after both left, want none running or queued and 1 refused", s)
		}
	})
}

func TestAQueuedCallerIsRefusedAfterItsWaitOrWhenItGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New("hellos", Limits{Running: 1, Queue: 2, Wait: 5 * time.Second})
		leave, _ := g.Enter(t.Context())
		defer leave()
		start := time.Now()
		_, err := g.Enter(t.Context())
		if !IsBusy(err) {
			t.Fatalf("after its wait: %v, want Busy", err)
		}
		if waited := time.Since(start); waited != 5*time.Second {
			t.Errorf("refused after %v, want the wait of 5 s", waited)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := g.Enter(ctx)
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("a caller that gave up: %v, want context.Canceled", err)
		}
	})
}

func TestRetryAfterIsTheTimeTheQueueTakesToDrainUpToTwentySeconds(t *testing.T) {
	for _, c := range []struct {
		name     string
		each     time.Duration // a caller's time inside
		min, max time.Duration
	}{
		// 2 inside and 4 queued, 4 s each, 2 at a time: 12 s.
		{"the queue's drain", 4 * time.Second, 11 * time.Second, 12 * time.Second},
		// 2 minutes to drain: a screen is not told to wait longer than
		// its own backoff would.
		{"at most twenty seconds", 40 * time.Second, 20 * time.Second, 20 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := New("sign-ins", Limits{Running: 2, Queue: 4, Wait: time.Hour})
				// Callers that each take the time inside teach the gate its pace.
				for range 40 {
					leave, _ := g.Enter(t.Context())
					time.Sleep(c.each)
					leave()
				}
				var leaves []func()
				for range 2 {
					l, _ := g.Enter(t.Context())
					leaves = append(leaves, l)
				}
				for range 4 {
					go func() {
						if l, err := g.Enter(t.Context()); err == nil {
							l()
						}
					}()
				}
				synctest.Wait()
				_, err := g.Enter(t.Context())
				var b *Busy
				if !errors.As(err, &b) {
					t.Fatalf("past the queue: %v", err)
				}
				if b.RetryAfter < c.min || b.RetryAfter > c.max {
					t.Errorf("retry after %v, want %v to %v", b.RetryAfter, c.min, c.max)
				}
				for _, l := range leaves {
					l()
				}
			})
		})
	}
}

func TestARefusedRequestGets503WithRetryAfter(t *testing.T) {
	g := New("page renders", Limits{Running: 1, Queue: 0, Wait: time.Second})
	inside, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside <- struct{}{}
		<-release
		io.WriteString(w, "page")
	}), nil))
	defer srv.Close()
	first := make(chan *http.Response)
	go func() {
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Error(err)
		}
		first <- res
	}()
	<-inside
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a request past the queue: %s, want 503", res.Status)
	}
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1", res.Header.Get("Retry-After"))
	}
	if res.Header.Get("Cache-Control") != "no-store" || !strings.Contains(string(body), "busy") {
		t.Errorf("Cache-Control %q, body %q: want no-store and a sentence", res.Header.Get("Cache-Control"), body)
	}
	close(release)
	if r := <-first; r == nil || r.StatusCode != http.StatusOK {
		t.Errorf("the request inside: %v, want 200", r)
	} else {
		r.Body.Close()
	}
}

func TestARefusedPageLoadsItselfAgainAfterRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	RefusePage(rec, &Busy{What: "screens' pages", RetryAfter: 4 * time.Second})
	secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != http.StatusServiceUnavailable || err != nil || secs < 4 || secs > 5 {
		t.Fatalf("%d, Retry-After %q: want 503 and 4–5 s", rec.Code, rec.Header().Get("Retry-After"))
	}
	if want := `<meta http-equiv="refresh" content="` + strconv.Itoa(secs) + `">`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("the page has no %s:\n%s", want, rec.Body)
	}
}

func TestAGateSaysWhenItIsCalmAfterAStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New("hellos", Limits{Running: 1, Queue: 2, Wait: time.Minute})
		var calm atomic.Int32
		g.OnCalm(func() { calm.Add(1) })
		// Callers one at a time: no storm.
		for range 3 {
			leave, _ := g.Enter(t.Context())
			leave()
		}
		if n := calm.Load(); n != 0 {
			t.Fatalf("told calm %d times without a storm", n)
		}
		leave, _ := g.Enter(t.Context())
		done := make(chan struct{})
		go func() {
			l, err := g.Enter(t.Context()) // queued: a storm
			if err == nil {
				l()
			}
			close(done)
		}()
		synctest.Wait()
		if n := calm.Load(); n != 0 {
			t.Fatalf("told calm %d times with a caller inside and one queued", n)
		}
		leave()
		<-done
		if n := calm.Load(); n != 1 {
			t.Errorf("told calm %d times once the queue drained, want once", n)
		}
	})
}

func TestReclaimWaitsForTheStormToSettleAndRunsAtMostOncePerPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs []time.Time
		start := time.Now()
		r := &Reclaim{Settle: 5 * time.Second, Every: time.Minute, Free: func() { runs = append(runs, time.Now()) }}
		defer r.Stop()
		r.Calm()
		time.Sleep(3 * time.Second)
		r.Calm() // another gate calms: the wait starts again
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if len(runs) != 1 || runs[0].Sub(start) != 8*time.Second {
			t.Fatalf("reclaimed at %v, want once, 5 s after the last calm (8 s)", runs)
		}
		r.Calm() // a storm again, soon after
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if len(runs) != 2 || runs[1].Sub(runs[0]) != time.Minute {
			t.Fatalf("reclaimed at %v, want a second time a minute after the first", runs)
		}
		r.Stop()
		r.Calm()
		time.Sleep(2 * time.Minute)
		if len(runs) != 2 {
			t.Errorf("reclaimed after Stop")
		}
	})
}

// deep uses about n KB of stack, then returns.
//
//go:noinline
func deep(n int) byte {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n > 1 {
		pad[0] += deep(n - 1)
	}
	return last(pad[:])
}

//go:noinline
func last(b []byte) byte { return b[len(b)-1] }

// Connections begun in a storm keep the stacks its deep work grew, using a
// few KB of them: Collect shrinks them to within twice what they use, not
// only by the half or quarter one or two collections give.
func TestCollectShrinksTheStacksAStormGrew(t *testing.T) {
	const n = 200
	park := make(chan struct{})
	var started sync.WaitGroup
	var done sync.WaitGroup
	for range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			deep(60) // the stack grows to 64 KB, and stays so
			started.Done()
			<-park
		}()
	}
	started.Wait()
	grown := stackBytes()
	Collect()
	shrunk := stackBytes()
	t.Logf("stacks: %d KB grown, %d KB after Collect", grown>>10, shrunk>>10)
	close(park)
	done.Wait()
	// 200 stacks of 64 KB are 12.5 MB. Parked, each uses about a KB: one
	// collection leaves it 16 KB, two leave 8 KB (1.9 MB in all); shrunk
	// while it still shrinks, 4 KB (1.1 MB with the test's own).
	if grown < n*64<<10 {
		t.Fatalf("the stacks of %d goroutines grew to %d KB in all, want at least %d KB", n, grown>>10, n*64)
	}
	if limit := uint64(n*6<<10 + 256<<10); shrunk > limit {
		t.Errorf("after Collect the stacks of %d parked goroutines hold %d KB (from %d KB), want at most %d KB", n, shrunk>>10, grown>>10, limit>>10)
	}
}
