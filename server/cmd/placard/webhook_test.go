package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server/secret"
)

// delivery is one webhook POST as a receiver gets it.
type delivery struct {
	header http.Header
	body   []byte
}

// webhookReceiver is a receiver on loopback, which the server is told it
// may reach (-webhook-allow-networks), that hands each delivery to the
// test.
func webhookReceiver(t *testing.T) (*httptest.Server, <-chan delivery) {
	got := make(chan delivery, 64)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	t.Cleanup(recv.Close)
	return recv, got
}

func allowLoopbackWebhooks(m *Main) {
	m.Config.WebhookNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// awaitDelivery returns the first delivery whose presence is availability
// and not stale.
func awaitDelivery(t *testing.T, got <-chan delivery, what, availability string) delivery {
	t.Helper()
	return await(t, got, 15*time.Second, what, func(d delivery) bool {
		var p presenceAnswer
		if err := json.Unmarshal(d.body, &p); err != nil {
			t.Fatalf("%s: body %s", what, d.body)
		}
		return p.Availability == availability && !p.Stale
	})
}

func TestAWebhookGetsEachChangeFromTheSandbox(t *testing.T) {
	recv, got := webhookReceiver(t)
	m := testServer(t, fastPresence, allowLoopbackWebhooks, func(m *Main) { m.Webhooks.Every = time.Hour })
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	status, out := call(t, m, admin, "POST", "/admin/api/lights", `{"name":"lamp","account":"grace@placard.example","webhooks":["`+recv.URL+`/presence"]}`)
	secret, _ := out["webhook_secret"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("a key with a webhook: %d %v", status, out)
	}
	awaitDelivery(t, got, "Grace's presence", "Busy")
	setPresence(t, m, "grace@placard.example", "Available", "Available")
	awaitDelivery(t, got, "the change", "Available")
}

// The Standard Webhooks library a receiver would use (the npm package
// standardwebhooks) verifies a real delivery, and rejects the same
// delivery replayed six minutes later: outside its 5-minute window.
func TestTheStandardWebhooksLibraryVerifiesADeliveryAndRejectsAReplay(t *testing.T) {
	lib := standardWebhooksLib(t)
	recv, got := webhookReceiver(t)
	m := testServer(t, fastPresence, allowLoopbackWebhooks, func(m *Main) { m.Webhooks.Every = time.Hour })
	admin := newToken(t, m)
	signedIn(t, m, "grace@placard.example")
	_, out := call(t, m, admin, "POST", "/admin/api/lights", `{"name":"lamp","account":"grace@placard.example","webhooks":["`+recv.URL+`/presence"]}`)
	secret, _ := out["webhook_secret"].(string)
	d := awaitDelivery(t, got, "Grace's presence", "Busy")

	headers := map[string]string{}
	for _, h := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		headers[h] = d.header.Get(h)
	}
	hj, _ := json.Marshal(headers)
	// The receiver's code, as the library's README gives it; then the
	// same delivery, replayed with the receiver's clock six minutes on.
	const script = `
const { Webhook } = require(process.env.LIB);
const wh = new Webhook(process.env.SECRET);
const headers = JSON.parse(process.env.HEADERS);
const payload = wh.verify(process.env.BODY, headers);
console.log("verified " + payload.availability);
const now = Date.now;
Date.now = () => now() + 6 * 60 * 1000;
try {
  wh.verify(process.env.BODY, headers);
  console.log("replay accepted");
} catch (e) {
  console.log("replay rejected: " + e.message);
}
// A forged body fails too.
try {
  Date.now = now;
  wh.verify(process.env.BODY.replace("Busy", "Free"), headers);
  console.log("forgery accepted");
} catch (e) {
  console.log("forgery rejected: " + e.message);
}
`
	cmd := exec.Command(nodePath(t), "-e", script)
	cmd.Env = append(os.Environ(), "LIB="+lib, "SECRET="+secret, "HEADERS="+string(hj), "BODY="+string(d.body))
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the standardwebhooks library refused the delivery: %v\n%s\nheaders %s\nbody %s", err, res, hj, d.body)
	}
	lines := strings.Split(strings.TrimSpace(string(res)), "\n")
	if len(lines) != 3 || lines[0] != "verified Busy" ||
		!strings.HasPrefix(lines[1], "replay rejected: Message timestamp too old") || !strings.HasPrefix(lines[2], "forgery rejected") {
		t.Errorf("the library said:\n%s", res)
	}
}

// standardWebhooksLib is where `make standardwebhooks` installs the npm
// package, or $PLACARD_STANDARDWEBHOOKS. Without it (or without node) the
// test skips, or fails with CI=true.
func standardWebhooksLib(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PLACARD_STANDARDWEBHOOKS")
	if path == "" {
		_, here, _, _ := runtime.Caller(0)
		path = filepath.Join(filepath.Dir(here), "..", "..", "..", ".cache", "standardwebhooks", "node_modules", "standardwebhooks")
	}
	if _, err := os.Stat(filepath.Join(path, "package.json")); err != nil {
		missing(t, fmt.Sprintf("the webhook check needs the npm package standardwebhooks (%v): run `make standardwebhooks`, or set PLACARD_STANDARDWEBHOOKS to its folder", err))
	}
	abs, _ := filepath.Abs(path)
	return abs
}

func nodePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		missing(t, "the webhook check needs Node.js: apt-get install nodejs")
	}
	return p
}

// missing skips a test that lacks a tool, or fails it with CI=true.
func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// The command line seals a new key's webhook secret with the server's
// key (the data directory's key file): the running server opens it and
// signs with it, and the database holds it sealed.
func TestAWebhookSecretMadeOnTheCommandLineIsSealedWithTheServersKey(t *testing.T) {
	t.Parallel()
	recv, got := webhookReceiver(t)
	m := testServer(t, fastPresence, allowLoopbackWebhooks, func(m *Main) { m.Webhooks.Every = time.Hour })
	signedIn(t, m, "grace@placard.example")
	out, err := runCLI(t, "lights", "add", "lamp", "-account", "grace@placard.example", "-webhook", recv.URL+"/presence", "-data", m.Config.DataDir)
	whsec := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(out)
	if err != nil || whsec == "" {
		t.Fatalf("placard lights add -webhook: %v\n%s", err, out)
	}
	all, err := m.Store.Lights(t.Context())
	if err != nil || len(all) != 1 || !secret.Sealed(all[0].WebhookSecret) || strings.Contains(string(all[0].WebhookSecret), whsec[6:]) {
		t.Fatalf("the store keeps %+v, %v: want the secret sealed", all, err)
	}
	d := awaitDelivery(t, got, "Grace's presence", "Busy")
	if err := verifyDelivery(whsec, d); err != nil {
		t.Error(err)
	}

	// With PostgreSQL the command line has no key file: it needs
	// PLACARD_KEY, and says so.
	var stdout, stderr strings.Builder
	err = run(t.Context(), []string{"lights", "add", "hall", "-account", "grace@placard.example", "-webhook", recv.URL, "-database", "postgres://placard@127.0.0.1:1/none"},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "PLACARD_KEY") {
		t.Errorf("a key with webhooks on PostgreSQL without PLACARD_KEY: %v", err)
	}
}

// verifyDelivery checks a delivery's Standard Webhooks signature with the
// whsec_ secret, as the specification computes it.
func verifyDelivery(whsec string, d delivery) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", d.header.Get("webhook-id"), d.header.Get("webhook-timestamp"), d.body)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); d.header.Get("webhook-signature") != want {
		return fmt.Errorf("webhook-signature %q, want %q", d.header.Get("webhook-signature"), want)
	}
	return nil
}
