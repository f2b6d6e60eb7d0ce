package httpd

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/limit"
)

// Presence serves GET /api/v1/presence to light keys: the presence of the
// key's account as JSON (with an ETag, 304 on If-None-Match), or, with
// Accept: text/event-stream, a stream of it (Server-Sent Events): one
// event now and one on each change, with a heartbeat comment so that
// proxies keep the stream open. A revoked key is refused at once, and its
// open streams are closed.
type Presence struct {
	Lights *lights.Service
	Log    *slog.Logger
	// Heartbeat is the time between comments on an idle stream: 15 s by
	// default.
	Heartbeat time.Duration
	// StreamsPerKey, StreamsPerAddress and StreamsTotal cap the streams
	// open at once for one key, from one client address, and in all
	// (DefaultStreams* when zero); a stream beyond a cap is answered 429.
	StreamsPerKey, StreamsPerAddress, StreamsTotal int
	// KeyFailures bounds the wrong keys one client address may present
	// (DefaultKeyFailures when zero): past it, a key this server does not
	// recognise in memory is answered 429 without a store lookup, and a
	// right one is still served.
	KeyFailures limit.Rate

	initOnce sync.Once
	failures *limit.Limiter

	mu      sync.Mutex
	perKey  map[string]int
	perAddr map[string]int
	total   int
}

// Caps on presence streams. Each stream holds a connection, and so a file
// descriptor, for as long as the client likes: a key sits in plain text
// on an ESP32, and 1,087 streams on one key once filled the descriptor
// table until /healthz and /admin went unanswered. A light needs one
// stream; a key shared by a light, Home Assistant and a script a few; an
// address is often a whole office behind NAT.
const (
	DefaultStreamsPerKey     = 10
	DefaultStreamsPerAddress = 50
	DefaultStreamsTotal      = 1000
)

// DefaultKeyFailures: every wrong key costs a store lookup. A light polls
// every few seconds, so a revoked key left in one reaches the limit in
// minutes, and from then on costs nothing; the right keys of other lights
// behind the same address are served as before.
var DefaultKeyFailures = limit.Rate{Max: 30, Per: 10 * time.Minute}

// streamRetry is what a refused stream is told to wait (Retry-After).
const streamRetry = 30 * time.Second

// openStream takes a place for a stream of the key id from the client
// address addr, or says which cap is reached. release gives it back.
func (p *Presence) openStream(id, addr string) (release func(), err error) {
	perKey, perAddr, total := p.StreamsPerKey, p.StreamsPerAddress, p.StreamsTotal
	if perKey == 0 {
		perKey = DefaultStreamsPerKey
	}
	if perAddr == 0 {
		perAddr = DefaultStreamsPerAddress
	}
	if total == 0 {
		total = DefaultStreamsTotal
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.perKey == nil {
		p.perKey, p.perAddr = map[string]int{}, map[string]int{}
	}
	switch {
	case p.perKey[id] >= perKey:
		return nil, server.Errorf(server.ETOOMANY, "this light key has %d presence streams open, the most it may: close one, or poll GET /api/v1/presence with If-None-Match", perKey)
	case p.perAddr[addr] >= perAddr:
		return nil, server.Errorf(server.ETOOMANY, "%s has %d presence streams open, the most one address may: close one, or poll GET /api/v1/presence with If-None-Match", addr, perAddr)
	case p.total >= total:
		return nil, server.Errorf(server.ETOOMANY, "the server has %d presence streams open, the most it serves: try again later, or poll GET /api/v1/presence with If-None-Match", total)
	}
	p.perKey[id]++
	p.perAddr[addr]++
	p.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.perKey[id]--; p.perKey[id] <= 0 {
				delete(p.perKey, id)
			}
			if p.perAddr[addr]--; p.perAddr[addr] <= 0 {
				delete(p.perAddr, addr)
			}
			p.total--
		})
	}, nil
}

// firstEventWait bounds how long a stream's first event waits for a
// presence that was read, rather than "not read yet".
const firstEventWait = 5 * time.Second

// sseWriteWait bounds the write of one event: a stream that cannot take
// it is closed (the client reconnects with Last-Event-ID).
const sseWriteWait = 10 * time.Second

func (p *Presence) serve(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		p.refuse(w, server.Errorf(server.EUNAUTHORIZED, "send the light key as \"Authorization: Bearer <key>\" (an administrator makes one with placard lights add)"))
		return
	}
	l, retry, err := p.authenticate(r, key)
	if err != nil {
		if !retry.IsZero() {
			w.Header().Set("Retry-After", retryAfter(retry))
		}
		p.refuse(w, err)
		return
	}
	v, changed, gone, ok := p.Lights.Watch(r.Context(), l.ID)
	if !ok {
		p.refuse(w, lights.ErrBadKey)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		release, err := p.openStream(l.ID, front.ClientKey(r))
		if err != nil {
			p.Log.Warn("refusing a presence stream", "light", l.ID, "remote", front.ClientAddr(r), "err", server.ErrorMessage(err))
			w.Header().Set("Retry-After", strconv.Itoa(int(streamRetry/time.Second)))
			p.refuse(w, err)
			return
		}
		defer release()
		p.stream(w, r, v, changed, gone, l.ID)
		return
	}
	h := w.Header()
	h.Set("ETag", v.ETag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Authorization, Accept")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, v.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(v.JSON, '\n'))
}

// authenticate returns the light key that key proves. Wrong keys are
// counted per client address (its /64 for IPv6); past KeyFailures, only a
// key the service recognises in memory is looked up in the store (is it
// revoked?), and any other is refused with 429 at once. So wrong keys
// from one address never lock out the right ones from it (a whole office
// behind one NAT), and guessing costs the store nothing.
func (p *Presence) authenticate(r *http.Request, key string) (l server.Light, retry time.Time, err error) {
	p.initOnce.Do(func() {
		rate := p.KeyFailures
		if rate == (limit.Rate{}) {
			rate = DefaultKeyFailures
		}
		p.failures = limit.New(rate, nil)
	})
	client := front.ClientKey(r)
	if ok, retry := p.failures.Check(client); !ok && !p.Lights.Recognises(key) {
		return server.Light{}, retry, server.Errorf(server.ETOOMANY, "too many wrong light keys came from this address: check the key the light was given, then try again after %s", retry.UTC().Format(time.RFC3339))
	}
	l, err = p.Lights.Authenticate(r.Context(), key)
	if server.ErrorCode(err) == server.EUNAUTHORIZED {
		p.failures.Allow(client)
		if p.failures.Count(client) == p.failures.Rate().Max {
			// Said once, when the limit is reached: what follows is
			// refused without a word, as it costs nothing.
			p.Log.Warn("too many wrong light keys from one address: others from it are refused (429) for a while; its right keys are still served",
				"remote", front.ClientAddr(r), "limit", p.failures.Rate().String())
		}
	}
	return l, time.Time{}, err
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func (p *Presence) refuse(w http.ResponseWriter, err error) {
	if front.Status(err) >= 500 {
		p.Log.Error("presence API", "err", err)
	}
	if server.ErrorCode(err) == server.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="placard presence"`)
	}
	front.WriteError(w, err)
}

func (p *Presence) stream(w http.ResponseWriter, r *http.Request, v lights.View, changed, gone <-chan struct{}, id string) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	heartbeat := p.Heartbeat
	if heartbeat == 0 {
		heartbeat = 15 * time.Second
	}
	write := func(s string) bool {
		rc.SetWriteDeadline(time.Now().Add(sseWriteWait))
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: 5000\n\n") {
		return
	}
	// A presence not read yet (a replica that has not had the account's
	// data from its owner, a server just started) would make the light
	// go dark for a moment: the first event waits a little for it.
	if v.Unread() {
		wait := time.NewTimer(firstEventWait)
	waiting:
		for v.Unread() {
			select {
			case <-r.Context().Done():
				wait.Stop()
				return
			case <-gone:
				wait.Stop()
				return
			case <-wait.C:
				break waiting
			case <-changed:
			}
			var ok bool
			if v, changed, gone, ok = p.Lights.Watch(r.Context(), id); !ok {
				wait.Stop()
				return
			}
		}
		wait.Stop()
	}
	// A client that comes back with the id of what it has is sent only
	// what changed since.
	last := r.Header.Get("Last-Event-ID")
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		if v.ID() != last {
			if !write("id: " + v.ID() + "\ndata: " + string(v.JSON) + "\n\n") {
				return
			}
			last = v.ID()
		}
		select {
		case <-r.Context().Done():
			return
		case <-gone:
			return
		case <-tick.C:
			if !write(": heartbeat\n\n") {
				return
			}
			continue
		case <-changed:
		}
		var ok bool
		v, changed, gone, ok = p.Lights.Watch(r.Context(), id)
		if !ok {
			return
		}
	}
}
