package httpd

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/placard/placard/server/limit"
)

// Front is how requests reach the server: the proxies it trusts and the
// URL people use. One middleware (Front.handler) reads it once per
// request, and everything else asks clientAddr and isSecure:
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
type Front struct {
	// TrustedProxies are the networks of the proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// PublicURL is where screens, phones and administrators reach the
	// server; an https one means every client does so over TLS.
	PublicURL string
}

type secureKey struct{}

// handler sets the request's RemoteAddr to its client's address (keeping
// the connection's port) and records whether the client uses HTTPS.
func (f Front) handler(next http.Handler) http.Handler {
	httpsURL := strings.HasPrefix(strings.ToLower(f.PublicURL), "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

// clientAddr is the address a request came from, without its port: the
// client's, as Front.handler found it.
func clientAddr(r *http.Request) string {
	if a, _, ok := splitAddr(r.RemoteAddr); ok {
		return a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientKey is the key of the request's client in per-address limits:
// its address, or its /64 for IPv6 (limit.ClientKey).
func clientKey(r *http.Request) string { return limit.ClientKey(clientAddr(r)) }

// isSecure reports whether the client reached the server over HTTPS.
func isSecure(r *http.Request) bool {
	if s, ok := r.Context().Value(secureKey{}).(bool); ok {
		return s
	}
	return r.TLS != nil
}
