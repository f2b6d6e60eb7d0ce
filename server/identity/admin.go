package identity

import (
	"context"
	"fmt"
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
