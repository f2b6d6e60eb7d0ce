package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"

	"github.com/placard/placard/server/sandbox"
)

// sandboxCmd runs the sandbox on its own: the emulated Entra ID and Graph
// over HTTPS with the phone page, the demo page and the control API on one
// listener, so that edge servers (replicas, or anyone's client) use it as
// they would a real tenant: -client-id, -authority, -graph-url, -ca-file.
func (c *cli) sandboxCmd(args []string) error {
	fs, f := c.sandboxFlags()
	if _, err := parse(fs, args); err != nil {
		return err
	}
	addr, data, redirects := f.addr, f.data, f.redirects
	if *f.users < 0 || *f.users > sandbox.MaxNumberedUsers {
		return fmt.Errorf("placard sandbox: -users %d must be between 0 and %d", *f.users, sandbox.MaxNumberedUsers)
	}
	if *f.rooms < 0 || *f.rooms > sandbox.MaxNumberedRooms {
		return fmt.Errorf("placard sandbox: -rooms %d must be between 0 and %d", *f.rooms, sandbox.MaxNumberedRooms)
	}
	if _, port, err := net.SplitHostPort(*addr); err != nil || port == "" {
		return fmt.Errorf("placard sandbox: -addr %q is not host:port (e.g. 127.0.0.1:9443)", *addr)
	}
	dir, err := ensureDataDir(*data)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.errOut, nil))
	sb, err := sandbox.New(sandbox.Options{
		KeyFile:       filepath.Join(dir, "sandbox-key.pem"),
		StateFile:     filepath.Join(dir, "sandbox-state.json"),
		RedirectURIs:  *redirects,
		NumberedUsers: *f.users,
		NumberedRooms: *f.rooms,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	l, err := sb.ListenAll(*addr, dir)
	if err != nil {
		return err
	}
	defer l.Close()
	w := c.out
	fmt.Fprintln(w, "placard sandbox: an emulated Microsoft 365 tenant (Entra ID and Graph), no Azure needed.")
	fmt.Fprintf(w, "  Listening:   %s\n", l.URL)
	fmt.Fprintf(w, "  Edge server: -client-id %s -authority %s/%s -graph-url %s/v1.0 -ca-file %s\n", sandbox.ClientID, l.URL, sandbox.TenantID, l.URL, l.CertFile)
	fmt.Fprintf(w, "  Phone page:  %s/sandbox/devicelogin\n", l.URL)
	fmt.Fprintf(w, "  Demo page:   %s/sandbox/\n", l.URL)
	for _, r := range *redirects {
		fmt.Fprintf(w, "  Redirect:    %s\n", r)
	}
	fmt.Fprintf(w, "  Data:        %s\n", dir)
	<-c.ctx.Done()
	fmt.Fprintln(w, "placard sandbox: shutting down")
	return nil
}

// sandboxOptions are the flags of placard sandbox.
type sandboxOptions struct {
	addr, data   *string
	redirects    *[]string
	users, rooms *int
}

// sandboxFlags defines the flags of placard sandbox.
func (c *cli) sandboxFlags() (*flag.FlagSet, sandboxOptions) {
	fs := flag.NewFlagSet("placard sandbox", flag.ContinueOnError)
	fs.SetOutput(c.errOut)
	def := c.getenv("PLACARD_DATA")
	if def == "" {
		def = "./data"
	}
	addr := fs.String("addr", "127.0.0.1:9443", "address to serve the sandbox on, over HTTPS")
	data := fs.String("data", def, "directory of the sandbox's signing key, certificate and state, created 0700 (PLACARD_DATA)")
	// The same numbered users and rooms as the edge server's
	// -sandbox-users and -sandbox-rooms: a load test (make bench) runs
	// the emulated tenant in a process of its own, so that its work is
	// not counted as the edge server's.
	users := fs.Int("users", 0, "add this many numbered demo users (user0001@placard.example, ...), for load tests")
	rooms := fs.Int("rooms", 0, "add this many numbered rooms (room0001@placard.example, ..., 40 to a room list), for room panels and boards under load")
	redirects := new([]string)
	fs.Func("redirect-uri", "a redirect URI of the application besides the loopback ones: an edge server's <public url>/signin/callback, for its sign-in by QR (repeat for each edge server)", func(v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%q is not an absolute http(s) URL such as https://placard.example.com/signin/callback", v)
		}
		*redirects = append(*redirects, v)
		return nil
	})
	return fs, sandboxOptions{addr: addr, data: data, redirects: redirects, users: users, rooms: rooms}
}
