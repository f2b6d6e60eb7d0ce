package mqtt_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/mqtt"
	"github.com/placard/placard/server/mqtt/mqtttest"
)

var desk = server.Light{ID: "labc", Name: "desk-ada", Account: "ada@placard.example", MQTT: true}

func view(availability string) lights.View {
	return lights.NewView(server.Presence{Availability: availability, Activity: availability, SignedIn: true, Updated: time.Now()})
}

func newPublisher(t *testing.T, b *mqtttest.Broker) *mqtt.Publisher {
	t.Helper()
	p, err := mqtt.New(mqtt.Config{URL: b.URL(), ClientID: "placard-test", MinBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestASubscriberSeesTheRetainedStateAndTheDiscoveryConfig(t *testing.T) {
	b := mqtttest.Start(t)
	p := newPublisher(t, b)
	p.Publish(desk, view("Busy"))
	const stateTopic, configTopic = "placard/desk-ada/presence", "homeassistant/sensor/placard_labc/config"
	mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, stateTopic, configTopic)

	// A subscriber that comes later gets what is retained.
	s := mqtttest.Subscribe(t, b, "#")
	got := s.AwaitTopics(t, 10*time.Second, stateTopic, configTopic, "placard/status")
	state, cfg := got[stateTopic], got[configTopic]
	if !state.Retain || !strings.Contains(state.Payload, `"availability":"Busy"`) || !strings.Contains(state.Payload, `"color":"#C4314B"`) {
		t.Errorf("state %+v", state)
	}
	var c struct {
		UniqueID          string `json:"unique_id"`
		StateTopic        string `json:"state_topic"`
		AvailabilityTopic string `json:"availability_topic"`
		Device            struct {
			Identifiers []string `json:"identifiers"`
			Name        string   `json:"name"`
		} `json:"device"`
	}
	if err := json.Unmarshal([]byte(cfg.Payload), &c); err != nil || !cfg.Retain {
		t.Fatalf("config %+v: %v", cfg, err)
	}
	if c.UniqueID != "placard_labc" || c.StateTopic != "placard/desk-ada/presence" || c.AvailabilityTopic != "placard/status" ||
		len(c.Device.Identifiers) != 1 || c.Device.Identifiers[0] != "placard_labc" || c.Device.Name == "" {
		t.Errorf("config %s", cfg.Payload)
	}
	if got["placard/status"].Payload != "online" {
		t.Errorf("placard's status: %+v", got["placard/status"])
	}

	// Home Assistant starts: it says online, and gets the config again.
	s.Publish(t, "homeassistant/status", "online")
	s.Await(t, 10*time.Second, "the config again", func(m mqtttest.Message) bool {
		return m.Topic == "homeassistant/sensor/placard_labc/config" && !m.Retain
	})

	// A revoked key's topics are cleared.
	p.Forget(desk)
	s.Await(t, 10*time.Second, "the state cleared", func(m mqtttest.Message) bool { return m.Topic == "placard/desk-ada/presence" && m.Payload == "" })
}

func TestABrokerRestartIsReconnectedAndEverythingRepublished(t *testing.T) {
	b := mqtttest.Start(t)
	p := newPublisher(t, b)
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
	const stateTopic, configTopic = "placard/desk-ada/presence", "homeassistant/sensor/placard_labc/config"
	mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 20*time.Second, stateTopic, configTopic)
	// Retained again, with the latest state.
	got := mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, stateTopic, configTopic)
	if st := got[stateTopic]; !st.Retain || !strings.Contains(st.Payload, `"DoNotDisturb"`) || !got[configTopic].Retain {
		t.Errorf("after the restart: %+v", got)
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
