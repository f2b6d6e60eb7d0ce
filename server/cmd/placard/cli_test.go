package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/secret"
)

// runCLI runs a subcommand of placard and returns what it printed.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, func(string) string { return "" }, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestTheCommandLineManagesTokensScreensAndShowsTheAudit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := runCLI(t, "screens", "list", "-data", dir); err == nil || !strings.Contains(err.Error(), "no placard database in") {
		t.Fatalf("listing a data directory that does not exist: %v", err)
	}

	out, err := runCLI(t, "admin", "token", "-data", dir, "-name", "ops laptop")
	if err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`padm_[a-z2-7]+\.[A-Za-z0-9_-]{43}`).FindString(out)
	if token == "" || !strings.Contains(out, "shown only now") {
		t.Fatalf("placard admin token printed %q", out)
	}
	out, _ = runCLI(t, "admin", "tokens", "-data", dir)
	id, _, _ := strings.Cut(strings.TrimPrefix(token, "padm_"), ".")
	if !strings.Contains(out, id) || !strings.Contains(out, "ops laptop") || strings.Contains(out, token) {
		t.Errorf("placard admin tokens printed %q: want the id and name, never the secret", out)
	}

	m := startOn(t, dir, "127.0.0.1:0", manualEnroll)
	s := openScreen(t, m, "Lobby TV")
	number := s.waitPhase(10*time.Second, wire.PhasePairing).Pairing.Number
	out, _ = runCLI(t, "screens", "list", "-data", dir)
	if !regexp.MustCompile(`Lobby TV\s+pending\s+` + number).MatchString(out) {
		t.Errorf("placard screens list printed %q", out)
	}
	for _, bad := range []struct{ arg, says string }{
		{"12345", "has 5 digits"}, {"999999", "no screen waits with pairing number 999999"},
	} {
		if _, err := runCLI(t, "screens", "approve", bad.arg, "-data", dir); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("approving %s: %v, want %q", bad.arg, err, bad.says)
		}
	}
	if _, err := runCLI(t, "screens", "approve", "-data", dir, number[:3], number[3:]); err != nil {
		t.Fatal(err)
	}
	s.waitPhase(10*time.Second, wire.PhaseCode)
	out, _ = runCLI(t, "screens", "list", "-data", dir)
	if !regexp.MustCompile(`Lobby TV\s+enrolled\s+-`).MatchString(out) {
		t.Errorf("after approval, placard screens list printed %q", out)
	}

	out, err = runCLI(t, "audit", "-data", dir, "-n", "10")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"screen_created", "screen_enrolled", "by the command line", "code_shown", "admin_token", `"Lobby TV"`} {
		if !strings.Contains(out, want) {
			t.Errorf("placard audit lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines > 11 {
		t.Errorf("placard audit -n 10 printed %d lines", lines)
	}

	if out, err := runCLI(t, "admin", "revoke-token", "-data", dir, id); err != nil || !strings.Contains(out, "Deleted") {
		t.Errorf("revoking the token: %v %q", err, out)
	}
	if _, err := runCLI(t, "admin", "revoke-token", "-data", dir, id); err == nil || !strings.Contains(err.Error(), "no admin token") {
		t.Errorf("revoking it again: %v", err)
	}
}

func TestTheCommandLineSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		args []string
		says string
	}{
		{[]string{"screens"}, "needs a command"},
		{[]string{"screens", "delete"}, `no command "delete"`},
		{[]string{"screens", "approve", "-data", t.TempDir()}, "needs the pairing number"},
		{[]string{"admin", "token", "extra", "-data", t.TempDir()}, "takes no argument"},
		{[]string{"admin", "token", "-name", "a\tb", "-data", filepath.Join(t.TempDir(), "data")}, "printable"},
		{[]string{"audit", "-n", "0"}, "1 or more"},
		{[]string{"key", "x"}, "takes no argument"},
		{[]string{"nonsense"}, "unexpected argument"},
	}
	for _, tt := range tests {
		_, err := runCLI(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("placard %s: %v, want %q", strings.Join(tt.args, " "), err, tt.says)
		}
	}
	out, err := runCLI(t, "key")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secret.LoadKey(strings.TrimSpace(out), ""); err != nil {
		t.Errorf("placard key printed %q, which PLACARD_KEY refuses: %v", out, err)
	}
	if out, _ := runCLI(t, "help"); !strings.Contains(out, selfCommand()+" screens approve") {
		t.Errorf("placard help printed %q", out)
	}
}
