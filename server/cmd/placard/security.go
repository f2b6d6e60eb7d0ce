package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/placard/placard/server/adminhttp"
	"github.com/placard/placard/server/buildinfo"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/sandbox"
	"github.com/placard/placard/server/screens"
)

// Security is the configuration of the answers of docs/security.md: TLS, tenants,
// origins, networks and rate limits.
type Security struct {
	TLSCert, TLSKey string
	ACMEDomain      string
	ACMEEmail       string
	// InsecureHTTP allows plain HTTP on every interface with a real tenant
	// (a TLS proxy in front, on another host).
	InsecureHTTP bool
	// AllowedTenants are tenant ids whose accounts are accepted besides the
	// configured tenant's.
	AllowedTenants []string
	// AdminTenant is the tenant id whose accounts may sign in to /admin
	// with the app role; the configured tenant's by default, required
	// when that is organizations or common.
	AdminTenant string
	// Origins are WebSocket origins allowed besides the server's own.
	Origins []string
	// ScreenNetworks, when set, are the only networks screens connect from;
	// AdminNetworks the only ones /admin answers to.
	ScreenNetworks []netip.Prefix
	AdminNetworks  []netip.Prefix
	// WebhookNetworks are loopback, private or link-local networks that
	// light keys' webhooks may reach all the same (Home Assistant on the
	// LAN); every other such address is refused when dialled.
	WebhookNetworks []netip.Prefix
	// TrustedProxies are the networks of the proxies in front whose
	// X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// CodesPerMinute bounds device codes for all screens together.
	CodesPerMinute int

	// Set by tests only (no flag): the other rate limits, zero for the
	// defaults.
	CodesPerScreen limit.Rate
	NewScreens     limit.Rate
	LoginFailures  limit.Rate
}

// securityRaw holds the flags' text until they are checked.
type securityRaw struct {
	insecure                                   string
	tenants, origins, networks, admins, perMin string
	adminTenant, proxies, webhooks             string
	sec                                        *Security
}

func securityFlags(fs *flag.FlagSet, env func(k, def string) string) *securityRaw {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage()+"\nFlags of the edge server:\n")
		fs.PrintDefaults()
	}
	r := &securityRaw{}
	r.insecure = env("PLACARD_INSECURE_HTTP", "false")
	fs.Var((*boolText)(&r.insecure), "insecure-http", "with a real tenant, serve plain HTTP on every interface (behind a TLS proxy on another host) (PLACARD_INSECURE_HTTP)")
	fs.StringVar(&r.tenants, "allowed-tenants", env("PLACARD_ALLOWED_TENANTS", ""), "tenant ids (comma-separated) whose accounts are accepted besides the configured tenant's (PLACARD_ALLOWED_TENANTS)")
	fs.StringVar(&r.adminTenant, "admin-tenant", env("PLACARD_ADMIN_TENANT", ""), "tenant id whose accounts may sign in to /admin with the app role placard.admin; the -tenant's by default, required with organizations (PLACARD_ADMIN_TENANT)")
	fs.StringVar(&r.origins, "origins", env("PLACARD_ORIGINS", ""), "origins (comma-separated) allowed to open screens' WebSockets besides this server's own, e.g. https://kiosk.example (PLACARD_ORIGINS)")
	fs.StringVar(&r.networks, "screen-networks", env("PLACARD_SCREEN_NETWORKS", ""), "networks (comma-separated CIDRs) screens may connect from; empty for any (PLACARD_SCREEN_NETWORKS)")
	fs.StringVar(&r.admins, "admin-networks", env("PLACARD_ADMIN_NETWORKS", ""), "networks (comma-separated CIDRs) the admin page and API answer to; empty for any (PLACARD_ADMIN_NETWORKS)")
	fs.StringVar(&r.webhooks, "webhook-allow-networks", env("PLACARD_WEBHOOK_ALLOW_NETWORKS", ""), "loopback, private or link-local networks (comma-separated CIDRs or addresses) that light keys' webhooks may be sent to, e.g. 192.168.1.20 for Home Assistant on the LAN; webhooks to any other such address are refused (PLACARD_WEBHOOK_ALLOW_NETWORKS)")
	fs.StringVar(&r.proxies, "trusted-proxies", env("PLACARD_TRUSTED_PROXIES", ""), "networks (comma-separated CIDRs) of the proxies in front of this server whose X-Forwarded-For and X-Forwarded-Proto are believed; empty for none (PLACARD_TRUSTED_PROXIES)")
	fs.StringVar(&r.perMin, "codes-per-minute", env("PLACARD_CODES_PER_MINUTE", strconv.Itoa(screens.DefaultCodesTotal.Max)), "sign-in codes the server may ask for per minute, for all screens together (PLACARD_CODES_PER_MINUTE)")
	r.sec = &Security{}
	fs.StringVar(&r.sec.TLSCert, "tls-cert", env("PLACARD_TLS_CERT", ""), "PEM certificate file to serve HTTPS with (PLACARD_TLS_CERT)")
	fs.StringVar(&r.sec.TLSKey, "tls-key", env("PLACARD_TLS_KEY", ""), "PEM private key file of -tls-cert (PLACARD_TLS_KEY)")
	fs.StringVar(&r.sec.ACMEDomain, "acme-domain", env("PLACARD_ACME_DOMAIN", ""), "public DNS name to get a Let's Encrypt certificate for; the name must reach this server on port 443 (PLACARD_ACME_DOMAIN)")
	fs.StringVar(&r.sec.ACMEEmail, "acme-email", env("PLACARD_ACME_EMAIL", ""), "contact address for the ACME account (PLACARD_ACME_EMAIL)")
	return r
}

// boolText is a boolean flag kept as text, so that a bad value from the
// environment is reported with the other mistakes.
type boolText string

func (b *boolText) String() string     { return string(*b) }
func (b *boolText) Set(s string) error { *b = boolText(s); return nil }
func (b *boolText) IsBoolFlag() bool   { return true }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// list splits a flag's comma- or space-separated values.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// networks reads a flag's networks: CIDRs, or addresses for one host.
func networks(flag, s string, bad func(string, ...any)) []netip.Prefix {
	var out []netip.Prefix
	for _, n := range list(s) {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, aerr := netip.ParseAddr(n)
			if aerr != nil {
				bad("%s: %q is not a network such as 10.20.0.0/16 or an address", flag, n)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// check reads the flags into c.Security, naming every value that is wrong.
func (r *securityRaw) check(c *Config, bad func(string, ...any)) {
	sec := *r.sec
	var err error
	if sec.InsecureHTTP, err = strconv.ParseBool(r.insecure); err != nil {
		bad("-insecure-http %q must be true or false", r.insecure)
	}
	for _, t := range list(r.tenants) {
		if !guidRE.MatchString(t) {
			bad("-allowed-tenants: %q is not a tenant id (a GUID, as Entra shows it under Tenant ID)", t)
			continue
		}
		sec.AllowedTenants = append(sec.AllowedTenants, strings.ToLower(t))
	}
	if t := strings.TrimSpace(r.adminTenant); t != "" {
		if guidRE.MatchString(t) {
			sec.AdminTenant = strings.ToLower(t)
		} else {
			bad("-admin-tenant %q is not a tenant id (a GUID, as Entra shows it under Tenant ID)", t)
		}
	}
	for _, o := range list(r.origins) {
		o = strings.TrimRight(o, "/")
		if !validOrigin(o) {
			bad("-origins: %q is not an origin such as https://kiosk.example or http://10.0.0.5:8080", o)
			continue
		}
		sec.Origins = append(sec.Origins, o)
	}
	sec.ScreenNetworks = networks("-screen-networks", r.networks, bad)
	sec.AdminNetworks = networks("-admin-networks", r.admins, bad)
	sec.TrustedProxies = networks("-trusted-proxies", r.proxies, bad)
	sec.WebhookNetworks = networks("-webhook-allow-networks", r.webhooks, bad)
	if sec.CodesPerMinute, err = strconv.Atoi(r.perMin); err != nil || sec.CodesPerMinute < 1 {
		bad("-codes-per-minute %q must be a whole number of 1 or more", r.perMin)
	}

	switch {
	case (sec.TLSCert == "") != (sec.TLSKey == ""):
		bad("-tls-cert and -tls-key go together: name both files, or neither")
	case sec.TLSCert != "" && sec.ACMEDomain != "":
		bad("-acme-domain and -tls-cert are two ways to get a certificate: choose one")
	}
	if d := sec.ACMEDomain; d != "" {
		if net.ParseIP(d) != nil || !strings.Contains(d, ".") || strings.ContainsAny(d, "/:* ") {
			bad("-acme-domain %q must be a public DNS name such as placard.example.com (Let's Encrypt issues no certificate for an address)", d)
		}
	}
	tls := sec.TLSCert != "" || sec.ACMEDomain != ""
	if !c.Sandbox() {
		if c.AutoEnroll {
			bad("-enroll auto is for the sandbox only: with a real tenant an administrator approves each screen (docs/security.md)")
		}
		if !tls && !sec.InsecureHTTP && !loopbackOnly(c.Addr) {
			bad("-addr %s serves plain HTTP on the network: with a real tenant, serve HTTPS (-tls-cert and -tls-key, or -acme-domain), "+
				"listen on 127.0.0.1 behind a TLS proxy on this host, or pass -insecure-http if a TLS proxy elsewhere fronts this server", c.Addr)
		}
		if multiTenant(c.Authority) && r.adminTenant == "" {
			bad("-admin-tenant is required with a multi-tenant authority (%s): whoever owns a tenant can assign themselves placard.admin there, "+
				"so set PLACARD_ADMIN_TENANT to the tenant id (a GUID) of the organisation whose administrators run this server", c.Authority)
		}
		if u, err := url.Parse(c.PublicURL); err == nil && u.Scheme == "http" && !sec.InsecureHTTP && !loopbackHost(u.Hostname()) {
			bad("-public-url %s is plain HTTP: with a real tenant screens and phones must reach the server over HTTPS (or pass -insecure-http)", c.PublicURL)
		}
	}
	c.Security = sec
}

// allowedTenants are the tenants whose accounts may sign in: the
// configured tenant's id (learned from the authority's OpenID metadata
// when the tenant is a domain) and -allowed-tenants. A multi-tenant
// authority (organizations) names no tenant: then only -allowed-tenants
// pins, and without it any work account is accepted, as configured. The
// sandbox's own tenant is the configured one in sandbox mode, unless
// -allowed-tenants names others (to see a refusal).
func allowedTenants(ctx context.Context, hc *http.Client, cfg Config, authority string) ([]string, error) {
	extra := cfg.AllowedTenants
	if cfg.Sandbox() {
		if len(extra) > 0 {
			return extra, nil
		}
		return []string{strings.ToLower(sandbox.TenantID)}, nil
	}
	own, err := identity.TenantID(ctx, hc, authority)
	if err != nil {
		return nil, fmt.Errorf("%w: set PLACARD_TENANT to the tenant id (a GUID) to start without asking", err)
	}
	out := slices.Clone(extra)
	if own != "" && !slices.Contains(out, own) {
		out = append([]string{own}, out...)
	}
	return out, nil
}

// multiTenant reports whether an authority names no one tenant
// (organizations or common).
func multiTenant(authority string) bool {
	u, err := url.Parse(authority)
	if err != nil {
		return false
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch strings.ToLower(seg[len(seg)-1]) {
	case "organizations", "common":
		return true
	}
	return false
}

// adminTenant is the tenant whose accounts may administer the server with
// the app role: -admin-tenant, else the configured tenant's id. An app
// role means something only in the tenant whose administrators assign it:
// the owner of any other tenant can consent to the application there and
// assign it to themselves. In the sandbox, -allowed-tenants stands for
// the configured tenant when it leaves the sandbox's own out (see
// allowedTenants): its first is then the administrators'.
func adminTenant(ctx context.Context, hc *http.Client, cfg Config, authority string) (string, error) {
	if cfg.AdminTenant != "" {
		return cfg.AdminTenant, nil
	}
	if cfg.Sandbox() {
		own := strings.ToLower(sandbox.TenantID)
		if len(cfg.AllowedTenants) == 0 || slices.Contains(cfg.AllowedTenants, own) {
			return own, nil
		}
		return cfg.AllowedTenants[0], nil
	}
	own, err := identity.TenantID(ctx, hc, authority)
	if err != nil {
		return "", fmt.Errorf("%w: set PLACARD_TENANT or PLACARD_ADMIN_TENANT to the tenant id (a GUID) to start without asking", err)
	}
	if own == "" {
		return "", fmt.Errorf("the authority %s is multi-tenant: set PLACARD_ADMIN_TENANT to the tenant id of the administrators' organisation", authority)
	}
	return own, nil
}

// codesTotal is the limit of device codes for all screens together.
func (s Security) codesTotal() limit.Rate {
	return limit.Rate{Max: s.CodesPerMinute, Per: time.Minute}
}

// about is what the admin page says of this server.
func (m *Main) about(authority string, scopes, tenants []string, admins, signIn, signInWhy string, byQR bool) adminhttp.About {
	a := adminhttp.About{
		Mode:           "Microsoft identity platform, " + authority,
		Enrollment:     "wait for an administrator's approval",
		Scopes:         scopes,
		AllowedTenants: tenants,
		AdminTenant:    admins,
		SignIn:         signIn,
		SignInWhy:      signInWhy,
		SignInByQR:     byQR,
		QuickBook:      slices.Contains(scopes, screens.ScopeBook),
		Build:          buildinfo.Read(),
	}
	if m.Sandbox != nil {
		a.Mode = "sandbox: an emulated tenant with demo users, no real account"
	}
	if m.Config.AutoEnroll {
		a.Enrollment = "enrolled automatically (-enroll auto)"
	}
	return a
}
