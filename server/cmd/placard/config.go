package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/adminhttp"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/httpd"
	"github.com/placard/placard/server/mqtt"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// Config is the edge server's configuration: flags, each with a PLACARD_*
// environment variable as its default.
type Config struct {
	Addr      string
	DataDir   string
	PublicURL string
	// Database is a PostgreSQL URL (postgres://...) shared by replicas;
	// empty keeps the state in SQLite in DataDir.
	Database string

	// Real tenant: with ClientID set, the server talks to Microsoft;
	// without, it runs the sandbox.
	ClientID  string
	Tenant    string
	Authority string
	Scopes    []string
	// GraphURL is Microsoft Graph's base URL; the public cloud's when
	// empty. CAFile is a PEM bundle of roots trusted besides the
	// system's, for both services (a placard sandbox, a TLS proxy).
	GraphURL string
	CAFile   string

	AutoEnroll bool
	// QuickBook lets tablets book the next free slot; it adds
	// Calendars.ReadWrite to the scopes.
	QuickBook bool
	TimeZone  string
	// SignIn is -sign-in: device-code, qr, both, or "" for the default
	// (both where the public URL is https and in the sandbox, else
	// device-code).
	SignIn string
	// Organisation is named on the phone's sign-in page.
	Organisation string
	LogFormat    string
	LogLevel     string

	// SandboxCodeLifetime shortens the sandbox's device codes (tests).
	SandboxCodeLifetime time.Duration
	// SandboxTokenLifetime shortens the sandbox's access tokens, so that
	// screens refresh them at once (tests).
	SandboxTokenLifetime time.Duration
	// SandboxAddr serves the sandbox's identity platform and Graph over
	// HTTPS for other clients; empty for none.
	SandboxAddr string
	// PollEvery is the polling period of an account shown on screens
	// (its presence); CalendarEvery its calendar's (a round of delta).
	PollEvery     time.Duration
	CalendarEvery time.Duration
	// OfflineAfter is how long a screen in no group (or in a group with no
	// threshold of its own) may be offline before it is reported.
	OfflineAfter time.Duration
	// FollowEvery is the presence period of an account a light follows
	// (-presence-every); PresenceBudget is Graph's presence limit per 30 s
	// for the tenant, half of which placard uses.
	FollowEvery    time.Duration
	PresenceBudget int
	// MQTTURL is the broker that light keys made with MQTT publish to;
	// MQTTCA the certificate authorities of an mqtts:// one.
	MQTTURL string
	MQTTCA  string
	// MQTTURLFromFlag is true when -mqtt-url was given as a flag, which
	// any user of the machine reads with ps, rather than in the
	// environment.
	MQTTURLFromFlag bool
	// SSEPerKey, SSEPerAddress and SSETotal cap the presence streams open
	// at once per light key, per client address and in all.
	SSEPerKey, SSEPerAddress, SSETotal int

	// SandboxUsers adds numbered demo users to the sandbox (load tests),
	// SandboxRooms numbered rooms.
	SandboxUsers int
	SandboxRooms int
	// DebugAddr serves Go's profiler (net/http/pprof) on a loopback
	// address of its own, apart from screens and phones; empty for none.
	DebugAddr string
	// MetricsAddr serves /metrics on an address of its own, to anyone who
	// reaches it; empty serves it on -addr to administrators only.
	MetricsAddr string

	// CheckConfig is -check-config: check the configuration and the
	// files it names, as a start would, and exit.
	CheckConfig bool

	Security
}

// Sandbox reports whether the server runs against the sandbox.
func (c Config) Sandbox() bool { return c.ClientID == "" }

// ParseConfig reads flags from args and defaults from getenv, and checks
// every value, naming what is wrong and how to fix it.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	return parseConfig(args, getenv, stderr, nil)
}

// parseConfig is ParseConfig; defined, when not nil, is shown the flag set
// once every flag is defined, before parsing (the configuration reference
// is generated from it).
func parseConfig(args []string, getenv func(string) string, stderr io.Writer, defined func(*flag.FlagSet)) (Config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var c Config
	var scopes, enroll string
	fs := flag.NewFlagSet("placard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", env("PLACARD_ADDR", ":8080"), "address to listen on (PLACARD_ADDR)")
	fs.StringVar(&c.DataDir, "data", env("PLACARD_DATA", "./data"), "data directory, created 0700 (PLACARD_DATA)")
	fs.StringVar(&c.Database, "database", env("PLACARD_DATABASE_URL", ""), "PostgreSQL URL (postgres://user:password@host:5432/db) for several replicas; empty keeps SQLite in -data (PLACARD_DATABASE_URL)")
	fs.StringVar(&c.PublicURL, "public-url", env("PLACARD_PUBLIC_URL", ""), "URL at which screens and phones reach this server; derived from -addr by default (PLACARD_PUBLIC_URL)")
	fs.StringVar(&c.ClientID, "client-id", env("PLACARD_CLIENT_ID", ""), "application (client) id of the app registration; empty runs the sandbox (PLACARD_CLIENT_ID)")
	fs.StringVar(&c.Tenant, "tenant", env("PLACARD_TENANT", ""), "tenant id or domain; 'organizations' only when meant (PLACARD_TENANT)")
	fs.StringVar(&c.Authority, "authority", env("PLACARD_AUTHORITY", ""), "full authority URL instead of -tenant, e.g. https://contoso.ciamlogin.com/contoso.onmicrosoft.com (PLACARD_AUTHORITY)")
	fs.StringVar(&c.GraphURL, "graph-url", env("PLACARD_GRAPH_URL", ""), "Microsoft Graph's base URL, e.g. https://127.0.0.1:9443/v1.0 for placard sandbox; "+graphDefault+" by default (PLACARD_GRAPH_URL)")
	fs.StringVar(&c.CAFile, "ca-file", env("PLACARD_CA_FILE", ""), "PEM bundle of certificates to trust besides the system's, for the identity platform and Graph (PLACARD_CA_FILE)")
	fs.StringVar(&scopes, "scopes", env("PLACARD_SCOPES", "User.Read Calendars.Read Presence.Read"), "delegated Graph permissions to ask for (PLACARD_SCOPES)")
	fs.StringVar(&enroll, "enroll", env("PLACARD_ENROLL", ""), "auto: new screens get codes at once (the sandbox's default; not with a real tenant); manual: an administrator approves each screen (PLACARD_ENROLL)")
	quickBook, quickBookErr := strconv.ParseBool(env("PLACARD_QUICK_BOOK", "false"))
	fs.BoolVar(&c.QuickBook, "quick-book", quickBook, "let touch screens book the next free 15 or 30 minutes; asks for Calendars.ReadWrite (PLACARD_QUICK_BOOK)")
	fs.StringVar(&c.SignIn, "sign-in", env("PLACARD_SIGN_IN", ""), "how screens sign in: device-code, qr (a QR code to Microsoft's own sign-in page, where device code is blocked) or both; both by default where the public URL is https and in the sandbox, else device-code (PLACARD_SIGN_IN)")
	fs.StringVar(&c.Organisation, "organisation", env("PLACARD_ORGANISATION", ""), "the organisation's name, shown on the phone's sign-in page; the tenant's domain by default (PLACARD_ORGANISATION)")
	fs.StringVar(&c.TimeZone, "time-zone", env("PLACARD_TIME_ZONE", ""), "IANA time zone of screens with none configured; the server's by default (PLACARD_TIME_ZONE)")
	fs.StringVar(&c.LogFormat, "log-format", env("PLACARD_LOG_FORMAT", "text"), "text or json (PLACARD_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("PLACARD_LOG_LEVEL", "info"), "debug, info, warn or error (PLACARD_LOG_LEVEL)")
	fs.StringVar(&c.SandboxAddr, "sandbox-addr", env("PLACARD_SANDBOX_ADDR", ""), "also serve the sandbox's identity platform and Graph over HTTPS on this address for other clients, e.g. 127.0.0.1:9443 (PLACARD_SANDBOX_ADDR)")
	sandboxUsers, sandboxUsersErr := strconv.Atoi(env("PLACARD_SANDBOX_USERS", "0"))
	fs.StringVar(&c.DebugAddr, "debug-addr", env("PLACARD_DEBUG_ADDR", ""), "serve Go's profiler (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060, to see where time and memory go; empty serves none (PLACARD_DEBUG_ADDR)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("PLACARD_METRICS_ADDR", ""), "serve /metrics on this address of its own, e.g. 127.0.0.1:9464, to whoever reaches it (Prometheus); empty serves it on -addr to admin tokens and -admin-networks only (PLACARD_METRICS_ADDR)")
	fs.IntVar(&c.SandboxUsers, "sandbox-users", sandboxUsers, "add this many numbered demo users to the sandbox (user0001@placard.example, ...), for load tests (PLACARD_SANDBOX_USERS)")
	sandboxRooms, sandboxRoomsErr := strconv.Atoi(env("PLACARD_SANDBOX_ROOMS", "0"))
	fs.IntVar(&c.SandboxRooms, "sandbox-rooms", sandboxRooms, "add this many numbered rooms to the sandbox (room0001@placard.example, ..., 40 to a room list), for room panels and boards under load (PLACARD_SANDBOX_ROOMS)")
	pollEvery, pollEveryErr := time.ParseDuration(env("PLACARD_POLL_EVERY", "30s"))
	fs.DurationVar(&c.PollEvery, "poll-every", pollEvery, "how often the presence of an account shown on screens is read, budget allowing (PLACARD_POLL_EVERY)")
	calendarEvery, calendarEveryErr := time.ParseDuration(env("PLACARD_CALENDAR_EVERY", screens.DefaultCalendarEvery.String()))
	fs.DurationVar(&c.CalendarEvery, "calendar-every", calendarEvery, "how often the calendar of an account shown on screens is read, by a round of calendarView delta (one request when nothing changed): a change made in Outlook shows within this and a few seconds (PLACARD_CALENDAR_EVERY)")
	offlineAfter, offlineAfterErr := time.ParseDuration(env("PLACARD_OFFLINE_AFTER", fleet.DefaultOfflineAfter.String()))
	fs.DurationVar(&c.OfflineAfter, "offline-after", offlineAfter, "how long an enrolled screen may be offline before the admin page, the gauge placard_screens_offline and its group's webhooks report it; a group's own threshold wins (PLACARD_OFFLINE_AFTER)")
	presenceEvery, presenceEveryErr := time.ParseDuration(env("PLACARD_PRESENCE_EVERY", "5s"))
	fs.DurationVar(&c.FollowEvery, "presence-every", presenceEvery, "how often the presence of an account that a light follows is read, budget allowing (PLACARD_PRESENCE_EVERY)")
	presenceBudget, presenceBudgetErr := strconv.Atoi(env("PLACARD_PRESENCE_BUDGET", strconv.Itoa(screens.DefaultPresenceBudget)))
	fs.IntVar(&c.PresenceBudget, "presence-budget", presenceBudget, "Graph's presence requests allowed per 30 s for the tenant; placard uses half, and stretches its polls to stay there (PLACARD_PRESENCE_BUDGET)")
	fs.StringVar(&c.MQTTURL, "mqtt-url", env("PLACARD_MQTT_URL", ""), "MQTT broker for light keys made with MQTT, with Home Assistant discovery: mqtt://[user:password@]host:1883 or mqtts://...:8883; give a URL with a password in PLACARD_MQTT_URL, not as a flag, which ps shows (PLACARD_MQTT_URL)")
	fs.StringVar(&c.MQTTCA, "mqtt-ca", env("PLACARD_MQTT_CA", ""), "PEM file of the certificate authorities of an mqtts:// broker; the system's by default (PLACARD_MQTT_CA)")
	var sseErrs []error
	sseFlag := func(p *int, name, envName string, def int, what string) {
		v, err := strconv.Atoi(env(envName, strconv.Itoa(def)))
		if err != nil {
			sseErrs = append(sseErrs, fmt.Errorf("%s %q must be a whole number, e.g. %d", envName, getenv(envName), def))
		}
		fs.IntVar(p, name, v, what+" ("+envName+")")
	}
	sseFlag(&c.SSEPerKey, "sse-per-key", "PLACARD_SSE_PER_KEY", httpd.DefaultStreamsPerKey, "presence streams (Server-Sent Events) one light key may hold open at once; more are answered 429")
	sseFlag(&c.SSEPerAddress, "sse-per-address", "PLACARD_SSE_PER_ADDRESS", httpd.DefaultStreamsPerAddress, "presence streams one client address may hold open at once; more are answered 429")
	sseFlag(&c.SSETotal, "sse-total", "PLACARD_SSE_TOTAL", httpd.DefaultStreamsTotal, "presence streams the server holds open at once in all; more are answered 429")
	fs.BoolVar(&c.CheckConfig, "check-config", false, "check the flags, the environment and the files they name as a start would, then exit: 0 when placard would start, else 1 with what is wrong; opens no listener, connects nowhere, writes nothing")
	sec := securityFlags(fs, env)
	if defined != nil {
		defined(fs)
	}
	err := fs.Parse(args)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "mqtt-url" {
			c.MQTTURLFromFlag = true
		}
	})
	if err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: placard takes only flags (see %s -h)", fs.Arg(0), selfCommand())
	}
	errs := sseErrs
	c.Scopes = strings.Fields(scopes)
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if sandboxUsersErr != nil {
		bad("PLACARD_SANDBOX_USERS %q must be a number", getenv("PLACARD_SANDBOX_USERS"))
	}
	if c.SandboxUsers < 0 || c.SandboxUsers > sandbox.MaxNumberedUsers {
		bad("-sandbox-users %d must be between 0 and %d", c.SandboxUsers, sandbox.MaxNumberedUsers)
	}
	if sandboxRoomsErr != nil {
		bad("PLACARD_SANDBOX_ROOMS %q must be a number", getenv("PLACARD_SANDBOX_ROOMS"))
	}
	if c.SandboxRooms < 0 || c.SandboxRooms > sandbox.MaxNumberedRooms {
		bad("-sandbox-rooms %d must be between 0 and %d", c.SandboxRooms, sandbox.MaxNumberedRooms)
	}
	if offlineAfterErr != nil {
		bad("PLACARD_OFFLINE_AFTER %q must be a duration, e.g. 15m", getenv("PLACARD_OFFLINE_AFTER"))
	}
	if c.OfflineAfter < time.Second || c.OfflineAfter > 7*24*time.Hour {
		bad("-offline-after %v must be between 1s and 168h", c.OfflineAfter)
	}
	if pollEveryErr != nil {
		bad("PLACARD_POLL_EVERY %q must be a duration, e.g. 30s", getenv("PLACARD_POLL_EVERY"))
	}
	if c.PollEvery < time.Second || c.PollEvery > 10*time.Minute {
		bad("-poll-every %v must be between 1s and 10m", c.PollEvery)
	} else if c.FollowEvery > c.PollEvery && c.FollowEvery <= 10*time.Minute {
		// A light follows an account at least as closely as a screen
		// shows it: the presence budget gives way in that order.
		bad("-presence-every %v is longer than -poll-every %v: an account a light follows is read at least as often as one shown on screens; set -presence-every to %v or less", c.FollowEvery, c.PollEvery, c.PollEvery)
	}
	if calendarEveryErr != nil {
		bad("PLACARD_CALENDAR_EVERY %q must be a duration, e.g. 10s", getenv("PLACARD_CALENDAR_EVERY"))
	}
	// Outlook allows 10,000 requests per 10 minutes per mailbox: a round
	// a second is 600.
	if c.CalendarEvery < time.Second || c.CalendarEvery > 10*time.Minute {
		bad("-calendar-every %v must be between 1s and 10m", c.CalendarEvery)
	}
	if presenceEveryErr != nil {
		bad("PLACARD_PRESENCE_EVERY %q must be a duration, e.g. 5s", getenv("PLACARD_PRESENCE_EVERY"))
	}
	if presenceBudgetErr != nil {
		bad("PLACARD_PRESENCE_BUDGET %q must be a number, e.g. 1500", getenv("PLACARD_PRESENCE_BUDGET"))
	}
	if c.FollowEvery < time.Second || c.FollowEvery > 10*time.Minute {
		bad("-presence-every %v must be between 1s and 10m", c.FollowEvery)
	}
	if c.PresenceBudget < 2 {
		bad("-presence-budget %d must be 2 or more (Graph's limit per 30 s: 1500 on its older pages, 10000 on its current one)", c.PresenceBudget)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"-sse-per-key", c.SSEPerKey}, {"-sse-per-address", c.SSEPerAddress}, {"-sse-total", c.SSETotal}} {
		if f.v < 1 {
			bad("%s %d must be 1 or more", f.name, f.v)
		}
	}
	if c.MQTTURL != "" {
		if err := mqtt.CheckURL(c.MQTTURL); err != nil {
			errs = append(errs, err)
		} else if c.MQTTCA != "" && !strings.HasPrefix(c.MQTTURL, "mqtts://") {
			bad("-mqtt-ca is for an mqtts:// broker: use mqtts:// in -mqtt-url, or drop -mqtt-ca")
		}
	} else if c.MQTTCA != "" {
		bad("-mqtt-ca is set without -mqtt-url: name the broker too")
	}
	if quickBookErr != nil {
		bad("PLACARD_QUICK_BOOK %q must be true or false", getenv("PLACARD_QUICK_BOOK"))
	}
	if c.QuickBook && !slices.Contains(c.Scopes, screens.ScopeBook) {
		// Least privilege: the permission to write is asked for only
		// when booking is on (docs/security.md).
		c.Scopes = append(c.Scopes, screens.ScopeBook)
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		bad("-addr %q is not host:port (e.g. :8080 or 127.0.0.1:8080)", c.Addr)
	}
	if c.DebugAddr != "" && !loopbackOnly(c.DebugAddr) {
		// The profiler tells anyone who reaches it how the server runs:
		// never on a network.
		bad("-debug-addr %q must be a loopback host:port, e.g. 127.0.0.1:6060", c.DebugAddr)
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			bad("-metrics-addr %q is not host:port (e.g. 127.0.0.1:9464)", c.MetricsAddr)
		}
	}
	if c.DataDir == "" {
		bad("-data is empty: name a directory for placard's state")
	}
	if err := checkDatabaseURL(c.Database); err != nil {
		bad("%v", err)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("-public-url %q must be a base URL like http://192.168.1.20:8080", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	switch enroll {
	case "":
		c.AutoEnroll = c.Sandbox()
	case "auto":
		c.AutoEnroll = true
	case "manual":
		c.AutoEnroll = false
	default:
		bad("-enroll %q must be auto or manual", enroll)
	}
	if c.Sandbox() {
		if c.Tenant != "" || c.Authority != "" {
			bad("-tenant or -authority is set without -client-id: set PLACARD_CLIENT_ID too, or neither to run the sandbox")
		}
		if c.GraphURL != "" || c.CAFile != "" {
			bad("-graph-url and -ca-file point a server with -client-id at its tenant: set PLACARD_CLIENT_ID too (for placard sandbox: %s)", sandbox.ClientID)
		}
		if c.SandboxAddr != "" {
			if _, port, err := net.SplitHostPort(c.SandboxAddr); err != nil || port == "" {
				bad("-sandbox-addr %q is not host:port (e.g. 127.0.0.1:9443)", c.SandboxAddr)
			}
		}
	} else {
		if c.SandboxUsers != 0 {
			bad("-sandbox-users adds users to the sandbox, which does not run with -client-id: unset one of them")
		}
		if c.SandboxRooms != 0 {
			bad("-sandbox-rooms adds rooms to the sandbox, which does not run with -client-id: unset one of them")
		}
		if c.SandboxAddr != "" {
			bad("-sandbox-addr serves the sandbox, which does not run with -client-id: unset one of them")
		}
		if c.GraphURL != "" {
			u, err := url.Parse(c.GraphURL)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
				bad("-graph-url %q must be an https base URL such as %s", c.GraphURL, graphDefault)
			}
			c.GraphURL = strings.TrimRight(c.GraphURL, "/")
		}
		if c.CAFile != "" {
			if _, err := loadRoots(c.CAFile); err != nil {
				bad("%v", err)
			}
		}
		switch {
		case c.Authority != "":
			u, err := url.Parse(c.Authority)
			if err != nil || u.Scheme != "https" || strings.Trim(u.Path, "/") == "" {
				bad("-authority %q must be https://host/<tenant> (MSAL needs the tenant in the path)", c.Authority)
			}
		case c.Tenant == "":
			bad("-tenant is empty: set PLACARD_TENANT to your tenant id or domain (or 'organizations' for any work account)")
		case c.Tenant == "common" || c.Tenant == "consumers":
			bad("-tenant %q is not allowed: device-code sign-in for a display needs a tenant id, a domain or 'organizations'", c.Tenant)
		default:
			c.Authority = "https://login.microsoftonline.com/" + c.Tenant
		}
		if len(c.Scopes) == 0 {
			bad("-scopes is empty: placard needs at least User.Read")
		}
	}
	switch c.SignIn {
	case "", server.SignInDeviceCode, server.SignInQR, server.SignInBoth:
	default:
		bad("-sign-in %q must be device-code, qr or both", c.SignIn)
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			bad("-time-zone %q is not an IANA zone (e.g. Europe/Paris)", c.TimeZone)
		}
	}
	sec.check(&c, bad)
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("-log-format %q must be text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("-log-level %q must be debug, info, warn or error", c.LogLevel)
	}
	return c, errors.Join(errs...)
}

// ensureDataDir creates the data directory with mode 0700, and refuses one
// that others may read: it holds the key that opens every token.
func ensureDataDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("creating data directory %s: %w", abs, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", abs, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("data directory %s has mode %04o: others may read it; run chmod 700 %s", abs, info.Mode().Perm(), abs)
	}
	return abs, nil
}

// publicURL is where screens and phones reach the server: the configured
// URL, or one derived from the listener. A server listening on every
// interface is announced at its first LAN address, so that a phone can
// open the sandbox's phone page.
func publicURL(configured string, ln net.Addr) string {
	if configured != "" {
		return configured
	}
	tcp, ok := ln.(*net.TCPAddr)
	if !ok {
		return "http://" + ln.String()
	}
	host := tcp.IP.String()
	switch {
	case tcp.IP.IsUnspecified():
		host = lanAddress()
	case tcp.IP.IsLoopback():
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// lanAddress is the first non-loopback IPv4 address of the machine, or
// localhost when it has none.
func lanAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "localhost"
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() && !ip.IP.IsLinkLocalUnicast() {
			return ip.IP.String()
		}
	}
	return "localhost"
}

// checkDatabaseURL checks a -database value: empty, or a PostgreSQL URL.
// The message never repeats the URL, which may hold a password.
func checkDatabaseURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return errors.New("-database (PLACARD_DATABASE_URL) must be a PostgreSQL URL like postgres://placard:PASSWORD@db.example:5432/placard, or empty for SQLite in -data")
	}
	return nil
}

// graphDefault is Graph's base URL when -graph-url is empty.
const graphDefault = "https://graph.microsoft.com/v1.0"

// loadRoots returns the system's roots with those of the PEM file added.
func loadRoots(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-ca-file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", file)
	}
	return pool, nil
}

// signInMode is how screens sign in by default, and why, as the admin page
// says it. Sign-in by QR code needs a public URL that the identity
// platform sends the phone back to: https (or the sandbox, which plays
// the identity platform itself).
func signInMode(c Config, publicURL string) (mode, why string, byQR bool, err error) {
	byQR = c.Sandbox() || strings.HasPrefix(publicURL, "https://")
	switch {
	case c.SignIn != "" && c.SignIn != server.SignInDeviceCode && !byQR:
		return "", "", false, fmt.Errorf("-sign-in %s needs an https public URL (%s is not): Microsoft sends a sign-in by QR code back only to https addresses; serve TLS (-tls-cert or -acme-domain) or set -public-url https://... behind a TLS proxy, or use -sign-in device-code", c.SignIn, publicURL)
	case c.SignIn != "":
		return c.SignIn, "set by -sign-in", byQR, nil
	case c.Sandbox():
		return server.SignInBoth, "the sandbox's default", true, nil
	case byQR:
		return server.SignInBoth, "the default where the public URL is https", true, nil
	}
	return server.SignInDeviceCode, "the default where the public URL is not https (" + publicURL + "): Microsoft sends a sign-in by QR code back only to https addresses", false, nil
}

// adminRedirectURI is where the identity platform sends an
// administrator's browser back after a sign-in by redirect, "" where it
// cannot: Microsoft redirects only to https addresses, and to loopback
// ones over plain HTTP (the sandbox registers its own).
func adminRedirectURI(c Config, publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || (!c.Sandbox() && u.Scheme != "https" && !loopbackHost(u.Hostname())) {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + adminhttp.CallbackPath
}

// organisation is the name the phone's sign-in page gives the
// organisation: -organisation, else the tenant's domain.
func organisation(c Config, sandboxDomain string) string {
	switch {
	case c.Organisation != "":
		return c.Organisation
	case c.Sandbox():
		return sandboxDomain
	case strings.Contains(c.Tenant, "."):
		return c.Tenant
	}
	return ""
}
