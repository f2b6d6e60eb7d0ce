package sandbox

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// calendarView delta, as Graph serves it for a window of a calendar:
// a round of requests follows @odata.nextLink ($skiptoken) until an
// @odata.deltaLink ($deltatoken) ends it; the next round starts from the
// deltaLink and gets what changed since: events added or updated, whole,
// and events deleted, or moved out of the window, as {"id", "@removed":
// {"reason": "deleted"}}.
// https://learn.microsoft.com/en-us/graph/api/event-delta
// https://learn.microsoft.com/en-us/graph/delta-query-events
//
// The state tokens are opaque and "encode the startDateTime and
// endDateTime parameters, and any other query parameter"; here they carry
// the window and the ids and change keys of the events the client holds,
// compressed and sealed with a key derived from the signing key. So a
// token outlives a restart exactly when the signing key does
// (Options.KeyFile, kept in the data directory with the state file that
// holds the events it is compared with), as Exchange's tokens outlive a
// restart of the service: they are its state, not the process's. A token
// the sandbox cannot open (a new key) is an expired one: 410
// SyncStateNotFound.

// deltaPageSize is a delta page's size without Prefer:
// odata.maxpagesize, the calendarView's default (unconfirmed for delta);
// deltaMaxPage is the most a page holds whatever is asked (unconfirmed).
const (
	deltaPageSize = 10
	deltaMaxPage  = 1000
)

// removedMark marks, in a round's state, an event the client was told is
// removed (so that a later page of the round does not tell it again).
const removedMark = "-"

// syncState is what a state token carries.
type syncState struct {
	Mailbox string `json:"m"` // the mailbox's object id
	// Start and End are the window (Unix seconds).
	Start int64 `json:"s"`
	End   int64 `json:"e"`
	// Since is the sandbox's change number when the previous round
	// began: events changed outside the window since then come as
	// removed. Round is the number when this round began.
	Since int64 `json:"t"`
	Round int64 `json:"r"`
	// Epoch is the expire_delta_tokens epoch the token was issued in.
	Epoch int `json:"g"`
	// Seen are the events the client holds: id (without its fixed
	// prefix and suffix) to change key, or removedMark.
	Seen map[string]string `json:"h"`
}

// deltaCipher seals state tokens with a key derived from the signing key,
// another than the refresh tokens' so that neither opens as the other.
func deltaCipher(key *rsa.PrivateKey) (cipher.AEAD, error) {
	k := sha256.Sum256(append([]byte("placard-sandbox-delta:"), key.D.Bytes()...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("sandbox: the delta tokens' cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// flateWriters are the compressors of state tokens: a flate.Writer
// allocates over half a megabyte, and a client of many calendars makes a
// token a request.
var flateWriters = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	return fw
}}

// flateReaders are the decompressors of state tokens, for the same reason.
var flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// sealSync makes a state token.
func (s *Sandbox) sealSync(st syncState) string {
	plain, _ := json.Marshal(st)
	var z bytes.Buffer
	fw := flateWriters.Get().(*flate.Writer)
	fw.Reset(&z)
	fw.Write(plain)
	fw.Close()
	flateWriters.Put(fw)
	nonce := make([]byte, s.deltaAEAD.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("sandbox: crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(s.deltaAEAD.Seal(nonce, nonce, z.Bytes(), nil))
}

// openSync reads a state token.
func (s *Sandbox) openSync(tok string) (syncState, bool) {
	var st syncState
	b, err := base64.RawURLEncoding.DecodeString(tok)
	n := s.deltaAEAD.NonceSize()
	if err != nil || len(b) < n {
		return st, false
	}
	z, err := s.deltaAEAD.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return st, false
	}
	fr := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(fr)
	if err := fr.(flate.Resetter).Reset(bytes.NewReader(z), nil); err != nil {
		return st, false
	}
	plain, err := io.ReadAll(io.LimitReader(fr, 16<<20))
	if err != nil || json.Unmarshal(plain, &st) != nil {
		return st, false
	}
	return st, true
}

// changeNumber is the number of the last change of a stored event.
func (s *Sandbox) changeNumber() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// shortID and longID drop and restore the fixed parts of an event id
// (eventIDPrefix and "AAA="), which every id of the sandbox has.
func shortID(id string) string {
	return strings.TrimSuffix(strings.TrimPrefix(id, eventIDPrefix), "AAA=")
}
func longID(s string) string { return eventIDPrefix + s + "AAA=" }

// preferPageRE reads Prefer: odata.maxpagesize=N.
var preferPageRE = regexp.MustCompile(`(?i)odata\.maxpagesize\s*=\s*(\d+)`)

// deltaUnsupported are the query options calendarView delta refuses:
// "You cannot use $select", and "$expand, $filter, $orderby, and $search"
// are not supported. The words of the refusal are unconfirmed.
var deltaUnsupported = []string{"$select", "$filter", "$orderby", "$search", "$expand"}

// calendarDelta is GET /me/calendarView/delta (and
// /users/{id}/calendarView/delta, for a calendar shared with the caller).
func (s *Sandbox) calendarDelta(w http.ResponseWriter, r *http.Request) {
	u := callerOf(r.Context()).target
	if !u.Mailbox {
		s.noMailbox(w, r)
		return
	}
	q := r.URL.Query()
	for _, p := range deltaUnsupported {
		if q.Has(p) {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidUrlQuery", fmt.Sprintf(
				"The following parameters are not supported with change tracking over the 'CalendarView' resource: '%s'.", p))
			return
		}
	}
	var st syncState
	tok, skip := q.Get("$skiptoken"), true
	if tok == "" {
		tok, skip = q.Get("$deltatoken"), false
	}
	if tok != "" || q.Has("$deltatoken") || q.Has("$skiptoken") {
		var ok bool
		st, ok = s.openSync(tok)
		s.mu.Lock()
		epoch := s.deltaEpoch
		s.mu.Unlock()
		if !ok || st.Mailbox != u.OID || st.Epoch != epoch {
			// A token Exchange no longer holds: 410 and SyncStateNotFound,
			// in the words of a real answer to a room's calendarView
			// delta (microsoft-graph-docs#2350; the errors page writes
			// the code syncStateNotFound). The client starts a new round.
			// https://learn.microsoft.com/en-us/graph/delta-query-overview#token-duration
			s.graphError(w, r, http.StatusGone, "SyncStateNotFound", fmt.Sprintf(
				"The sync state generation is not found; generation=%d;[highest=%d].", st.Epoch, epoch))
			return
		}
		if bad := sameWindow(q, st); bad != "" {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidUrlQuery", bad)
			return
		}
		if !skip {
			// A new round from the last one's deltaLink.
			st.Round = s.changeNumber()
		}
	} else {
		rawStart, rawEnd := q.Get("startDateTime"), q.Get("endDateTime")
		if rawStart == "" || rawEnd == "" {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidParameter",
				"This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
			return
		}
		start, ok1 := parseGraphTime(rawStart)
		end, ok2 := parseGraphTime(rawEnd)
		if !ok1 || !ok2 {
			s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidParameter", "The value of the StartDateTime or EndDateTime parameter is not a valid date and time.")
			return
		}
		s.mu.Lock()
		epoch := s.deltaEpoch
		s.mu.Unlock()
		// A first round reports what is in the window, nothing outside.
		n := s.changeNumber()
		st = syncState{Mailbox: u.OID, Start: start.Unix(), End: end.Unix(), Since: n, Round: n, Epoch: epoch, Seen: map[string]string{}}
	}
	size, asked := deltaPageSize, false
	for _, p := range r.Header.Values("Prefer") {
		if m := preferPageRE.FindStringSubmatch(p); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
				size, asked = min(n, deltaMaxPage), true
			}
		}
	}
	loc, zone, preferred := preferredZone(r)
	values, more := s.deltaPage(u, &st, size, loc, zone)
	o := originOf(r)
	body := map[string]any{"@odata.context": o.graph + "/v1.0/$metadata#Collection(event)", "value": values}
	if more {
		body["@odata.nextLink"] = o.graph + r.URL.Path + "?$skiptoken=" + s.sealSync(st)
	} else {
		for k, v := range st.Seen {
			if v == removedMark {
				delete(st.Seen, k)
			}
		}
		st.Since = st.Round
		body["@odata.deltaLink"] = o.graph + r.URL.Path + "?$deltatoken=" + s.sealSync(st)
	}
	var applied []string
	if asked {
		applied = append(applied, "odata.maxpagesize="+strconv.Itoa(size))
	}
	if preferred {
		applied = append(applied, `outlook.timezone="`+zone+`"`)
	}
	if applied != nil {
		w.Header().Set("Preference-Applied", strings.Join(applied, ", "))
	}
	writeGraph(w, r, http.StatusOK, body)
}

// sameWindow says what is wrong with a window given beside a token (the
// window is the token's and cannot be moved: a new window is a new
// round), or "". The words are unconfirmed.
func sameWindow(q map[string][]string, st syncState) string {
	for name, want := range map[string]int64{"startDateTime": st.Start, "endDateTime": st.End} {
		if v := q[name]; len(v) > 0 {
			if t, ok := parseGraphTime(v[0]); !ok || t.Unix() != want {
				return fmt.Sprintf("The %s of a round is encoded in its state token and cannot change: start a new round without a token for another window.", name)
			}
		}
	}
	return ""
}

// deltaPage is the next page of changes of u's window against what the
// round's state says the client holds, at most size items, and whether
// more follow; st takes in what the page told.
func (s *Sandbox) deltaPage(u *user, st *syncState, size int, loc *time.Location, zone string) ([]map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start, end := time.Unix(st.Start, 0), time.Unix(st.End, 0)
	now := map[string]calEvent{}
	var changed []calEvent
	for _, ev := range s.eventsBetween(u, start, end) {
		id := shortID(ev.ID)
		now[id] = ev
		if st.Seen[id] != ev.changeKey(u) {
			changed = append(changed, ev)
		}
	}
	var removed []string
	for id, key := range st.Seen {
		if _, ok := now[id]; !ok && key != removedMark {
			removed = append(removed, id)
		}
	}
	// What changed outside the window since the last round: stored
	// events changed, and events that left the calendar.
	// (A series' occurrences are reported when they enter the
	// window.)
	outside := func(id string, seq int64) {
		if _, in := now[id]; !in && seq > st.Since && st.Seen[id] == "" && !slices.Contains(removed, id) {
			removed = append(removed, id)
		}
	}
	for _, ev := range s.created[u.UPN] {
		if ev.Type != typeMaster {
			outside(shortID(ev.ID), ev.Seq)
		}
	}
	for _, t := range s.tombstones[u.UPN] {
		outside(shortID(t.ID), t.Seq)
	}
	slices.Sort(removed)
	var values []map[string]any
	for _, id := range removed {
		if len(values) == size {
			return values, true
		}
		values = append(values, map[string]any{"@odata.type": "#microsoft.graph.event", "id": longID(id), "@removed": map[string]string{"reason": "deleted"}})
		st.Seen[id] = removedMark
	}
	for _, ev := range changed {
		if len(values) == size {
			return values, true
		}
		v := eventJSON(ev, u, loc, zone)
		v["@odata.type"] = "#microsoft.graph.event"
		values = append(values, v)
		st.Seen[shortID(ev.ID)] = ev.changeKey(u)
	}
	if values == nil {
		values = []map[string]any{}
	}
	return values, false
}
