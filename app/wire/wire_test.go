package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeFromScreenAcceptsEachMessage(t *testing.T) {
	tests := []struct {
		in   string
		want Message
	}{
		{`{"type":"hello","data":{"screen":"Lobby TV","time_zone":"Europe/Paris","touch":true}}`,
			Hello{Screen: "Lobby TV", TimeZone: "Europe/Paris", Touch: true}},
		{`{"type":"hello","data":{"screen":"Kitchen"}}`, Hello{Screen: "Kitchen"}},
		{`{"type":"sign_out"}`, SignOut{}},
		{`{"type":"sign_out","data":{}}`, SignOut{}},
		{`{"type":"quick_book","data":{"minutes":30}}`, QuickBook{Minutes: 30}},
		{`{"type":"room_action","data":{"action":"book","minutes":60}}`, RoomAction{Action: ActBook, Minutes: 60}},
		{`{"type":"room_action","data":{"action":"end","event":"AAMk-1="}}`, RoomAction{Action: ActEnd, Event: "AAMk-1="}},
	}
	for _, tt := range tests {
		got, err := DecodeFromScreen([]byte(tt.in))
		if err != nil {
			t.Errorf("DecodeFromScreen(%s): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("DecodeFromScreen(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestDecodeFromScreenRejectsBadInputWithAReason(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"unknown type", `{"type":"give_me_tokens"}`, "unknown message type"},
		{"no type", `{"data":{}}`, `no "type"`},
		{"not JSON", `hello`, "not a JSON envelope"},
		{"unknown envelope field", `{"type":"sign_out","token":"x"}`, "unknown field"},
		{"unknown data field", `{"type":"hello","data":{"screen":"A","secret":"x"}}`, "unknown field"},
		{"trailing data", `{"type":"sign_out"}{"type":"sign_out"}`, "after its JSON"},
		{"empty name", `{"type":"hello","data":{"screen":"  "}}`, "screen name is empty"},
		{"control char in name", `{"type":"hello","data":{"screen":"a\u0007b"}}`, "control character"},
		{"long name", `{"type":"hello","data":{"screen":"` + strings.Repeat("x", MaxNameLength+1) + `"}}`, "longer than"},
		{"bad zone", `{"type":"hello","data":{"screen":"A","time_zone":"<script>"}}`, "not an IANA zone"},
		{"bad minutes", `{"type":"quick_book","data":{"minutes":45}}`, "15 or 30"},
		{"bad room minutes", `{"type":"room_action","data":{"action":"book","minutes":45}}`, "15, 30 or 60"},
		{"room action without event", `{"type":"room_action","data":{"action":"extend"}}`, "needs the id"},
		{"unknown room action", `{"type":"room_action","data":{"action":"delete","event":"x"}}`, "none of"},
		{"oversized", `{"type":"hello","data":{"screen":"` + strings.Repeat("x", MaxMessageSize) + `"}}`, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFromScreen([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodeFromScreen(%s) succeeded, want an error", tt.in)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
}

func TestUnknownTypeErrorWrapsErrUnknownType(t *testing.T) {
	_, err := DecodeFromScreen([]byte(`{"type":"nope"}`))
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("error %v does not wrap ErrUnknownType", err)
	}
	_, err = DecodeFromServer([]byte(`{"type":"nope"}`))
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("error %v does not wrap ErrUnknownType", err)
	}
}

func TestStateRoundTrips(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	st := State{
		Phase: PhaseCode, Now: at,
		Screen: Screen{Name: "Lobby TV", TimeZone: "Europe/Paris", Lang: "en"},
		Code: &Code{UserCode: "ABCDEFGHJ", VerificationURI: "https://microsoft.com/devicelogin",
			ExpiresAt: at.Add(15 * time.Minute), QR: QR{Size: 33, Path: "M4 4h7v1h-7z"}},
	}
	b, err := Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeFromServer(b)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(State)
	if got.Phase != st.Phase || !got.Now.Equal(st.Now) || *got.Code != *st.Code || got.Screen != st.Screen {
		t.Errorf("round trip changed the state:\n got %+v\nwant %+v", got, st)
	}
}

func TestServerDecoderIgnoresUnknownFields(t *testing.T) {
	m, err := DecodeFromServer([]byte(`{"type":"bye","data":{"reason":"restart","later":1},"v":2}`))
	if err != nil {
		t.Fatalf("a newer server's fields must not break an older screen: %v", err)
	}
	if m.(Bye).Reason != "restart" {
		t.Errorf("got %+v", m)
	}
}

// FuzzDecodeFromScreen checks that no input makes the decoder panic, and
// that whatever it accepts encodes and decodes to the same message.
func FuzzDecodeFromScreen(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","data":{"screen":"Lobby TV","time_zone":"Europe/Paris","touch":true}}`,
		`{"type":"sign_out"}`,
		`{"type":"quick_book","data":{"minutes":15}}`,
		`{"type":"x"}`, `{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeFromScreen(b)
		if err != nil {
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		again, err := DecodeFromScreen(enc)
		if err != nil {
			t.Fatalf("accepted %q, encoded as %q, which does not decode: %v", b, enc, err)
		}
		if again != m {
			t.Fatalf("round trip changed %#v into %#v", m, again)
		}
	})
}

// Encode writes the envelope itself: what it makes must be exactly what
// json.Marshal makes of the envelope, HTML escaping included.
func TestEncodeWritesTheEnvelopeAsJSONMarshalDoes(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	for _, m := range []Message{
		Hello{Screen: "Lobby <TV> & \"hall\"", TimeZone: "Europe/Paris", Touch: true},
		State{Phase: PhaseDashboard, Now: at, Screen: Screen{Name: "Café <1>"}, Dashboard: &Dashboard{
			User: User{Name: "Ada & Grace"}, Agenda: &Agenda{Today: []Event{{Subject: "</script>\u2028"}}}}},
		Bye{Reason: "restarting"},
		Denied{Reason: "unknown screen"},
	} {
		got, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(m)
		want, _ := json.Marshal(envelope{Type: m.MessageType(), Data: data})
		if string(got) != string(want) {
			t.Errorf("Encode(%T):\n got %s\nwant %s", m, got, want)
		}
	}
}

func BenchmarkDecodeFromScreen(b *testing.B) {
	msg := []byte(`{"type":"hello","data":{"screen":"Lobby TV","time_zone":"Europe/Paris","touch":true}}`)
	for b.Loop() {
		if _, err := DecodeFromScreen(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeState(b *testing.B) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	st := State{Phase: PhaseDashboard, Now: at, Screen: Screen{Name: "Lobby TV", TimeZone: "Europe/Paris", Lang: "en"},
		Dashboard: &Dashboard{User: User{Name: "Ada Lovelace", Initials: "AL"}, Presence: &Presence{Availability: "Busy", Activity: "InACall"},
			Agenda: &Agenda{Today: make([]Event, 8)}, Fresh: at}}
	for b.Loop() {
		if _, err := Encode(st); err != nil {
			b.Fatal(err)
		}
	}
}
