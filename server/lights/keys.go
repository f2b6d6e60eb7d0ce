package lights

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// A light key is "plk_<id>.<secret>": the prefix lets secret scanners
// recognise one, the id finds the stored hash, and the secret is compared
// with it in constant time.
const keyPrefix = "plk_"

// MaxWebhooks bounds the webhook URLs of one key.
const MaxWebhooks = 5

// New is what an administrator asks for when making a light key.
type New struct {
	Name     string   `json:"name"`
	Account  string   `json:"account"`
	MQTT     bool     `json:"mqtt"`
	Webhooks []string `json:"webhooks"`
}

// Made is a new light key, as shown once: the key, and the secret that
// signs its webhooks (when it has any).
type Made struct {
	Light         server.Light
	Key           string
	WebhookSecret string
	// MQTTTopic is where its presence is published, when it is made with
	// MQTT and the server has a broker.
	MQTTTopic string
	// Warnings say what will keep the light dark although the key was
	// made: an account signed in on no screen, no MQTT broker.
	Warnings []string
}

// validName is the shape of a light's name: it is a level of its MQTT
// topic and part of Home Assistant's ids, which allow these only.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Check returns n tidied, or an error naming what is wrong with it.
func (n New) Check() (New, error) {
	n.Name = strings.TrimSpace(n.Name)
	n.Account = strings.ToLower(strings.TrimSpace(n.Account))
	if !validName(n.Name) {
		return n, server.Errorf(server.EINVALID, "light name %q: use 1 to 64 letters, digits, '-' or '_' (it names the light's MQTT topic), e.g. desk-ada", n.Name)
	}
	local, domain, ok := strings.Cut(n.Account, "@")
	if !ok || local == "" || domain == "" || len(n.Account) > 254 || strings.ContainsFunc(n.Account, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return n, server.Errorf(server.EINVALID, "account %q: give the user principal name of the account whose presence the light shows, e.g. ada@contoso.com", n.Account)
	}
	if len(n.Webhooks) > MaxWebhooks {
		return n, server.Errorf(server.EINVALID, "%d webhooks: a light key has at most %d", len(n.Webhooks), MaxWebhooks)
	}
	for i, h := range n.Webhooks {
		h = strings.TrimSpace(h)
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(h) > 2000 {
			return n, server.Errorf(server.EINVALID, "webhook %q: give an absolute http:// or https:// URL with no user name or password in it", h)
		}
		n.Webhooks[i] = h
	}
	return n, nil
}

// Create makes a light key, stores its hash and audits it. The key (and
// the webhook secret) are returned once and never again.
//
// The webhook secret is kept sealed with box (the server's key), as token
// caches are: a copy of the database forges no webhook. box may be nil
// for a key with no webhook.
func Create(ctx context.Context, store server.Store, box *secret.Box, n New, by string, now time.Time, log *slog.Logger) (Made, error) {
	n, err := n.Check()
	if err != nil {
		return Made{}, err
	}
	key := secret.New()
	l := server.Light{
		ID: "l" + secret.NewID(), Name: n.Name, Account: n.Account, Hash: secret.Hash(key),
		MQTT: n.MQTT, Webhooks: n.Webhooks, CreatedAt: now,
	}
	// The key follows one account, by tenant and object id, from the
	// start when it is signed in; else from when it signs in.
	accounts, err := signedIn(ctx, store)
	if err != nil {
		return Made{}, fmt.Errorf("lights: finding the account %s: %w", n.Account, err)
	}
	acct, found, err := bind(accounts, n.Account)
	if err != nil {
		return Made{}, err
	}
	l.AccountID = acct.ID
	made := Made{Key: keyPrefix + l.ID + "." + key}
	if !found {
		made.Warnings = append(made.Warnings, noAccountWarning(n.Account))
	}
	if len(l.Webhooks) > 0 {
		if box == nil {
			return Made{}, errors.New("lights: a key with webhooks needs the server's key to seal its webhook secret (PLACARD_KEY, or the data directory's key file)")
		}
		made.WebhookSecret = NewWebhookSecret()
		if l.WebhookSecret, err = box.Seal([]byte(made.WebhookSecret), secretLabel(l.ID)); err != nil {
			return Made{}, fmt.Errorf("lights: sealing the webhook secret of %q: %w", l.Name, err)
		}
	}
	if err := store.CreateLight(ctx, l); err != nil {
		if server.ErrorCode(err) == server.ECONFLICT {
			return Made{}, server.Errorf(server.ECONFLICT, "a light key is already named %q: choose another name", l.Name)
		}
		return Made{}, fmt.Errorf("lights: making light key %q: %w", l.Name, err)
	}
	made.Light = l
	record(ctx, store, log, server.AuditEvent{Time: now, Kind: server.AuditLight, Account: l.Account, Outcome: "created",
		Detail: fmt.Sprintf("light key %s (%s) by %s", l.ID, l.Name, by)})
	return made, nil
}

// secretLabel binds a sealed webhook secret to its key: moved to another
// row, it does not open.
func secretLabel(id string) string { return "light-webhook-secret:" + id }

// openSecret returns the webhook secret of l, opened with box. A secret
// stored before secrets were sealed is returned as it is, with legacy
// true: the caller seals it.
func openSecret(box *secret.Box, l server.Light) (plain []byte, legacy bool, err error) {
	if !secret.Sealed(l.WebhookSecret) {
		return l.WebhookSecret, true, nil
	}
	if box == nil {
		return nil, false, errors.New("no key to open the webhook secret with")
	}
	plain, err = box.Open(l.WebhookSecret, secretLabel(l.ID))
	if err != nil {
		return nil, false, fmt.Errorf("opening the webhook secret of %s (%s): %w", l.ID, l.Name, err)
	}
	return plain, false, nil
}

// noAccountWarning is what a key for an account that no screen shows is
// told: nothing reads its presence, and the light answers signed_in false
// (dark) until it signs in on a screen. Placard cannot tell an account
// that never signed in here from a mistyped name or one the tenant does
// not have.
func noAccountWarning(upn string) string {
	return fmt.Sprintf("%s is signed in on no screen of this server, so nothing reads its presence: the light stays dark (signed_in false) "+
		"until that account signs in on a screen here. If it is meant to be signed in, check the spelling.", upn)
}

// signedIn returns the accounts shown on screens, by lower-case UPN: a UPN
// is unique within a tenant, so one UPN may name accounts of several
// tenants where several are allowed.
func signedIn(ctx context.Context, store server.Store) (map[string][]server.Account, error) {
	all, err := store.Screens(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := map[string][]server.Account{}
	for _, sc := range all {
		if sc.AccountID == "" || seen[sc.AccountID] {
			continue
		}
		seen[sc.AccountID] = true
		a, err := store.Account(ctx, sc.AccountID)
		if server.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		upn := strings.ToLower(a.Username)
		out[upn] = append(out[upn], a)
	}
	return out, nil
}

// bind finds the one account a key for upn follows among those signed
// in: ok is false when none is; an error when accounts of several tenants
// bear that UPN.
func bind(accounts map[string][]server.Account, upn string) (server.Account, bool, error) {
	found := accounts[strings.ToLower(upn)]
	switch len(found) {
	case 0:
		return server.Account{}, false, nil
	case 1:
		return found[0], true, nil
	}
	var tenants []string
	for _, a := range found {
		tenants = append(tenants, a.TenantID)
	}
	return server.Account{}, false, server.Errorf(server.ECONFLICT,
		"%s is signed in from %d tenants (%s): a light key follows one account, by tenant and object id; "+
			"make the key while only the meant account is signed in", upn, len(found), strings.Join(tenants, ", "))
}

// Revoke deletes a light key and audits it. A running server refuses the
// key at once (it reads the store on every request) and closes its
// streams.
func Revoke(ctx context.Context, store server.Store, id, by string, now time.Time, log *slog.Logger) (server.Light, error) {
	l, err := store.Light(ctx, id)
	if server.IsNotFound(err) {
		return l, server.Errorf(server.ENOTFOUND, "no light key has the id %s (placard lights list shows them)", id)
	}
	if err != nil {
		return l, fmt.Errorf("lights: revoking %s: %w", id, err)
	}
	if err := store.DeleteLight(ctx, id); server.IsNotFound(err) {
		return l, server.Errorf(server.ENOTFOUND, "no light key has the id %s (placard lights list shows them)", id)
	} else if err != nil {
		return l, fmt.Errorf("lights: revoking %s: %w", id, err)
	}
	record(ctx, store, log, server.AuditEvent{Time: now, Kind: server.AuditLight, Account: l.Account, Outcome: "revoked",
		Detail: fmt.Sprintf("light key %s (%s) by %s", l.ID, l.Name, by)})
	return l, nil
}

// ErrBadKey is what a caller is told of any key that does not work:
// whether its id exists is not revealed.
var ErrBadKey = server.Errorf(server.EUNAUTHORIZED, "that light key does not work (revoked, or mistyped): ask an administrator for a new one")

// Authenticate returns the stored light key that key proves, comparing
// the secret's hash in constant time.
func Authenticate(ctx context.Context, store server.Store, key string) (server.Light, error) {
	id, presented, ok := parseKey(key)
	if !ok {
		return server.Light{}, ErrBadKey
	}
	l, err := store.Light(ctx, id)
	if server.IsNotFound(err) {
		// Hash anyway, so that an unknown id costs the same time.
		subtle.ConstantTimeCompare(secret.Hash(presented), make([]byte, sha256.Size))
		return server.Light{}, ErrBadKey
	}
	if err != nil {
		return server.Light{}, fmt.Errorf("lights: checking a key: %w", err)
	}
	if subtle.ConstantTimeCompare(l.Hash, secret.Hash(presented)) != 1 {
		return server.Light{}, ErrBadKey
	}
	return l, nil
}

// parseKey splits a key into its id and its secret; ok is false for
// anything that is not shaped as a key.
func parseKey(key string) (id, presented string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(key), keyPrefix)
	id, presented, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || id == "" || presented == "" || len(key) > 200 {
		return "", "", false
	}
	return id, presented, true
}

func record(ctx context.Context, store server.Store, log *slog.Logger, e server.AuditEvent) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("audit", "kind", e.Kind, "account", e.Account, "outcome", e.Outcome, "detail", e.Detail)
	if err := store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		log.Error("recording an audit event", "kind", e.Kind, "err", err)
	}
}
