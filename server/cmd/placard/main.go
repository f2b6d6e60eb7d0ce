// Command placard is the edge server: one binary with the screen (app.wasm)
// embedded. With no PLACARD_CLIENT_ID it runs the sandbox, an in-process
// emulation of the Microsoft identity platform and Graph.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "time/tzdata" // screens' time zones, whatever the host has

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/adminhttp"
	"github.com/placard/placard/server/admit"
	"github.com/placard/placard/server/fleet"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/graph"
	"github.com/placard/placard/server/httpd"
	"github.com/placard/placard/server/hub"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/metrics"
	"github.com/placard/placard/server/mqtt"
	"github.com/placard/placard/server/postgres"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/sqlite"
	"github.com/placard/placard/web"
)

func main() {
	ctx, stop := shutdownSignals()
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "placard:", err)
		os.Exit(1)
	}
}

// shutdownSignals returns a context that ends at the first SIGINT or
// SIGTERM. Only the first is caught: the server then closes gracefully,
// which can take a while, and a second signal ends the process at once,
// by the signal's default action. stop releases the signals.
func shutdownSignals() (ctx context.Context, stop context.CancelFunc) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-sig:
		case <-ctx.Done():
		}
		// Released before ctx ends, so that whoever sees it end knows a
		// second signal is no longer caught.
		signal.Stop(sig)
		cancel()
	}()
	return ctx, cancel
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if handled, err := runCommand(ctx, args, getenv, stdout, stderr); handled {
		if errors.Is(err, flag.ErrHelp) {
			// -h asked for the usage, which the flag set printed: a
			// success, not an error to report.
			return nil
		}
		return err
	}
	cfg, err := ParseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.CheckConfig {
		return checkConfig(cfg, getenv("PLACARD_KEY"), stdout)
	}
	m := &Main{Config: cfg, Key: getenv("PLACARD_KEY"), Stdout: stdout, Stderr: stderr}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "placard: shutting down")
	return m.Close()
}

// Main is the edge server, wired. Tests run it on :0 with a temporary data
// directory, as main does with the real one.
type Main struct {
	Config Config
	// Key is PLACARD_KEY: the key that seals tokens, instead of the key
	// file in the data directory.
	Key    string
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock of the screens and of the sandbox's calendars:
	// time.Now when nil. Tests whose screens show a day set a time of day,
	// so that they pass at any hour.
	Now func() time.Time
	// Tune adjusts the screens' configuration before they start (tests
	// shorten the grace and hold times).
	Tune func(*screens.Config)
	// TuneHTTP adjusts the HTTP surface before it serves (tests shorten
	// the pages' refresh periods).
	TuneHTTP func(*httpd.Server)
	// Webhooks tunes how light keys' webhooks are sent, and Heartbeat
	// the comments of idle presence streams (tests shorten them).
	Webhooks  lights.WebhookConfig
	Heartbeat time.Duration
	// TuneFleet adjusts the fleet's configuration before it starts (tests
	// shorten its period and let its webhooks reach loopback).
	TuneFleet func(*fleet.Config)

	// Set by Run.
	Log       *slog.Logger
	URL       string // where the server listens, e.g. http://127.0.0.1:8080
	PublicURL string // where screens and phones reach it
	Sandbox   *sandbox.Sandbox
	Store     server.Store
	Screens   *screens.Manager
	Hub       *hub.Hub
	Metrics   *metrics.Metrics
	Admin     *adminhttp.Admin
	Ops       *admin.Service
	Lights    *lights.Service
	Fleet     *fleet.Fleet
	MQTT      *mqtt.Publisher // nil without -mqtt-url

	// Cluster is what replicas share, with -database; Replica names this
	// one in it.
	Cluster *postgres.Cluster
	Replica string

	// SandboxListener serves the sandbox to other clients (-sandbox-addr).
	SandboxListener *sandbox.Listener
	// DebugURL is where the profiler answers (-debug-addr), empty without.
	DebugURL string

	debug *http.Server
	// MetricsURL is where /metrics answers with -metrics-addr.
	MetricsURL string
	metricsSrv *http.Server

	srv       *http.Server
	stopHub   context.CancelFunc
	hubDone   chan struct{}
	serveDone chan struct{}
	closeOnce bool
	// reclaim gives back what a storm of screens (signing in, or coming
	// back to a restarted server) left behind, once it has settled.
	reclaim admit.Reclaim
}

// Run starts the server and returns once it is listening.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Stderr == nil {
		m.Stderr = io.Discard
	}
	cfg := m.Config
	m.Log = newLogger(cfg, m.Stderr)
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if cfg.DebugAddr != "" {
		if err := m.serveDebug(cfg.DebugAddr); err != nil {
			return err
		}
	}

	if err := needKeyForDatabase(cfg, m.Key); err != nil {
		return err
	}
	dataDir, err := ensureDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	key, err := secret.LoadKey(m.Key, filepath.Join(dataDir, "key"))
	if err != nil {
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return err
	}
	// Only a store that opened is kept: Close must never be handed a
	// nil one in an interface (a typed nil that is not nil).
	store, err := openStore(ctx, cfg.Database, dataDir)
	if err != nil {
		return err
	}
	m.Store = store
	if err := checkKey(ctx, m.Store, box); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (is another placard running? choose another -addr)", cfg.Addr, err)
	}
	defer func(raw net.Listener) {
		// Until the server serves it, the listener is this function's
		// to close.
		if err != nil {
			raw.Close()
		}
	}(ln)
	m.URL = "http://" + ln.Addr().String()
	m.PublicURL = publicURL(cfg.PublicURL, ln.Addr())
	addr := ln.Addr()
	ln, secure, err := m.listenTLS(ln, dataDir)
	if err != nil {
		return err
	}
	if secure {
		m.URL = "https://" + addr.String()
		m.PublicURL = httpsURL(cfg, m.PublicURL, addr)
	} else if !loopbackOnly(addr.String()) {
		m.Log.Warn("serving plain HTTP on the network: the sandbox allows it (it holds no real token); a real tenant needs TLS", "addr", addr.String())
	}

	clientID, authority := cfg.ClientID, cfg.Authority
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.CAFile != "" {
		roots, err := loadRoots(cfg.CAFile)
		if err != nil {
			return err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		hc.Transport = t
	}
	var qrContent func(string, string) string
	var onCode func(string, string)
	var browserURL func(string) string
	if cfg.Sandbox() {
		m.Sandbox, err = sandbox.New(sandbox.Options{
			Now:                 m.Now,
			VerificationURL:     m.PublicURL + "/sandbox/devicelogin",
			KeyFile:             filepath.Join(dataDir, "sandbox-key.pem"),
			StateFile:           filepath.Join(dataDir, "sandbox-state.json"),
			CodeLifetime:        cfg.SandboxCodeLifetime,
			AccessTokenLifetime: cfg.SandboxTokenLifetime,
			NumberedUsers:       cfg.SandboxUsers,
			NumberedRooms:       cfg.SandboxRooms,
			// The edge server's callback of sign-ins by QR is the
			// sandbox application's registered redirect URI.
			RedirectURIs: []string{m.PublicURL + "/signin/callback", m.PublicURL + adminhttp.CallbackPath},
			Logger:       m.Log,
		})
		if err != nil {
			return err
		}
		if cfg.SandboxAddr != "" {
			if m.SandboxListener, err = m.Sandbox.Listen(cfg.SandboxAddr, dataDir); err != nil {
				return err
			}
		}
		hc.Transport = m.Sandbox.Transport()
		clientID, authority = sandbox.ClientID, "https://"+sandbox.LoginHost+"/"+sandbox.TenantID
		qrContent, onCode = sandbox.QRContent, m.Sandbox.NameCode
		// A phone cannot reach the in-process login host: its browser
		// is sent to the sandbox's sign-in page on this server.
		browserURL = sandbox.BrowserURL(m.PublicURL)
	}
	tenants, err := allowedTenants(ctx, hc, cfg, authority)
	if err != nil {
		return err
	}
	if len(tenants) == 0 {
		m.Log.Warn("accepting accounts of any tenant: the authority is multi-tenant and -allowed-tenants is empty", "authority", authority)
	}
	admins, err := adminTenant(ctx, hc, cfg, authority)
	if err != nil {
		return err
	}
	id, err := identity.New(identity.Config{
		Now:            m.Now,
		ClientID:       clientID,
		Authority:      authority,
		Scopes:         cfg.Scopes,
		HTTPClient:     hc,
		Caches:         identity.SealedCaches{Store: m.Store, Box: box},
		AllowedTenants: tenants,
		BrowserURL:     browserURL,
		// MSAL asks login.microsoftonline.com about any other host (a
		// placard sandbox, a custom domain), which knows nothing of it.
		DisableInstanceDiscovery: !cfg.Sandbox() && !microsoftAuthority(authority),
	})
	if err != nil {
		return err
	}

	mode, modeWhy, byQR, err := signInMode(cfg, m.PublicURL)
	if err != nil {
		return err
	}
	linkBase := ""
	if byQR {
		linkBase = m.PublicURL
	}

	m.Metrics = metrics.New()
	sockets := &httpd.Sockets{Log: m.Log}
	fr := front.Front{TrustedProxies: cfg.TrustedProxies, PublicURL: m.PublicURL, Origins: cfg.Origins}
	m.Hub = hub.New(sockets, hub.Options{Log: m.Log, Metrics: m.Metrics, Origins: cfg.Origins, CheckOrigin: fr.AllowOrigin})
	gc := graph.New(cfg.GraphURL, hc)
	gc.Observe = m.Metrics.GraphRequest
	var cluster server.Cluster
	if pg, ok := m.Store.(*postgres.Store); ok {
		m.Replica = replicaName()
		m.Cluster = postgres.NewCluster(pg, m.Replica, LeaseTTL, m.Log)
		cluster = m.Cluster
	}
	scfg := screens.Config{
		Now:        m.Now,
		Cluster:    cluster,
		Store:      m.Store,
		Identity:   id,
		Graph:      gc,
		Metrics:    m.Metrics,
		Publisher:  m.Hub,
		Log:        m.Log,
		AutoEnroll: cfg.AutoEnroll,
		TimeZone:   serverZone(cfg.TimeZone),
		QRContent:  qrContent,
		OnCode:     onCode,

		SignIn:       mode,
		PublicURL:    linkBase,
		Organisation: organisation(cfg, sandbox.TenantDomain),
		Box:          box,

		CodesPerScreen: cfg.CodesPerScreen,
		CodesTotal:     cfg.codesTotal(),

		PollEvery:      cfg.PollEvery,
		CalendarEvery:  cfg.CalendarEvery,
		FollowEvery:    cfg.FollowEvery,
		PresenceBudget: limit.Rate{Max: cfg.PresenceBudget, Per: 30 * time.Second},
	}
	fcfg := fleet.Config{Store: m.Store, Cluster: cluster, Replica: m.Replica, Log: m.Log, Metrics: m.Metrics,
		OfflineAfter: cfg.OfflineAfter, Webhooks: fleet.WebhookConfig{AllowNetworks: cfg.WebhookNetworks}, Box: box}
	if fcfg.Replica == "" {
		fcfg.Replica = hostname()
	}
	if m.TuneFleet != nil {
		m.TuneFleet(&fcfg)
	}
	m.Fleet = fleet.New(fcfg)
	scfg.Observer = m.Fleet
	if m.Tune != nil {
		m.Tune(&scfg)
	}
	m.Screens, err = screens.New(scfg)
	if err != nil {
		return err
	}
	sockets.Screens = m.Screens

	if err := m.Fleet.Start(ctx); err != nil {
		return err
	}
	sockets.Fleet = m.Fleet

	assets, err := httpd.NewAssets(web.Static(), web.Wasm())
	if err != nil {
		return fmt.Errorf("reading the embedded assets: %w", err)
	}
	if !assets.HasWasm() {
		m.Log.Warn("app.wasm is not in this binary: screens show their first page but do not update; build with `make build`")
	}
	h := &httpd.Server{
		Screens: m.Screens,
		Hub:     m.Hub,
		Assets:  assets,
		Log:     m.Log,
		Ready: func(ctx context.Context) error {
			if err := m.Store.Ping(ctx); err != nil {
				return fmt.Errorf("%w: %w", server.Errorf(server.EUNAVAILABLE, "the store does not answer"), err)
			}
			if err := id.Ping(ctx); err != nil {
				return fmt.Errorf("%w: %w", server.Errorf(server.EUNAVAILABLE, "the identity platform does not answer"), err)
			}
			return nil
		},
		OnCalm: m.reclaim.Calm,
	}
	// Ten seconds without a storm (a storm of sign-ins goes on after its
	// pages and hellos: codes approved, tokens redeemed, dashboards
	// sent); at most twice a minute (a few collections of a heap of tens
	// of megabytes).
	m.reclaim.Settle, m.reclaim.Every = 10*time.Second, 30*time.Second
	m.Hub.OnCalm(m.reclaim.Calm)
	if m.Sandbox != nil {
		h.Sandbox = m.Sandbox.Handler()
	}
	var sinks []lights.Sink
	if cfg.MQTTURL != "" {
		for _, w := range mqtt.Warnings(cfg.MQTTURL, cfg.MQTTURLFromFlag) {
			m.Log.Warn(w)
		}
		mc := mqtt.Config{URL: cfg.MQTTURL, CAFile: cfg.MQTTCA, Log: m.Log, Keys: m.Store.Lights}
		if m.Replica != "" {
			// The replica's name, as its lease holder's: new at each start,
			// and never another replica's.
			mc.ClientID = "placard-" + m.Replica
		}
		m.MQTT, err = mqtt.New(mc)
		if err != nil {
			return err
		}
		sinks = append(sinks, m.MQTT)
	}
	webhooks := m.Webhooks
	webhooks.AllowNetworks = append(webhooks.AllowNetworks, cfg.WebhookNetworks...)
	var topic func(server.Light) string
	if m.MQTT != nil {
		topic = mqtt.StateTopic
	}
	m.Lights = lights.NewService(lights.Config{
		Sinks:     sinks,
		MQTTTopic: topic,
		Box:       box,
		Clustered: m.Cluster != nil,
		Store:     m.Store,
		Log:       m.Log,
		Follow: func(ctx context.Context, accountID string, f lights.Follower) (func(), error) {
			return m.Screens.Follow(ctx, accountID, f)
		},
		Webhooks: webhooks,
	})
	if err := m.Lights.Start(ctx); err != nil {
		return fmt.Errorf("serving the light keys: %w", err)
	}
	h.Presence = &httpd.Presence{Lights: m.Lights, Log: m.Log, Heartbeat: m.Heartbeat,
		StreamsPerKey: cfg.SSEPerKey, StreamsPerAddress: cfg.SSEPerAddress, StreamsTotal: cfg.SSETotal}
	m.Ops = &admin.Service{Store: m.Store, Screens: m.Screens, Lights: m.Lights, Fleet: m.Fleet, Log: m.Log, Box: box}
	m.Admin = &adminhttp.Admin{
		Ops:           m.Ops,
		Log:           m.Log,
		Identity:      id,
		Verifier:      id.NewAdminVerifier(admins, nil),
		About:         m.about(authority, id.Scopes(), tenants, admins, mode, modeWhy, byQR),
		LoginFailures: cfg.LoginFailures,
		Networks:      cfg.AdminNetworks,
		RedirectURI:   adminRedirectURI(cfg, m.PublicURL),
		PublicURL:     m.PublicURL,
		Render:        h.Preview,
	}
	h.Admin = m.Admin.Handler()
	// /metrics shows sign-ins as they happen: on -addr, to administrators
	// only; on -metrics-addr, to whoever the operator lets reach it.
	if cfg.MetricsAddr != "" {
		if err := m.serveMetrics(cfg.MetricsAddr); err != nil {
			return err
		}
	} else {
		h.Metrics = m.Admin.Guard(m.Metrics.Handler())
	}
	h.Fleet = m.Fleet
	h.Links = m.Ops
	h.ScreenNetworks = cfg.ScreenNetworks
	h.Front = fr
	h.NewScreens = cfg.NewScreens
	if m.TuneHTTP != nil {
		m.TuneHTTP(h)
	}

	hubCtx, stopHub := context.WithCancel(context.Background())
	m.stopHub, m.hubDone = stopHub, make(chan struct{})
	go func() {
		defer close(m.hubDone)
		m.Hub.Run(hubCtx)
	}()
	m.srv = &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	// Presence streams end when the server shuts down, so that it does
	// not wait on them.
	m.srv.RegisterOnShutdown(m.Lights.Close)
	m.serveDone = make(chan struct{})
	go func() {
		defer close(m.serveDone)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Log.Error("serving HTTP", "err", err)
		}
	}()
	m.banner(dataDir)
	return nil
}

// banner tells a person where to look.
func (m *Main) banner(dataDir string) {
	local := m.URL
	if tcp, err := net.ResolveTCPAddr("tcp", m.URL[len("http://"):]); err == nil && (tcp.IP.IsUnspecified() || tcp.IP.IsLoopback()) {
		local = fmt.Sprintf("http://localhost:%d", tcp.Port)
	}
	w := m.Stdout
	if m.Sandbox != nil {
		fmt.Fprintln(w, "placard is running in sandbox mode: an emulated Microsoft 365 tenant, no Azure needed.")
	} else {
		fmt.Fprintf(w, "placard is running against %s\n", m.Config.Authority)
	}
	if strings.HasPrefix(m.URL, "https://") || m.Config.PublicURL != "" {
		// Where people reach it: the URL they configured (a proxy, a
		// name), or the certificate's name.
		local = m.PublicURL
	}
	fmt.Fprintf(w, "  Screen:      %s/?screen=%s\n", local, url.QueryEscape("Lobby TV"))
	fmt.Fprintf(w, "  Admin:       %s/admin (make a token with: %s)\n", local, m.tokenCommand(dataDir))
	if m.Sandbox != nil {
		fmt.Fprintf(w, "  Phone page:  %s/sandbox/devicelogin\n", m.PublicURL)
		fmt.Fprintf(w, "  Sandbox:     %s/sandbox/\n", local)
	}
	if l := m.SandboxListener; l != nil {
		fmt.Fprintf(w, "  Entra+Graph: %s (authority %s/%s, Graph %s/v1.0)\n", l.URL, l.URL, sandbox.TenantID, l.URL)
		fmt.Fprintf(w, "  Its cert:    %s\n", l.CertFile)
	}
	fmt.Fprintf(w, "  Data:        %s\n", dataDir)
}

// tokenCommand is the command that makes an admin token for this server,
// as typed here: on its data directory, or on the replicas' database,
// named by the variable so that its password is never printed.
func (m *Main) tokenCommand(dataDir string) string {
	if m.Config.Database != "" {
		return selfCommand() + ` admin token -database "$PLACARD_DATABASE_URL"`
	}
	return selfCommand() + " admin token -data " + dataDir
}

// Close shuts the server down gracefully: it tells screens to reconnect,
// stops accepting, stops the sessions and flushes the store.
func (m *Main) Close() error {
	if m.closeOnce {
		return nil
	}
	m.closeOnce = true
	var errs []error
	if m.Hub != nil && m.hubDone != nil {
		if bye, err := wire.Encode(wire.Bye{Reason: "the edge server is restarting"}); err == nil {
			m.Hub.Broadcast(bye)
		}
	}
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutting HTTP down: %w", err))
		}
		cancel()
		<-m.serveDone
	}
	if m.stopHub != nil {
		// The WebSocket connections are hijacked: Shutdown did not wait
		// for them. The hub returns once each one's handler has, so that
		// a screen's request under way (a sign-out) finishes before the
		// screens and the store close.
		m.stopHub()
		<-m.hubDone
	}
	if m.SandboxListener != nil {
		m.SandboxListener.Close()
	}
	if m.debug != nil {
		m.debug.Close()
	}
	if m.metricsSrv != nil {
		m.metricsSrv.Close()
	}
	if m.Admin != nil {
		m.Admin.Close()
	}
	if m.Lights != nil {
		m.Lights.Close()
	}
	if m.MQTT != nil {
		m.MQTT.Close()
	}
	if m.Screens != nil {
		m.Screens.Close()
	}
	if m.Fleet != nil {
		m.Fleet.Close()
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	m.reclaim.Stop()
	return errors.Join(errs...)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serverZone is the zone of screens with none: the configured one, else
// the host's (TZ, or the /etc/localtime link), else UTC.
func serverZone(configured string) string {
	if configured != "" {
		return configured
	}
	if tz := os.Getenv("TZ"); tz != "" {
		if _, err := time.LoadLocation(tz); err == nil {
			return tz
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, zone, ok := strings.Cut(target, "zoneinfo/"); ok {
			if _, err := time.LoadLocation(zone); err == nil {
				return zone
			}
		}
	}
	return "UTC"
}

// openStore opens the PostgreSQL database at dbURL, or, when it is empty,
// the SQLite file in dataDir. On failure the store is nil itself, not a
// nil pointer of a backend in the interface.
func openStore(ctx context.Context, dbURL, dataDir string) (server.Store, error) {
	if dbURL != "" {
		s, err := postgres.Open(ctx, dbURL)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, filepath.Join(dataDir, "placard.db"))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// microsoftAuthority reports whether an authority is on one of Microsoft's
// own identity hosts, which MSAL's instance discovery knows.
func microsoftAuthority(authority string) bool {
	u, err := url.Parse(authority)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	switch host {
	case "login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
		"login.microsoftonline.us", "login.chinacloudapi.cn", "login.partner.microsoftonline.cn":
		return true
	}
	return strings.HasSuffix(host, ".ciamlogin.com")
}

// hostname is the host part of a replica's name.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "edge"
	}
	return h
}

// LeaseTTL is how long a replica owns an account without renewing its
// lease (every 3 s): a replica that dies loses its accounts to the others
// within this time and one renewal, under 15 s.
const LeaseTTL = 10 * time.Second

// replicaName names this process among the replicas: the host and a random
// part, so that a restarted replica is a new one.
func replicaName() string {
	host := hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%x", host, b)
}

// selfCommand is how to run this binary again from the current directory
// ("./bin/placard" after make run), for commands the banner prints.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "placard"
	}
	wd, _ := os.Getwd()
	return commandFrom(exe, wd)
}

// commandFrom is exe as typed in wd: relative when it lies below wd.
func commandFrom(exe, wd string) string {
	if rel, err := filepath.Rel(wd, exe); err == nil && wd != "" && !strings.HasPrefix(rel, "..") {
		return "./" + filepath.ToSlash(rel)
	}
	return exe
}
