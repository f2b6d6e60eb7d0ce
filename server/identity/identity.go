// Package identity signs accounts in with the OAuth 2.0 device authorization
// grant or the authorization code grant with PKCE, and keeps their tokens,
// through MSAL Go's public client.
//
// Every account has its own MSAL client and its own token cache (MSAL's
// advice: one cache per user), persisted through cache.ExportReplace into a
// CacheStore; SealedCaches encrypts them at rest. Tokens never leave this
// package except as the access token handed to the Graph client.
package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/secret"
)

// DefaultScopes are least privilege for a display: read the profile, the
// calendar and the presence. MSAL adds openid, profile and offline_access.
var DefaultScopes = []string{"User.Read", "Calendars.Read", "Presence.Read"}

// CacheStore keeps one MSAL cache blob per account. A Client makes its calls
// for one account one at a time, under that account's lock (see Client), so
// a store needs no locking of its own within one process.
type CacheStore interface {
	// LoadCache returns the blob, or nil and no error when there is none.
	LoadCache(ctx context.Context, accountID string) ([]byte, error)
	SaveCache(ctx context.Context, accountID string, blob []byte) error
	DeleteCache(ctx context.Context, accountID string) error
}

// VersionedCaches is a CacheStore shared by replicas: a cache read at one
// version is written back only over that version. Refresh tokens rotate,
// so a replica that read the cache, lost the account to another that
// refreshed meanwhile and then wrote its own older view would keep a
// refresh token already spent, and sign the account out (invalid_grant).
type VersionedCaches interface {
	CacheStore
	// LoadCacheVersion is LoadCache with the blob's version (zero: none).
	// When the stored version is still have (not zero), it returns that
	// version and a nil blob: the caller holds that blob already, and
	// nothing is opened.
	LoadCacheVersion(ctx context.Context, accountID string, have CacheVersion) ([]byte, CacheVersion, error)
	// SaveCacheIf writes blob while the stored version number is still
	// version and returns the new version; otherwise it fails with a
	// conflict (server.ECONFLICT) and writes nothing.
	SaveCacheIf(ctx context.Context, accountID string, blob []byte, version int64) (CacheVersion, error)
}

// CacheVersion tells one stored write of an account's cache from another.
// The store's version number never repeats for an account, across a
// sign-out and a new sign-in too (server.Store keeps a tombstone); Sum, a
// digest of the bytes stored, which differ for every write (sealed caches
// have a fresh nonce each time), guards the read shortcut against a store
// that would start again.
type CacheVersion struct {
	N   int64
	Sum [sha256.Size]byte
}

// Config configures a Client.
type Config struct {
	ClientID string
	// Authority is https://login.microsoftonline.com/<tenant>, or an
	// External ID authority https://<sub>.ciamlogin.com/<tenant>.
	Authority string
	Scopes    []string
	// HTTPClient carries every request to the identity platform.
	HTTPClient *http.Client
	Caches     CacheStore
	// AllowedTenants, when set, are the only tenant ids whose accounts may
	// sign in; tokens of any other tenant are dropped.
	AllowedTenants []string
	// DisableInstanceDiscovery is for authorities that are not Microsoft's
	// public cloud hosts (External ID custom domains).
	DisableInstanceDiscovery bool
	// BrowserURL maps an authorization URL for browsers (the sandbox's
	// page, served by the edge server where a phone reaches it); nil
	// leaves it unchanged. MSAL's own requests are not mapped.
	BrowserURL func(string) string
	// Now is the clock of the times this client returns (a code's
	// expiry): time.Now when nil. MSAL keeps the wall clock; what it
	// dates is carried over to this clock as a time from now.
	Now func() time.Time
}

// Client is the edge server's identity: it runs sign-ins (device code, or
// authorization code with PKCE) and hands out access tokens for signed-in
// accounts.
//
// Each account has a lock, held while its cache is read and maybe
// refreshed, saved after a sign-in, or deleted. So one refresh token is
// never sent twice: the identity platform rotates them, and an authority
// that detects reuse ends the session of a token presented twice
// (RFC 9700 §4.14.2). And a deleted cache stays deleted: a refresh in
// flight when the account is forgotten cannot write it back.
type Client struct {
	cfg Config
	// msal is the HTTP client of every MSAL client made: cfg.HTTPClient,
	// with the authority's metadata kept once read.
	msal *metadataCache

	mu       sync.Mutex
	accounts map[string]*account // by account id
	pinged   time.Time           // last successful Ping
	// waiting, when set, is told each time a call waits for an account's
	// lock (tests order their steps with it).
	waiting func(accountID string)
	ver     *Verifier // of authorization-code sign-ins
}

// account is one account's lock and MSAL client.
type account struct {
	id string
	// lock is a mutex a caller can stop waiting for: a send takes it, a
	// receive gives it back.
	lock chan struct{}
	// pc is the account's MSAL client, made at its first token; guarded
	// by lock.
	pc *public.Client
	sc *storeCache // pc's cache
	// gone is set, with lock held, once the account was forgotten: this
	// value has left Client.accounts, and its cache is never written
	// again.
	gone atomic.Bool
}

func (a *account) unlock() { <-a.lock }

// lockAccount waits for the account's lock, or for ctx to end.
func (c *Client) lockAccount(ctx context.Context, accountID string) (*account, error) {
	for {
		c.mu.Lock()
		a := c.accounts[accountID]
		if a == nil {
			a = &account{id: accountID, lock: make(chan struct{}, 1)}
			c.accounts[accountID] = a
		}
		waiting := c.waiting
		c.mu.Unlock()
		select {
		case a.lock <- struct{}{}:
		default:
			if waiting != nil {
				waiting(accountID)
			}
			select {
			case a.lock <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if !a.gone.Load() {
			return a, nil
		}
		// Forgotten while this call waited: start again from the store,
		// which has the tokens of a sign-in made since, or none.
		a.unlock()
	}
}

// New returns a Client. It makes no request: the first one happens when a
// sign-in starts.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("identity: no client id")
	}
	if !strings.HasPrefix(cfg.Authority, "https://") {
		return nil, fmt.Errorf("identity: authority %q must be an https:// URL", cfg.Authority)
	}
	if cfg.Caches == nil {
		return nil, errors.New("identity: no cache store")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	c := &Client{cfg: cfg, accounts: map[string]*account{}, msal: &metadataCache{hc: cfg.HTTPClient, now: time.Now}}
	// Check the configuration now, so that a bad authority is a start-up
	// error and not a screen's.
	if _, err := c.newPublic(&memoryCache{}); err != nil {
		return nil, err
	}
	return c, nil
}

// Scopes are the scopes the client asks for.
func (c *Client) Scopes() []string { return slices.Clone(c.cfg.Scopes) }

// withExtra is the client's scopes and extra ones not among them.
func (c *Client) withExtra(extra []string) []string {
	scopes := slices.Clone(c.cfg.Scopes)
	for _, s := range extra {
		if !slices.ContainsFunc(scopes, func(t string) bool { return strings.EqualFold(s, t) }) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

func (c *Client) newPublic(acc cache.ExportReplace) (public.Client, error) {
	opts := []public.Option{
		public.WithAuthority(c.cfg.Authority),
		public.WithHTTPClient(c.msal),
		public.WithCache(acc),
	}
	if c.cfg.DisableInstanceDiscovery {
		opts = append(opts, public.WithInstanceDiscovery(false))
	}
	pc, err := public.New(c.cfg.ClientID, opts...)
	if err != nil {
		return pc, fmt.Errorf("identity: MSAL client for %s: %w", c.cfg.Authority, err)
	}
	return pc, nil
}

// Account is a signed-in account, as the id token describes it.
type Account struct {
	// ID is MSAL's home account id.
	ID       string
	Username string
	Name     string
	TenantID string
	Scopes   []string
}

// Code is what a person needs to sign in: never the device code itself.
type Code struct {
	UserCode        string
	VerificationURI string
	ExpiresAt       time.Time
	Message         string
}

// Flow is one device-code sign-in in progress.
type Flow struct {
	c    *Client
	dc   public.DeviceCode
	mem  *memoryCache
	code Code
}

// StartDeviceCode asks the identity platform for a device code (RFC 8628
// §3.1-3.2), for the client's scopes and extra ones (a board's: the
// person consents to them then, incremental consent; later tokens carry
// every permission consented so far).
func (c *Client) StartDeviceCode(ctx context.Context, extra ...string) (*Flow, error) {
	mem := &memoryCache{}
	pc, err := c.newPublic(mem)
	if err != nil {
		return nil, err
	}
	dc, err := pc.AcquireTokenByDeviceCode(ctx, c.withExtra(extra))
	if err != nil {
		return nil, fmt.Errorf("identity: asking for a device code: %w", classify(err, true))
	}
	return &Flow{c: c, dc: dc, mem: mem, code: Code{
		UserCode:        dc.Result.UserCode,
		VerificationURI: dc.Result.VerificationURL,
		ExpiresAt:       c.now().Add(time.Until(dc.Result.ExpiresOn)),
		Message:         dc.Result.Message,
	}}, nil
}

// now is the client's clock (Config.Now).
func (c *Client) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

// Code returns what the screen shows.
func (f *Flow) Code() Code { return f.code }

// Wait blocks until the person signs in, the code is declined or expires,
// or ctx ends (MSAL polls at its own pace: 50 ms growing to 5 s). On
// success the account's tokens are in the cache store.
func (f *Flow) Wait(ctx context.Context) (Account, error) {
	res, err := f.result(ctx, "waiting for sign-in")
	if err != nil {
		return Account{}, err
	}
	return f.c.keep(ctx, res, f.mem)
}

// keep saves the tokens of a sign-in, held in mem, as the account's cache
// and returns the account; tokens of a tenant not allowed are dropped.
func (c *Client) keep(ctx context.Context, res public.AuthResult, mem *memoryCache) (Account, error) {
	acct := Account{
		ID:       res.Account.HomeAccountID,
		Username: res.Account.PreferredUsername,
		Name:     res.IDToken.Name,
		TenantID: res.IDToken.TenantID,
		Scopes:   res.GrantedScopes,
	}
	if acct.Name == "" {
		acct.Name = acct.Username
	}
	if acct.ID == "" {
		return Account{}, errors.New("identity: the token response named no account (no client_info)")
	}
	if !tenantAllowed(c.cfg.AllowedTenants, acct.TenantID) {
		// The tokens are dropped: they were only ever in mem.
		return acct, &AuthError{Kind: KindWrongTenant, Description: fmt.Sprintf("%s is from tenant %s, which this server does not accept", acct.Username, acct.TenantID)}
	}
	// The identity platform has answered: the session it began is kept
	// even if ctx ends now, so that it is not lost half recorded.
	ctx = context.WithoutCancel(ctx)
	a, err := c.lockAccount(ctx, acct.ID)
	if err != nil {
		return Account{}, fmt.Errorf("identity: saving the token cache of %s: %w", acct.Username, err)
	}
	defer a.unlock()
	if err := c.cfg.Caches.SaveCache(ctx, acct.ID, mem.data()); err != nil {
		return Account{}, fmt.Errorf("identity: saving the token cache of %s: %w", acct.Username, err)
	}
	// A new MSAL client reads the new cache; nothing of an earlier
	// session of the account stays in memory.
	a.pc = nil
	return acct, nil
}

// verifier returns the client's Verifier of id tokens, made once so that
// the authority's keys are fetched once.
func (c *Client) verifier() *Verifier {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ver == nil {
		c.ver = c.NewVerifier(nil)
	}
	return c.ver
}

// result waits for MSAL's answer to the device code, doing what.
func (f *Flow) result(ctx context.Context, doing string) (public.AuthResult, error) {
	res, err := f.dc.AuthenticationResult(ctx)
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		// MSAL ends its wait at the code's expiry with its own deadline.
		return res, &AuthError{Kind: KindExpired, OAuth: "expired_token"}
	}
	return res, fmt.Errorf("identity: %s: %w", doing, classify(err, false))
}

// tenantAllowed reports whether accounts of tenant tid may sign in: any
// when allowed is empty.
func tenantAllowed(allowed []string, tid string) bool {
	return len(allowed) == 0 || slices.ContainsFunc(allowed, func(t string) bool { return strings.EqualFold(t, tid) })
}

// TokenSource says where an access token came from.
type TokenSource int

const (
	FromCache TokenSource = iota
	FromRefresh
)

// Token returns an access token for the account, refreshing it with the
// refresh token when MSAL finds the cached one expired or close to expiry.
// refused, when not empty, is an access token the resource refused: the
// token returned is a newer one, refreshed now unless a call that ran
// meanwhile already did. Calls for one account run one at a time, so
// callers that all had one token refused share one refresh.
func (c *Client) Token(ctx context.Context, accountID, refused string) (string, TokenSource, error) {
	a, err := c.lockAccount(ctx, accountID)
	if err != nil {
		return "", 0, fmt.Errorf("identity: waiting for the token cache of %s: %w", accountID, err)
	}
	defer a.unlock()
	if a.pc == nil {
		sc := &storeCache{store: c.cfg.Caches, account: a}
		pc, err := c.newPublic(sc)
		if err != nil {
			return "", 0, err
		}
		a.pc, a.sc = &pc, sc
	}
	pc := a.pc
	a.sc.begin()
	accounts, err := pc.Accounts(ctx)
	if err != nil {
		return "", 0, fmt.Errorf("identity: reading the token cache of %s: %w", accountID, err)
	}
	i := slices.IndexFunc(accounts, func(a public.Account) bool { return a.HomeAccountID == accountID })
	if i < 0 {
		return "", 0, &AuthError{Kind: KindSignedOut, Description: "no tokens are cached for this account"}
	}
	opts := []public.AcquireSilentOption{public.WithSilentAccount(accounts[i])}
	res, err := pc.AcquireTokenSilent(ctx, c.cfg.Scopes, opts...)
	if err == nil && refused != "" && res.AccessToken == refused {
		// A claims request makes MSAL skip the cached access token and
		// redeem the refresh token: the way MSAL answers a resource's
		// claims challenge (Continuous Access Evaluation), used here for
		// any token the resource refused.
		// https://learn.microsoft.com/en-us/entra/identity-platform/claims-challenge
		opts = append(opts, public.WithClaims(`{"access_token":{"nbf":{"essential":true,"value":"`+strconv.FormatInt(time.Now().Unix(), 10)+`"}}}`))
		res, err = pc.AcquireTokenSilent(ctx, c.cfg.Scopes, opts...)
	}
	if errors.Is(err, errForgotten) {
		return "", 0, &AuthError{Kind: KindSignedOut, Description: "the account was signed out"}
	}
	if server.ErrorCode(err) == server.ECONFLICT {
		// Another replica wrote the cache meanwhile: its tokens stay,
		// and the next call reads them.
		return "", 0, fmt.Errorf("identity: silent token for %s: %w", accountID, err)
	}
	if err != nil {
		err = classify(err, false)
		var refusal *AuthError
		if errors.As(err, &refusal) && c.replacedMeanwhile(ctx, a) {
			// The refresh token refused was one another sign-in (on
			// another replica, or a new one after a revocation) has
			// replaced since it was read: the session that ended is not
			// the one stored, whose tokens stay, and the next call
			// reads them.
			return "", 0, fmt.Errorf("identity: silent token for %s: %w (refused: %v)", accountID, errCacheChanged, err)
		}
		return "", 0, fmt.Errorf("identity: silent token for %s: %w", accountID, err)
	}
	src := FromCache
	if res.Metadata.TokenSource == public.TokenSourceIdentityProvider {
		src = FromRefresh
	}
	return res.AccessToken, src, nil
}

// replacedMeanwhile reports whether the account's stored cache is no
// longer the one its last Token call read: another replica, or a new
// sign-in, wrote it since. Only a VersionedCaches store can tell.
func (c *Client) replacedMeanwhile(ctx context.Context, a *account) bool {
	vs, ok := c.cfg.Caches.(VersionedCaches)
	if !ok || !a.sc.pinned {
		return false
	}
	_, v, err := vs.LoadCacheVersion(context.WithoutCancel(ctx), a.id, a.sc.version)
	return err == nil && v != a.sc.version
}

// Forget deletes an account's tokens. It waits for a refresh of the
// account in flight, so that the refresh cannot save them again after.
func (c *Client) Forget(ctx context.Context, accountID string) error {
	a, err := c.lockAccount(ctx, accountID)
	if err != nil {
		return fmt.Errorf("identity: waiting to delete the token cache of %s: %w", accountID, err)
	}
	defer a.unlock()
	if err := c.cfg.Caches.DeleteCache(ctx, accountID); err != nil {
		return fmt.Errorf("identity: deleting the token cache of %s: %w", accountID, err)
	}
	a.gone.Store(true)
	c.mu.Lock()
	if c.accounts[accountID] == a {
		delete(c.accounts, accountID)
	}
	c.mu.Unlock()
	return nil
}

// memoryCache holds a sign-in's cache until the account is known.
type memoryCache struct {
	mu   sync.Mutex
	blob []byte
}

func (m *memoryCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.blob) == 0 {
		return nil
	}
	return u.Unmarshal(m.blob)
}

func (m *memoryCache) Export(ctx context.Context, mm cache.Marshaler, _ cache.ExportHints) error {
	b, err := mm.Marshal()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blob = b
	return nil
}

func (m *memoryCache) data() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.blob
}

// storeCache is an account's cache in the CacheStore. MSAL calls it with
// the account's lock held (Token holds it).
//
// Its reads and writes outlive the caller's context: once the identity
// platform has answered a refresh, the rotated refresh token must be saved,
// or the next refresh would send the one already spent.
type storeCache struct {
	store   CacheStore
	account *account
	// version is the stored cache's version when a Token call first
	// read it, for a VersionedCaches store; pinned says it was read. MSAL
	// reads the cache again just before it writes a refreshed token, to
	// merge it: a version that moved meanwhile means another replica
	// refreshed the account while this one did, and this one's write
	// would put back a refresh token older than the stored one. Guarded
	// by the account's lock, like every call.
	version CacheVersion
	pinned  bool
	// loaded is the version of the cache MSAL holds in memory (zero: not
	// known). MSAL reads the cache twice for every token (its accounts,
	// then the token): a read that finds this version still stored
	// leaves MSAL's memory as it is, instead of opening and parsing the
	// same blob again.
	loaded CacheVersion
}

// begin starts a Token call: the next read pins the version.
func (s *storeCache) begin() { s.pinned = false }

// errCacheChanged refuses a write over a cache another replica wrote
// since this one read it.
var errCacheChanged = server.Errorf(server.ECONFLICT, "the token cache was written by another replica during this refresh, and is kept")

// errForgotten refuses to save the cache of an account that was forgotten.
var errForgotten = errors.New("identity: the account was signed out")

// emptyCache is MSAL's cache with nothing in it.
var emptyCache = []byte("{}")

func (s *storeCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	var blob []byte
	var v CacheVersion
	var err error
	if vs, ok := s.store.(VersionedCaches); ok {
		blob, v, err = vs.LoadCacheVersion(context.WithoutCancel(ctx), s.account.id, s.loaded)
		if err == nil && s.pinned && v != s.version {
			return errCacheChanged
		}
		s.version, s.pinned = v, true
		if err == nil && v != (CacheVersion{}) && v == s.loaded {
			return nil // MSAL holds this version already
		}
	} else {
		blob, err = s.store.LoadCache(context.WithoutCancel(ctx), s.account.id)
	}
	if errors.Is(err, secret.ErrOpen) {
		return fmt.Errorf("%w: %w", ErrCacheUnreadable, err)
	}
	if err != nil {
		return err
	}
	if len(blob) == 0 {
		// Deleted: MSAL must drop what it holds in memory too.
		blob = emptyCache
	}
	s.loaded = CacheVersion{}
	if err := u.Unmarshal(blob); err != nil {
		return fmt.Errorf("%w: %w", ErrCacheUnreadable, err)
	}
	s.loaded = v
	return nil
}

// ErrCacheUnreadable is wrapped by the error of an account whose stored
// token cache does not open here: sealed with another key (a replica
// started with another PLACARD_KEY), or damaged. Another replica may open
// it; this one cannot use the account's tokens until it is replaced.
var ErrCacheUnreadable = errors.New("the account's token cache does not open here (sealed with another key, or damaged)")

func (s *storeCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	if s.account.gone.Load() {
		return errForgotten
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if vs, ok := s.store.(VersionedCaches); ok {
		s.loaded = CacheVersion{} // MSAL's memory is no longer what is stored, unless saved
		v, err := vs.SaveCacheIf(context.WithoutCancel(ctx), s.account.id, b, s.version.N)
		if err != nil {
			return fmt.Errorf("identity: the token cache of %s changed since it was read, and is kept: %w", s.account.id, err)
		}
		s.version, s.loaded = v, v
		return nil
	}
	return s.store.SaveCache(context.WithoutCancel(ctx), s.account.id, b)
}

// pingEvery bounds how often Ping asks the identity platform: readiness
// probes may come every second.
const pingEvery = 30 * time.Second

// Ping checks that the identity platform answers, by reading the
// authority's OpenID metadata. A success is remembered for pingEvery.
func (c *Client) Ping(ctx context.Context) error {
	c.mu.Lock()
	fresh := time.Since(c.pinged) < pingEvery
	c.mu.Unlock()
	if fresh {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metadataURL(c.cfg.Authority), nil)
	if err != nil {
		return fmt.Errorf("identity: ping: %w", err)
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("identity platform unreachable: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("identity platform answered HTTP %d for its metadata", res.StatusCode)
	}
	c.mu.Lock()
	c.pinged = time.Now()
	c.mu.Unlock()
	return nil
}
