package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/mqtt"
	"github.com/placard/placard/server/mqtt/mqtttest"
)

func TestLightKeysPublishToMQTTAndADeadBrokerStallsNothing(t *testing.T) {
	t.Parallel()
	b := mqtttest.Start(t)
	m := testServer(t, fastPresence, func(m *Main) { m.Config.MQTTURL = b.URL() })
	admin := newToken(t, m)
	s := openScreen(t, m, "Lobby TV")
	s.signIn(m, "grace@placard.example")
	id, key := addLight(t, m, admin, `{"name":"desk-grace","account":"grace@placard.example","mqtt":true}`)
	awaitPresence(t, m, key, 10*time.Second, "Grace's presence", func(p presenceAnswer) bool { return !p.Stale })

	stateTopic, configTopic := "placard/desk-grace/presence", "homeassistant/sensor/placard_"+id+"/config"
	status := mqtt.StatusTopic(m.MQTT.ClientID())
	got := mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, stateTopic, configTopic, status)
	if !strings.Contains(got[stateTopic].Payload, `"availability":"Busy"`) || !strings.Contains(got[configTopic].Payload, `"unique_id":"placard_`+id+`"`) {
		t.Fatalf("published %+v", got)
	}

	// The broker dies: screens and HTTP go on as before.
	b.Stop()
	setPresence(t, m, "grace@placard.example", "Away", "Away")
	start := time.Now()
	awaitPresence(t, m, key, 10*time.Second, "the change over HTTP with the broker down", func(p presenceAnswer) bool { return p.Availability == "Away" })
	s.waitFor(10*time.Second, "the change on the screen", func(st wire.State) bool {
		return st.Dashboard != nil && st.Dashboard.Presence != nil && st.Dashboard.Presence.Availability == "Away"
	})
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("with the broker down, a change took %v to reach HTTP and the screen", d)
	}
	healthStart := time.Now()
	if res, err := http.Get(m.URL + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz with the broker down: %v", err)
	} else {
		res.Body.Close()
	}
	if d := time.Since(healthStart); d > time.Second {
		t.Errorf("healthz took %v with the broker down", d)
	}

	// It comes back empty (no persistence): placard reconnects and
	// publishes everything again, with the latest state.
	b.Restart()
	mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 90*time.Second, stateTopic, configTopic)
	got = mqtttest.Retained(t, b, "#")
	if !got[stateTopic].Retain || !strings.Contains(got[stateTopic].Payload, `"availability":"Away"`) || got[status].Payload != "online" {
		t.Errorf("after the broker's restart: %+v", got)
	}
}

// A broker URL given as a flag is told apart from one in the environment:
// only the flag shows its password to ps (mqtt.Warnings decides what to
// say).
func TestAnMQTTURLFromTheFlagIsToldApartFromTheEnvironment(t *testing.T) {
	const u = "mqtts://placard:pw@broker.example:8883"
	fromFlag, err := ParseConfig([]string{"-mqtt-url", u}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	fromEnv, err := ParseConfig(nil, func(k string) string {
		if k == "PLACARD_MQTT_URL" {
			return u
		}
		return ""
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !fromFlag.MQTTURLFromFlag || fromEnv.MQTTURLFromFlag || fromEnv.MQTTURL != u {
		t.Errorf("from the flag: %v; from the environment: %v (%q)", fromFlag.MQTTURLFromFlag, fromEnv.MQTTURLFromFlag, fromEnv.MQTTURL)
	}
	if w := mqtt.Warnings(fromFlag.MQTTURL, fromFlag.MQTTURLFromFlag); len(w) != 1 || !strings.Contains(w[0], "PLACARD_MQTT_URL") {
		t.Errorf("warnings for the flag: %q", w)
	}
}
