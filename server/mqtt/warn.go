package mqtt

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Warnings says what is unsafe about how the broker URL raw was given:
// fromFlag is true when it came from -mqtt-url rather than
// PLACARD_MQTT_URL. It only reads the URL (it resolves and dials
// nothing): a host name other than localhost is taken to be on the
// network.
func Warnings(raw string, fromFlag bool) []string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	if _, ok := u.User.Password(); !ok {
		return nil
	}
	var out []string
	if fromFlag {
		out = append(out, "the -mqtt-url flag holds the broker's password, and any user of this machine sees a process's flags (ps): "+
			"set PLACARD_MQTT_URL in the environment instead (an EnvironmentFile with mode 0600 under systemd)")
	}
	if u.Scheme == "mqtt" && !loopbackHost(u.Hostname()) {
		out = append(out, fmt.Sprintf("the MQTT password goes unencrypted over mqtt:// to %s, where anyone on the network path can read it: "+
			"use mqtts:// (with -mqtt-ca for a private certificate authority)", u.Hostname()))
	}
	return out
}

// loopbackHost reports whether host names this machine without a look-up:
// localhost, or a loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
