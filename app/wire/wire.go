// Package wire holds the messages that the edge server and a screen exchange
// over their WebSocket, and the one state a screen shows.
//
// Both sides import it, so it depends on the standard library only: whatever
// it imports ends up in app.wasm. Nothing secret ever travels in these types:
// a screen receives only what it displays (docs/security.md), never a token or a
// device code.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxMessageSize is the largest message a screen may send. Screen messages
// are a few hundred bytes; anything larger is an attack or a bug.
const MaxMessageSize = 4096

// MaxNameLength bounds a screen's name, in characters.
const MaxNameLength = 64

// Message types. A screen sends Hello first, then any of SignOut and
// QuickBook; the server sends State whenever what the screen shows changes,
// Bye before it goes away and Denied when it will not serve the screen.
const (
	TypeHello     = "hello"
	TypeSignOut   = "sign_out"
	TypeQuickBook = "quick_book"
	// TypeRoomAction: Book now, Extend, End now or Check in on a room's
	// panel (room.go).
	TypeRoomAction = "room_action"

	TypeState    = "state"
	TypeBye      = "bye"
	TypeDenied   = "denied"
	TypeReload   = "reload"
	TypeIdentify = "identify"
)

// Message is implemented by every message type.
type Message interface {
	// MessageType is the value of the envelope's "type" field.
	MessageType() string
}

// envelope is how every message travels: {"type": "...", "data": {...}}.
type envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Hello is the first message of a screen on a new connection. The screen's
// secret is not in it: it travels in an HttpOnly cookie, out of reach of the
// page's scripts.
type Hello struct {
	// Screen is the name from the page's URL (?screen=NAME).
	Screen string `json:"screen"`
	// TimeZone is the browser's IANA zone, as it reports it. The edge
	// server does not show it: a screen shows its configured zone, else
	// the server's, since a TV's own is often its factory default.
	TimeZone string `json:"time_zone,omitempty"`
	// Touch is true when the screen has a touch surface (a tablet): only
	// such screens show buttons.
	Touch bool `json:"touch,omitempty"`
	// Version is the version of the app the browser runs (go-app's
	// GOAPP_VERSION): the admin page shows it, and a screen reloaded by
	// an administrator comes back with the new one.
	Version string `json:"version,omitempty"`
}

// SignOut asks the edge server to sign the screen's account out.
type SignOut struct{}

// QuickBook asks to book the next free slot of Minutes (15 or 30).
type QuickBook struct {
	Minutes int `json:"minutes"`
}

// Bye tells a screen that the edge server is going away and that it should
// reconnect; the screen keeps what it shows meanwhile.
type Bye struct {
	Reason string `json:"reason,omitempty"`
}

// Denied tells a screen that the edge server does not know it (its cookie is
// missing, revoked or from another server). The screen reloads its page,
// which registers it again.
type Denied struct {
	Reason string `json:"reason"`
}

// Reload tells a screen to load its page again, at an administrator's
// word: it comes back with the app's current version.
type Reload struct{}

// Identify tells a screen to show its name and a number over everything
// until Until, so that whoever stands in front of it can tell an
// administrator which screen it is.
type Identify struct {
	Name   string    `json:"name"`
	Number string    `json:"number"`
	Until  time.Time `json:"until"`
}

func (Reload) MessageType() string   { return TypeReload }
func (Identify) MessageType() string { return TypeIdentify }

func (Hello) MessageType() string     { return TypeHello }
func (SignOut) MessageType() string   { return TypeSignOut }
func (QuickBook) MessageType() string { return TypeQuickBook }
func (State) MessageType() string     { return TypeState }
func (Bye) MessageType() string       { return TypeBye }
func (Denied) MessageType() string    { return TypeDenied }

// Encode returns the JSON form of m, in its envelope.
func Encode(m Message) ([]byte, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("wire: encoding %s: %w", m.MessageType(), err)
	}
	// The envelope is written around data as it is: marshalling data
	// again as a json.RawMessage would scan and compact JSON that
	// json.Marshal has just made, which costs as much as making it (and
	// every screen's state is encoded on every change).
	typ, err := json.Marshal(m.MessageType())
	if err != nil {
		return nil, fmt.Errorf("wire: encoding %s: %w", m.MessageType(), err)
	}
	out := make([]byte, 0, len(`{"type":,"data":}`)+len(typ)+len(data))
	out = append(out, `{"type":`...)
	out = append(out, typ...)
	out = append(out, `,"data":`...)
	out = append(out, data...)
	return append(out, '}'), nil
}

// ErrUnknownType is wrapped by the error of a decoder that met a message type
// it does not know.
var ErrUnknownType = errors.New("unknown message type")

// DecodeFromScreen decodes a message that a screen sent. It is strict: an
// unknown type, an unknown field, trailing data or an invalid value is an
// error that says what was wrong.
func DecodeFromScreen(b []byte) (Message, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("wire: message of %d bytes is over the limit of %d", len(b), MaxMessageSize)
	}
	env, err := decodeEnvelope(b, true)
	if err != nil {
		return nil, err
	}
	var m Message
	switch env.Type {
	case TypeHello:
		var h Hello
		if err := decodeData(env, &h, true); err != nil {
			return nil, err
		}
		if err := h.validate(); err != nil {
			return nil, err
		}
		m = h
	case TypeSignOut:
		var s SignOut
		if err := decodeData(env, &s, true); err != nil {
			return nil, err
		}
		m = s
	case TypeQuickBook:
		var q QuickBook
		if err := decodeData(env, &q, true); err != nil {
			return nil, err
		}
		if q.Minutes != 15 && q.Minutes != 30 {
			return nil, fmt.Errorf("wire: quick_book minutes must be 15 or 30, not %d", q.Minutes)
		}
		m = q
	case TypeRoomAction:
		var a RoomAction
		if err := decodeData(env, &a, true); err != nil {
			return nil, err
		}
		if err := a.validate(); err != nil {
			return nil, err
		}
		m = a
	default:
		return nil, fmt.Errorf("wire: %w %q from a screen (expected %s, %s, %s or %s)",
			ErrUnknownType, env.Type, TypeHello, TypeSignOut, TypeQuickBook, TypeRoomAction)
	}
	return m, nil
}

// DecodeFromServer decodes a message that the edge server sent. Unknown
// fields are ignored, so that an older screen still reads a newer server;
// an unknown type is an error the screen can ignore.
func DecodeFromServer(b []byte) (Message, error) {
	env, err := decodeEnvelope(b, false)
	if err != nil {
		return nil, err
	}
	switch env.Type {
	case TypeState:
		var s State
		err = decodeData(env, &s, false)
		return s, err
	case TypeBye:
		var m Bye
		err = decodeData(env, &m, false)
		return m, err
	case TypeDenied:
		var m Denied
		err = decodeData(env, &m, false)
		return m, err
	case TypeReload:
		var m Reload
		err = decodeData(env, &m, false)
		return m, err
	case TypeIdentify:
		var m Identify
		err = decodeData(env, &m, false)
		return m, err
	}
	return nil, fmt.Errorf("wire: %w %q from the server", ErrUnknownType, env.Type)
}

func decodeEnvelope(b []byte, strict bool) (envelope, error) {
	var env envelope
	d := json.NewDecoder(bytes.NewReader(b))
	if strict {
		d.DisallowUnknownFields()
	}
	if err := d.Decode(&env); err != nil {
		return env, fmt.Errorf("wire: message is not a JSON envelope {\"type\",\"data\"}: %w", err)
	}
	if d.More() {
		return env, errors.New("wire: message has data after its JSON envelope")
	}
	if env.Type == "" {
		return env, errors.New(`wire: message has no "type"`)
	}
	return env, nil
}

func decodeData(env envelope, v any, strict bool) error {
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(env.Data))
	if strict {
		d.DisallowUnknownFields()
	}
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("wire: %s data: %w", env.Type, err)
	}
	return nil
}

func (h Hello) validate() error {
	if err := ValidateName(h.Screen); err != nil {
		return fmt.Errorf("wire: hello: %w", err)
	}
	if len(h.TimeZone) > 64 || strings.ContainsFunc(h.TimeZone, func(r rune) bool {
		return !(r == '/' || r == '_' || r == '-' || r == '+' || unicode.IsLetter(r) || unicode.IsDigit(r))
	}) {
		return fmt.Errorf("wire: hello: time_zone %q is not an IANA zone name", h.TimeZone)
	}
	return nil
}

// ValidateName says what is wrong with a screen name, if anything: it must
// be 1 to MaxNameLength printable characters.
func ValidateName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return errors.New("screen name is not valid UTF-8")
	case strings.TrimSpace(name) == "":
		return errors.New("screen name is empty")
	case utf8.RuneCountInString(name) > MaxNameLength:
		return fmt.Errorf("screen name is longer than %d characters", MaxNameLength)
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return errors.New("screen name has a control character")
	}
	return nil
}
