package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
	"time"
)

// serveDebug serves Go's profiler on addr, a loopback address (the
// configuration refuses any other), on a listener of its own: the
// screens' and phones' server never answers /debug/. The command line is
// left out: it may hold a database URL with its password.
//
// A loopback address keeps other machines out, not a web page in a browser
// on this one: a name the page's site controls can be made to resolve to
// 127.0.0.1 (DNS rebinding), and the browser then reads the profiles as
// that site's own. Such a request names the site's host, so any Host but
// a loopback one is refused.
func (m *Main) serveDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for the profiler on %s: %w", addr, err)
	}
	// The configuration checked the address as written; a name
	// (localhost) is checked again as it resolved.
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err != nil || !ap.Addr().Unmap().IsLoopback() {
		ln.Close()
		return fmt.Errorf("listening for the profiler on %s: %s is not a loopback address", addr, ln.Addr())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.debug = &http.Server{Handler: loopbackHostOnly(mux), ReadHeaderTimeout: 10 * time.Second}
	m.DebugURL = "http://" + ln.Addr().String()
	go func() {
		if err := m.debug.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("serving the profiler", "err", err)
		}
	}()
	return nil
}

// serveMetrics serves /metrics on addr, a listener of its own, to whoever
// reaches it: the operator chose it for Prometheus (a loopback address, or
// an interface on the monitoring network).
func (m *Main) serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for /metrics on %s: %w (choose another -metrics-addr)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Metrics.Handler())
	m.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.MetricsURL = "http://" + ln.Addr().String()
	go func() {
		if err := m.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("serving /metrics", "err", err)
		}
	}()
	return nil
}

// loopbackHostOnly answers 403 to a request whose Host is not a loopback
// address or localhost, with or without a port.
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostIsLoopback(r.Host) {
			http.Error(w, "the profiler answers only to a loopback host", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hostIsLoopback reports whether a request's Host (host or host:port)
// names this machine's loopback.
func hostIsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	return loopbackHost(host)
}
