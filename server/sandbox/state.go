package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// savedState is what survives a restart of the edge server: what the real
// services would remember. A revoked session must stay revoked (its
// refresh tokens are sealed blobs that outlive the process); presence set
// by hand and calendars changed through Graph stay as they were left.
// Device codes do not: a restarted edge server asks for new ones.
type savedState struct {
	Users   map[string]savedUser   `json:"users,omitempty"`
	Created map[string][]*calEvent `json:"created,omitempty"`
	Removed []string               `json:"removed,omitempty"`
}

type savedUser struct {
	ValidSince   time.Time `json:"valid_since,omitzero"`
	Availability string    `json:"availability,omitempty"`
	Activity     string    `json:"activity,omitempty"`
}

// loadState reads the state file, when there is one.
func (s *Sandbox) loadState() error {
	path := s.opts.StateFile
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox: reading its state: %w", err)
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("sandbox: %s is not the sandbox's state (%v): delete it and the sandbox starts afresh", path, err)
	}
	for upn, su := range st.Users {
		u := s.users[upn]
		if u == nil {
			continue
		}
		u.validSince = su.ValidSince
		if su.Availability != "" {
			u.Availability, u.Activity, u.presenceSet = su.Availability, su.Activity, true
		}
	}
	for upn, evs := range st.Created {
		if s.users[upn] != nil {
			s.created[upn] = evs
		}
	}
	for _, id := range st.Removed {
		s.removed[id] = true
	}
	return nil
}

// saveLocked writes the state file; s.mu must be held. A failure is
// logged: the sandbox goes on with its state in memory.
func (s *Sandbox) saveLocked() {
	path := s.opts.StateFile
	if path == "" {
		return
	}
	st := savedState{Users: map[string]savedUser{}, Created: s.created}
	for upn, u := range s.users {
		su := savedUser{ValidSince: u.validSince}
		if u.presenceSet {
			su.Availability, su.Activity = u.Availability, u.Activity
		}
		if su != (savedUser{}) {
			st.Users[upn] = su
		}
	}
	for id := range s.removed {
		st.Removed = append(st.Removed, id)
	}
	slices.Sort(st.Removed)
	if err := writeFileAtomic(path, st); err != nil {
		s.log.Error("sandbox: saving its state", "file", path, "err", err)
	}
}

// writeFileAtomic writes v as JSON to path through a temporary file, so
// that a crash leaves the old state or the new one, never half of one.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sandbox-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
