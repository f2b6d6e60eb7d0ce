package identity

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// AdminFlow is an administrator's sign-in with a device code, the same
// grant screens use: it proves who the person is, through the id token,
// and nothing more. Its tokens are never stored: they live in the flow's
// memory and go with it.
type AdminFlow struct {
	f *Flow
	v *Verifier
}

// StartAdminSignIn asks the identity platform for a device code for an
// administrator. The id token of the sign-in is validated with v.
func (c *Client) StartAdminSignIn(ctx context.Context, v *Verifier) (*AdminFlow, error) {
	f, err := c.StartDeviceCode(ctx)
	if err != nil {
		return nil, err
	}
	return &AdminFlow{f: f, v: v}, nil
}

// Code returns what the administrator enters, and where.
func (a *AdminFlow) Code() Code { return a.f.code }

// Wait blocks until the person signs in (or declines, or the code
// expires, or ctx ends) and returns the claims of their validated id
// token. Checking the app role is the caller's concern. With
// ErrWrongTenant, the refused token's claims come back too.
func (a *AdminFlow) Wait(ctx context.Context) (IDClaims, error) {
	res, err := a.f.result(ctx, "waiting for an administrator's sign-in")
	if err != nil {
		return IDClaims{}, err
	}
	if res.IDToken.RawToken == "" {
		return IDClaims{}, fmt.Errorf("%w: the token response has no id token", ErrInvalidIDToken)
	}
	claims, err := a.v.Verify(ctx, res.IDToken.RawToken)
	if err != nil {
		// The claims of a token from another tenant come back with the
		// error, for the audit trail.
		return claims, fmt.Errorf("identity: an administrator's sign-in: %w", err)
	}
	return claims, nil
}

// StartAdminAuthCode prepares an administrator's sign-in by authorization
// code with PKCE, redirected in the administrator's own browser: where the
// tenant blocks the device code (the Microsoft-managed "Block device code
// flow" policy), it still works. As with StartAdminSignIn, its tokens are
// never stored: RedeemAdmin keeps only the validated id token's claims.
func (c *Client) StartAdminAuthCode(ctx context.Context, redirectURI string) (*AuthCode, error) {
	return c.StartAuthCode(ctx, redirectURI)
}

// RedeemAdmin redeems an administrator's authorization code and returns
// the claims of its id token, validated with v (signature, issuer,
// audience, lifetime, the administrators' tenant) and bound to this
// sign-in by its nonce. The tokens are dropped. It is single use, as
// Redeem is. With ErrWrongTenant, the refused token's claims come back
// too, for the audit trail; checking the app role is the caller's
// concern.
func (a *AuthCode) RedeemAdmin(ctx context.Context, code string, v *Verifier) (IDClaims, error) {
	a.mu.Lock()
	used := a.used
	a.used = true
	a.mu.Unlock()
	if used {
		return IDClaims{}, &AuthError{Kind: KindOther, Description: ErrRedeemed.Error(), err: ErrRedeemed}
	}
	if code == "" {
		return IDClaims{}, &AuthError{Kind: KindOther, Description: "the callback carried no authorization code"}
	}
	res, err := a.pc.AcquireTokenByAuthCode(ctx, code, a.redirectURI, a.c.cfg.Scopes, public.WithChallenge(a.verifier))
	if err != nil {
		if ctx.Err() != nil {
			return IDClaims{}, ctx.Err()
		}
		return IDClaims{}, fmt.Errorf("identity: redeeming an administrator's authorization code: %w", classify(err, false))
	}
	if res.IDToken.RawToken == "" {
		return IDClaims{}, invalidIDToken(fmt.Errorf("%w: the token response has no id token", ErrInvalidIDToken))
	}
	claims, err := v.Verify(ctx, res.IDToken.RawToken)
	if err != nil {
		return claims, fmt.Errorf("identity: an administrator's sign-in: %w", err)
	}
	if claims.Nonce == "" || subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(a.nonce)) != 1 {
		// OpenID Connect Core §3.1.3.7: the nonce must be the one sent.
		return IDClaims{}, invalidIDToken(fmt.Errorf("%w: its nonce is not this sign-in's", ErrInvalidIDToken))
	}
	return claims, nil
}
