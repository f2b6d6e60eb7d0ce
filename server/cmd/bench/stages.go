package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/placard/placard/server/internal/loadgen"
	"github.com/placard/placard/server/sandbox/sandboxctl"
)

// The stages beside the 200-account pattern: one account on many screens
// (a company account on every lobby TV), a reconnect storm (every screen
// of a restarted server comes back at once), and what screens waiting for
// a sign-in cost.

// afterStorm is when memory is measured after a storm: half a minute
// after the last screen showed its dashboard.
const afterStorm = 30 * time.Second

// oneAccount measures n screens on one account against the bare hub's
// broadcast to n clients: n sign-ins at once (a storm), then presence
// changes, each of which every screen shows.
func oneAccount(ctx context.Context, o options, n int, sample []byte, res *Result) error {
	at := fmt.Sprintf(" (one account, %d screens)", n)
	hub, _, err := startHub()
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	h0, hg0 := hub.usage(), hub.goroutines()
	one := o
	one.accounts = 1
	bs, err := baseline(ctx, one, hub, h0, hg0, n, sample)
	hub.stop()
	if err != nil {
		return fmt.Errorf("one account: %w", err)
	}
	fmt.Printf("one account: baseline of %d clients measured\n", n)

	e, err := startEdge(o, "one", 1, "-codes-per-minute", "1000000")
	if err != nil {
		return err
	}
	defer e.stop()
	p, sb, ctl := e.p, e.sb, e.sb.ctl
	logPath := p.log
	time.Sleep(2 * time.Second)
	p0, pg0, heap0 := p.usage(), p.goroutines(), p.liveHeap()
	stack0 := p.metric("go_memstats_stack_inuse_bytes")
	upn := accountsOf(1)[0]
	link, err := e.link(ctx, o, "One account", n)
	if err != nil {
		return err
	}
	fleet, err := loadgen.New(loadgen.Config{URL: p.url, Accounts: []string{upn}, Prefix: "one", Parallel: o.parallel,
		SignInWithin: 5 * time.Minute, FirstAddr: netipAddr(127, 4, 0, 1), Sandbox: sb.url, SandboxRoots: sb.roots, Link: link})
	if err != nil {
		return err
	}
	defer fleet.Close()
	t0, c0 := time.Now(), p.usage()
	if err := fleet.Grow(ctx, n); err != nil {
		return fmt.Errorf("one account: %w", err)
	}
	took := time.Since(t0)
	cpu := float64((p.usage().cpu - c0.cpu).Milliseconds()) / float64(n)
	fmt.Printf("one account: %d screens signed in together in %v\n", n, took.Round(time.Second))
	time.Sleep(afterStorm)
	u := p.usage()
	rss := float64(u.rss-p0.rss) / float64(n) / 1e3
	// Where it is: goroutine stacks, read before the collection that
	// liveHeap asks for (which shrinks them), and the live heap.
	stacks := (p.metric("go_memstats_stack_inuse_bytes") - stack0) / float64(n) / 1e3
	heap := float64(p.liveHeap()-heap0) / float64(n) / 1e3
	goroutines := float64(p.goroutines()-pg0) / float64(n)

	// Presence changes, as many as the hub's broadcasts: each is seen at
	// the account's next poll.
	var perScreen, last []float64
	var prof *profiler
	if o.profile {
		prof = &profiler{dir: o.out, placard: p.debug}
	}
	// Each change is seen at the account's next poll: a polling period
	// each, at most.
	// Idle first: half a polling period with nothing changing.
	i0 := p.usage()
	time.Sleep(o.period / 2)
	cpuIdle := cpuPerMinute(i0, p.usage())
	stopProfile := prof.cpu("one-account-change", time.Duration(len(bs.broadcastLast))*o.period)
	a, sa := p.usage(), sb.usage()
	for i := range len(bs.broadcastLast) {
		want := []string{"DoNotDisturb", "Away"}[i%2]
		if err := ctl.SetPresence(ctx, upn, want, want); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 3*o.period)
		arrivals, err := loadgen.AwaitAvailability(wctx, fleet.Screens(), want)
		cancel()
		if err != nil {
			return fmt.Errorf("one account, change %d: %w", i+1, err)
		}
		served, err := presenceServed(ctx, ctl, upn)
		if err != nil {
			return err
		}
		worst := 0.0
		for _, at := range arrivals {
			ms := at.Sub(served).Seconds() * 1000
			perScreen = append(perScreen, ms)
			worst = max(worst, ms)
		}
		last = append(last, worst)
	}
	b, sbb := p.usage(), sb.usage()
	stopProfile()
	prof.heap("one-account")
	// CPU over the changes' polling periods, against the hub's over its
	// group message's period: both are mostly idle time and one change.
	cpuChange := cpuPerMinute(a, b)
	for _, s := range fleet.Screens() {
		if err := s.Dropped(); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("one account: screen %s dropped: %v", s.Name, err))
		}
	}
	res.add("screens signed in together"+at, "a second", float64(n)/took.Seconds(), nil, "", 0, 0)
	res.add("placard's CPU per screen signed in"+at, "ms", cpu, nil, "", 0, 0)
	res.add(fmt.Sprintf("presence change → last screen, p50 of %d changes%s; baseline: broadcast → last client", len(last), at), "ms",
		percentile(last, 50), num(percentile(bs.broadcastLast, 50)), "", 0, 0)
	res.add(fmt.Sprintf("presence change → last screen, p99 of %d changes%s; baseline: broadcast → last client", len(last), at), "ms",
		percentile(last, 99), num(percentile(bs.broadcastLast, 99)), "≤ 1.5× baseline", 1.5, 0)
	res.add("presence change → each screen, p50"+at+"; baseline: broadcast", "ms", percentile(perScreen, 50), num(bs.broadcastP50), "", 0, 0)
	res.add("presence change → each screen, p99"+at+"; baseline: broadcast", "ms", percentile(perScreen, 99), num(bs.broadcastP99), "", 0, 0)
	res.add(fmt.Sprintf("server RSS per screen after a storm of %d sign-ins%s", n, at), "KB", rss, num(bs.rssPerScreen), "≤ 2.5× baseline", 2.5, 0)
	res.add("goroutine stacks per screen after the storm"+at, "KB", stacks, nil, "", 0, 0)
	res.add("live heap per screen after the storm"+at, "KB", heap, nil, "", 0, 0)
	res.add("goroutines per screen"+at, "", goroutines, num(bs.goroutinesPerScreen), "", 0, 0)
	res.add("CPU idle"+at, "s/min", cpuIdle, num(bs.cpuIdle), "", 0, 0)
	res.add("CPU under change"+at, "s/min", cpuChange, num(bs.cpuChange), "≤ 2× baseline", 2, 0)
	res.add("CPU under change above idle"+at+": the changes' own cost", "s/min", aboveIdle(cpuChange, cpuIdle), num(aboveIdle(bs.cpuChange, bs.cpuIdle)), "", 0, 0)
	res.add("the sandbox's CPU under change (emulated Microsoft, a process of its own)"+at, "s/min", cpuPerMinute(sa, sbb), nil, "", 0, 0)
	res.add("the sandbox's RSS"+at, "MB", float64(sbb.rss)/1e6, nil, "", 0, 0)
	errs, err := countErrors(logPath)
	if err != nil {
		return err
	}
	res.add("errors in placard's log"+at, "lines", float64(errs), nil, "0", 0, 0.5)
	return nil
}

// presenceServed is when the sandbox last served upn's presence to a poll.
func presenceServed(ctx context.Context, ctl *sandboxctl.Client, upn string) (time.Time, error) {
	users, err := ctl.Users(ctx)
	if err != nil {
		return time.Time{}, err
	}
	for _, u := range users {
		if u.UPN == upn {
			return u.PresenceServedAt, nil
		}
	}
	return time.Time{}, fmt.Errorf("the sandbox has no user %s", upn)
}

// reconnectStorm stops placard with SIGTERM while its screens are signed
// in, and starts it again on the same address and data directory; every
// screen tries again as screens do (wire.Reconnect's backoff, the
// server's Retry-After). It measures the time from the signal until each
// screen shows its dashboard again, and how many were asked to sign in
// again. On return p is the new process.
func reconnectStorm(ctx context.Context, o options, p *process, fleet *loadgen.Fleet, p0 usage, bs baselineStage, res *Result) error {
	screens := fleet.Screens()
	n := len(screens)
	at := fmt.Sprintf(" (%d screens, %d per account)", n, n/o.accounts)
	fmt.Printf("reconnect storm: %d screens\n", n)
	returns := make([]loadgen.Return, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for i, s := range screens {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		wg.Go(func() { returns[i], errs[i] = s.Reconnect(sctx, rng) })
	}
	signalled := time.Now()
	p.stop()
	stopped := time.Since(signalled)
	np, took, err := startPlacardOn(o, p.addr, p.dir, filepath.Join(o.out, "placard-restarted.log"), p.args...)
	if err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("restarting placard: %w", err)
	}
	np.debug = p.debug
	*p = *np
	wg.Wait()
	var back []float64
	signIns, tries, refused, told := 0, []float64{}, 0, time.Duration(0)
	for i, r := range returns {
		told = max(told, r.LongestRetryAfter)
		if errs[i] != nil {
			return errs[i]
		}
		back = append(back, r.At.Sub(signalled).Seconds())
		tries = append(tries, float64(r.Tries))
		if r.SignIn {
			signIns++
		}
	}
	for _, s := range screens {
		refused += int(s.Refused.Load())
	}
	fmt.Printf("reconnect storm: stopped in %v, ready again %v later; back p50 %.1f s, p99 %.1f s, last %.1f s; tries p50 %.0f, most %.0f; %d refused with 503\n",
		stopped.Round(time.Millisecond), took.Round(time.Millisecond), percentile(back, 50), percentile(back, 99), slices.Max(back),
		percentile(tries, 50), slices.Max(tries), refused)
	time.Sleep(afterStorm)
	u := p.usage()
	res.add("reconnect storm: SIGTERM → ready again"+at, "s", (stopped + took).Seconds(), nil, "", 0, 0)
	res.add("reconnect storm: SIGTERM → dashboard back, p50"+at, "s", percentile(back, 50), nil, "", 0, 0)
	res.add("reconnect storm: SIGTERM → dashboard back, p99"+at, "s", percentile(back, 99), nil, "", 0, 0)
	res.add("reconnect storm: SIGTERM → the last screen's dashboard back"+at, "s", slices.Max(back), nil, "≤ 60 s", 0, 60)
	res.add("reconnect storm: screens asked to sign in again"+at, "screens", float64(signIns), nil, "0", 0, 0.5)
	res.add("reconnect storm: tries per screen, p99"+at, "", percentile(tries, 99), nil, "", 0, 0)
	res.add("reconnect storm: answered 503 (try later)"+at, "requests", float64(refused), nil, "", 0, 0)
	res.add("reconnect storm: the longest Retry-After told"+at, "s", told.Seconds(), nil, "", 0, 0)
	res.add("server RSS per screen after the reconnect storm"+at, "KB", float64(u.rss-p0.rss)/float64(n)/1e3, num(bs.rssPerScreen), "≤ 2.5× baseline", 2.5, 0)
	return nil
}

// identityKinds are the sandbox's request counts that a real server sends
// to the identity platform.
var identityKinds = []string{"devicecode", "token device_code", "token refresh_token", "openid-configuration", "instance-discovery", "keys"}

// waiting measures what screens waiting for a sign-in cost: memory,
// goroutines, and requests to the identity platform (MSAL's polling of
// each device code, and the new code each screen gets before the last
// expires).
func waiting(ctx context.Context, o options, n int, res *Result) error {
	at := fmt.Sprintf(" (%d screens waiting)", n)
	e, err := startEdge(o, "waiting", 1, "-codes-per-minute", "1000000")
	if err != nil {
		return err
	}
	defer e.stop()
	p, sb := e.p, e.sb
	logPath := p.log
	time.Sleep(2 * time.Second)
	p0, pg0, heap0 := p.usage(), p.goroutines(), p.liveHeap()
	count := func() (map[string]int, time.Time, error) {
		c, err := sb.ctl.Requests(ctx)
		return c, time.Now(), err
	}
	c0, _, err := count()
	if err != nil {
		return err
	}
	link, err := e.link(ctx, o, "Waiting", n)
	if err != nil {
		return err
	}
	fleet, err := loadgen.New(loadgen.Config{URL: p.url, Accounts: accountsOf(1), Prefix: "wait", Parallel: min(o.parallel, n),
		Waiting: true, FirstAddr: netipAddr(127, 5, 0, 1), Sandbox: sb.url, SandboxRoots: sb.roots, Link: link})
	if err != nil {
		return err
	}
	defer fleet.Close()
	if err := fleet.Grow(ctx, n); err != nil {
		return fmt.Errorf("waiting screens: %w", err)
	}
	// MSAL polls a new code after 50, 150, 450, 1350 and 4050 ms, then
	// every 5 s: past those, the screens poll at their steady pace.
	time.Sleep(8 * time.Second)
	c1, t1, err := count()
	if err != nil {
		return err
	}
	window := time.Minute
	time.Sleep(window)
	c2, t2, err := count()
	if err != nil {
		return err
	}
	u := p.usage()
	heap := p.liveHeap()
	goroutines := p.goroutines()
	codes, err := sb.ctl.Codes(ctx)
	if err != nil {
		return err
	}
	if len(codes) == 0 {
		return fmt.Errorf("waiting screens: the sandbox issued no code")
	}
	// A screen's code is replaced a minute before it expires (a fifth of
	// its life for short ones: renewAt in server/screens).
	life := codes[0].ExpiresAt.Sub(codes[0].IssuedAt)
	renewEvery := life - min(time.Minute, life/5)

	perScreen := func(c map[string]int, kinds ...string) float64 {
		t := 0
		for _, k := range kinds {
			t += c[k]
		}
		return float64(t) / float64(n)
	}
	diff := func(a, b map[string]int) map[string]int {
		d := map[string]int{}
		for k, v := range b {
			d[k] = v - a[k]
		}
		return d
	}
	steady := perScreen(diff(c1, c2), "token device_code") / t2.Sub(t1).Hours()
	// One issuance: every request until the steady pace, less the steady
	// polls of that time (codes were shown over the time the screens took
	// to come up, so half of it on average).
	first := diff(c0, c1)
	grew := t1.Sub(p0.at)
	issuance := perScreen(first, identityKinds...) - steady*(grew.Hours()/2)
	perHour := steady + issuance*float64(time.Hour)/float64(renewEvery)
	fmt.Printf("waiting screens: %.0f token polls a screen an hour, %.1f requests per code issued, a code every %v\n", steady, issuance, renewEvery)
	fmt.Print("  while they came up, per screen:")
	for _, k := range identityKinds {
		fmt.Printf(" %s %.2f;", k, perScreen(first, k))
	}
	fmt.Println()

	res.add("server RSS per waiting screen"+at, "KB", float64(u.rss-p0.rss)/float64(n)/1e3, nil, "", 0, 0)
	res.add("live heap per waiting screen"+at, "KB", float64(heap-heap0)/float64(n)/1e3, nil, "", 0, 0)
	res.add("goroutines per waiting screen"+at, "", float64(goroutines-pg0)/float64(n), nil, "", 0, 0)
	res.add("identity platform requests per waiting screen an hour"+at, "requests", perHour, nil, "", 0, 0)
	res.add("  of which MSAL's polls of its code"+at, "requests", steady, nil, "", 0, 0)
	res.add("  requests per code issued (a new code every "+renewEvery.Round(time.Second).String()+")"+at, "requests", issuance, nil, "", 0, 0)
	errs, err := countErrors(logPath)
	if err != nil {
		return err
	}
	res.add("errors in placard's log"+at, "lines", float64(errs), nil, "0", 0, 0.5)
	return nil
}
