// Package front is what every HTTP application of the edge server (the
// screens' pages in httpd, the admin application in adminhttp) shares: how
// requests reach the server (Front: trusted proxies, the client's address,
// HTTPS, host names), network allowlists, cross-site checks, and JSON
// answers with one map of error codes to HTTP statuses.
package front

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/limit"
)

// Front is how requests reach the server: the proxies it trusts and the
// URL people use. One middleware (Front.Handler) reads it once per
// request, and everything else asks ClientAddr and IsSecure:
//
//   - the client's address: the connection's, or, from a trusted proxy,
//     the address X-Forwarded-For names. Every rate limit, lockout and
//     network check keys on it, so that behind a TLS proxy each client is
//     itself and not the proxy. A header from anyone else is ignored: any
//     client could write one.
//   - whether the client reached the server over HTTPS: by its own TLS, an
//     https public URL (a TLS proxy in front), or a trusted proxy's
//     X-Forwarded-Proto. Cookies are then Secure and __Host-, and HSTS is
//     sent, so that a browser never sends them over plain HTTP.
//
// It also refuses a request for a public host name that is not the
// server's (the public URL's or -origins'): a page of attacker.example
// whose name has been made to resolve to this server (DNS rebinding) would
// otherwise be same-origin with it in the browser. Addresses, and names
// nobody can register in public DNS (one label, .local, .lan, .home.arpa,
// .internal, .localhost), are the LAN's own: a TV that opens
// http://placard.lan:8080 is served.
type Front struct {
	// TrustedProxies are the networks of the proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// PublicURL is where screens, phones and administrators reach the
	// server; an https one means every client does so over TLS.
	PublicURL string
	// Origins are the origins, besides the server's own, whose pages may
	// open screens' WebSockets ("https://kiosk.example").
	Origins []string
}

type secureKey struct{}

// Handler sets the request's RemoteAddr to its client's address (keeping
// the connection's port) and records whether the client uses HTTPS.
func (f Front) Handler(next http.Handler) http.Handler {
	httpsURL := strings.HasPrefix(strings.ToLower(f.PublicURL), "https://")
	names := f.names()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(names, r.Host) {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "This edge server does not answer to that name: open it at its public URL (-public-url), or list the name in -origins.", http.StatusMisdirectedRequest)
			return
		}
		secure := r.TLS != nil || httpsURL
		if peer, port, ok := splitAddr(r.RemoteAddr); ok && f.trusted(peer) {
			if client, ok := f.forwardedFor(r.Header.Values("X-Forwarded-For")); ok {
				r2 := r.Clone(r.Context())
				r2.RemoteAddr = net.JoinHostPort(client.String(), port)
				r = r2
			}
			if proto := lastValue(r.Header.Values("X-Forwarded-Proto")); strings.EqualFold(proto, "https") {
				secure = true
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), secureKey{}, secure)))
	})
}

// names are the public host names the server answers to: its public
// URL's and its extra origins'.
func (f Front) names() []string {
	var out []string
	for _, o := range append([]string{f.PublicURL}, f.Origins...) {
		if u, err := url.Parse(o); err == nil && u.Hostname() != "" {
			out = append(out, strings.TrimSuffix(strings.ToLower(u.Hostname()), "."))
		}
	}
	return out
}

// hostAllowed reports whether a Host header names this server: an address
// (a rebinding needs a name), a name of the LAN's own, or one of names.
func hostAllowed(names []string, host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if _, err := netip.ParseAddr(h); err == nil || h == "" || !strings.Contains(h, ".") {
		return true
	}
	for _, private := range []string{".localhost", ".local", ".lan", ".home.arpa", ".internal"} {
		if strings.HasSuffix(h, private) {
			return true
		}
	}
	return slices.Contains(names, h)
}

// AllowOrigin reports whether a WebSocket upgrade may proceed: its Origin
// is the request's own scheme://host, the public URL's origin, or one of
// Origins. Without an Origin it is no browser's, and so no cross-site
// risk (the screen's cookie still has to prove which screen it is). The
// scheme counts: a page served over plain HTTP (which anyone on the LAN
// can forge) may not open the wss:// socket of the HTTPS site.
func (f Front) AllowOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, ok := originOf(origin)
	if !ok {
		return false
	}
	scheme := "http"
	if IsSecure(r) {
		scheme = "https"
	}
	if own, ok := originOf(scheme + "://" + r.Host); ok && own == o {
		return true
	}
	for _, allowed := range append([]string{f.PublicURL}, f.Origins...) {
		if a, ok := originOf(allowed); ok && a == o {
			return true
		}
	}
	return false
}

// originOf is an origin in one spelling: scheme://host[:port], lower
// case, without a default port.
func originOf(s string) (string, bool) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.User != nil {
		return "", false
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[scheme])
	return scheme + "://" + host, true
}

func (f Front) trusted(a netip.Addr) bool {
	for _, p := range f.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor is the client that X-Forwarded-For names: read from the
// right, the first address that is not a trusted proxy (each proxy appends
// the address it saw; only those the server trusts are believed). When all
// are trusted, the leftmost.
func (f Front) forwardedFor(values []string) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var client netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a proxy we trust wrote something we cannot read: stop at what we have
		}
		client = a.Unmap()
		if !f.trusted(client) {
			break
		}
	}
	return client, client.IsValid()
}

// lastValue is the last comma-separated value of a header: what the
// nearest proxy set.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

func splitAddr(remote string) (netip.Addr, string, bool) {
	host, port, err := net.SplitHostPort(remote)
	if err != nil {
		return netip.Addr{}, "", false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, "", false
	}
	return a.Unmap(), port, true
}

// ClientAddr is the address a request came from, without its port: the
// client's, as Front.handler found it.
func ClientAddr(r *http.Request) string {
	if a, _, ok := splitAddr(r.RemoteAddr); ok {
		return a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ClientKey is the key of the request's client in per-address limits:
// its address, or its /64 for IPv6 (limit.ClientKey).
func ClientKey(r *http.Request) string { return limit.ClientKey(ClientAddr(r)) }

// IsSecure reports whether the client reached the server over HTTPS.
func IsSecure(r *http.Request) bool {
	if s, ok := r.Context().Value(secureKey{}).(bool); ok {
		return s
	}
	return r.TLS != nil
}

// NetworksOnly serves h only to clients in nets, when there are any, and
// tells the others which setting (flag) refuses them.
func NetworksOnly(nets []netip.Prefix, log *slog.Logger, what, flag string, h http.Handler) http.Handler {
	if len(nets) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if InNetworks(r, nets) {
			h.ServeHTTP(w, r)
			return
		}
		log.Warn("refusing a client from outside the allowed networks", "for", what, "remote", r.RemoteAddr, "path", r.URL.Path)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "This edge server accepts "+what+" only from its configured networks ("+flag+"): "+
			ClientAddr(r)+" is not in them.", http.StatusForbidden)
	})
}

// InNetworks reports whether the request's client is in one of nets.
func InNetworks(r *http.Request, nets []netip.Prefix) bool {
	addr, err := netip.ParseAddr(ClientAddr(r))
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range nets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// CrossSite reports a request that the browser says comes from another
// site, or whose Origin is another origin. Browsers send Sec-Fetch-Site
// on every request; a request with neither header is not from a browser
// page, and the session cookie and CSRF token still have to match.
func CrossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return true
	}
	// With Referrer-Policy no-referrer a same-origin form sends
	// "Origin: null", which proves nothing either way.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return true
		}
	}
	return false
}

// Status maps an error's code to its HTTP status.
func Status(err error) int {
	switch server.ErrorCode(err) {
	case server.EINVALID:
		return http.StatusBadRequest
	case server.ENOTFOUND:
		return http.StatusNotFound
	case server.ECONFLICT:
		return http.StatusConflict
	case server.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case server.EFORBIDDEN:
		return http.StatusForbidden
	case server.ETOOMANY:
		return http.StatusTooManyRequests
	case server.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteJSON answers v as JSON, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError answers err as {"error": "what was wrong and what to do",
// "code": "invalid"} with its status: the message of a server.Error, a
// generic one for anything else (whose details belong in the log).
func WriteError(w http.ResponseWriter, err error) {
	WriteJSON(w, Status(err), map[string]string{"error": server.ErrorMessage(err), "code": server.ErrorCode(err)})
}
