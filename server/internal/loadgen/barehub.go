package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/placard/placard/app/wire"
)

// BareHub is the baseline a screen server is measured against: a bare
// gorilla/websocket hub in the style of gorilla's chat example. One
// goroutine owns the connections and is driven by channels; each
// connection has one reader and one writer goroutine and a buffered send
// channel; a client that does not keep up is dropped. It does nothing else:
// what a screen server costs beyond it is the server's own overhead.
//
// Clients say hello as screens do; a screen named PREFIX-00007 is in group
// (7-1) % groups, as a Fleet assigns accounts, so that a message can go to
// the screens of one "account".
type BareHub struct {
	register   chan *bareClient
	unregister chan *bareClient
	broadcast  chan bareMessage
	count      chan chan int
	clients    map[*bareClient]bool
}

// The chat example's constants, with placard's send buffer.
const (
	bareWriteWait  = 10 * time.Second
	barePongWait   = 60 * time.Second
	barePingPeriod = barePongWait * 9 / 10
	bareMaxMessage = wire.MaxMessageSize
	bareSendBuffer = 16
)

type bareMessage struct {
	data          []byte
	group, groups int // groups == 0: every client
}

type bareClient struct {
	hub    *BareHub
	conn   *websocket.Conn
	send   chan []byte
	number int // from the hello's screen name
}

// NewBareHub returns a hub; Run must be running for it to work.
func NewBareHub() *BareHub {
	return &BareHub{
		register:   make(chan *bareClient),
		unregister: make(chan *bareClient),
		broadcast:  make(chan bareMessage),
		count:      make(chan chan int),
		clients:    map[*bareClient]bool{},
	}
}

// Run owns the hub's clients; it never returns.
func (h *BareHub) Run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			if h.clients[c] {
				delete(h.clients, c)
				close(c.send)
			}
		case reply := <-h.count:
			reply <- len(h.clients)
		case m := <-h.broadcast:
			for c := range h.clients {
				if m.groups > 0 && (c.number-1)%m.groups != m.group {
					continue
				}
				select {
				case c.send <- m.data:
				default:
					close(c.send)
					delete(h.clients, c)
				}
			}
		}
	}
}

var bareUpgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096}

// Handler serves GET /ws (the screens), POST /broadcast (the body to every
// client, or with ?group=G&groups=K to one group), GET /clients (how many
// are registered) and GET /goroutines.
func (h *BareHub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", h.serveWS)
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		group, _ := strconv.Atoi(r.URL.Query().Get("group"))
		groups, _ := strconv.Atoi(r.URL.Query().Get("groups"))
		h.broadcast <- bareMessage{data: data, group: group, groups: groups}
	})
	mux.HandleFunc("GET /clients", func(w http.ResponseWriter, r *http.Request) {
		reply := make(chan int)
		h.count <- reply
		io.WriteString(w, strconv.Itoa(<-reply))
	})
	mux.HandleFunc("GET /goroutines", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strconv.Itoa(runtime.NumGoroutine()))
	})
	return mux
}

func (h *BareHub) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := bareUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(bareMaxMessage)
	conn.SetReadDeadline(time.Now().Add(barePongWait))
	_, data, err := conn.ReadMessage()
	if err != nil {
		conn.Close()
		return
	}
	var hello struct {
		Data wire.Hello `json:"data"`
	}
	json.Unmarshal(data, &hello)
	c := &bareClient{hub: h, conn: conn, send: make(chan []byte, bareSendBuffer), number: screenNumber(hello.Data.Screen)}
	h.register <- c
	go c.writePump()
	go c.readPump()
}

// AwaitClients waits until the bare hub at base has n clients registered:
// a client that has said hello may not be registered yet.
func AwaitClients(ctx context.Context, base string, n int) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/clients", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if got, _ := strconv.Atoi(string(b)); got >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("loadgen: the bare hub has not registered %d clients: %w", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// screenNumber is the number at the end of a screen's name (load-00007 →
// 7), 0 when there is none.
func screenNumber(name string) int {
	i := strings.LastIndexByte(name, '-')
	n, _ := strconv.Atoi(name[i+1:])
	return n
}

func (c *bareClient) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadDeadline(time.Now().Add(barePongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(barePongWait)) })
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
	}
}

func (c *bareClient) writePump() {
	// The first ping at a random point of the period, as placard's hub
	// does: clients that connected together are pinged at the steady
	// rate from the start, so that a window measured soon after they
	// connected holds the pings that placard's windows hold.
	ping := time.NewTimer(1 + rand.N(barePingPeriod))
	defer func() {
		ping.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case msg, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(bareWriteWait))
			if !ok {
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ping.C:
			c.conn.SetWriteDeadline(time.Now().Add(bareWriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
			ping.Reset(barePingPeriod)
		}
	}
}
