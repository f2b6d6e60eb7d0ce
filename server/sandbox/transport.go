package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
)

// origin is where a client reached the sandbox: the real host names through
// Transport, or a listener's address. Metadata, issuers and next links name
// it, as the real services name themselves.
type origin struct {
	login string // "https://login.microsoftonline.com"
	graph string // "https://graph.microsoft.com"
}

var realOrigin = origin{login: "https://" + LoginHost, graph: "https://" + GraphHost}

type originKey struct{}

func originOf(r *http.Request) origin {
	if o, ok := r.Context().Value(originKey{}).(origin); ok {
		return o
	}
	return realOrigin
}

func withOrigin(r *http.Request, o origin) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), originKey{}, o))
}

// graphHost is the host[:port] of Graph for a request, as metadata's
// msgraph_host names it.
func (o origin) graphHost() string { return strings.TrimPrefix(o.graph, "https://") }

// Transport returns the round tripper that MSAL and the Graph client use:
// it answers for the identity platform's and Graph's hosts in process and
// refuses every other host.
func (s *Sandbox) Transport() http.RoundTripper {
	return &transport{s: s, login: s.identityHandler(), graph: s.graphHandler()}
}

// transport serves the identity platform's and Graph's hosts in process.
type transport struct {
	s     *Sandbox
	login http.Handler
	graph http.Handler
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	host := strings.ToLower(req.URL.Hostname())
	var h http.Handler
	switch host {
	case LoginHost:
		h = t.login
	case GraphHost:
		h = t.graph
	default:
		return nil, refused(req.URL.Host, fmt.Errorf("sandbox: no route to %s: the sandbox serves only %s and %s", host, LoginHost, GraphHost))
	}
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("sandbox: %s must be reached over https, not %s", req.URL.Host, req.URL.Scheme)
	}
	if unreachable, err := t.s.gate(req.Context(), h == t.graph); err != nil {
		return nil, err
	} else if unreachable {
		return nil, refused(req.URL.Host, &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED})
	}
	// The handler sees the request as a server would.
	in := withOrigin(req.Clone(req.Context()), realOrigin)
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	in.RemoteAddr = "127.0.0.1:0"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = req
	return res, nil
}

// refused is the error of a dial that found nobody listening, as the net
// package reports it: errors.Is(err, syscall.ECONNREFUSED) holds for the
// refused case.
func refused(addr string, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: hostAddr(addr), Err: err}
}

// hostAddr is a net.Addr that is only a name.
type hostAddr string

func (a hostAddr) Network() string { return "tcp" }
func (a hostAddr) String() string  { return string(a) }

// gate applies the latency and unreachable switches to a request to Graph
// or to the identity platform: it reports whether that service is
// unreachable, or the context's error when it ended during the latency.
func (s *Sandbox) gate(ctx context.Context, graph bool) (unreachable bool, err error) {
	f := s.Faults()
	if err := sleep(ctx, latency(f)); err != nil {
		return false, err
	}
	return (graph && f.GraphUnreachable) || (!graph && f.IdentityUnreachable), nil
}
