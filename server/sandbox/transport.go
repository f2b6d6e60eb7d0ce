package sandbox

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
)

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
	var h http.Handler
	switch host := strings.ToLower(req.URL.Hostname()); host {
	case LoginHost:
		h = t.login
	case GraphHost:
		h = t.graph
	default:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("sandbox: no route to %s: the sandbox serves only %s and %s", host, LoginHost, GraphHost)}
	}
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("sandbox: %s must be reached over https, not %s", req.URL.Host, req.URL.Scheme)
	}
	f := t.s.Faults()
	if err := sleep(req.Context(), latency(f)); err != nil {
		return nil, err
	}
	if f.IdentityUnreachable && h == t.login {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errUnreachable}
	}
	// The handler sees the request as a server would.
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = req
	if res.Body == nil {
		res.Body = io.NopCloser(strings.NewReader(""))
	}
	return res, nil
}
