package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string, serial int64) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "placard test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

func TestTheServerServesHTTPSWithACertificateFile(t *testing.T) {
	certPath, keyPath, pool := selfSigned(t, t.TempDir(), 1)
	m := testServer(t, func(m *Main) { m.Config.TLSCert, m.Config.TLSKey = certPath, keyPath })
	if !strings.HasPrefix(m.URL, "https://127.0.0.1:") || !strings.HasPrefix(m.PublicURL, "https://") {
		t.Fatalf("URL %s, public URL %s: want https", m.URL, m.PublicURL)
	}
	tc := &tls.Config{RootCAs: pool}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	res, html := get(t, c, m.URL+"/?screen=Lobby%20TV")
	if res.StatusCode != http.StatusOK || !strings.Contains(html, `data-state="code"`) {
		t.Fatalf("GET over HTTPS: %s\n%.500s", res.Status, html)
	}
	if h := res.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("no HSTS over HTTPS: %q", h)
	}
	checkHeaders(t, "the screen over HTTPS", res.Header)
	cookie := strings.Join(res.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(cookie, "__Host-placard_screen_") || !strings.Contains(cookie, "Secure") {
		t.Errorf("the screen's cookie over HTTPS: %q, want __Host- and Secure", cookie)
	}

	// The screen's WebSocket over TLS, with its cookie.
	u, _ := url.Parse(m.URL)
	header := http.Header{"Origin": {m.URL}}
	for _, ck := range jar.Cookies(u) {
		header.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, _, err := (&websocket.Dialer{TLSClientConfig: tc}).Dial("wss://"+u.Host+"/ws", header)
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer conn.Close()
	hello, _ := wire.Encode(wire.Hello{Screen: "Lobby TV"})
	conn.WriteMessage(websocket.TextMessage, hello)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := conn.ReadMessage()
	if msg, _ := wire.DecodeFromServer(data); err != nil || msg.(wire.State).Phase != wire.PhaseCode {
		t.Fatalf("the screen over wss got %s (%v)", data, err)
	}

	// Plain HTTP to the TLS port is refused.
	plain := &http.Client{Timeout: 10 * time.Second}
	res, err = plain.Get("http://" + u.Host + "/?screen=X")
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "HTTPS") {
			t.Errorf("plain HTTP to the TLS port: %s %s", res.Status, b)
		}
	}
}

func TestARenewedCertificateIsServedWithoutARestart(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, _ := selfSigned(t, dir, 1)
	files, err := loadCertFiles(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		c, _ := files.get(nil)
		x, _ := x509.ParseCertificate(c.Certificate[0])
		return x.SerialNumber.Int64()
	}
	if serial() != 1 {
		t.Fatal("the first certificate is not served")
	}
	selfSigned(t, dir, 2) // renewed in place
	later := time.Now().Add(time.Minute)
	os.Chtimes(certPath, later, later)
	files.mu.Lock()
	files.checked = time.Now().Add(-2 * certCheck)
	files.mu.Unlock()
	if serial() != 2 {
		t.Error("the renewed certificate is not served")
	}
	// A broken renewal keeps the last good certificate.
	os.WriteFile(certPath, []byte("half a file"), 0o600)
	os.Chtimes(certPath, later.Add(time.Minute), later.Add(time.Minute))
	files.mu.Lock()
	files.checked = time.Now().Add(-2 * certCheck)
	files.mu.Unlock()
	if serial() != 2 {
		t.Error("a broken certificate file replaced the good one")
	}
	if _, err := loadCertFiles(certPath, keyPath); err == nil || !strings.Contains(err.Error(), "-tls-cert") {
		t.Errorf("starting with a broken certificate: %v", err)
	}
}

func TestACMEKeepsItsCacheInTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	m := &Main{Config: Config{Security: Security{ACMEDomain: "placard.example.com"}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tl, secure, err := m.listenTLS(ln, dir)
	if err != nil || !secure || tl == nil {
		t.Fatalf("listenTLS: %v %v", secure, err)
	}
	info, err := os.Stat(filepath.Join(dir, "acme"))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("the ACME cache: %v %v", info, err)
	}
	if got := httpsURL(m.Config, "http://10.0.0.5:443", ln.Addr()); !strings.HasPrefix(got, "https://placard.example.com") {
		t.Errorf("the public URL with ACME is %s", got)
	}
}
