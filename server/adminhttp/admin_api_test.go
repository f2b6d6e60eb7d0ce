package adminhttp

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/screens"
)

func TestAdminBodiesAreDecodedStrictly(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]byte) error
		in     string
		says   string // "" when accepted
	}{
		{"approve", dApprove, `{"pairing_number":"482 913"}`, ""},
		{"approve without number", dApprove, `{}`, "has 0 digits"},
		{"approve with letters", dApprove, `{"pairing_number":"48291x"}`, `'x'`},
		{"approve unknown field", dApprove, `{"pairing_number":"482913","screen":"x"}`, "unknown field"},
		{"approve trailing data", dApprove, `{"pairing_number":"482913"}{}`, "after its JSON"},
		{"approve not an object", dApprove, `["482913"]`, "not the expected JSON"},
		{"approve number as number", dApprove, `{"pairing_number":482913}`, "not the expected JSON"},
		{"rename", dRename, `{"name":" Main hall "}`, ""},
		{"rename empty", dRename, `{"name":""}`, "empty"},
		{"rename control character", dRename, `{"name":"a\u0000b"}`, "control character"},
		{"rename too long", dRename, `{"name":"` + strings.Repeat("é", wire.MaxNameLength+1) + `"}`, "longer than"},
		{"settings", dSettings, `{"time_zone":"Europe/Paris","clock24":true,"lang":"fr","privacy":true,"hours":"07:00-19:00"}`, ""},
		{"settings empty is all defaults", dSettings, ``, ""},
		{"settings bad zone", dSettings, `{"time_zone":"../../etc/passwd"}`, "not an IANA zone"},
		{"settings bad hours", dSettings, `{"hours":"always"}`, "HH:MM-HH:MM"},
		{"settings unknown field", dSettings, `{"theme":"dark"}`, "unknown field"},
		{"poll", dPoll, `{"sign_in":"abc"}`, ""},
		{"poll without the secret", dPoll, `{}`, `"sign_in" must be`},
		{"poll unknown field", dPoll, `{"sign_in":"abc","no_quick_book":true}`, "unknown field"},
		{"oversized", dRename, `{"name":"` + strings.Repeat("x", maxBody) + `"}`, "over 16384 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode([]byte(tt.in))
			if tt.says == "" {
				if err != nil {
					t.Fatalf("refused %s: %v", tt.in, err)
				}
				return
			}
			if server.ErrorCode(err) != server.EINVALID || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("decoding %.80s: %v, want invalid saying %q", tt.in, err, tt.says)
			}
		})
	}
}

func dApprove(b []byte) error  { _, err := decodeApprove(b); return err }
func dRename(b []byte) error   { _, err := decodeRename(b); return err }
func dSettings(b []byte) error { _, err := decodeSettings(b); return err }
func dPoll(b []byte) error     { _, err := decodeSignInPoll(b); return err }

// FuzzAdminBodies feeds the same bytes to every decoder of an admin API
// body: none panics, every refusal is an EINVALID with a message, and
// whatever is accepted is valid by the domain's own rules.
func FuzzAdminBodies(f *testing.F) {
	for _, s := range []string{
		`{"pairing_number":"482 913"}`, `{"name":"Lobby TV"}`,
		`{"time_zone":"Europe/Paris","clock24":true,"lang":"fr","privacy":true,"hours":"07:00-19:00"}`,
		`{"sign_in":"x"}`, `{}`, ``, `null`, `[]`, `{"name":"\u0000"}`, `{"a":1}{"b":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		refused := func(what string, err error) {
			if err != nil && (server.ErrorCode(err) != server.EINVALID || server.ErrorMessage(err) == "") {
				t.Fatalf("%s refused %q without a clear error: %v", what, b, err)
			}
		}
		if n, err := decodeApprove(b); err == nil {
			if again, err := screens.ParsePairingNumber(n); err != nil || again != n {
				t.Fatalf("approve accepted %q from %q", n, b)
			}
		} else {
			refused("approve", err)
		}
		if name, err := decodeRename(b); err == nil {
			if wire.ValidateName(name) != nil || !utf8.ValidString(name) {
				t.Fatalf("rename accepted %q from %q", name, b)
			}
		} else {
			refused("rename", err)
		}
		if set, err := decodeSettings(b); err == nil {
			if err := screens.ValidateSettings(set); err != nil {
				t.Fatalf("settings accepted %+v from %q: %v", set, b, err)
			}
			// What is accepted survives a round trip through the API's JSON.
			out, _ := json.Marshal(settingsJSON(set))
			if again, err := decodeSettings(out); err != nil || again != set {
				t.Fatalf("settings %+v do not round trip: %v", set, err)
			}
		} else {
			refused("settings", err)
		}
		if _, err := decodeSignInPoll(b); err != nil {
			refused("sign-in poll", err)
		}
		if _, err := decodeSignInStart(b); err != nil {
			refused("sign-in start", err)
		}
		// Admin tokens come from clients too.
		if id, secret, ok := admin.ParseToken(string(b)); ok && (id == "" || secret == "" || strings.Contains(id, ".")) {
			t.Fatalf("admin.ParseToken(%q) = %q, %q", b, id, secret)
		}
	})
}
