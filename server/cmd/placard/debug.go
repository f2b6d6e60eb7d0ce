package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveDebug serves Go's profiler on addr, a loopback address (the
// configuration refuses any other), on a listener of its own: the
// screens' and phones' server never answers /debug/. The command line is
// left out: it may hold a database URL with its password.
func (m *Main) serveDebug(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for the profiler on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.DebugURL = "http://" + ln.Addr().String()
	go func() {
		if err := m.debug.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("serving the profiler", "err", err)
		}
	}()
	return nil
}
