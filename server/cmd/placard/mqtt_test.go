package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/placard/placard/app/wire"
	"github.com/placard/placard/server/mqtt/mqtttest"
)

func TestLightKeysPublishToMQTTAndADeadBrokerStallsNothing(t *testing.T) {
	b := mqtttest.Start(t)
	m := testServer(t, fastPresence, func(m *Main) { m.Config.MQTTURL = b.URL() })
	admin := newToken(t, m)
	s := openScreen(t, m, "Lobby TV")
	s.signIn(m, "grace@placard.example")
	id, key := addLight(t, m, admin, `{"name":"desk-grace","account":"grace@placard.example","mqtt":true}`)
	awaitPresence(t, m, key, 10*time.Second, "Grace's presence", func(p presenceAnswer) bool { return !p.Stale })

	stateTopic, configTopic := "placard/desk-grace/presence", "homeassistant/sensor/placard_"+id+"/config"
	got := mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, stateTopic, configTopic, "placard/status")
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
	got = mqtttest.Subscribe(t, b, "#").AwaitTopics(t, 10*time.Second, stateTopic, configTopic, "placard/status")
	if !got[stateTopic].Retain || !strings.Contains(got[stateTopic].Payload, `"availability":"Away"`) || got["placard/status"].Payload != "online" {
		t.Errorf("after the broker's restart: %+v", got)
	}
}
