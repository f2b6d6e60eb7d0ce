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
	fs, addr, data, redirects := c.sandboxFlags()
	if _, err := parse(fs, args); err != nil {
		return err
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
		KeyFile:      filepath.Join(dir, "sandbox-key.pem"),
		StateFile:    filepath.Join(dir, "sandbox-state.json"),
		RedirectURIs: *redirects,
		Logger:       log,
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

// sandboxFlags defines the flags of placard sandbox.
func (c *cli) sandboxFlags() (fs *flag.FlagSet, addr, data *string, redirects *[]string) {
	fs = flag.NewFlagSet("placard sandbox", flag.ContinueOnError)
	fs.SetOutput(c.errOut)
	def := c.getenv("PLACARD_DATA")
	if def == "" {
		def = "./data"
	}
	addr = fs.String("addr", "127.0.0.1:9443", "address to serve the sandbox on, over HTTPS")
	data = fs.String("data", def, "directory of the sandbox's signing key, certificate and state, created 0700 (PLACARD_DATA)")
	redirects = new([]string)
	fs.Func("redirect-uri", "a redirect URI of the application besides the loopback ones: an edge server's <public url>/signin/callback, for its sign-in by QR (repeat for each edge server)", func(v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%q is not an absolute http(s) URL such as https://placard.example.com/signin/callback", v)
		}
		*redirects = append(*redirects, v)
		return nil
	})
	return fs, addr, data, redirects
}
