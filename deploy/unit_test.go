package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// unitSettings reads a unit file's Key=Value lines, each key's values in
// order.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		out[k] = append(out[k], v)
	}
	return out
}

// The unit as installed, with its binary where the test has it:
// systemd-analyze checks that ExecStart's program exists.
func installedUnit(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("placard.service")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "placard.service")
	unit := strings.ReplaceAll(string(b), "/usr/local/bin/placard", artifact(t, "placard-linux-amd64"))
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTheSystemdUnitVerifiesAndIsHardened(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	unit := installedUnit(t)
	// systemd-analyze verify exits 0 on a setting it ignores, with a
	// warning: any output fails.
	out, err := command(t, filepath.Dir(unit), nil, analyze, "verify", unit)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = command(t, filepath.Dir(unit), nil, analyze, "security", "--offline=yes", unit)
	m := regexp.MustCompile(`Overall exposure level for placard.service: ([0-9.]+) (\w+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	// systemd's scale: 0 is the most locked down, 10 the least; under 2
	// it says OK. A plain service with User= scores about 9.
	if score, _ := strconv.ParseFloat(m[1], 64); score > 2.0 {
		t.Errorf("exposure %s %s, want 2.0 or less:\n%s", m[1], m[2], out)
	} else {
		t.Logf("systemd-analyze security: exposure %s %s", m[1], m[2])
	}

	got := unitSettings(t, "placard.service")
	for k, v := range map[string]string{
		"User":                   "placard",
		"StateDirectory":         "placard",
		"StateDirectoryMode":     "0700",
		"ProtectSystem":          "strict",
		"NoNewPrivileges":        "yes",
		"AmbientCapabilities":    "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":  "CAP_NET_BIND_SERVICE",
		"PrivateTmp":             "yes",
		"ProtectHome":            "yes",
		"EnvironmentFile":        "-/etc/placard/placard.env",
		"ExecStartPre":           "/usr/local/bin/placard -check-config",
		"ExecStart":              "/usr/local/bin/placard",
		"SystemCallErrorNumber":  "EPERM",
		"MemoryDenyWriteExecute": "yes",
	} {
		if len(got[k]) == 0 || got[k][0] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
}

// The unit's own settings (its Environment= lines) pass placard
// -check-config: the data directory it names is where StateDirectory=
// puts it.
func TestTheSystemdUnitsSettingsPassCheckConfig(t *testing.T) {
	got := unitSettings(t, "placard.service")
	var env []string
	for _, kv := range got["Environment"] {
		env = append(env, strings.Trim(kv, `"`))
	}
	if !contains(env, "PLACARD_DATA=/var/lib/placard") {
		t.Errorf("Environment %q: want PLACARD_DATA=/var/lib/placard, StateDirectory=placard's path", env)
	}
	// StateDirectory= makes /var/lib/placard: here, a directory like it.
	state := filepath.Join(t.TempDir(), "var", "lib", "placard")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, kv := range env {
		if kv == "PLACARD_DATA=/var/lib/placard" {
			env[i] = "PLACARD_DATA=" + state
		}
	}
	out, err := command(t, "", cleanEnv(env...), artifact(t, "placard-linux-amd64"), "-check-config")
	if err != nil || !strings.Contains(out, "this configuration starts") {
		t.Errorf("placard -check-config with the unit's environment %q: %v\n%s", env, err, out)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
