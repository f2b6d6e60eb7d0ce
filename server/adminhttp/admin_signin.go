package adminhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/front"
	"github.com/placard/placard/server/identity"
	"github.com/placard/placard/server/limit"
	"github.com/placard/placard/server/secret"
)

// An administrator may sign in with a Microsoft account through the same
// device-code grant as screens: the page (or an API client) shows a code,
// the person enters it on their phone, and the id token that comes back,
// once validated against the authority's keys, must carry the app role
// server.AdminRole. The tokens themselves are dropped at once.
//
// Starting a sign-in mints a device code: anyone who reaches /admin can
// ask for one, which is device-code phishing's opening move (RFC 8628
// §5.4) aimed at administrators. So sign-ins are rate-limited per client
// address and in total, on a budget of their own (they cannot use up the
// screens'), only a few may wait at once, each is audited with its
// address, and -admin-networks keeps /admin to the networks
// administrators work from.

// maxPendingSignIns bounds the sign-ins that wait at once.
const maxPendingSignIns = 20

// signInCookie holds the secret of the page's sign-in in progress: the
// sign-in belongs to the browser that started it, not to whoever learns
// its address. __Host- over HTTPS, as the session's.
func signInCookie(r *http.Request) string {
	if front.IsSecure(r) {
		return "__Host-placard_admin_signin"
	}
	return "placard_admin_signin"
}

// adminSignIn is one sign-in in progress. done is closed when it ends;
// who or err are set before.
type adminSignIn struct {
	code    identity.Code
	done    chan struct{}
	who     admin.Actor
	err     error
	expires time.Time
	// from is the address that started it.
	from string
}

func (si *adminSignIn) finished() bool {
	select {
	case <-si.done:
		return true
	default:
		return false
	}
}

// startSignIn asks the identity platform for a code for an administrator
// and waits for its sign-in in the background. It returns the secret that
// claims the result.
func (a *Admin) startSignIn(r *http.Request) (string, *adminSignIn, error) {
	if a.Identity == nil || a.Verifier == nil {
		return "", nil, server.Errorf(server.ENOTFOUND, "signing in with a Microsoft account is not enabled on this server: use an admin token")
	}
	addr, key := front.ClientAddr(r), front.ClientKey(r)
	a.mu.Lock()
	now := a.Now()
	pending := 0
	for k, si := range a.signins {
		if si.finished() && now.After(si.expires) {
			delete(a.signins, k)
		} else if !si.finished() {
			pending++
		}
	}
	a.mu.Unlock()
	if pending >= maxPendingSignIns {
		return "", nil, server.Errorf(server.ETOOMANY, "%d sign-ins already wait: try again when one has ended", pending)
	}
	if ok, retry := a.starts.Allow(key); !ok {
		return "", nil, server.Errorf(server.ETOOMANY, "too many Microsoft sign-ins from %s (%s): try again after %s",
			key, a.SignIns, retry.UTC().Format("15:04 UTC"))
	}
	if ok, retry := a.total.Allow("all"); !ok {
		a.starts.Undo(key)
		return "", nil, server.Errorf(server.ETOOMANY, "too many Microsoft sign-ins (%s for everyone): try again after %s",
			a.SignInsTotal, retry.UTC().Format("15:04 UTC"))
	}
	ctx, cancel := context.WithCancel(a.ctx)
	flow, err := a.Identity.StartAdminSignIn(ctx, a.Verifier)
	if err != nil {
		cancel()
		a.Log.Warn("asking for an administrator's sign-in code", "err", err)
		return "", nil, server.Errorf(server.EUNAVAILABLE, "Microsoft sign-in could not be reached: try again in a moment")
	}
	si := &adminSignIn{code: flow.Code(), done: make(chan struct{}), expires: flow.Code().ExpiresAt, from: addr}
	sid := secret.New()
	a.mu.Lock()
	a.signins[hashKey(sid)] = si
	a.mu.Unlock()
	a.audit(r.Context(), server.AuditEvent{Kind: server.AuditAdminSignIn, Outcome: "code_shown",
		Detail: "Microsoft sign-in from " + addr + ", code expires " + si.expires.UTC().Format(time.RFC3339)})

	wctx, wcancel := context.WithDeadline(ctx, si.expires)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		defer wcancel()
		claims, err := flow.Wait(wctx)
		a.finishSignIn(si, claims, err, addr)
	}()
	return sid, si, nil
}

// finishSignIn records how a sign-in with a device code ended.
func (a *Admin) finishSignIn(si *adminSignIn, c identity.IDClaims, err error, addr string) {
	si.who, si.err = a.judge(c, err, "Microsoft sign-in from "+addr, addr)
	if si.err != nil && errors.Is(err, context.DeadlineExceeded) {
		si.err = server.Errorf(server.EUNAUTHORIZED, "nobody used the code in time: start again")
	}
	a.mu.Lock()
	si.expires = a.Now().Add(5 * time.Minute) // kept a while for the result to be read
	a.mu.Unlock()
	close(si.done)
}

// appRoles names placard's app roles for messages.
var appRoles = server.AdminRole + ", " + server.OperatorRole + " or " + server.ViewerRole

// judge decides what a Microsoft sign-in of an administrator (by device
// code or by redirect) comes to: who acts, with the role its app roles
// give, or why not. Each outcome is audited; a refusal counts against the
// address, as a wrong admin token does.
func (a *Admin) judge(c identity.IDClaims, err error, from, addr string) (admin.Actor, error) {
	ctx := context.Background()
	role := server.RoleOfAppRoles(c.Roles)
	switch {
	case errors.Is(err, identity.ErrWrongTenant):
		// An account of another tenant, whatever roles it carries: its
		// tenant's owner may have assigned them (docs/security.md).
		a.Log.Warn("an administrator's sign-in from another tenant was refused", "addr", addr, "account", c.Username, "tenant", c.TenantID, "err", err)
		a.failures.Allow(limit.ClientKey(addr))
		with := "without " + server.AdminRole
		for _, r := range []string{server.AdminRole, server.OperatorRole, server.ViewerRole} {
			if c.HasRole(r) {
				with = "with " + r
				break
			}
		}
		a.audit(ctx, server.AuditEvent{Kind: server.AuditAdminSignIn, Account: c.Username, Outcome: "wrong_tenant",
			Detail: from + ": tenant " + c.TenantID + " is not the administrators' tenant " + a.About.AdminTenant + " (id token " + with + ")"})
		return admin.Actor{}, server.Errorf(server.EFORBIDDEN,
			"%s is an account of another organisation: only accounts of the administrators' tenant may administer this server", c.Username)
	case err != nil:
		a.Log.Warn("an administrator's sign-in failed", "addr", addr, "err", err)
		a.audit(ctx, server.AuditEvent{Kind: server.AuditAdminSignIn, Outcome: "failed", Detail: from + ": " + err.Error()})
		switch kind := identity.KindOf(err); {
		case errors.Is(err, context.Canceled):
			return admin.Actor{}, server.Errorf(server.EUNAVAILABLE, "the server is shutting down")
		case kind == identity.KindDeclined:
			return admin.Actor{}, server.Errorf(server.EUNAUTHORIZED, "the sign-in was declined")
		case kind == identity.KindBlocked:
			return admin.Actor{}, server.Errorf(server.EFORBIDDEN, "your organisation's Conditional Access blocked this sign-in (%s)", err)
		case kind == identity.KindExpired:
			return admin.Actor{}, server.Errorf(server.EUNAUTHORIZED, "nobody used the code in time: start again")
		case errors.Is(err, identity.ErrInvalidIDToken):
			return admin.Actor{}, server.Errorf(server.EUNAUTHORIZED, "the sign-in could not be verified (its id token is not valid for this server)")
		default:
			return admin.Actor{}, server.Errorf(server.EUNAUTHORIZED, "the sign-in did not work: %s", kind)
		}
	case role == "":
		a.failures.Allow(limit.ClientKey(addr))
		a.audit(ctx, server.AuditEvent{Kind: server.AuditAdminSignIn, Account: c.Username, Outcome: "no_role",
			Detail: from + ": the id token lacks " + server.AdminRole + " (and " + server.OperatorRole + " and " + server.ViewerRole + ")"})
		return admin.Actor{}, server.Errorf(server.EFORBIDDEN,
			"%s does not hold an app role of this application (%s): an Entra administrator assigns one (Enterprise applications → this app → Users and groups)",
			c.Username, appRoles)
	}
	a.audit(ctx, server.AuditEvent{Kind: server.AuditAdminSignIn, Account: c.Username, Outcome: "ok",
		Detail: from + " (tenant " + c.TenantID + ", role " + role + ")"})
	return admin.Actor{Who: c.Username, Role: role}, nil
}

// claimSignIn returns the state of the sign-in of secret: pending (nil,
// nil), failed (err), or done, in which case a session is made (via the
// page or the API), the sign-in forgotten, and the session's secret
// returned.
func (a *Admin) claimSignIn(secret, via string) (*adminSignIn, string, error) {
	a.mu.Lock()
	si := a.signins[hashKey(secret)]
	a.mu.Unlock()
	if si == nil || secret == "" {
		return nil, "", server.Errorf(server.ENOTFOUND, "no sign-in is in progress here: start again")
	}
	if !si.finished() {
		return si, "", nil
	}
	a.mu.Lock()
	delete(a.signins, hashKey(secret))
	a.mu.Unlock()
	if si.err != nil {
		return si, "", si.err
	}
	session, _ := a.newSession(si.who, via, si.from)
	return si, session, nil
}

// apiStartSignIn starts a sign-in for an API client:
// {"sign_in": secret, "user_code", "verification_uri", "expires_at"}.
func (a *Admin) apiStartSignIn(w http.ResponseWriter, r *http.Request) {
	if _, err := decodeSignInStart(readBody(w, r)); err != nil {
		front.WriteError(w, err)
		return
	}
	secret, si, err := a.startSignIn(r)
	if err != nil {
		front.WriteError(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{
		"sign_in":          secret,
		"user_code":        si.code.UserCode,
		"verification_uri": si.code.VerificationURI,
		"expires_at":       si.code.ExpiresAt.UTC(),
		"poll_every":       3,
	})
}

// apiPollSignIn answers {"status": "pending"} until the sign-in ends, then
// {"status": "signed_in", "token": session, ...} or the refusal.
func (a *Admin) apiPollSignIn(w http.ResponseWriter, r *http.Request) {
	req, err := decodeSignInPoll(readBody(w, r))
	if err != nil {
		front.WriteError(w, err)
		return
	}
	si, session, err := a.claimSignIn(req.SignIn, viaAPI)
	switch {
	case err != nil:
		front.WriteError(w, err)
	case session == "":
		front.WriteJSON(w, http.StatusOK, map[string]any{"status": "pending", "expires_at": si.code.ExpiresAt.UTC()})
	default:
		front.WriteJSON(w, http.StatusOK, map[string]any{
			"status": "signed_in", "who": si.who.Who, "token": sessionPrefix + session,
			"expires_at": a.Now().Add(a.MicrosoftSessionLifetime).UTC(),
		})
	}
}

// startPageSignIn starts a sign-in from the login page.
func (a *Admin) startPageSignIn(w http.ResponseWriter, r *http.Request) {
	secret, _, err := a.startSignIn(r)
	if err != nil {
		a.renderLogin(w, r, front.Status(err), server.ErrorMessage(err))
		return
	}
	setAdminCookie(w, r, signInCookie(r), secret, 20*60)
	http.Redirect(w, r, "/admin/signin", http.StatusSeeOther)
}

// pageSignIn shows the code of the page's sign-in until it ends, then
// signs the browser in or says why not.
func (a *Admin) pageSignIn(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(signInCookie(r))
	if err != nil {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return
	}
	si, session, err := a.claimSignIn(c.Value, viaPage)
	switch {
	case err != nil:
		setAdminCookie(w, r, signInCookie(r), "", -1)
		a.renderLogin(w, r, front.Status(err), fmt.Sprintf("Signing in with Microsoft: %s.", server.ErrorMessage(err)))
	case session == "":
		// The page reloads itself every 3 s (no script needed) until the
		// sign-in ends.
		a.render(w, http.StatusOK, "signin", pageData{Title: "Signing in", Refresh: 3, About: a.About, Code: si.code})
	default:
		setAdminCookie(w, r, signInCookie(r), "", -1)
		setAdminCookie(w, r, adminCookie(r), session, int(a.MicrosoftSessionLifetime/time.Second))
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	}
}
