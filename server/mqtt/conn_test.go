package mqtt_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/placard/placard/server/mqtt"
)

// A broker that ignores the Maximum Packet Size placard asks for, and
// announces a 200 MB message: placard closes the connection at the
// header, without waiting for (or allocating) the body.
func TestAPacketLargerThanTheMaximumClosesTheConnectionAtItsHeader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	newPublisher(t, "mqtt://"+ln.Addr().String(), func(c *mqtt.Config) { c.MinBackoff, c.MaxBackoff = 10*time.Second, 20*time.Second })

	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("placard did not connect: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cp, err := packets.ReadPacket(c)
	if err != nil {
		t.Fatalf("reading CONNECT: %v", err)
	}
	connect, ok := cp.Content.(*packets.Connect)
	if !ok {
		t.Fatalf("the first packet is %T, not CONNECT", cp.Content)
	}
	if mps := connect.Properties.MaximumPacketSize; mps == nil || *mps != mqtt.DefaultMaxPacket {
		t.Errorf("CONNECT's Maximum Packet Size is %v, want %d", mps, mqtt.DefaultMaxPacket)
	}
	if _, err := packets.NewControlPacket(packets.CONNACK).WriteTo(c); err != nil {
		t.Fatalf("writing CONNACK: %v", err)
	}

	// PUBLISH, QoS 0, remaining length 200,000,000 (variable-length
	// encoding), then the start of a topic: the rest never comes.
	header := []byte{0x30}
	for n := 200_000_000; ; {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			header = append(header, b|0x80)
			continue
		}
		header = append(header, b)
		break
	}
	if _, err := c.Write(append(header, 0, 5, 'h', 'u', 'g', 'e', '/')); err != nil {
		t.Fatalf("writing the header: %v", err)
	}
	// Placard may still send what it had to (SUBSCRIBE): read until it
	// closes the connection.
	start := time.Now()
	// A reset is a close too; only the deadline is not.
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("placard kept the connection open for %v after a 200 MB header: %v", time.Since(start).Round(time.Millisecond), err)
	}
}
