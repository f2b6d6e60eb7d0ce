// Package mqtttest runs Debian's mosquitto for tests: started by the test
// on a free loopback port with a configuration of its own in the test's
// temporary directory, stopped and restarted at will, and a subscriber
// that records what it receives.
package mqtttest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// Broker is Debian's mosquitto, run by the test on a loopback port with
// a configuration of its own.
type Broker struct {
	t    *testing.T
	port int
	conf string
	cmd  *exec.Cmd
	exit chan struct{}
}

// Start starts mosquitto on a free loopback port; without it the test
// skips, or fails with CI=true. It is stopped when the test ends.
func Start(t *testing.T) *Broker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no mosquitto: the MQTT tests need Debian's mosquitto (make test installs it: apt-get install mosquitto)")
		}
		t.Skip("no mosquitto: run 'sudo apt-get install mosquitto' for the MQTT tests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Broker{t: t, port: port, conf: conf}
	b.Restart()
	t.Cleanup(b.Stop)
	return b
}

// Restart starts the broker again after Stop, on the same port, with
// nothing retained (no persistence).
func (b *Broker) Restart() {
	b.t.Helper()
	b.cmd = exec.Command(mosquittoPath(), "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = nil, nil
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("starting mosquitto: %v", err)
	}
	b.exit = make(chan struct{})
	go func(c *exec.Cmd, exit chan struct{}) {
		c.Wait()
		close(exit)
	}(b.cmd, b.exit)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-b.exit:
			b.t.Fatalf("mosquitto exited at start (port %d taken?)", b.port)
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto does not listen on %s: %v", b.addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the broker.
func (b *Broker) Stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	b.cmd.Process.Kill()
	<-b.exit
	b.cmd = nil
}

func (b *Broker) addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

// URL is the broker's mqtt:// URL.
func (b *Broker) URL() string { return "mqtt://" + b.addr() }

func mosquittoPath() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "mosquitto"
}

// Message is one publication a subscriber received.
type Message struct {
	Topic   string
	Payload string
	Retain  bool
}

// Subscriber is a client of the broker that records what it receives on
// topics.
type Subscriber struct {
	cm         *autopaho.ConnectionManager
	Msgs       chan Message
	subscribed chan struct{} // closed once the first subscription is acknowledged
}

// Subscribe connects a new client to the broker, subscribed to topics.
func Subscribe(t *testing.T, b *Broker, topics ...string) *Subscriber {
	t.Helper()
	u, _ := url.Parse(b.URL())
	s := &Subscriber{Msgs: make(chan Message, 256), subscribed: make(chan struct{})}
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var subs []paho.SubscribeOptions
	for _, tp := range topics {
		subs = append(subs, paho.SubscribeOptions{Topic: tp, QoS: 1})
	}
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		ReconnectBackoff: autopaho.NewConstantBackoff(200 * time.Millisecond),
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go func() {
				if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err == nil {
					once.Do(func() { close(s.subscribed) })
				}
			}()
		},
		ClientConfig: paho.ClientConfig{
			ClientID: fmt.Sprintf("test-%d", time.Now().UnixNano()),
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				select {
				case s.Msgs <- Message{Topic: pr.Packet.Topic, Payload: string(pr.Packet.Payload), Retain: pr.Packet.Retain}:
				default:
				}
				return true, nil
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.cm = cm
	return s
}

// Await reads messages until ok, failing after within.
func (s *Subscriber) Await(t *testing.T, within time.Duration, what string, ok func(Message) bool) Message {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m := <-s.Msgs:
			if ok(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, within)
		}
	}
}

// AwaitTopics reads messages until each topic had one, and returns the
// last of each.
func (s *Subscriber) AwaitTopics(t *testing.T, within time.Duration, topics ...string) map[string]Message {
	t.Helper()
	got := map[string]Message{}
	deadline := time.After(within)
	for len(got) < len(topics) {
		select {
		case m := <-s.Msgs:
			for _, tp := range topics {
				if m.Topic == tp {
					got[tp] = m
				}
			}
		case <-deadline:
			t.Fatalf("within %v, only %d of the topics %v", within, len(got), topics)
		}
	}
	return got
}

// Retained returns what the broker retains on the topics that filters
// match, by topic: a new client subscribes to them and to a topic of its
// own, and sends itself a message there. A broker sends a subscription's
// retained messages before anything published after it, so everything
// retained has come when that message does.
func Retained(t *testing.T, b *Broker, filters ...string) map[string]Message {
	t.Helper()
	marker := fmt.Sprintf("mqtttest/marker/%d", time.Now().UnixNano())
	s := Subscribe(t, b, append(filters, marker)...)
	s.awaitSubscribed(t)
	s.Publish(t, marker, "end")
	got := map[string]Message{}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-s.Msgs:
			if m.Topic == marker {
				return got
			}
			if m.Retain {
				got[m.Topic] = m
			}
		case <-deadline:
			t.Fatalf("the broker did not send back the marker within 10 s")
		}
	}
}

// awaitSubscribed waits until the subscriber's subscription is in place.
func (s *Subscriber) awaitSubscribed(t *testing.T) {
	t.Helper()
	select {
	case <-s.subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("the test's MQTT client did not subscribe within 10 s")
	}
}

// Proxy forwards loopback TCP connections to the broker until Cut, which
// ends them as a crash or a network failure would: the broker sees no
// DISCONNECT, and publishes the client's Last Will.
type Proxy struct {
	ln net.Listener

	mu    sync.Mutex
	conns []net.Conn
}

// NewProxy starts a proxy to the broker; it stops when the test ends.
func NewProxy(t *testing.T, b *Broker) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", b.addr(), 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// URL is the proxy's mqtt:// URL.
func (p *Proxy) URL() string { return "mqtt://" + p.ln.Addr().String() }

// Cut ends every connection through the proxy at once; new ones are
// forwarded again.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as a crash gives
		}
		c.Close()
	}
	p.conns = nil
}

// Publish sends one message as another client would (Home Assistant).
func (s *Subscriber) Publish(t *testing.T, topic, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cm.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1}); err != nil {
		t.Fatal(err)
	}
}
