package main

import (
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
)

// tokenOf makes an admin token with a role on m.
func tokenOf(t *testing.T, m *Main, role string) string {
	t.Helper()
	made, err := m.Ops.MakeToken(t.Context(), admin.Actor{Who: "the test", Role: server.RoleAdmin}, "test "+role, role)
	if err != nil {
		t.Fatal(err)
	}
	return made.Secret
}

// scrape reads m's /metrics as Prometheus does, with an admin token.
func scrape(t *testing.T, m *Main) string {
	t.Helper()
	status, body := getMetrics(t, m.URL+"/metrics", tokenOf(t, m, server.RoleViewer))
	if status != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", status, body)
	}
	return body
}

func getMetrics(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// /metrics shows sign-ins as they happen: only administrators read it, or
// whoever reaches the address the operator gave it.
func TestMetricsAreForAdministratorsOnly(t *testing.T) {
	m := testServer(t)
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a wrong token", "padm_anything.wrong", http.StatusUnauthorized},
		{"a light key", "plk_not-an-admin-token", http.StatusUnauthorized},
		{"a viewer's token", tokenOf(t, m, server.RoleViewer), http.StatusOK},
		{"an admin's token", tokenOf(t, m, server.RoleAdmin), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := getMetrics(t, m.URL+"/metrics", tt.token)
			if status != tt.status {
				t.Errorf("/metrics answered %d, want %d: %.200s", status, tt.status, body)
			}
		})
	}

	t.Run("a client in the admin networks", func(t *testing.T) {
		m := testServer(t, func(m *Main) { m.Config.AdminNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
		if status, body := getMetrics(t, m.URL+"/metrics", ""); status != http.StatusOK {
			t.Errorf("/metrics answered %d to a client of the admin networks: %.200s", status, body)
		}
	})
	t.Run("an address of its own", func(t *testing.T) {
		m := testServer(t, func(m *Main) { m.Config.MetricsAddr = "127.0.0.1:0" })
		if status, _ := getMetrics(t, m.URL+"/metrics", tokenOf(t, m, server.RoleAdmin)); status != http.StatusNotFound {
			t.Errorf("with -metrics-addr, -addr answered /metrics %d, want 404", status)
		}
		if status, body := getMetrics(t, m.MetricsURL+"/metrics", ""); status != http.StatusOK || metric(t, body, "go_goroutines") == 0 {
			t.Errorf("-metrics-addr answered %d: %.200s", status, body)
		}
	})
}
