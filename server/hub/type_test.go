package hub

import "testing"

func TestMessageTypeReadsTheTypeOfAMessageOrSaysUnknown(t *testing.T) {
	for _, c := range []struct{ msg, want string }{
		{`{"type":"state","phase":"code"}`, "state"},
		{`{"type":"denied"}`, "denied"},
		{`{"type":"`, "unknown"},
		{`{"type":""}`, "unknown"},
		{`{"type":"room_action","action":"extend"}`, "room_action"},
		{`{"type":"made-up"}`, "unknown"},
		{`{"phase":"code","type":"state"}`, "unknown"},
		{``, "unknown"},
	} {
		if got := messageType([]byte(c.msg)); got != c.want {
			t.Errorf("messageType(%q) = %q, want %q", c.msg, got, c.want)
		}
	}
}

func TestMessageTypeAllocatesNothing(t *testing.T) {
	msg := []byte(`{"type":"state","phase":"dashboard","dashboard":{"user":{"name":"Ada Lovelace"}}}`)
	if n := testing.AllocsPerRun(100, func() { messageType(msg) }); n > 0 {
		t.Errorf("messageType allocates %v times a message, want none", n)
	}
}
