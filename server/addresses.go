package server

import (
	"encoding/json"
	"strings"
)

// Addresses is a list of email addresses or user principal names (rooms,
// room lists, people), kept as one string, separated by commas, so that
// ScreenSettings stay comparable. It is written in JSON as a list, and
// read from a list or from one string of addresses separated by commas,
// semicolons, spaces or lines.
type Addresses string

// ParseAddresses reads addresses separated by commas, semicolons, spaces
// or lines, leaving out empty ones and repeats (compared without case).
func ParseAddresses(s string) Addresses {
	return AddressesOf(strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}))
}

// AddressesOf makes Addresses of a list, trimmed, leaving out empty ones
// and repeats (compared without case).
func AddressesOf(list []string) Addresses {
	var out []string
	seen := map[string]bool{}
	for _, a := range list {
		a = strings.TrimSpace(a)
		if a == "" || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		out = append(out, a)
	}
	return Addresses(strings.Join(out, ","))
}

// List returns the addresses, in order; nil for none.
func (a Addresses) List() []string {
	if a == "" {
		return nil
	}
	return strings.Split(string(a), ",")
}

// MarshalJSON writes the addresses as a JSON list.
func (a Addresses) MarshalJSON() ([]byte, error) {
	list := a.List()
	if list == nil {
		list = []string{}
	}
	return json.Marshal(list)
}

// UnmarshalJSON reads a JSON list of addresses, or one string of them.
func (a *Addresses) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*a = AddressesOf(list)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(EINVALID, "addresses must be a list of strings or one string: %s", b)
	}
	*a = ParseAddresses(s)
	return nil
}
