package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Listener serves the emulated identity platform and Graph over HTTPS on an
// address of their own, under the real paths (/{tenant}/oauth2/v2.0/...,
// /v1.0/...), so that clients outside the edge server can use the sandbox
// as a local Entra ID and Graph: curl, another MSAL with its authority set
// to URL, a Graph SDK with its base URL set to URL + "/v1.0". Metadata,
// issuers and next links name the listener.
type Listener struct {
	// URL is where the listener is reached: https://127.0.0.1:9443.
	URL string
	// CertFile is the listener's self-signed certificate (PEM), which
	// clients trust to reach it; CertPEM is its content.
	CertFile string
	CertPEM  []byte

	names []string     // the names the certificate holds
	pages http.Handler // the phone page, demo page and control API; nil for none
	srv   *http.Server
	done  chan struct{}
	sb    *Sandbox
}

// Certificate files of the listener, in the directory given to Listen.
const (
	ListenerCertFile = "sandbox-listener.crt"
	ListenerKeyFile  = "sandbox-listener.key"
)

// Listen starts the HTTPS listener on addr ("127.0.0.1:9443"; port 0 picks
// one). Its certificate and key are kept in dir, made when missing or when
// they do not cover addr's host. Close stops it.
func (s *Sandbox) Listen(addr, dir string) (*Listener, error) {
	return s.listen(addr, dir, nil)
}

// ListenAll is Listen for a sandbox that runs on its own (placard
// sandbox): the listener also serves the phone page, the demo page and the
// control API (/sandbox/...), so that edge servers elsewhere share one
// emulated tenant as they would a real one.
func (s *Sandbox) ListenAll(addr, dir string) (*Listener, error) {
	return s.listen(addr, dir, s.Handler())
}

func (s *Sandbox) listen(addr, dir string, pages http.Handler) (*Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listener address %q is not host:port (e.g. 127.0.0.1:9443)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listening on %s: %w (choose another -sandbox-addr)", addr, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	names := certNames(host, tcp.IP)
	certFile, keyFile := filepath.Join(dir, ListenerCertFile), filepath.Join(dir, ListenerKeyFile)
	cert, certPEM, err := listenerCertificate(certFile, keyFile, names, s.Now())
	if err != nil {
		ln.Close()
		return nil, err
	}
	canonical := host
	if tcp.IP.IsUnspecified() || host == "" {
		canonical = "localhost"
	}
	l := &Listener{
		URL:      "https://" + net.JoinHostPort(canonical, fmt.Sprint(tcp.Port)),
		CertFile: certFile,
		CertPEM:  certPEM,
		names:    names,
		pages:    pages,
		done:     make(chan struct{}),
		sb:       s,
	}
	l.srv = &http.Server{
		Handler:           s.listenerHandler(l),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(l.done)
		if err := l.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sandbox: serving the listener", "err", err)
		}
	}()
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
	return l, nil
}

// Close stops the listener; the sandbox no longer names it to clients.
func (l *Listener) Close() error {
	err := l.srv.Close()
	<-l.done
	l.sb.mu.Lock()
	if l.sb.listener == l {
		l.sb.listener = nil
	}
	l.sb.mu.Unlock()
	return err
}

// listenerHandler routes a request of the listener to Graph (/v1.0/...)
// or to the identity platform (everything else), with the fault switches
// a client of the real services would meet.
func (s *Sandbox) listenerHandler(l *Listener) http.Handler {
	login, graph := s.identityHandler(), s.graphHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.pages != nil && strings.HasPrefix(r.URL.Path, "/sandbox/") {
			l.pages.ServeHTTP(w, withOrigin(r, l.originFor(r)))
			return
		}
		isGraph := strings.HasPrefix(r.URL.Path, "/v1.0/") || strings.HasPrefix(r.URL.Path, "/beta/")
		if unreachable, err := s.gate(r.Context(), isGraph); err != nil {
			return
		} else if unreachable {
			// The nearest a listening server comes to a refused
			// connection: it drops it without answering.
			panic(http.ErrAbortHandler)
		}
		o := l.originFor(r)
		r = withOrigin(r, o)
		if r.Method == http.MethodGet && r.URL.Path == "/sandbox/sandbox.css" {
			// The authorization endpoint's page uses it.
			serveCSS(w, r)
			return
		}
		if isGraph {
			graph.ServeHTTP(w, r)
			return
		}
		login.ServeHTTP(w, r)
	})
}

// originFor names the listener as the client reached it, when that is a
// name its certificate holds (a LAN address of a listener on every
// interface), else by its URL.
func (l *Listener) originFor(r *http.Request) origin {
	base := l.URL
	if host, _, err := net.SplitHostPort(r.Host); err == nil && slices.Contains(l.names, strings.ToLower(host)) {
		base = "https://" + r.Host
	}
	return origin{login: base, graph: base}
}

// certNames are the names the listener's certificate covers: loopback, the
// host asked for, and the machine's addresses when it listens on all of
// them.
func certNames(host string, ip net.IP) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	add := func(n string) {
		n = strings.ToLower(n)
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if ip.IsUnspecified() || host == "" {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
					add(n.IP.String())
				}
			}
		}
		if h, err := os.Hostname(); err == nil {
			add(h)
		}
	} else {
		add(host)
	}
	return names
}

// listenerCertificate loads the listener's certificate, or makes a new
// self-signed one (ECDSA P-256, a year) when there is none, it lacks a name
// or it expires within a month.
func listenerCertificate(certFile, keyFile string, names []string, now time.Time) (tls.Certificate, []byte, error) {
	if certPEM, err := os.ReadFile(certFile); err == nil {
		if keyPEM, err := os.ReadFile(keyFile); err == nil {
			if cert, err := tls.X509KeyPair(certPEM, keyPEM); err == nil && covers(cert, names, now) {
				return cert, certPEM, nil
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("sandbox: listener key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("sandbox: listener certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "placard sandbox (local Entra ID and Graph)", Organization: []string{"placard"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		// A self-signed CA certificate that is also the server's: clients
		// trust it as their root for this listener only.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("sandbox: listener certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("sandbox: listener key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("sandbox: saving the listener's key: %w", err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("sandbox: saving the listener's certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("sandbox: listener certificate: %w", err)
	}
	return cert, certPEM, nil
}

// covers reports whether a certificate holds every name and is good for a
// month more.
func covers(cert tls.Certificate, names []string, now time.Time) bool {
	leaf := cert.Leaf // filled in by tls.X509KeyPair
	if leaf == nil || now.AddDate(0, 1, 0).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}
