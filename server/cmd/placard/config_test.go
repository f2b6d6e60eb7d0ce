package main

// The edge server's configuration: flags, PLACARD_* variables, and the
// refusals that name what is wrong and what to do.

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQuickBookFlagAsksForWritePermissionOnly(t *testing.T) {
	cases := []struct {
		args      []string
		write     bool
		quickBook bool
	}{
		{nil, false, false},
		{[]string{"-quick-book"}, true, true},
		{[]string{"-quick-book=false"}, false, false},
		{[]string{"-quick-book", "-scopes", "User.Read Calendars.ReadWrite"}, true, true},
	}
	// Least privilege by default: read the profile, calendar and presence.
	if cfg, err := ParseConfig(nil, func(string) string { return "" }, io.Discard); err != nil ||
		!slices.Equal(cfg.Scopes, []string{"User.Read", "Calendars.Read", "Presence.Read"}) {
		t.Errorf("default scopes %v (%v), want User.Read Calendars.Read Presence.Read", cfg.Scopes, err)
	}
	for _, c := range cases {
		cfg, err := ParseConfig(c.args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := slices.Contains(cfg.Scopes, "Calendars.ReadWrite"); got != c.write || cfg.QuickBook != c.quickBook {
			t.Errorf("%v: scopes %v, quick booking %v", c.args, cfg.Scopes, cfg.QuickBook)
		}
		if n := len(cfg.Scopes); n != len(slices.Compact(slices.Sorted(slices.Values(cfg.Scopes)))) {
			t.Errorf("%v: a scope twice in %v", c.args, cfg.Scopes)
		}
	}
	if _, err := ParseConfig(nil, func(k string) string {
		if k == "PLACARD_QUICK_BOOK" {
			return "sometimes"
		}
		return ""
	}, io.Discard); err == nil {
		t.Errorf("PLACARD_QUICK_BOOK=sometimes was accepted")
	}
}

func TestConfigRejectsBadValuesWithAReason(t *testing.T) {
	tests := []struct {
		args   []string
		env    map[string]string
		reason string
	}{
		{[]string{"-addr", "8080"}, nil, `-addr "8080" is not host:port`},
		{[]string{"-public-url", "192.168.1.2"}, nil, "-public-url"},
		{[]string{"-enroll", "sometimes"}, nil, "-enroll"},
		{[]string{"-log-format", "xml"}, nil, "-log-format"},
		{[]string{"-log-level", "loud"}, nil, "-log-level"},
		{[]string{"-time-zone", "Mars/Olympus"}, nil, "IANA"},
		{nil, map[string]string{"PLACARD_TENANT": "contoso.com"}, "without -client-id"},
		{nil, map[string]string{"PLACARD_CLIENT_ID": "x"}, "PLACARD_TENANT"},
		{nil, map[string]string{"PLACARD_CLIENT_ID": "x", "PLACARD_TENANT": "common"}, "not allowed"},
		{nil, map[string]string{"PLACARD_CLIENT_ID": "x", "PLACARD_AUTHORITY": "http://login.example/t"}, "https://host/<tenant>"},
		{[]string{"stray"}, nil, "unexpected argument"},
		{[]string{"-poll-every", "500ms"}, nil, "-poll-every 500ms must be between 1s and 10m"},
		{nil, map[string]string{"PLACARD_POLL_EVERY": "often"}, "PLACARD_POLL_EVERY"},
		{[]string{"-poll-every", "2s"}, nil, "-presence-every 5s is longer than -poll-every 2s"},
		{[]string{"-debug-addr", "0.0.0.0:6060"}, nil, "-debug-addr"},
		{nil, map[string]string{"PLACARD_DEBUG_ADDR": "192.168.1.2:6060"}, "loopback"},
	}
	for _, tt := range tests {
		_, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseConfig(%v, %v) = %v, want an error saying %q", tt.args, tt.env, err, tt.reason)
		}
	}
	c, err := ParseConfig(nil, func(k string) string {
		return map[string]string{"PLACARD_CLIENT_ID": "x", "PLACARD_TENANT": "contoso.onmicrosoft.com", "PLACARD_ADDR": "127.0.0.1:9090"}[k]
	}, io.Discard)
	if err != nil || c.Authority != "https://login.microsoftonline.com/contoso.onmicrosoft.com" || c.Addr != "127.0.0.1:9090" || c.Sandbox() || c.PollEvery != 30*time.Second {
		t.Errorf("a real-tenant configuration: %+v, %v", c, err)
	}
	c, err = ParseConfig([]string{"-poll-every", "1s", "-presence-every", "1s"}, func(string) string { return "" }, io.Discard)
	if err != nil || c.PollEvery != time.Second || c.FollowEvery != time.Second {
		t.Errorf("-poll-every 1s -presence-every 1s: %v, %v, %v", c.PollEvery, c.FollowEvery, err)
	}
}

func TestConfigKeepsARealTenantSafe(t *testing.T) {
	real := []string{"-client-id", "8a3e6f0b-2c47-4d19-9e85-b71a4c0d6f23", "-tenant", "contoso.example", "-data", t.TempDir()}
	tests := []struct {
		name string
		args []string
		says string // "" when valid
	}{
		{"plain HTTP on every interface", []string{"-addr", ":8080"}, "serves plain HTTP on the network"},
		{"plain HTTP on a LAN address", []string{"-addr", "192.168.1.20:8080"}, "serves plain HTTP"},
		{"plain HTTP on loopback", []string{"-addr", "127.0.0.1:8080"}, ""},
		{"plain HTTP on localhost", []string{"-addr", "localhost:8080"}, ""},
		{"plain HTTP, explicitly", []string{"-addr", ":8080", "-insecure-http"}, ""},
		{"a certificate", []string{"-addr", ":8443", "-tls-cert", "c.pem", "-tls-key", "k.pem"}, ""},
		{"a certificate without its key", []string{"-addr", ":8443", "-tls-cert", "c.pem"}, "go together"},
		{"ACME", []string{"-addr", ":443", "-acme-domain", "placard.example.com"}, ""},
		{"ACME for an address", []string{"-addr", ":443", "-acme-domain", "192.0.2.1"}, "public DNS name"},
		{"ACME and a certificate", []string{"-addr", ":443", "-acme-domain", "a.example.com", "-tls-cert", "c", "-tls-key", "k"}, "choose one"},
		{"automatic enrollment", []string{"-addr", "127.0.0.1:8080", "-enroll", "auto"}, "for the sandbox only"},
		{"a plain HTTP public URL", []string{"-addr", "127.0.0.1:8080", "-public-url", "http://placard.example.com"}, "plain HTTP"},
		{"a bad tenant id", []string{"-addr", "127.0.0.1:8080", "-allowed-tenants", "contoso.example"}, "not a tenant id"},
		{"a bad origin", []string{"-addr", "127.0.0.1:8080", "-origins", "kiosk.example"}, "not an origin"},
		{"a bad network", []string{"-addr", "127.0.0.1:8080", "-screen-networks", "10.0.0.0/33"}, "not a network"},
		{"a bad admin network", []string{"-addr", "127.0.0.1:8080", "-admin-networks", "office"}, "-admin-networks: \"office\""},
		{"no codes at all", []string{"-addr", "127.0.0.1:8080", "-codes-per-minute", "0"}, "1 or more"},
		{"organizations without the administrators' tenant", []string{"-addr", "127.0.0.1:8080", "-tenant", "organizations"}, "-admin-tenant is required"},
		{"common without the administrators' tenant", []string{"-addr", "127.0.0.1:8080", "-authority", "https://login.microsoftonline.com/common"}, "-admin-tenant is required"},
		{"organizations with the administrators' tenant", []string{"-addr", "127.0.0.1:8080", "-tenant", "organizations", "-admin-tenant", "11111111-2222-3333-4444-555555555555"}, ""},
		{"a bad administrators' tenant", []string{"-addr", "127.0.0.1:8080", "-admin-tenant", "contoso.example"}, `-admin-tenant "contoso.example" is not a tenant id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(append(append([]string{}, real...), tt.args...), func(string) string { return "" }, io.Discard)
			if tt.says == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %v, want one saying %q", err, tt.says)
			}
		})
	}
	// The sandbox serves plain HTTP anywhere (see tls.go).
	if _, err := ParseConfig([]string{"-addr", ":8080", "-data", t.TempDir()}, func(string) string { return "" }, io.Discard); err != nil {
		t.Errorf("the sandbox on :8080: %v", err)
	}
	c, err := ParseConfig([]string{"-addr", ":8080", "-screen-networks", "10.0.0.0/8, 192.168.1.20", "-origins", "https://kiosk.example/",
		"-allowed-tenants", "11111111-2222-3333-4444-555555555555"}, func(string) string { return "" }, io.Discard)
	if err != nil || len(c.ScreenNetworks) != 2 || c.ScreenNetworks[1].String() != "192.168.1.20/32" || c.Origins[0] != "https://kiosk.example" || c.CodesPerMinute != 20 {
		t.Errorf("parsed %+v, %v", c.Security, err)
	}
}

func TestGraphURLAndCAFileAreChecked(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "roots.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	real := map[string]string{"PLACARD_CLIENT_ID": "x", "PLACARD_TENANT": "contoso.onmicrosoft.com"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		says string
	}{
		{"plain HTTP Graph", []string{"-graph-url", "http://127.0.0.1:9443/v1.0"}, real, "must be an https base URL"},
		{"missing CA file", []string{"-ca-file", "/nonexistent/roots.pem"}, real, "-ca-file"},
		{"CA file without a certificate", []string{"-ca-file", notPEM}, real, "holds no PEM certificate"},
		{"with the built-in sandbox", []string{"-graph-url", "https://127.0.0.1:9443/v1.0"}, nil, "set PLACARD_CLIENT_ID too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("ParseConfig: %v, want %q", err, tt.says)
			}
		})
	}
}

func TestSandboxAddrIsCheckedAtStart(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		env    map[string]string
		reason string
	}{
		{[]string{"-sandbox-addr", "9443"}, nil, `-sandbox-addr "9443" is not host:port`},
		{[]string{"-sandbox-addr", "127.0.0.1:9443"}, map[string]string{"PLACARD_CLIENT_ID": "x", "PLACARD_TENANT": "contoso.com"}, "does not run with -client-id"},
		{[]string{"-sandbox-users", "10001"}, nil, "-sandbox-users 10001 must be between 0 and 10000"},
		{nil, map[string]string{"PLACARD_SANDBOX_USERS": "many"}, `PLACARD_SANDBOX_USERS "many" must be a number`},
		{[]string{"-sandbox-users", "5"}, map[string]string{"PLACARD_CLIENT_ID": "x", "PLACARD_TENANT": "contoso.com"}, "-sandbox-users adds users to the sandbox"},
	} {
		_, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("ParseConfig(%v, %v) = %v, want an error saying %q", tt.args, tt.env, err, tt.reason)
		}
	}
	c, err := ParseConfig(nil, func(k string) string {
		return map[string]string{"PLACARD_SANDBOX_ADDR": "127.0.0.1:9443", "PLACARD_SANDBOX_USERS": "200"}[k]
	}, io.Discard)
	if err != nil || c.SandboxAddr != "127.0.0.1:9443" || c.SandboxUsers != 200 {
		t.Errorf("PLACARD_SANDBOX_ADDR: %+v %v", c, err)
	}
}

func TestPostgreSQLSettingsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		says string
	}{
		{"not a URL", []string{"-database", "placard.db"}, nil, "must be a PostgreSQL URL"},
		{"another scheme", []string{"-database", "mysql://db/placard"}, nil, "must be a PostgreSQL URL"},
		{"from the environment", nil, map[string]string{"PLACARD_DATABASE_URL": "http://db"}, "PLACARD_DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("ParseConfig: %v, want %q", err, tt.says)
			}
		})
	}
	cfg, err := ParseConfig([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-database", "postgres://placard:pw@127.0.0.1:1/placard"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "PLACARD_KEY") {
		t.Errorf("replicas without PLACARD_KEY: %v, want an error naming it", err)
	}
}

func TestLightFlagsAreCheckedWithAReason(t *testing.T) {
	tests := []struct {
		args   []string
		env    map[string]string
		reason string
	}{
		{[]string{"-presence-every", "100ms"}, nil, "between 1s and 10m"},
		{nil, map[string]string{"PLACARD_PRESENCE_EVERY": "often"}, "PLACARD_PRESENCE_EVERY"},
		{[]string{"-presence-budget", "1"}, nil, "2 or more"},
		{nil, map[string]string{"PLACARD_PRESENCE_BUDGET": "lots"}, "PLACARD_PRESENCE_BUDGET"},
		{[]string{"-mqtt-url", "http://broker:1883"}, nil, "mqtt://host:1883"},
		{[]string{"-mqtt-url", "mqtt://u:hunter2@broker"}, nil, "mqtt://u:xxxxx@broker"},
		{[]string{"-mqtt-url", "mqtt://broker:1883", "-mqtt-ca", "ca.pem"}, nil, "for an mqtts:// broker"},
		{[]string{"-mqtt-ca", "ca.pem"}, nil, "without -mqtt-url"},
		{[]string{"-webhook-allow-networks", "the-lan"}, nil, "-webhook-allow-networks"},
		{[]string{"-sse-per-key", "0"}, nil, "-sse-per-key 0 must be 1 or more"},
		{nil, map[string]string{"PLACARD_SSE_TOTAL": "many"}, "PLACARD_SSE_TOTAL"},
	}
	for _, tt := range tests {
		_, err := ParseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.reason) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseConfig(%v, %v) = %v, want an error saying %q", tt.args, tt.env, err, tt.reason)
		}
	}
	c, err := ParseConfig([]string{"-mqtt-url", "mqtts://u:p@broker:8883", "-presence-every", "2s", "-presence-budget", "10000",
		"-webhook-allow-networks", "192.168.1.20,10.0.0.0/8"}, func(string) string { return "" }, io.Discard)
	if err != nil || c.MQTTURL != "mqtts://u:p@broker:8883" || c.FollowEvery != 2*time.Second || c.PresenceBudget != 10000 ||
		fmt.Sprint(c.WebhookNetworks) != "[192.168.1.20/32 10.0.0.0/8]" {
		t.Errorf("ParseConfig = %+v, %v", c, err)
	}
}

func TestSignInByQRCodeNeedsAnHTTPSPublicURL(t *testing.T) {
	for _, tc := range []struct {
		mode, public string
		sandbox      bool
		want, err    string
	}{
		{"", "http://127.0.0.1:8080", true, "both", ""},
		{"", "https://placard.contoso.com", false, "both", ""},
		{"", "http://10.0.0.5:8080", false, "device-code", ""},
		{"qr", "http://10.0.0.5:8080", false, "", "needs an https public URL"},
		{"device-code", "https://placard.contoso.com", false, "device-code", ""},
	} {
		c := Config{SignIn: tc.mode}
		if !tc.sandbox {
			c.ClientID = "app"
		}
		mode, why, _, err := signInMode(c, tc.public)
		if mode != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) || (err == nil && why == "") {
			t.Errorf("-sign-in %q at %s: %q (%q), %v", tc.mode, tc.public, mode, why, err)
		}
	}
	if _, err := ParseConfig([]string{"-sign-in", "sms"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "device-code, qr or both") {
		t.Errorf("-sign-in sms: %v", err)
	}
}

// referencePath is the generated configuration reference, from this
// package's directory.
const referencePath = "../../../docs/configuration.md"

// TestTheConfigurationReferenceIsTheFlags: docs/configuration.md is what
// the flags say (`make docs` writes it again), and a changed default,
// flag or variable is a difference this test sees.
func TestTheConfigurationReferenceIsTheFlags(t *testing.T) {
	var now strings.Builder
	if err := writeConfigReference(&now); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("reading the configuration reference: %v (make docs writes it)", err)
	}
	if string(file) != now.String() {
		t.Errorf("docs/configuration.md differs from the flags: run make docs and commit it\n%s", firstDifference(string(file), now.String()))
	}

	// Every flag and variable is in it, with its default.
	for _, want := range []string{"| `-addr` | `PLACARD_ADDR` | `:8080` |", "| `-poll-every` | `PLACARD_POLL_EVERY` | `30s` |",
		"| `-public-url` | `PLACARD_PUBLIC_URL` | none |", "| `PLACARD_KEY` |", "| `-redirect-uri` |  | none |",
		"| `-database` | `PLACARD_DATABASE_URL` | none | PostgreSQL URL of the servers' database"} {
		if !strings.Contains(now.String(), want) {
			t.Errorf("the reference lacks %q", want)
		}
	}
	// The defaults are the built-in ones, whatever the environment of
	// the run; and a default that changes changes the reference.
	t.Setenv("PLACARD_ADDR", ":9090")
	var again strings.Builder
	if err := writeConfigReference(&again); err != nil || again.String() != now.String() {
		t.Errorf("the reference follows the environment (%v): it must show placard's own defaults", err)
	}
	var changed strings.Builder
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"PLACARD_ADDR": ":9090"}[k] }, io.Discard, func(fs *flag.FlagSet) {
		writeFlagTable(&changed, fs)
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(file), "| `-addr` | `PLACARD_ADDR` | `:9090` |") || !strings.Contains(changed.String(), "| `-addr` | `PLACARD_ADDR` | `:9090` |") {
		t.Errorf("a default of :9090 does not show as one:\n%s", changed.String())
	}
}

// firstDifference shows where two texts first differ, line by line.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  the file:  %s\n  the flags: %s", i+1, x, y)
		}
	}
	return ""
}

// TestEveryHelpExitsZero: -h of placard and of each command prints its
// usage and exits 0, without the flag package's "help requested" error.
func TestEveryHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"}, {"sandbox", "-h"}, {"screens", "-h"}, {"screens", "list", "-h"},
		{"screens", "approve", "-h"}, {"admin", "token", "-h"}, {"admin", "tokens", "-h"}, {"admin", "revoke-token", "-h"},
		{"lights", "-h"}, {"lights", "add", "-h"}, {"lights", "list", "-h"}, {"lights", "revoke", "-h"},
		{"audit", "-h"}, {"key", "-h"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr syncBuffer
			p := start(t, ownProcess, launch{args: args, log: &stderr})
			err := p.wait()
			p.mu.Lock()
			stdout.Write([]byte(strings.Join(p.lines, "\n")))
			p.mu.Unlock()
			out := stdout.String() + stderr.String()
			if err != nil {
				t.Errorf("placard %s: %v, want exit 0\n%s", strings.Join(args, " "), err, out)
			}
			if strings.Contains(out, "help requested") {
				t.Errorf("placard %s says help requested:\n%s", strings.Join(args, " "), out)
			}
			if !strings.Contains(out, "Usage") && !strings.Contains(out, "-data") {
				t.Errorf("placard %s printed no usage:\n%s", strings.Join(args, " "), out)
			}
		})
	}
}
