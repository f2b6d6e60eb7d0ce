package screens

import "slices"

// ScopeBook is the permission quick booking needs: the edge server asks
// for it only when quick booking is enabled by configuration.
const ScopeBook = "Calendars.ReadWrite"

// canBook reports whether screens may book: the server asks for the
// permission that creating an event needs.
func (m *Manager) canBook() bool {
	return slices.ContainsFunc(m.cfg.Identity.Scopes(), func(s string) bool { return s == ScopeBook })
}
