// Package mqtt publishes the presence of light keys made with MQTT on to
// an MQTT broker, through Eclipse Paho (autopaho), with Home Assistant's
// MQTT discovery:
//
//   - the presence, retained, as the same JSON as GET /api/v1/presence on
//     placard/<key name>/presence;
//   - a retained discovery config on homeassistant/sensor/<unique id>/config
//     that names it a sensor, its device, and placard's availability
//     topic, placard/status: "online" while placard is connected, "offline"
//     (its Last Will) when it is not;
//   - the configs again whenever Home Assistant announces "online" on
//     homeassistant/status (it starts, and forgot them).
//
// The broker is reached in the background: publishing never waits on it,
// a dead broker is retried with back-off, and everything is published
// again on each reconnection.
package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
)

// Topics.
const (
	StatusTopic   = "placard/status"
	HAStatusTopic = "homeassistant/status"
)

// StateTopic is where a key's presence is published.
func StateTopic(l server.Light) string { return "placard/" + l.Name + "/presence" }

// UniqueID is a key's id in Home Assistant.
func UniqueID(l server.Light) string { return "placard_" + l.ID }

// ConfigTopic is where a key's discovery config is published.
func ConfigTopic(l server.Light) string { return "homeassistant/sensor/" + UniqueID(l) + "/config" }

// Config configures a Publisher.
type Config struct {
	// URL is the broker: mqtt://host:1883 or mqtts://host:8883, with
	// user:password@ when the broker wants them.
	URL string
	// CAFile is a PEM file of the certificate authorities that sign an
	// mqtts:// broker's certificate (the system's when empty).
	CAFile string
	// ClientID names placard to the broker: "placard" by default.
	ClientID string
	Log      *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts (1 s and 1 minute by default).
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one publication: 10 s by default.
	Timeout time.Duration
}

// CheckURL says what is wrong with a broker URL, or nil.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("-mqtt-url %q must be mqtt://host:1883 or mqtts://host:8883 (user:password@ before the host when the broker wants them)", redact(raw))
	}
	return nil
}

// redact hides the password of a broker URL, for messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unreadable URL)"
	}
	return u.Redacted()
}

// Publisher publishes light keys' presence; it is a lights.Sink.
type Publisher struct {
	cfg Config
	log *slog.Logger
	cm  *autopaho.ConnectionManager

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}

	mu     sync.Mutex
	up     bool
	lights map[string]*entry // by light id
	gone   []server.Light    // revoked: their topics to clear
}

// entry is one key and what the broker has of it.
type entry struct {
	l                 server.Light
	view              lights.View
	stateOK, configOK bool
}

var _ lights.Sink = (*Publisher)(nil)

// New starts connecting to the broker and returns at once.
func New(cfg Config) (*Publisher, error) {
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "placard"
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	u, _ := url.Parse(cfg.URL)
	broker := *u
	broker.User = nil
	var tlsCfg *tls.Config
	if u.Scheme == "mqtts" {
		broker.Scheme = "tls"
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("mqtt: reading -mqtt-ca %s: %w", cfg.CAFile, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("mqtt: -mqtt-ca %s holds no PEM certificate", cfg.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
	} else if cfg.CAFile != "" {
		return nil, errors.New("mqtt: -mqtt-ca is for an mqtts:// broker: use mqtts:// in -mqtt-url, or drop -mqtt-ca")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{cfg: cfg, log: cfg.Log, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		kick: make(chan struct{}, 1), lights: map[string]*entry{}}

	ac := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{&broker},
		TlsCfg:                        tlsCfg,
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewExponentialBackoff(cfg.MinBackoff, cfg.MaxBackoff, cfg.MinBackoff, 2),
		ConnectTimeout:                cfg.Timeout,
		OnConnectionUp:                p.connected,
		OnConnectionDown: func() bool {
			p.mu.Lock()
			p.up = false
			p.mu.Unlock()
			p.log.Warn("the MQTT broker is gone: reconnecting", "broker", broker.String())
			return true
		},
		OnConnectError: func(err error) {
			p.log.Warn("connecting to the MQTT broker", "broker", broker.String(), "err", err)
		},
		ClientConfig: paho.ClientConfig{
			ClientID: cfg.ClientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) {
					if pr.Packet.Topic == HAStatusTopic && string(pr.Packet.Payload) == "online" {
						p.republishConfigs()
					}
					return true, nil
				},
			},
		},
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		ac.ConnectUsername, ac.ConnectPassword = u.User.Username(), []byte(pw)
	}
	// The Last Will: the broker says "offline" for placard when it is
	// gone without a word.
	ac.WillMessage = &paho.WillMessage{Topic: StatusTopic, Payload: []byte("offline"), QoS: 1, Retain: true}
	cm, err := autopaho.NewConnection(ctx, ac)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	p.cm = cm
	go p.run()
	return p, nil
}

// connected runs on each (re)connection: it must not block.
func (p *Publisher) connected(cm *autopaho.ConnectionManager, _ *paho.Connack) {
	p.log.Info("connected to the MQTT broker")
	p.mu.Lock()
	p.up = true
	// The broker may have lost what it had (a restart without
	// persistence): everything again.
	for _, e := range p.lights {
		e.stateOK, e.configOK = false, false
	}
	p.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
		defer cancel()
		if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: HAStatusTopic, QoS: 1}}}); err != nil {
			p.log.Warn("subscribing to Home Assistant's status", "err", err)
		}
		p.wake()
	}()
}

func (p *Publisher) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// republishConfigs sends every discovery config again: Home Assistant
// started.
func (p *Publisher) republishConfigs() {
	p.mu.Lock()
	for _, e := range p.lights {
		e.configOK = false
	}
	p.mu.Unlock()
	p.wake()
}

// Publish hands over a key's presence; it never blocks.
func (p *Publisher) Publish(l server.Light, v lights.View) {
	p.mu.Lock()
	e := p.lights[l.ID]
	if e == nil {
		e = &entry{l: l}
		p.lights[l.ID] = e
	}
	e.view, e.stateOK = v, false
	p.mu.Unlock()
	p.wake()
}

// Forget clears a revoked key's topics; it never blocks.
func (p *Publisher) Forget(l server.Light) {
	p.mu.Lock()
	if _, ok := p.lights[l.ID]; ok {
		delete(p.lights, l.ID)
		p.gone = append(p.gone, l)
	}
	p.mu.Unlock()
	p.wake()
}

// run publishes what the broker lacks, whenever it is connected.
func (p *Publisher) run() {
	defer close(p.done)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.kick:
		}
		p.flush()
	}
}

// message is one publication due.
type message struct {
	topic   string
	payload []byte
	done    func() // marks it published, under p.mu
}

// flush publishes what is due, one message at a time; on a failure the
// rest waits for the next connection.
func (p *Publisher) flush() {
	p.mu.Lock()
	if !p.up {
		p.mu.Unlock()
		return
	}
	due := []message{{topic: StatusTopic, payload: []byte("online"), done: func() {}}}
	for _, l := range p.gone {
		// An empty retained message deletes what the broker keeps.
		due = append(due, message{topic: StateTopic(l), done: func() {}}, message{topic: ConfigTopic(l), done: func() {}})
	}
	p.gone = nil
	for _, e := range p.lights {
		if !e.configOK {
			e := e
			due = append(due, message{topic: ConfigTopic(e.l), payload: discovery(e.l), done: func() { e.configOK = true }})
		}
		if !e.stateOK && e.view.JSON != nil {
			e, v := e, e.view
			due = append(due, message{topic: StateTopic(e.l), payload: v.JSON, done: func() {
				if e.view.ETag == v.ETag {
					e.stateOK = true
				}
			}})
		}
	}
	p.mu.Unlock()
	for _, m := range due {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
		_, err := p.cm.Publish(ctx, &paho.Publish{Topic: m.topic, Payload: m.payload, QoS: 1, Retain: true})
		cancel()
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Warn("publishing to the MQTT broker", "topic", m.topic, "err", err)
			}
			// Again later; a new connection also publishes everything.
			time.AfterFunc(p.cfg.MinBackoff, p.wake)
			return
		}
		p.mu.Lock()
		m.done()
		p.mu.Unlock()
	}
}

// discovery is a key's Home Assistant discovery config: a sensor whose
// state is the availability, with the rest as attributes.
func discovery(l server.Light) []byte {
	b, _ := json.Marshal(map[string]any{
		"name":                  "Presence",
		"unique_id":             UniqueID(l),
		"object_id":             "placard_" + l.Name,
		"state_topic":           StateTopic(l),
		"value_template":        "{{ value_json.availability }}",
		"json_attributes_topic": StateTopic(l),
		"availability_topic":    StatusTopic,
		"payload_available":     "online",
		"payload_not_available": "offline",
		"icon":                  "mdi:account-circle",
		"device": map[string]any{
			"identifiers":  []string{UniqueID(l)},
			"name":         l.Name + " (" + l.Account + ")",
			"manufacturer": "placard",
			"model":        "light key",
		},
	})
	return b
}

// Close says "offline", disconnects and stops, waiting at most a few
// seconds for a broker that does not answer.
func (p *Publisher) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.mu.Lock()
	up := p.up
	p.mu.Unlock()
	if up {
		p.cm.Publish(ctx, &paho.Publish{Topic: StatusTopic, Payload: []byte("offline"), QoS: 1, Retain: true})
		p.cm.Disconnect(ctx)
	}
	p.cancel()
	<-p.done
	select {
	case <-p.cm.Done():
	case <-ctx.Done():
	}
}
