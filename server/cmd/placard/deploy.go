package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/placard/placard/server/buildinfo"
	"github.com/placard/placard/server/mqtt"
	"github.com/placard/placard/server/secret"
)

// What deployments ask of the binary itself: which build it is (placard
// version), whether the running server is ready (placard healthcheck,
// for images with no shell and no curl), and whether a configuration
// would start (placard -check-config, for a unit's ExecStartPre, a CI job
// or a manifest's test).

func (c *cli) version(args []string) error {
	if len(args) > 0 {
		return errors.New("placard version takes no argument")
	}
	fmt.Fprintln(c.out, buildinfo.Read())
	return nil
}

// healthcheckTimeout bounds one check: less than the image's HEALTHCHECK
// timeout, so that the check says why it failed before it is killed.
const healthcheckTimeout = 5 * time.Second

// healthcheck asks the server that the same flags and environment
// configure for /readyz, and fails unless it answers 200.
func (c *cli) healthcheck(args []string) error {
	cfg, err := ParseConfig(args, c.getenv, c.errOut)
	if err != nil {
		return fmt.Errorf("placard healthcheck reads the server's flags and environment: %w", err)
	}
	u, tc, err := readyURL(cfg)
	if err != nil {
		return err
	}
	hc := &http.Client{
		Timeout: healthcheckTimeout,
		// No proxy: the server is on this host, whatever HTTPS_PROXY says.
		Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil},
	}
	res, err := hc.Get(u)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	var body struct{ Status, Error string }
	json.NewDecoder(io.LimitReader(res.Body, 4<<10)).Decode(&body)
	if res.StatusCode != http.StatusOK {
		why := body.Error
		if why == "" {
			why = "not ready"
		}
		return fmt.Errorf("healthcheck: %s answered %s: %s", u, res.Status, why)
	}
	fmt.Fprintf(c.out, "%s: %s\n", u, body.Status)
	return nil
}

// readyURL is where the server that cfg configures answers /readyz on
// this host: -addr's port, on loopback when it listens on every
// interface, over HTTPS when it serves TLS.
func readyURL(cfg Config) (string, *tls.Config, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "", nil, fmt.Errorf("healthcheck: -addr %q is not host:port", cfg.Addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	hostport := net.JoinHostPort(host, port)
	switch {
	case cfg.TLSCert != "":
		// The certificate is for the server's public name, not for the
		// address asked here: the check trusts exactly the certificate
		// that -tls-cert names, as read now (the server reads it again
		// when it changes).
		files, err := loadCertFiles(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return "", nil, fmt.Errorf("healthcheck: %w", err)
		}
		want := files.cert.Certificate[0]
		return "https://" + hostport + "/readyz", &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // replaced by the pin below
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
					return fmt.Errorf("the server at %s does not present the certificate of -tls-cert %s", hostport, cfg.TLSCert)
				}
				return nil
			},
		}, nil
	case cfg.ACMEDomain != "":
		// autocert answers only the name it has a certificate for, which
		// the system's roots verify.
		return "https://" + hostport + "/readyz", &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ACMEDomain}, nil
	}
	return "http://" + hostport + "/readyz", nil, nil
}

// needKeyForDatabase is the rule that replicas share PLACARD_KEY: a key
// file is one replica's, and the others could not open the token caches
// it seals.
func needKeyForDatabase(cfg Config, key string) error {
	if cfg.Database != "" && key == "" {
		return fmt.Errorf("with -database every replica must seal tokens with the same key: set PLACARD_KEY on each (make one with: %s key)", selfCommand())
	}
	return nil
}

// checkConfig is placard -check-config: what a start checks before it
// serves, and the files it would read, without listening, connecting to
// the database, the broker or the identity platform, or writing anything.
// ParseConfig has checked every value already.
func checkConfig(cfg Config, key string, stdout io.Writer) error {
	var errs []error
	bad := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	bad(needKeyForDatabase(cfg, key))
	dataDir, exists, err := checkDataDir(cfg.DataDir)
	bad(err)
	if key != "" {
		_, err := secret.LoadKey(key, "")
		bad(err)
	} else if keyFile := filepath.Join(dataDir, "key"); exists && fileExists(keyFile) {
		// A key file that is there is read; a missing one is made at start.
		_, err := secret.LoadKey("", keyFile)
		bad(err)
	}
	if cfg.TLSCert != "" {
		_, err := loadCertFiles(cfg.TLSCert, cfg.TLSKey)
		bad(err)
	}
	if cfg.MQTTCA != "" {
		_, err := mqtt.LoadCA(cfg.MQTTCA)
		bad(err)
	}
	public, err := expectedPublicURL(cfg)
	bad(err)
	if err == nil {
		_, _, _, err := signInMode(cfg, public)
		bad(err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	identity := "the sandbox (no PLACARD_CLIENT_ID)"
	if !cfg.Sandbox() {
		identity = cfg.Authority
	}
	store := "SQLite in " + dataDir
	if cfg.Database != "" {
		store = "PostgreSQL (-database; not connected by this check)"
	}
	if !exists {
		dataDir += " (created at start)"
	}
	fmt.Fprintf(stdout, "placard -check-config: this configuration starts.\n"+
		"  Listens on:  %s (%s)\n  Identity:    %s\n  Store:       %s\n  Data:        %s\n"+
		"Not checked: whether the database, the broker and the identity platform answer (a start asks them).\n",
		cfg.Addr, public, identity, store, dataDir)
	return nil
}

// expectedPublicURL is the public URL a start would derive, before it
// listens: what decides whether screens may sign in by QR code.
func expectedPublicURL(cfg Config) (string, error) {
	addr, err := net.ResolveTCPAddr("tcp", cfg.Addr)
	if err != nil {
		return "", fmt.Errorf("-addr %q: %w", cfg.Addr, err)
	}
	if addr.IP == nil {
		addr.IP = net.IPv4zero
	}
	derived := publicURL(cfg.PublicURL, addr)
	if cfg.TLSCert != "" || cfg.ACMEDomain != "" {
		return httpsURL(cfg, derived, addr), nil
	}
	return derived, nil
}

// checkDataDir checks, without creating it, that the data directory is
// one a start can use: private when it exists, and writable, or else
// creatable under its nearest existing parent.
func checkDataDir(dir string) (abs string, exists bool, err error) {
	abs, err = filepath.Abs(dir)
	if err != nil {
		return "", false, fmt.Errorf("-data %s: %w", dir, err)
	}
	info, err := os.Stat(abs)
	switch {
	case err == nil:
		if !info.IsDir() {
			return abs, false, fmt.Errorf("-data %s is not a directory", abs)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			return abs, true, fmt.Errorf("data directory %s has mode %04o: others may read it; run chmod 700 %s", abs, perm, abs)
		}
		if err := writable(abs); err != nil {
			return abs, true, fmt.Errorf("data directory %s is not writable by this user (uid %d): %w; give it to this user, or mount a writable volume there", abs, os.Getuid(), err)
		}
		return abs, true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return abs, false, fmt.Errorf("data directory %s: %w", abs, err)
	}
	parent := filepath.Dir(abs)
	for !fileExists(parent) && parent != filepath.Dir(parent) {
		parent = filepath.Dir(parent)
	}
	if err := writable(parent); err != nil {
		return abs, false, fmt.Errorf("data directory %s does not exist and cannot be created in %s (uid %d): %w; create it for this user, or mount a writable volume there", abs, parent, os.Getuid(), err)
	}
	return abs, false, nil
}

// writable asks the kernel whether this process may create files in dir:
// permissions, and a read-only file system (a container's root).
func writable(dir string) error {
	const wOK, xOK = 0x2, 0x1
	if err := syscall.Access(dir, wOK|xOK); err != nil {
		return err
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
