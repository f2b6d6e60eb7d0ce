package adminhttp

import (
	"net/http"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/front"
)

// A screen's preview is its own page as the fallback renders it (the
// server's prerender, without its scripts), from the state the screen
// shows now: never more than the screen shows. The admin page frames it
// at a TV's size, scaled down, and it reloads itself every PreviewEvery.

// PreviewEvery is how often a preview on the admin page is drawn again.
const PreviewEvery = 10 * time.Second

// previewPolicy is the Content-Security-Policy of a preview: no script at
// all, and framed by the admin page of this origin only.
const previewPolicy = "default-src 'self'; script-src 'none'; img-src 'self' data:; style-src 'self'; font-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// Renderer draws a screen's state as its page (httpd.Server.Preview).
type Renderer func(r *http.Request, st wire.State, refresh time.Duration) ([]byte, error)

func (a *Admin) preview(w http.ResponseWriter, r *http.Request, p admin.Actor, framed bool) {
	if a.Render == nil {
		front.WriteError(w, server.Errorf(server.EUNAVAILABLE, "previews are not drawn on this server"))
		return
	}
	st, err := a.Ops.Preview(r.Context(), p, r.PathValue("id"))
	if err != nil {
		if framed {
			http.Error(w, "no preview: "+server.ErrorMessage(err), front.Status(err))
			return
		}
		a.apiError(w, err)
		return
	}
	page, err := a.Render(r, st, PreviewEvery)
	if err != nil {
		a.Log.Error("rendering a screen's preview", "screen", r.PathValue("id"), "err", err)
		http.Error(w, "the preview could not be drawn", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", previewPolicy)
	if framed {
		h.Set("X-Frame-Options", "SAMEORIGIN")
	}
	w.Write(page)
}

// apiPreview answers the HTML of what a screen shows now.
func (a *Admin) apiPreview(w http.ResponseWriter, r *http.Request, p admin.Actor) {
	a.preview(w, r, p, false)
}

// pagePreview is the preview the admin page frames.
func (a *Admin) pagePreview(w http.ResponseWriter, r *http.Request, s *adminSession) {
	a.preview(w, r, s.who, true)
}

func servePreviewCSS(w http.ResponseWriter, r *http.Request) {
	b, err := adminFS.ReadFile("admin/preview.css")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
