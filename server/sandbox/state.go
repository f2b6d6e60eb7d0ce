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
	// DeltaEpoch is the expire_delta_tokens epoch: delta tokens of
	// another are expired.
	DeltaEpoch int `json:"delta_epoch,omitempty"`
	// Seq is the number of the last change of a stored event.
	Seq int64 `json:"seq,omitempty"`
}

type savedUser struct {
	ValidSince   time.Time `json:"valid_since,omitzero"`
	Availability string    `json:"availability,omitempty"`
	Activity     string    `json:"activity,omitempty"`
	// Consent are the permissions the user consented to.
	Consent []string `json:"consent,omitempty"`
	// KeepSubject is a room's setting, when it was changed.
	KeepSubject *bool `json:"keep_subject,omitempty"`
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
		if len(su.Consent) > 0 {
			u.consent = fromScopes(su.Consent)
		}
		if su.KeepSubject != nil && u.room != nil {
			u.room.KeepSubject = *su.KeepSubject
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
	s.deltaEpoch, s.seq = st.DeltaEpoch, st.Seq
	return nil
}

// saveLocked writes the state file; s.mu must be held. A failure is
// logged: the sandbox goes on with its state in memory.
func (s *Sandbox) saveLocked() {
	path := s.opts.StateFile
	if path == "" {
		return
	}
	st := savedState{Users: map[string]savedUser{}, Created: s.created, DeltaEpoch: s.deltaEpoch, Seq: s.seq}
	for upn, u := range s.users {
		su := savedUser{ValidSince: u.validSince, Consent: u.consent.list()}
		if u.presenceSet {
			su.Availability, su.Activity = u.Availability, u.Activity
		}
		if u.room != nil && u.room.KeepSubject != defaultKeepSubject(upn) {
			keep := u.room.KeepSubject
			su.KeepSubject = &keep
		}
		if !su.ValidSince.IsZero() || su.Availability != "" || len(su.Consent) > 0 || su.KeepSubject != nil {
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
