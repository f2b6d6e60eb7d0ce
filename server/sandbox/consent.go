package sandbox

import "slices"

// Consent to the sandbox's application, as the identity platform keeps
// it: a user consents to the permissions a sign-in asks for, and each
// later sign-in adds to them ("incremental consent"); tokens carry every
// permission consented so far, whatever a request names ("when the code
// is issued by AAD, it would be adding up all the consents that have been
// consented until then... the same scopes get added to the token",
// Microsoft Q&A 78683, a Microsoft engineer). Some permissions need an
// administrator's consent for the whole tenant: Place.Read.All
// (place-list: "Place.Read.All, which needs admin consent") and
// GroupMember.Read.All (Microsoft Q&A 124948). The demo tenant's
// administrator has consented to both, but the place_consent_missing fault
// takes Place.Read.All's away.
// https://learn.microsoft.com/en-us/entra/identity-platform/permissions-consent-overview

// adminOnly are the application's permissions that need an
// administrator's consent.
var adminOnly = []string{"Place.Read.All", "GroupMember.Read.All"}

// adminConsented reports whether the tenant's administrator has consented
// to p for the application; s.mu must be held.
func (s *Sandbox) adminConsented(p string) bool {
	return !slices.Contains(adminOnly, p) || !(p == "Place.Read.All" && s.faults.PlaceConsentMissing)
}

// missingAdminConsent returns a permission of set that needs an
// administrator's consent nobody gave, or ""; s.mu must be held.
func (s *Sandbox) missingAdminConsent(set scopeSet) string {
	for _, p := range set.list() {
		if !s.adminConsented(p) {
			return p
		}
	}
	return ""
}

// grantLocked records u's consent to the Graph permissions of a sign-in's
// set and returns what its tokens carry: set's OpenID Connect scopes, and
// every Graph permission u has consented to, but those whose
// administrator's consent was withdrawn. s.mu must be held.
func (s *Sandbox) grantLocked(u *user, set scopeSet) scopeSet {
	if u.consent == nil {
		u.consent = scopeSet{}
	}
	out := scopeSet{}
	for sc := range set {
		if slices.Contains(oidcScopes, sc) {
			out[sc] = true
		} else {
			u.consent[sc] = true
		}
	}
	for sc := range u.consent {
		if s.adminConsented(sc) {
			out[sc] = true
		}
	}
	s.saveLocked()
	return out
}

// refreshGrant is what a refresh of a token that carried had carries now:
// had and u's consents since, but those whose administrator's consent was
// withdrawn. s.mu must be held.
func (s *Sandbox) refreshGrant(u *user, had []string) scopeSet {
	out := scopeSet{}
	for _, sc := range had {
		if s.adminConsented(sc) {
			out[sc] = true
		}
	}
	for sc := range u.consent {
		if s.adminConsented(sc) {
			out[sc] = true
		}
	}
	return out
}
