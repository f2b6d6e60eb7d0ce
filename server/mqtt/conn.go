package mqtt

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/packets"
	"golang.org/x/net/proxy"
)

// DefaultMaxPacket is the largest MQTT packet placard accepts from a
// broker: a presence or a discovery config is well under 2 KiB, and Home
// Assistant's discovery configs of other devices rarely pass 10 KiB.
// Paho reads a packet whole into memory, sized as the packet's header
// says: without a bound, one 200 MB message (from any client the broker
// lets publish where placard subscribes) takes 200 MB of placard's heap.
const DefaultMaxPacket = 64 << 10

// dial connects to the broker and bounds what it may send: the CONNECT
// packet asks the broker not to send anything larger (MQTT 5's Maximum
// Packet Size, which a broker honours by dropping such messages for this
// client), and the connection is closed at the first packet whose header
// says it is larger anyway (a broker that ignores the property), before
// Paho allocates anything for it.
func (p *Publisher) dial(ctx context.Context, _ autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	var (
		c   net.Conn
		err error
	)
	if os.Getenv("all_proxy") != "" {
		// As Paho does by itself: a SOCKS proxy from the environment.
		c, err = proxy.Dial(ctx, "tcp", u.Host)
		if err == nil && p.tls != nil {
			tc := tls.Client(c, p.tls)
			if err = tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			c = tc
		}
	} else if p.tls != nil {
		c, err = (&tls.Dialer{Config: p.tls}).DialContext(ctx, "tcp", u.Host)
	} else {
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	}
	if err != nil {
		return nil, err
	}
	lc := &limitConn{Conn: c, max: int(p.cfg.MaxPacket), refused: func(size int) {
		p.log.Warn("the MQTT broker sent a packet larger than placard accepts: closing the connection",
			"bytes", size, "max", p.cfg.MaxPacket)
	}}
	// Paho writes from several goroutines: a lock keeps each packet whole.
	return packets.NewThreadSafeConn(lc), nil
}

// limitConn follows the framing of the MQTT packets it reads and fails
// the read that brings the header of a packet larger than max.
type limitConn struct {
	net.Conn
	max     int
	refused func(size int)

	mu     sync.Mutex // Paho reads from one goroutine; this is for the race detector's peace only
	state  int        // stateHeader, stateLength or stateBody
	length int        // the remaining length being read
	shift  uint
	nLen   int // bytes of the remaining length read
	left   int // body bytes still to come
	failed error
}

const (
	stateHeader = iota // the fixed header's first byte comes next
	stateLength        // a byte of the variable-length remaining length
	stateBody          // the packet's remaining bytes
)

func (c *limitConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	if c.failed != nil {
		c.mu.Unlock()
		return 0, c.failed
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if perr := c.scan(b[:n]); perr != nil {
		c.failed = perr
		c.Conn.Close()
		return 0, perr
	}
	return n, err
}

// scan moves the framing state over b; it returns an error at the first
// packet that is too large or malformed.
func (c *limitConn) scan(b []byte) error {
	for len(b) > 0 {
		switch c.state {
		case stateHeader:
			b = b[1:]
			c.state, c.length, c.shift, c.nLen = stateLength, 0, 0, 0
		case stateLength:
			x := b[0]
			b = b[1:]
			c.length |= int(x&0x7f) << c.shift
			c.shift += 7
			c.nLen++
			if x&0x80 != 0 {
				if c.nLen == 4 {
					return fmt.Errorf("mqtt: the broker sent a malformed packet length")
				}
				continue
			}
			if size := 1 + c.nLen + c.length; size > c.max {
				if c.refused != nil {
					c.refused(size)
				}
				return fmt.Errorf("mqtt: the broker sent a packet of %d bytes, more than the %d placard accepts", size, c.max)
			}
			c.state, c.left = stateBody, c.length
			if c.left == 0 {
				c.state = stateHeader
			}
		case stateBody:
			k := min(len(b), c.left)
			b = b[k:]
			c.left -= k
			if c.left == 0 {
				c.state = stateHeader
			}
		}
	}
	return nil
}
