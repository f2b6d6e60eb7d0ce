package sandbox

// caStep is where Conditional Access is evaluated in a grant.
type caStep int

const (
	// caDeviceCodeRequest: the device authorization request.
	caDeviceCodeRequest caStep = iota
	// caSignIn: a person signs in (the phone page, or the authorization
	// endpoint's page) and the tokens of that sign-in are issued.
	caSignIn
	// caAuthorize: the authorization endpoint's page, whose refusal goes
	// back to the redirect URI.
	caAuthorize
	// caRefresh: a refresh token is redeemed.
	caRefresh
)

// conditionalAccess is the one place where the Conditional Access
// switches apply: it returns the refusal of a grant of a session begun
// with flow at step, and whether there is one; s.mu must be held.
//
// ConditionalAccessBlock is a policy that blocks the sign-in whatever the
// flow. BlockDeviceCode is the "Block device code flow" policy: the
// device-code grant is refused, a session begun with a device code is
// refused at its next refresh ("protocol tracking"), and the authorization
// code grant is let through.
// https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-authentication-flows
// https://learn.microsoft.com/en-us/entra/identity/conditional-access/policy-block-authentication-flows
func (s *Sandbox) conditionalAccess(step caStep, flow string) (stsError, bool) {
	f := s.faults
	if f.BlockDeviceCode && flow == flowDeviceCode {
		switch step {
		case caDeviceCodeRequest:
			return errDeviceCodeBlocked, true
		case caSignIn:
			return errBlocked, true
		case caRefresh:
			return errProtocolTracked, true
		}
	}
	if f.ConditionalAccessBlock {
		switch step {
		case caSignIn, caRefresh:
			return errBlocked, true
		case caAuthorize:
			return errAuthorizeBlocked, true
		}
	}
	return stsError{}, false
}
