package mqtt_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/mqtt"
	"github.com/placard/placard/server/mqtt/mqtttest"
)

var (
	desk = server.Light{ID: "labc", Name: "desk-ada", Account: "ada@placard.example", MQTT: true}
	lamp = server.Light{ID: "ldef", Name: "lamp-grace", Account: "grace@placard.example", MQTT: true}
)

const (
	deskState  = "placard/desk-ada/presence"
	deskConfig = "homeassistant/sensor/placard_labc/config"
	lampState  = "placard/lamp-grace/presence"
	lampConfig = "homeassistant/sensor/placard_ldef/config"
)

func view(availability string) lights.View {
	return lights.NewView(server.Presence{Availability: availability, Activity: availability, SignedIn: true, Updated: time.Now()})
}

// keys is a store's light keys, as a Publisher reads them.
type keys struct {
	mu  sync.Mutex
	all []server.Light
}

func (k *keys) set(l ...server.Light) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.all = l
}

func (k *keys) get(context.Context) ([]server.Light, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.all), nil
}

// logged is a log handler that hands every record's message to a
// channel: a test waits on what the publisher says it did.
type logged struct{ ch chan slog.Record }

func newLogged() *logged { return &logged{ch: make(chan slog.Record, 1024)} }

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	select {
	case l.ch <- r:
	default:
	}
	return nil
}
func (l *logged) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logged) WithGroup(string) slog.Handler      { return l }

// await returns the next record whose message starts with msg.
func (l *logged) await(t *testing.T, within time.Duration, msg string) slog.Record {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-l.ch:
			if strings.HasPrefix(r.Message, msg) {
				return r
			}
		case <-deadline:
			t.Fatalf("no log %q within %v", msg, within)
		}
	}
}

func newPublisher(t *testing.T, url string, tune ...func(*mqtt.Config)) *mqtt.Publisher {
	t.Helper()
	cfg := mqtt.Config{URL: url, MinBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler)}
	for _, f := range tune {
		f(&cfg)
	}
	p, err := mqtt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// haConfig is what Home Assistant reads of a discovery config.
type haConfig struct {
	UniqueID     string `json:"unique_id"`
	StateTopic   string `json:"state_topic"`
	Availability []struct {
		Topic               string `json:"topic"`
		PayloadAvailable    string `json:"payload_available"`
		PayloadNotAvailable string `json:"payload_not_available"`
	} `json:"availability"`
	AvailabilityMode string `json:"availability_mode"`
	Device           struct {
		Identifiers []string `json:"identifiers"`
		Name        string   `json:"name"`
	} `json:"device"`
}

func parseConfig(t *testing.T, m mqtttest.Message) haConfig {
	t.Helper()
	var c haConfig
	if err := json.Unmarshal([]byte(m.Payload), &c); err != nil {
		t.Fatalf("config %+v: %v", m, err)
	}
	return c
}

// available is Home Assistant's verdict on an entity with the config c,
// given the last message on each topic: with availability_mode "any", it
// is available while any listed topic last said its payload_available.
func available(c haConfig, last map[string]string) bool {
	if c.AvailabilityMode != "any" {
		// "latest" (the default) and "all" need every topic, or the
		// last one, to say so: not what placard publishes.
		return false
	}
	for _, a := range c.Availability {
		if last[a.Topic] == a.PayloadAvailable {
			return true
		}
	}
	return false
}

func TestASubscriberSeesTheRetainedStateAndTheDiscoveryConfig(t *testing.T) {
	b := mqtttest.Start(t)
	p := newPublisher(t, b.URL())
	p.Publish(desk, view("Busy"))
	status := mqtt.StatusTopic(p.ClientID())
	mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, deskState, deskConfig)

	// A subscriber that comes later gets what is retained.
	s := mqtttest.Subscribe(t, b, "#")
	got := s.AwaitTopics(t, 10*time.Second, deskState, deskConfig, status)
	state, cfg := got[deskState], got[deskConfig]
	if !state.Retain || !strings.Contains(state.Payload, `"availability":"Busy"`) || !strings.Contains(state.Payload, `"color":"#C4314B"`) {
		t.Errorf("state %+v", state)
	}
	if !cfg.Retain {
		t.Errorf("config not retained: %+v", cfg)
	}
	c := parseConfig(t, cfg)
	if c.UniqueID != "placard_labc" || c.StateTopic != deskState || len(c.Availability) != 1 || c.Availability[0].Topic != status ||
		c.AvailabilityMode != "any" || len(c.Device.Identifiers) != 1 || c.Device.Identifiers[0] != "placard_labc" || c.Device.Name == "" {
		t.Errorf("config %s", cfg.Payload)
	}
	if got[status].Payload != "online" || !strings.HasPrefix(status, "placard/replicas/placard-") {
		t.Errorf("the replica's status: %+v", got[status])
	}

	// Home Assistant starts: it says online, and gets the config again.
	s.Publish(t, "homeassistant/status", "online")
	s.Await(t, 10*time.Second, "the config again", func(m mqtttest.Message) bool {
		return m.Topic == deskConfig && !m.Retain
	})

	// A revoked key's topics are cleared.
	p.Forget(desk)
	s.Await(t, 10*time.Second, "the state cleared", func(m mqtttest.Message) bool { return m.Topic == deskState && m.Payload == "" })
}

func TestABrokerRestartIsReconnectedAndEverythingRepublished(t *testing.T) {
	b := mqtttest.Start(t)
	p := newPublisher(t, b.URL())
	p.Publish(desk, view("Available"))
	s := mqtttest.Subscribe(t, b, "#")
	s.Await(t, 10*time.Second, "the first state", func(m mqtttest.Message) bool { return strings.Contains(m.Payload, `"Available"`) })

	b.Stop()
	// A dead broker does not slow a publication down.
	start := time.Now()
	for _, a := range []string{"Away", "Busy", "DoNotDisturb"} {
		p.Publish(desk, view(a))
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("publishing with the broker down took %v", d)
	}

	b.Restart() // no persistence: it lost every retained message
	mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 20*time.Second, deskState, deskConfig)
	// Retained again, with the latest state.
	got := mqtttest.Retained(t, b, "#")
	if st := got[deskState]; !st.Retain || !strings.Contains(st.Payload, `"DoNotDisturb"`) || !got[deskConfig].Retain {
		t.Errorf("after the restart: %+v", got)
	}
}

func TestTheTopicsOfAKeyRevokedWhilePlacardWasAwayAreClearedOnConnection(t *testing.T) {
	b := mqtttest.Start(t)
	stored := &keys{}
	stored.set(desk, lamp)
	first := newPublisher(t, b.URL(), func(c *mqtt.Config) { c.Keys = stored.get })
	first.Publish(desk, view("Busy"))
	first.Publish(lamp, view("Away"))
	mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, deskState, deskConfig, lampState, lampConfig)
	first.Close() // placard stops

	// desk is revoked while placard is down (the command line).
	stored.set(lamp)
	s := mqtttest.Subscribe(t, b, "#")
	s.AwaitTopics(t, 10*time.Second, deskState, deskConfig, lampState, lampConfig) // what is retained now

	// Placard starts again, before lamp's account is even followed.
	newPublisher(t, b.URL(), func(c *mqtt.Config) { c.Keys = stored.get })
	s.Await(t, 10*time.Second, "desk's config cleared", func(m mqtttest.Message) bool { return m.Topic == deskConfig && m.Payload == "" })
	s.Await(t, 10*time.Second, "desk's state cleared", func(m mqtttest.Message) bool { return m.Topic == deskState && m.Payload == "" })

	got := mqtttest.Retained(t, b, "#")
	if _, ok := got[deskConfig]; ok {
		t.Errorf("the revoked key's config is still retained: %+v", got[deskConfig])
	}
	if _, ok := got[deskState]; ok {
		t.Errorf("the revoked key's state is still retained: %+v", got[deskState])
	}
	if got[lampConfig].Payload == "" || !strings.Contains(got[lampState].Payload, `"Away"`) {
		t.Errorf("a live key's topics were cleared: %+v", got)
	}
}

func TestTwoReplicasOnOneHostKeepTheirConnectionsAndAStatusEach(t *testing.T) {
	b := mqtttest.Start(t)
	logA, logB := newLogged(), newLogged()
	// As two replicas on one host start them: no client id given.
	a := newPublisher(t, b.URL(), func(c *mqtt.Config) { c.Log = slog.New(logA) })
	bb := newPublisher(t, b.URL(), func(c *mqtt.Config) { c.Log = slog.New(logB) })
	if a.ClientID() == bb.ClientID() {
		t.Fatalf("two replicas on one host share the client id %q", a.ClientID())
	}
	a.Publish(desk, view("Busy"))
	bb.Publish(lamp, view("Away"))
	statusA, statusB := mqtt.StatusTopic(a.ClientID()), mqtt.StatusTopic(bb.ClientID())
	mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, deskState, lampState)
	s := mqtttest.Subscribe(t, b, "#")
	// Each config ends up naming both replicas' status topics.
	s.Await(t, 10*time.Second, "a config naming both replicas", func(m mqtttest.Message) bool {
		if m.Topic != deskConfig {
			return false
		}
		c := parseConfig(t, m)
		return len(c.Availability) == 2 && c.AvailabilityMode == "any"
	})
	got := mqtttest.Retained(t, b, "#")
	if got[statusA].Payload != "online" || got[statusB].Payload != "online" {
		t.Errorf("replicas' statuses: %q %q", got[statusA].Payload, got[statusB].Payload)
	}
	if got[deskState].Payload == "" || got[lampState].Payload == "" {
		t.Errorf("states: %+v", got)
	}
	logA.await(t, time.Second, "connected to the MQTT broker")
	logB.await(t, time.Second, "connected to the MQTT broker")
	// One more round trip each: neither connection was taken over.
	a.Publish(desk, view("DoNotDisturb"))
	s.Await(t, 10*time.Second, "desk's new state", func(m mqtttest.Message) bool {
		return m.Topic == deskState && strings.Contains(m.Payload, "DoNotDisturb")
	})
	bb.Publish(lamp, view("Available"))
	s.Await(t, 10*time.Second, "lamp's new state", func(m mqtttest.Message) bool {
		return m.Topic == lampState && strings.Contains(m.Payload, `"Available"`)
	})
	for name, l := range map[string]*logged{"first": logA, "second": logB} {
	drain:
		for {
			select {
			case r := <-l.ch:
				if strings.HasPrefix(r.Message, "connected to the MQTT broker") || strings.Contains(r.Message, "closed placard's connection") {
					t.Errorf("the %s replica: %s", name, r.Message)
				}
			default:
				break drain
			}
		}
	}
}

func TestOneReplicasLastWillLeavesTheLightsAvailable(t *testing.T) {
	b := mqtttest.Start(t)
	proxy := mqtttest.NewProxy(t, b)
	logA := newLogged()
	// Replica a reaches the broker through a link that breaks; b directly.
	a := newPublisher(t, proxy.URL(), func(c *mqtt.Config) {
		c.Log = slog.New(logA)
		c.MinBackoff = 5 * time.Second
		c.MaxBackoff = 10 * time.Second
	})
	bb := newPublisher(t, b.URL())
	a.Publish(desk, view("Busy"))
	bb.Publish(desk, view("Busy"))
	statusA, statusB := mqtt.StatusTopic(a.ClientID()), mqtt.StatusTopic(bb.ClientID())
	s := mqtttest.Subscribe(t, b, "#")
	s.Await(t, 10*time.Second, "a config naming both replicas", func(m mqtttest.Message) bool {
		return m.Topic == deskConfig && len(parseConfig(t, m).Availability) == 2
	})
	logA.await(t, 10*time.Second, "connected to the MQTT broker")

	proxy.Cut() // replica a's link breaks: the broker sends its Last Will
	s.Await(t, 10*time.Second, "a's Last Will", func(m mqtttest.Message) bool { return m.Topic == statusA && m.Payload == "offline" })

	got := mqtttest.Retained(t, b, "#")
	last := map[string]string{}
	for topic, m := range got {
		last[topic] = m.Payload
	}
	last[statusA] = "offline" // Home Assistant saw it, even once cleared
	c := parseConfig(t, got[deskConfig])
	if !available(c, last) {
		t.Errorf("with replica b online (%q), Home Assistant takes desk for unavailable: config %s, statuses a %q b %q",
			last[statusB], got[deskConfig].Payload, last[statusA], last[statusB])
	}
}

func TestAConnectionThatDiesAtOnceIsRetriedWithAGrowingWait(t *testing.T) {
	b := mqtttest.Start(t)
	logs := newLogged()
	// Two clients with one id: the broker gives the session to the
	// newcomer and drops the other, each time.
	for range 2 {
		newPublisher(t, b.URL(), func(c *mqtt.Config) {
			c.ClientID, c.Log = "placard-same", slog.New(logs)
			c.MinBackoff, c.MaxBackoff = 100*time.Millisecond, 2*time.Second
		})
	}
	start := time.Now()
	const connections = 10
	for range connections {
		logs.await(t, 30*time.Second, "connected to the MQTT broker")
	}
	// With waits that start again from none after each connection, the
	// two take the session from each other thousands of times a second.
	// Here each early loss doubles the next wait, from 50–100 ms: the
	// ten connections need at least 2×(50+100+200+400) ms.
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("%d connections in %v: the back-off started again after connections that died at once", connections, d)
	}
}

func TestABrokerURLIsChecked(t *testing.T) {
	for _, bad := range []string{"", "http://x:1883", "mqtt://:1883", "mqtt://host", "tcp://h:1"} {
		if err := mqtt.CheckURL(bad); err == nil || !strings.Contains(err.Error(), "mqtt://host:1883") {
			t.Errorf("CheckURL(%q) = %v", bad, err)
		}
	}
	if err := mqtt.CheckURL("mqtt://user:secret@h:1883"); err != nil {
		t.Error(err)
	}
	if err := mqtt.CheckURL("mqtt://user:secret@h"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a bad URL's message shows its password: %v", err)
	}
}

func TestAPasswordInAFlagOrInClearOnTheNetworkIsWarnedOf(t *testing.T) {
	for _, tc := range []struct {
		url      string
		fromFlag bool
		want     []string // a word of each warning expected
	}{
		{"mqtt://broker.lan:1883", true, nil},
		{"mqtt://user@broker.lan:1883", true, nil},
		{"mqtt://user:pw@broker.lan:1883", false, []string{"unencrypted over mqtt:// to broker.lan"}},
		{"mqtt://user:pw@broker.lan:1883", true, []string{"PLACARD_MQTT_URL", "unencrypted"}},
		{"mqtts://user:pw@broker.lan:8883", false, nil},
		{"mqtts://user:pw@broker.lan:8883", true, []string{"PLACARD_MQTT_URL"}},
		{"mqtt://user:pw@127.0.0.1:1883", false, nil},
		{"mqtt://user:pw@127.8.9.10:1883", false, nil},
		{"mqtt://user:pw@[::1]:1883", false, nil},
		{"mqtt://user:pw@localhost:1883", false, nil},
		{"mqtt://user:pw@192.168.1.20:1883", false, []string{"to 192.168.1.20"}},
		{"mqtt://user:pw@[fe80::1]:1883", false, []string{"unencrypted"}},
		{"mqtt://user:pw@localhost.example.com:1883", false, []string{"unencrypted"}},
		{"mqtt://user:@broker.lan:1883", false, []string{"unencrypted"}}, // an empty password is still sent
	} {
		got := mqtt.Warnings(tc.url, tc.fromFlag)
		if len(got) != len(tc.want) {
			t.Errorf("Warnings(%q, flag %v) = %q, want %d", tc.url, tc.fromFlag, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("Warnings(%q, flag %v)[%d] = %q, want it to say %q", tc.url, tc.fromFlag, i, got[i], w)
			}
			if strings.Contains(got[i], "pw") {
				t.Errorf("a warning shows the password: %q", got[i])
			}
		}
	}
}
