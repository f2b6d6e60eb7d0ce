package httpd

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/lights"
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
}

// sseWriteWait bounds the write of one event: a stream that cannot take
// it is closed (the client reconnects with Last-Event-ID).
const sseWriteWait = 10 * time.Second

func (p *Presence) serve(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		p.refuse(w, server.Errorf(server.EUNAUTHORIZED, "send the light key as \"Authorization: Bearer <key>\" (an administrator makes one with placard lights add)"))
		return
	}
	l, err := p.Lights.Authenticate(r.Context(), key)
	if err != nil {
		p.refuse(w, err)
		return
	}
	v, changed, gone, ok := p.Lights.Watch(r.Context(), l.ID)
	if !ok {
		p.refuse(w, lights.ErrBadKey)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
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
