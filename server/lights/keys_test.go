package lights_test

import (
	"bytes"
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/secret"
	"github.com/placard/placard/server/sqlite"
)

// testBox seals webhook secrets as a server's key does.
var testBox = func() *secret.Box {
	b, err := secret.NewBox(bytes.Repeat([]byte{42}, secret.KeySize))
	if err != nil {
		panic(err)
	}
	return b
}()

// newStore returns a store where ada and grace are signed in on a screen
// each (accountID gives their accounts' ids).
func newStore(t *testing.T) server.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "placard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, upn := range []string{"ada@placard.example", "grace@placard.example"} {
		signIn(t, s, server.Account{ID: accountID(upn), Username: upn, TenantID: "tid-placard"})
	}
	return s
}

// accountID is the id of a test account.
func accountID(upn string) string { return "oid-" + strings.ToLower(upn) + ".tid-placard" }

// signIn stores the account as shown on a screen of its own.
func signIn(t *testing.T, s server.Store, a server.Account) {
	t.Helper()
	if err := s.PutAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateScreen(t.Context(), server.Screen{ID: "s-" + a.ID, Name: "Desk of " + a.ID, SecretHash: []byte{1}, Enrolled: true,
		AccountID: a.ID, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestANewLightKeyIsCheckedAndSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		name string
		n    lights.New
		says string // "" for valid
	}{
		{"valid", lights.New{Name: "desk-ada", Account: " Ada@Placard.example "}, ""},
		{"webhooks", lights.New{Name: "hall_1", Account: "ada@placard.example", Webhooks: []string{"https://hub.local/x", "http://10.0.0.2:8123/api/webhook/y"}}, ""},
		{"empty name", lights.New{Account: "ada@placard.example"}, "light name"},
		{"name with a slash", lights.New{Name: "a/b", Account: "ada@placard.example"}, "letters, digits"},
		{"name with an MQTT wildcard", lights.New{Name: "desk#", Account: "ada@placard.example"}, "MQTT topic"},
		{"long name", lights.New{Name: strings.Repeat("a", 65), Account: "ada@placard.example"}, "1 to 64"},
		{"no account", lights.New{Name: "desk"}, "user principal name"},
		{"account without domain", lights.New{Name: "desk", Account: "ada"}, "user principal name"},
		{"webhook not http", lights.New{Name: "desk", Account: "ada@placard.example", Webhooks: []string{"ftp://x/y"}}, "http:// or https://"},
		{"webhook with a password", lights.New{Name: "desk", Account: "ada@placard.example", Webhooks: []string{"https://u:p@x/y"}}, "no user name or password"},
		{"too many webhooks", lights.New{Name: "desk", Account: "ada@placard.example", Webhooks: strings.Fields(strings.Repeat("https://x/ ", 6))}, "at most 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.n.Check()
			switch {
			case tt.says == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.says == "" && got.Account != strings.ToLower(strings.TrimSpace(tt.n.Account)):
				t.Errorf("account %q, want it lower-cased and trimmed", got.Account)
			case tt.says != "" && (err == nil || server.ErrorCode(err) != server.EINVALID || !strings.Contains(err.Error(), tt.says)):
				t.Errorf("Check() = %v, want an invalid error saying %q", err, tt.says)
			}
		})
	}
}

func TestALightKeyIsStoredAsAHashAndWorksUntilRevoked(t *testing.T) {
	store := newStore(t)
	ctx := t.Context()
	made, err := lights.Create(ctx, store, testBox, lights.New{Name: "desk-ada", Account: "ada@placard.example", Webhooks: []string{"https://hub.local/p"}}, "test", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(made.Key, "plk_"+made.Light.ID+".") || made.WebhookSecret == "" {
		t.Fatalf("made %+v", made)
	}
	stored, err := store.Light(ctx, made.Light.ID)
	if err != nil {
		t.Fatal(err)
	}
	keySecret := made.Key[strings.Index(made.Key, ".")+1:]
	sum := sha256.Sum256([]byte(keySecret))
	if !bytes.Equal(stored.Hash, sum[:]) || bytes.Contains(stored.Hash, []byte(keySecret)) {
		t.Errorf("the store holds %x, want the SHA-256 of the secret only", stored.Hash)
	}
	if l, err := lights.Authenticate(ctx, store, made.Key); err != nil || l.ID != made.Light.ID || l.Account != "ada@placard.example" {
		t.Errorf("Authenticate = %+v, %v", l, err)
	}
	for _, bad := range []string{"", made.Key + "x", "plk_" + made.Light.ID, strings.Replace(made.Key, "plk_", "padm_", 1), "plk_lnone." + keySecret} {
		if _, err := lights.Authenticate(ctx, store, bad); err != lights.ErrBadKey {
			t.Errorf("Authenticate(%q) = %v, want ErrBadKey", bad, err)
		}
	}
	if _, err := lights.Create(ctx, store, testBox, lights.New{Name: "desk-ada", Account: "grace@placard.example"}, "test", time.Now(), nil); server.ErrorCode(err) != server.ECONFLICT {
		t.Errorf("a second key named desk-ada: %v, want a conflict", err)
	}
	if _, err := lights.Revoke(ctx, store, made.Light.ID, "test", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := lights.Authenticate(ctx, store, made.Key); err != lights.ErrBadKey {
		t.Errorf("a revoked key: %v, want ErrBadKey", err)
	}
	if _, err := lights.Revoke(ctx, store, made.Light.ID, "test", time.Now(), nil); server.ErrorCode(err) != server.ENOTFOUND {
		t.Errorf("revoking it again: %v, want not found", err)
	}
	events, _ := store.Audit(ctx, 10)
	var kinds []string
	for _, e := range events {
		if e.Kind == server.AuditLight {
			kinds = append(kinds, e.Outcome)
		}
	}
	if strings.Join(kinds, ",") != "revoked,created" {
		t.Errorf("audited light key events %v, want revoked then created", kinds)
	}
}
