package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// TLS is built in (docs/security.md: plain HTTP only on loopback or when
// explicitly allowed; a PWA installs only over HTTPS or on localhost):
//   - -tls-cert and -tls-key name PEM files, read again when they change,
//     so that a renewal in place (certbot, an internal CA) needs no
//     restart;
//   - or -acme-domain gets a certificate for a public name from Let's
//     Encrypt (autocert), with its account and certificates cached in the
//     data directory. autocert answers the TLS-ALPN-01 challenge on the
//     TLS listener itself, so the name must reach this server on port 443.
//
// Plain HTTP is refused with a real tenant unless the server listens on
// loopback only (behind a TLS proxy on the same host) or -insecure-http
// says it is meant. The sandbox allows plain HTTP on any interface: it
// holds no real token, `make run` must work with nothing but Go, and a
// phone on the LAN must reach its phone page.

// listenTLS wraps ln in TLS when the configuration asks for it and reports
// whether it did.
func (m *Main) listenTLS(ln net.Listener, dataDir string) (net.Listener, bool, error) {
	cfg := m.Config
	switch {
	case cfg.TLSCert != "":
		files, err := loadCertFiles(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, false, err
		}
		return tls.NewListener(ln, &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: files.get,
			NextProtos:     []string{"h2", "http/1.1"},
		}), true, nil
	case cfg.ACMEDomain != "":
		dir := filepath.Join(dataDir, "acme")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("creating the ACME cache %s: %w", dir, err)
		}
		am := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(dir),
			HostPolicy: autocert.HostWhitelist(cfg.ACMEDomain),
			Email:      cfg.ACMEEmail,
		}
		tc := am.TLSConfig()
		tc.MinVersion = tls.VersionTLS12
		return tls.NewListener(ln, tc), true, nil
	}
	return ln, false, nil
}

// httpsURL is the public URL of a TLS server: the configured one, the
// ACME name, or the derived one with its scheme changed.
func httpsURL(cfg Config, derived string, ln net.Addr) string {
	switch {
	case cfg.PublicURL != "":
		return cfg.PublicURL
	case cfg.ACMEDomain != "":
		if tcp, ok := ln.(*net.TCPAddr); ok && tcp.Port != 443 {
			return fmt.Sprintf("https://%s:%d", cfg.ACMEDomain, tcp.Port)
		}
		return "https://" + cfg.ACMEDomain
	}
	return "https://" + strings.TrimPrefix(derived, "http://")
}

// certFiles serves a certificate from PEM files, read again when either
// file changes (checked at most every certCheck).
type certFiles struct {
	certPath, keyPath string

	mu      sync.Mutex
	cert    *tls.Certificate
	mod     [2]time.Time
	checked time.Time
}

const certCheck = 30 * time.Second

func loadCertFiles(certPath, keyPath string) (*certFiles, error) {
	c := &certFiles{certPath: certPath, keyPath: keyPath}
	if err := c.reload(); err != nil {
		return nil, err
	}
	c.checked = time.Now()
	return c, nil
}

func (c *certFiles) reload() error {
	var mod [2]time.Time
	for i, p := range []string{c.certPath, c.keyPath} {
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		mod[i] = info.ModTime()
	}
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return fmt.Errorf("TLS: loading -tls-cert %s and -tls-key %s: %w", c.certPath, c.keyPath, err)
	}
	c.cert, c.mod = &cert, mod
	return nil
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) > certCheck {
		c.checked = time.Now()
		changed := false
		for i, p := range []string{c.certPath, c.keyPath} {
			if info, err := os.Stat(p); err == nil && !info.ModTime().Equal(c.mod[i]) {
				changed = true
			}
		}
		if changed {
			// A half-written pair fails to load: reload keeps the old one,
			// and the next check tries again.
			c.reload()
		}
	}
	return c.cert, nil
}

// loopbackOnly reports whether addr (host:port) listens on loopback only.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && loopbackHost(host)
}

// loopbackHost reports whether a host name or address is this machine's
// loopback.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validOrigin checks an extra WebSocket origin: scheme://host[:port].
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.User == nil
}
