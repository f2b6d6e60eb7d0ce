// Package conformance holds the suite that checks placard's sandbox
// against the documented behaviour of the Microsoft identity platform and
// Microsoft Graph, through the clients placard really uses: MSAL Go for the
// device authorization grant, the authorization code grant with PKCE and
// refresh, placard's own Graph client for Graph, go-jose for the tokens.
//
// The suite runs against three targets: the sandbox in process (through
// its transport), the sandbox over HTTPS (its -sandbox-addr listener, as an
// outside client reaches it), and, when PLACARD_CLIENT_ID and
// PLACARD_TENANT are set, a real tenant, where a person approves one
// device code. Cases that need a switch only the sandbox has (Conditional
// Access, revocation, throttling) skip on a real tenant and say why. The
// docs/sandbox.md says how to run it against a tenant.
package conformance
