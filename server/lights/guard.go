package lights

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// A webhook's URL is an administrator's, but what it names is looked up
// and dialled from inside the network: without a guard, a key's webhook
// (or a receiver's redirect) reaches the edge server's own admin port,
// a router's page or a cloud's metadata service, with a signed body. So
// webhooks follow no redirect, use no proxy, and dial only addresses
// that are on the Internet, unless the operator allows some networks
// (-webhook-allow-networks: Home Assistant on the LAN). The check is made
// on the address being dialled, after the name was looked up: a name that
// resolves to a public address when the key is made and to 127.0.0.1 when
// the webhook is sent (DNS rebinding) is refused all the same.

// ErrRedirect is how a webhook's redirect is reported: it is not followed.
var ErrRedirect = errors.New("the receiver answered with a redirect, which placard does not follow: give the webhook's final URL")

// RefusedAddr is a webhook destination that is not on the Internet and
// not among the networks the operator allows.
type RefusedAddr struct {
	Addr netip.Addr
	Why  string // "a loopback address", ...
}

func (e *RefusedAddr) Error() string {
	return fmt.Sprintf("refused to send a webhook to %s: it is %s; allow it with -webhook-allow-networks %s/%d if it is meant",
		e.Addr, e.Why, e.Addr, e.Addr.BitLen())
}

// special are the blocks, beyond what netip.Addr says of itself, whose
// addresses are not on the Internet (IANA's special-purpose registries),
// with what they are.
var special = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "an address of \"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "a deprecated IPv4-compatible address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// Embedded IPv4: the IPv4 address a NAT64 or 6to4 address leads to is
// the one that counts.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// CheckWebhookAddr says why a webhook may not be sent to a, or nil when
// it may: a is on the Internet, or in one of allow.
func CheckWebhookAddr(a netip.Addr, allow []netip.Prefix) error {
	a = a.Unmap()
	for _, p := range allow {
		if p.Contains(a) {
			return nil
		}
	}
	why := ""
	switch {
	case !a.IsValid():
		why = "no address"
	case a.IsUnspecified():
		why = "the unspecified address"
	case a.IsLoopback():
		why = "a loopback address"
	case a.IsLinkLocalUnicast():
		why = "a link-local address"
	case a.IsPrivate():
		why = "a private address"
	case a.IsMulticast():
		why = "a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		why = "the broadcast address"
	}
	if why == "" {
		for _, s := range special {
			if s.p.Contains(a) {
				why = s.why
				break
			}
		}
	}
	if why == "" && a.Is6() {
		b := a.As16()
		var inner netip.Addr
		switch {
		case nat64.Contains(a):
			inner = netip.AddrFrom4([4]byte(b[12:16]))
		case sixTo4.Contains(a):
			inner = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if inner.IsValid() {
			var r *RefusedAddr
			if errors.As(CheckWebhookAddr(inner, allow), &r) {
				why = "an IPv6 address that leads to " + r.Why + " (" + inner.String() + ")"
			}
		}
	}
	if why == "" {
		return nil
	}
	return &RefusedAddr{Addr: a, Why: why}
}

// NewWebhookClient returns the client webhooks are sent with: no proxy,
// no redirect, and a dialler that refuses what CheckWebhookAddr refuses.
func NewWebhookClient(allow []netip.Prefix) *http.Client {
	d := &net.Dialer{
		Timeout: 10 * time.Second,
		// Control runs for each address dialled, once the name was looked
		// up (for each of a name's addresses that is tried).
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("refused to send a webhook to %q: not an address", address)
			}
			return CheckWebhookAddr(ap.Addr(), allow)
		},
	}
	t := &http.Transport{
		// A proxy would dial the receiver itself, past the check.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		// A redirect would send the signed body somewhere the
		// administrator never named.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
