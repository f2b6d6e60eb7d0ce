// Command barepage is the baseline of placard's first paint in `make
// bench`: a bare go-app v10.1.11 page of one component, which shows a
// code in a data-testid="user-code" element as a screen does, served by
// go-app's own handler with its defaults. The same program is built twice,
// as go-app's own examples are: for GOOS=js (web/app.wasm) and for the
// machine, where it serves the page.
//
// Nothing is tuned: no precompression, no stylesheet, go-app's service
// worker. Only the icons are local files (go-app's default icons live on
// raw.githubusercontent.com, and a benchmark loads nothing from another
// host).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// code is the page's one component: a screen's code, with a line that
// says what to do with it.
type code struct {
	app.Compo
}

func (c *code) Render() app.UI {
	return app.Main().Body(
		app.H1().Text("Sign in"),
		app.P().Text("On your phone, open microsoft.com/devicelogin and enter"),
		app.P().DataSet("testid", "user-code").Text("BPPVYQZMA"),
	)
}

// icon is the page's icon, written next to app.wasm.
const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" fill="#222"/></svg>`

func main() {
	app.Route("/", func() app.Composer { return &code{} })
	app.RunWhenOnBrowser()
	if err := serve(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "barepage:", err)
		os.Exit(1)
	}
}

// serve serves the page on -addr until it is told to stop, with
// web/app.wasm in the working directory (go-app's default resources).
func serve(args []string) error {
	fs := flag.NewFlagSet("barepage", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join("web", "icon.svg"), []byte(icon), 0o644); err != nil {
		return fmt.Errorf("writing the icon: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	h := &app.Handler{
		Name:  "barepage",
		Title: "barepage",
		Icon:  app.Icon{Default: "/web/icon.svg", Large: "/web/icon.svg", SVG: "/web/icon.svg"},
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
