// Package mqtt publishes the presence of light keys made with MQTT on to
// an MQTT broker, through Eclipse Paho (autopaho), with Home Assistant's
// MQTT discovery:
//
//   - the presence, retained, as the same JSON as GET /api/v1/presence on
//     placard/<key name>/presence;
//   - a retained discovery config on homeassistant/sensor/<unique id>/config
//     that names it a sensor, its device, and the availability topics of
//     placard's replicas with availability_mode "any": a light is available
//     while any replica is connected;
//   - each replica's availability on a topic of its own,
//     placard/replicas/<client id>/status: "online" while it is connected,
//     "offline" (its Last Will) when it is not;
//   - the configs again whenever Home Assistant announces "online" on
//     homeassistant/status (it starts, and forgot them).
//
// Each replica connects with a client id of its own: a broker lets one
// client hold an id, and two replicas sharing one take the session from
// each other without end.
//
// On each connection, what the broker retains is reconciled with the
// stored keys: the topics of a key revoked while placard was away (or
// while the broker was) are cleared, so that Home Assistant forgets the
// device. A clear stays due until the broker acknowledges it.
//
// The broker is reached in the background: publishing never waits on it,
// a dead broker is retried with back-off, and everything is published
// again on each reconnection. What the broker may send is bounded
// (DefaultMaxPacket).
package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/lights"
)

// Topics.
const (
	HAStatusTopic = "homeassistant/status"
	// legacyStatusTopic is the one status topic that every replica shared
	// before each had its own: cleared on connection.
	legacyStatusTopic = "placard/status"

	configFilter = "homeassistant/sensor/+/config"
	stateFilter  = "placard/+/presence"
	statusFilter = "placard/replicas/+/status"
)

// StateTopic is where a key's presence is published.
func StateTopic(l server.Light) string { return "placard/" + l.Name + "/presence" }

// UniqueID is a key's id in Home Assistant.
func UniqueID(l server.Light) string { return "placard_" + l.ID }

// ConfigTopic is where a key's discovery config is published.
func ConfigTopic(l server.Light) string { return "homeassistant/sensor/" + UniqueID(l) + "/config" }

// StatusTopic is where the replica whose client id is clientID says
// whether it is connected.
func StatusTopic(clientID string) string { return "placard/replicas/" + clientID + "/status" }

// Config configures a Publisher.
type Config struct {
	// URL is the broker: mqtt://host:1883 or mqtts://host:8883, with
	// user:password@ when the broker wants them.
	URL string
	// CAFile is a PEM file of the certificate authorities that sign an
	// mqtts:// broker's certificate (the system's when empty).
	CAFile string
	// ClientID names this replica to the broker, and its status topic:
	// "placard-<host>-<random>" by default, new at each start. Letters,
	// digits, '-', '_' and '.' only (others become '_').
	ClientID string
	Log      *slog.Logger
	// Keys returns every stored light key: what the broker retains of a
	// key that is not among them is cleared on connection. Nil clears
	// nothing of keys.
	Keys func(ctx context.Context) ([]server.Light, error)
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts (1 s and 1 minute by default). A connection that lasted
	// less than MaxBackoff does not reset the wait.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one publication: 10 s by default.
	Timeout time.Duration
	// MaxPacket is the largest packet accepted from the broker
	// (DefaultMaxPacket by default).
	MaxPacket uint32
}

// LoadCA reads -mqtt-ca: the certificate authorities of an mqtts://
// broker, as New does (and placard -check-config before a start).
func LoadCA(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mqtt: reading -mqtt-ca %s: %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("mqtt: -mqtt-ca %s holds no PEM certificate", file)
	}
	return pool, nil
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
	cfg    Config
	log    *slog.Logger
	cm     *autopaho.ConnectionManager
	tls    *tls.Config
	status string // this replica's status topic
	back   *backoff

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}

	mu sync.Mutex
	// up is true once a connection is made and reconciled: flush
	// publishes only then.
	up       bool
	conn     int  // connections made, which names the current one
	statusOK bool // "online" published on this connection
	lights   map[string]*entry
	// clears are retained topics to empty: the broker forgets them once
	// it acknowledges the empty message, and not before.
	clears map[string]bool
	// replicas are the status topics of the replicas connected, this
	// one's included: the availability of every key.
	replicas map[string]bool
	// seen is what the broker retained, gathered while reconciling.
	seen *retained
	// gen moves on whenever every discovery config is due again: the
	// replicas connected changed, or Home Assistant started.
	gen int
}

// entry is one key and what the broker has of it.
type entry struct {
	l       server.Light
	view    lights.View
	stateOK bool
	// config is the generation of the discovery config the broker has
	// (Publisher.gen when current, 0 for none).
	config int
}

// retained is what a connection found retained on placard's topics.
type retained struct {
	marker  string          // the payload that ends the gathering
	ended   chan struct{}   // closed when the marker comes back
	configs map[string]bool // key ids with a discovery config
	states  map[string]bool // key names with a state
	legacy  bool            // placard/status
}

// maxRetained bounds what one reconciliation keeps in memory, whatever
// the broker sends; the rest waits for the next connection.
const maxRetained = 100_000

// maxReplicas bounds the availability topics of one discovery config.
const maxReplicas = 32

var _ lights.Sink = (*Publisher)(nil)

// New starts connecting to the broker and returns at once.
func New(cfg Config) (*Publisher, error) {
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.ClientID = topicLevel(cfg.ClientID)
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID()
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.MaxBackoff <= cfg.MinBackoff {
		cfg.MaxBackoff = 2 * cfg.MinBackoff
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxPacket == 0 {
		cfg.MaxPacket = DefaultMaxPacket
	}
	u, _ := url.Parse(cfg.URL)
	broker := *u
	broker.User = nil
	var tlsCfg *tls.Config
	if u.Scheme == "mqtts" {
		broker.Scheme = "tls"
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
		if cfg.CAFile != "" {
			pool, err := LoadCA(cfg.CAFile)
			if err != nil {
				return nil, err
			}
			tlsCfg.RootCAs = pool
		}
	} else if cfg.CAFile != "" {
		return nil, errors.New("mqtt: -mqtt-ca is for an mqtts:// broker: use mqtts:// in -mqtt-url, or drop -mqtt-ca")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{cfg: cfg, log: cfg.Log.With("client_id", cfg.ClientID), tls: tlsCfg, status: StatusTopic(cfg.ClientID),
		back: newBackoff(cfg.MinBackoff, cfg.MaxBackoff),
		ctx:  ctx, cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1),
		lights: map[string]*entry{}, clears: map[string]bool{}, replicas: map[string]bool{}, gen: 1}

	ac := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{&broker},
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              p.back.delay,
		ConnectTimeout:                cfg.Timeout,
		AttemptConnection:             p.dial,
		ConnectPacketBuilder: func(c *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			if c.Properties == nil {
				c.Properties = &paho.ConnectProperties{}
			}
			max := cfg.MaxPacket
			c.Properties.MaximumPacketSize = &max
			return c, nil
		},
		OnConnectionUp: p.connected,
		OnConnectionDown: func() bool {
			p.mu.Lock()
			p.up = false
			p.mu.Unlock()
			if p.back.down() {
				p.log.Warn("the MQTT broker closed placard's connection at once: reconnecting after a growing wait", "broker", broker.String())
			} else {
				p.log.Warn("the MQTT broker is gone: reconnecting", "broker", broker.String())
			}
			return true
		},
		OnConnectError: func(err error) {
			p.log.Warn("connecting to the MQTT broker", "broker", broker.String(), "err", err)
		},
		ClientConfig: paho.ClientConfig{
			ClientID:          cfg.ClientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){p.received},
			OnServerDisconnect: func(d *paho.Disconnect) {
				if d.ReasonCode == sessionTakenOver {
					p.log.Warn("the MQTT broker gave placard's client id to another client: each replica needs an id of its own", "broker", broker.String())
				}
			},
		},
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		ac.ConnectUsername, ac.ConnectPassword = u.User.Username(), []byte(pw)
	}
	// The Last Will: the broker says "offline" for this replica when it
	// is gone without a word. Its topic is the replica's own, new at each
	// start: the broker forgets it after a day rather than keep one for
	// every replica that ever died (discovery configs name only the
	// replicas connected).
	expiry := uint32(willExpiry / time.Second)
	ac.WillMessage = &paho.WillMessage{Topic: p.status, Payload: []byte("offline"), QoS: 1, Retain: true}
	ac.WillProperties = &paho.WillProperties{MessageExpiry: &expiry}
	cm, err := autopaho.NewConnection(ctx, ac)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	p.cm = cm
	go p.run()
	return p, nil
}

// willExpiry is how long the broker keeps a dead replica's "offline".
const willExpiry = 24 * time.Hour

// sessionTakenOver is MQTT 5's reason code of a DISCONNECT sent to a
// client whose id another client connected with.
const sessionTakenOver = 0x8E

// DefaultClientID names a replica to the broker: its host and a random
// part, so that replicas on one host (or with one host name) differ.
func DefaultClientID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "edge"
	}
	b := make([]byte, 4)
	rand.Read(b)
	return topicLevel("placard-" + h + "-" + hex.EncodeToString(b))
}

// topicLevel makes s usable as one level of a topic (and as a client id):
// letters, digits, '-', '_' and '.'; anything else becomes '_'.
func topicLevel(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// ClientID is the id this replica connects with.
func (p *Publisher) ClientID() string { return p.cfg.ClientID }

// connected runs on each (re)connection: it must not block.
func (p *Publisher) connected(cm *autopaho.ConnectionManager, _ *paho.Connack) {
	p.back.up()
	p.log.Info("connected to the MQTT broker")
	marker := make([]byte, 8)
	rand.Read(marker)
	seen := &retained{marker: hex.EncodeToString(marker), ended: make(chan struct{}),
		configs: map[string]bool{}, states: map[string]bool{}}
	p.mu.Lock()
	p.conn++
	conn := p.conn
	p.up, p.statusOK, p.seen = false, false, seen
	// The broker may have lost what it had (a restart without
	// persistence): everything again.
	for _, e := range p.lights {
		e.stateOK, e.config = false, 0
	}
	p.replicas = map[string]bool{p.status: true}
	p.mu.Unlock()
	go p.reconcile(cm, conn, seen)
}

// markerTopic is where a connection sends itself the message that tells
// it the broker has sent everything retained: a broker sends a
// subscription's retained messages before anything published after it.
func (p *Publisher) markerTopic() string { return "placard/replicas/" + p.cfg.ClientID + "/sync" }

// reconcile subscribes to what placard listens to and to placard's
// retained topics, waits until the broker has sent what it retains, and
// clears what belongs to no stored key. Then publishing starts.
func (p *Publisher) reconcile(cm *autopaho.ConnectionManager, conn int, seen *retained) {
	ctx, cancel := context.WithTimeout(p.ctx, 3*p.cfg.Timeout)
	defer cancel()
	gathering := []string{configFilter, stateFilter, legacyStatusTopic, p.markerTopic()}
	subs := []paho.SubscribeOptions{{Topic: HAStatusTopic, QoS: 1}, {Topic: statusFilter, QoS: 1}}
	for _, t := range gathering {
		subs = append(subs, paho.SubscribeOptions{Topic: t, QoS: 1})
	}
	err := func() error {
		if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
			return fmt.Errorf("subscribing: %w", err)
		}
		if _, err := cm.Publish(ctx, &paho.Publish{Topic: p.markerTopic(), Payload: []byte(seen.marker), QoS: 1}); err != nil {
			return fmt.Errorf("publishing the marker: %w", err)
		}
		select {
		case <-seen.ended:
		case <-ctx.Done():
			return errors.New("the broker did not send back placard's marker")
		}
		if _, err := cm.Unsubscribe(ctx, &paho.Unsubscribe{Topics: gathering}); err != nil {
			return fmt.Errorf("unsubscribing: %w", err)
		}
		return nil
	}()
	p.mu.Lock()
	if p.seen == seen {
		p.seen = nil
	}
	p.mu.Unlock()
	if err != nil {
		if p.ctx.Err() != nil {
			return
		}
		p.log.Warn("reading what the MQTT broker retains: publishing without clearing the topics of revoked keys", "err", err)
	} else if err := p.clearOrphans(ctx, seen); err != nil {
		p.log.Warn("reconciling the MQTT broker with the light keys", "err", err)
	}
	p.mu.Lock()
	if p.conn == conn {
		p.up = true
	}
	p.mu.Unlock()
	p.wake()
}

// clearOrphans makes the retained topics of keys that no longer exist
// (or no longer publish) due to be cleared.
func (p *Publisher) clearOrphans(ctx context.Context, seen *retained) error {
	var topics []string
	if seen.legacy {
		topics = append(topics, legacyStatusTopic)
	}
	if p.cfg.Keys != nil && (len(seen.configs) > 0 || len(seen.states) > 0) {
		// The store is read after the broker sent what it retains: a key
		// whose topics were there was stored before they were published.
		keys, err := p.cfg.Keys(ctx)
		if err != nil {
			return fmt.Errorf("reading the light keys: %w", err)
		}
		ids, names := map[string]bool{}, map[string]bool{}
		for _, l := range keys {
			if l.MQTT {
				ids[l.ID], names[l.Name] = true, true
			}
		}
		for id := range seen.configs {
			if !ids[id] {
				topics = append(topics, ConfigTopic(server.Light{ID: id}))
			}
		}
		for name := range seen.states {
			if !names[name] {
				topics = append(topics, StateTopic(server.Light{Name: name}))
			}
		}
	}
	if len(topics) > 0 {
		p.log.Info("clearing the MQTT topics of light keys that were revoked while placard or the broker was away", "topics", len(topics))
	}
	p.mu.Lock()
	for _, t := range topics {
		p.clears[t] = true
	}
	p.mu.Unlock()
	return nil
}

// received handles what the broker sends; it runs on Paho's goroutine
// and must not block.
func (p *Publisher) received(pr paho.PublishReceived) (bool, error) {
	m := pr.Packet
	topic, payload := m.Topic, string(m.Payload)
	switch {
	case topic == HAStatusTopic:
		if payload == "online" {
			p.republishConfigs()
		}
	case strings.HasPrefix(topic, "placard/replicas/") && strings.HasSuffix(topic, "/status") && strings.Count(topic, "/") == 3:
		p.replicaStatus(topic, payload)
	default:
		p.mu.Lock()
		defer p.mu.Unlock()
		seen := p.seen
		if seen == nil {
			return true, nil
		}
		if topic == p.markerTopic() {
			if payload == seen.marker {
				select {
				case <-seen.ended:
				default:
					close(seen.ended)
				}
			}
			return true, nil
		}
		if !m.Retain || payload == "" || len(seen.configs)+len(seen.states) >= maxRetained {
			return true, nil
		}
		if topic == legacyStatusTopic {
			seen.legacy = true
		} else if id, ok := configID(topic); ok {
			seen.configs[id] = true
		} else if name, ok := stateName(topic); ok {
			seen.states[name] = true
		}
	}
	return true, nil
}

// configID is the key id of a discovery config topic of placard's.
func configID(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, "homeassistant/sensor/placard_")
	id, ok2 := strings.CutSuffix(rest, "/config")
	return id, ok && ok2 && id != "" && !strings.Contains(id, "/")
}

// stateName is the key name of a state topic of placard's.
func stateName(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, "placard/")
	name, ok2 := strings.CutSuffix(rest, "/presence")
	return name, ok && ok2 && name != "" && !strings.Contains(name, "/")
}

// replicaStatus follows which replicas are connected: the availability
// topics of every discovery config.
func (p *Publisher) replicaStatus(topic, payload string) {
	if topic == p.status {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.replicas[topic]
	switch {
	case payload == "online" && len(p.replicas) < maxReplicas:
		p.replicas[topic] = true
	case payload != "online":
		delete(p.replicas, topic)
	}
	if was != p.replicas[topic] {
		p.gen++
	}
	p.wake()
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
	p.gen++
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

// Release stops publishing a key whose account another replica owns now:
// that replica publishes it, and its topics stay. It never blocks.
func (p *Publisher) Release(l server.Light) {
	p.mu.Lock()
	delete(p.lights, l.ID)
	p.mu.Unlock()
}

// Forget clears a revoked key's topics; it never blocks.
func (p *Publisher) Forget(l server.Light) {
	p.mu.Lock()
	delete(p.lights, l.ID)
	p.clears[StateTopic(l)], p.clears[ConfigTopic(l)] = true, true
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
	var due []message
	if !p.statusOK {
		due = append(due, message{topic: p.status, payload: []byte("online"), done: func() { p.statusOK = true }})
	}
	live := map[string]bool{}
	for _, e := range p.lights {
		live[StateTopic(e.l)], live[ConfigTopic(e.l)] = true, true
	}
	for _, t := range slices.Sorted(maps.Keys(p.clears)) {
		if live[t] {
			// A key made since with the same name: its state replaces
			// what was to be cleared.
			delete(p.clears, t)
			continue
		}
		// An empty retained message deletes what the broker keeps.
		due = append(due, message{topic: t, done: func() { delete(p.clears, t) }})
	}
	avail := slices.Sorted(maps.Keys(p.replicas))
	for _, e := range p.lights {
		if e.config != p.gen {
			// A change while this is under way (another replica, Home
			// Assistant's restart) makes it due again.
			gen := p.gen
			due = append(due, message{topic: ConfigTopic(e.l), payload: discovery(e.l, avail), done: func() { e.config = gen }})
		}
		if !e.stateOK && e.view.JSON != nil {
			v := e.view
			due = append(due, message{topic: StateTopic(e.l), payload: v.JSON, done: func() {
				if e.view.ETag == v.ETag {
					e.stateOK = true
				}
			}})
		}
	}
	conn := p.conn
	p.mu.Unlock()
	for _, m := range due {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
		// QoS 1: Publish returns once the broker acknowledged it.
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
		if p.conn == conn {
			m.done()
		}
		p.mu.Unlock()
	}
}

// discovery is a key's Home Assistant discovery config: a sensor whose
// state is the availability, with the rest as attributes, available
// while any of the replicas whose status topics are avail is connected.
func discovery(l server.Light, avail []string) []byte {
	var availability []map[string]string
	for _, t := range avail {
		availability = append(availability, map[string]string{"topic": t, "payload_available": "online", "payload_not_available": "offline"})
	}
	b, _ := json.Marshal(map[string]any{
		"name":                  "Presence",
		"unique_id":             UniqueID(l),
		"object_id":             "placard_" + l.Name,
		"state_topic":           StateTopic(l),
		"value_template":        "{{ value_json.availability }}",
		"json_attributes_topic": StateTopic(l),
		"availability":          availability,
		"availability_mode":     "any",
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
		// "offline" for whoever listens now, then nothing retained: a
		// replica that stopped cleanly leaves no topic behind.
		if _, err := p.cm.Publish(ctx, &paho.Publish{Topic: p.status, Payload: []byte("offline"), QoS: 1, Retain: true}); err == nil {
			p.cm.Publish(ctx, &paho.Publish{Topic: p.status, QoS: 1, Retain: true})
		}
		p.cm.Disconnect(ctx)
	}
	p.cancel()
	<-p.done
	select {
	case <-p.cm.Done():
	case <-ctx.Done():
	}
}
