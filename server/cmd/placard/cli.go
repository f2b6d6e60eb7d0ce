package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/admin"
	"github.com/placard/placard/server/lights"
	"github.com/placard/placard/server/mqtt"
	"github.com/placard/placard/server/secret"
)

// The subcommands of placard work on the store in the data directory, so
// they run beside a running server (SQLite allows it) or without one: an
// approval made here is noticed by the server within seconds.

const cliUsage = `Usage:
  placard [flags]                          run the edge server (placard -h lists the flags)
  placard screens list                     list the screens, with their state and pairing number
  placard screens approve NUMBER|ID        enroll the screen that shows a pairing number (or has an id)
  placard admin token [-name NAME] [-role admin|operator|viewer]
                                           make an admin token for the admin page and API (shown once)
  placard admin tokens                     list the admin tokens (never their secrets)
  placard admin revoke-token ID            delete an admin token
  placard lights add NAME -account UPN [-mqtt] [-webhook URL]...
                                           make a light key for one account's presence (shown once)
  placard lights list                      list the light keys (never their secrets)
  placard lights revoke ID                 delete a light key: it stops working at once
  placard audit [-n 50]                    print the audit trail, newest first
  placard key                              print a new key for PLACARD_KEY
  placard sandbox [-addr 127.0.0.1:9443]   run only the sandbox (Entra ID, Graph, phone page) over HTTPS
  placard version                          print this binary's version, commit and Go version
  placard healthcheck [flags]              ask the server these flags configure for /readyz: exit 0 when ready, else 1
  placard -check-config [flags]            check the flags, the environment and the files they name as a start would, then exit
Each takes -data DIR (PLACARD_DATA, ./data by default), or -database URL (PLACARD_DATABASE_URL)
for the PostgreSQL database of several replicas, before or after its arguments.
`

// usage is placard's usage, with the commands named as this binary is
// run from here (./bin/placard after make build), so that each runs as
// printed.
func usage() string {
	return strings.ReplaceAll(cliUsage, "placard ", selfCommand()+" ")
}

// runCommand runs a subcommand and reports whether args named one.
func runCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (bool, error) {
	if len(args) == 0 {
		return false, nil
	}
	c := &cli{ctx: ctx, getenv: getenv, out: stdout, errOut: stderr}
	switch args[0] {
	case "screens":
		return true, c.sub(args, map[string]func([]string) error{"list": c.screensList, "approve": c.screensApprove})
	case "admin":
		return true, c.sub(args, map[string]func([]string) error{"token": c.adminToken, "tokens": c.adminTokens, "revoke-token": c.revokeToken})
	case "lights":
		return true, c.sub(args, map[string]func([]string) error{"add": c.lightsAdd, "list": c.lightsList, "revoke": c.lightsRevoke})
	case "audit":
		return true, c.audit(args[1:])
	case "key":
		return true, c.key(args[1:])
	case "sandbox":
		return true, c.sandboxCmd(args[1:])
	case "docs":
		return true, c.docsCmd(args[1:])
	case "version":
		return true, c.version(args[1:])
	case "healthcheck":
		return true, c.healthcheck(args[1:])
	case "help":
		fmt.Fprint(stdout, usage())
		return true, nil
	}
	return false, nil
}

type cli struct {
	ctx    context.Context
	getenv func(string) string
	out    io.Writer
	errOut io.Writer
}

func (c *cli) sub(args []string, cmds map[string]func([]string) error) error {
	if len(args) < 2 {
		return fmt.Errorf("placard %s needs a command\n%s", args[0], usage())
	}
	switch args[1] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.out, usage())
		return nil
	}
	f, ok := cmds[args[1]]
	if !ok {
		return fmt.Errorf("placard %s: no command %q\n%s", args[0], args[1], usage())
	}
	return f(args[2:])
}

// where names the store a command works on: a data directory, or a
// PostgreSQL database when database is set.
type where struct {
	data, database *string
}

// flags returns a flag set with -data and -database, for the command name.
func (c *cli) flags(name string) (*flag.FlagSet, where) {
	fs := flag.NewFlagSet("placard "+name, flag.ContinueOnError)
	fs.SetOutput(c.errOut)
	def := c.getenv("PLACARD_DATA")
	if def == "" {
		def = "./data"
	}
	return fs, where{
		data:     fs.String("data", def, "data directory of the server (PLACARD_DATA)"),
		database: fs.String("database", c.getenv("PLACARD_DATABASE_URL"), "PostgreSQL URL of the servers' database, instead of -data (PLACARD_DATABASE_URL)"),
	}
}

// parse parses flags anywhere among args and returns the other arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest, args = append(rest, args[0]), args[1:]
	}
}

// open opens the store of a data directory. Only making a token may
// create one: the other commands on a mistyped -data would otherwise
// silently show an empty new database.
func (c *cli) open(w where, create bool) (server.Store, error) {
	if *w.database != "" {
		if err := checkDatabaseURL(*w.database); err != nil {
			return nil, err
		}
		return openStore(c.ctx, *w.database, "")
	}
	abs, err := filepath.Abs(*w.data)
	if err != nil {
		return nil, err
	}
	if create {
		if _, err := ensureDataDir(abs); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(filepath.Join(abs, "placard.db")); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no placard database in %s: start placard there first, or name its data directory with -data (PLACARD_DATA)", abs)
	}
	return openStore(c.ctx, "", abs)
}

// box returns the server's key for sealing: PLACARD_KEY, or with SQLite
// the key file in the data directory (which the server made at its first
// start).
func (c *cli) box(w where) (*secret.Box, error) {
	env := c.getenv("PLACARD_KEY")
	if env == "" && *w.database != "" {
		return nil, errors.New("a light key with webhooks needs the replicas' key to seal its webhook secret: set PLACARD_KEY as the servers have it")
	}
	abs, err := filepath.Abs(*w.data)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(abs, "key")
	if env == "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("a light key with webhooks needs the server's key to seal its webhook secret: no key file in %s (set PLACARD_KEY, or name the server's data directory with -data)", abs)
		}
	}
	key, err := secret.LoadKey(env, path)
	if err != nil {
		return nil, err
	}
	return secret.NewBox(key)
}

// cliActor is who acts from the command line: whoever can read the data
// directory or the database URL, and so an admin.
func cliActor() admin.Actor {
	name := "unknown user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return admin.Actor{Who: fmt.Sprintf("the command line (%s@%s)", name, host), Role: server.RoleAdmin}
}

// ops runs administrators' operations on a store, without a running
// server.
func (c *cli) ops(store server.Store) *admin.Service {
	return &admin.Service{Store: store}
}

func (c *cli) screensList(args []string) error {
	fs, data := c.flags("screens list")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	all, err := store.Screens(c.ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintln(c.out, "No screen yet: open http://<this server>/?screen=NAME on a screen.")
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tPAIRING NUMBER\tSIGNED IN\tLAST SEEN")
	for _, sc := range all {
		state, number, account := "enrolled", "-", "-"
		switch {
		case !sc.Enrolled:
			state, number = "pending", sc.PairingNumber
		case sc.AccountID != "":
			state = "signed in"
			if a, err := store.Account(c.ctx, sc.AccountID); err == nil {
				account = a.Username
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sc.ID, sc.Name, state, number, account, sc.LastSeen.UTC().Format("2006-01-02 15:04Z"))
	}
	return tw.Flush()
}

func (c *cli) screensApprove(args []string) error {
	fs, data := c.flags("screens approve")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return errors.New("placard screens approve needs the pairing number the screen shows (or the screen's id from " + selfCommand() + " screens list)")
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	sc, err := c.ops(store).Approve(c.ctx, cliActor(), strings.Join(rest, " "))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Approved %q (%s). A running server shows its sign-in code within a few seconds.\n", sc.Name, sc.ID)
	return nil
}

func (c *cli) adminToken(args []string) error {
	fs, data := c.flags("admin token")
	name := fs.String("name", "", "what the token is for, e.g. \"ops laptop\"")
	role := fs.String("role", server.RoleAdmin, "what the token may do: admin (everything), operator (run screens and groups; no keys, tokens or links) or viewer (read only)")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return fmt.Errorf("placard admin token takes no argument (%q): name it with -name", rest[0])
	}
	store, err := c.open(data, true)
	if err != nil {
		return err
	}
	defer store.Close()
	made, err := c.ops(store).MakeToken(c.ctx, cliActor(), *name, *role)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s\n\nThis admin token is shown only now: keep it in a password manager.\n"+
		"Enter it on the admin page (/admin), or send it to the admin API as \"Authorization: Bearer <token>\".\n"+
		"Delete it with: %s admin revoke-token %s\n", made.Secret, selfCommand(), made.Token.ID)
	return nil
}

func (c *cli) adminTokens(args []string) error {
	fs, data := c.flags("admin tokens")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	all, err := c.ops(store).ListTokens(c.ctx, cliActor())
	if err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintf(c.out, "No admin token: make one with %s admin token -name NAME.\n", selfCommand())
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED")
	for _, t := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.UTC().Format("2006-01-02 15:04Z"))
	}
	return tw.Flush()
}

func (c *cli) revokeToken(args []string) error {
	fs, data := c.flags("admin revoke-token")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("placard admin revoke-token needs the token's id (" + selfCommand() + " admin tokens lists them)")
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := c.ops(store).RevokeToken(c.ctx, cliActor(), rest[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Deleted admin token %s: it and the page sessions signed in with it stop working at once.\n", rest[0])
	return nil
}

// urls is a flag that may be given more than once.
type urls []string

func (u *urls) String() string     { return strings.Join(*u, " ") }
func (u *urls) Set(v string) error { *u = append(*u, v); return nil }

func (c *cli) lightsAdd(args []string) error {
	fs, data := c.flags("lights add")
	account := fs.String("account", "", "user principal name of the account whose presence the light shows")
	withMQTT := fs.Bool("mqtt", false, "publish its presence to the MQTT broker (-mqtt-url), with Home Assistant discovery")
	var hooks urls
	fs.Var(&hooks, "webhook", "URL that gets the presence by POST on each change (repeat for more)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("placard lights add needs one name, e.g. " + selfCommand() + " lights add desk-ada -account ada@contoso.com")
	}
	n, err := lights.New{Name: rest[0], Account: *account, MQTT: *withMQTT, Webhooks: hooks}.Check()
	if err != nil {
		return err
	}
	var box *secret.Box
	if len(n.Webhooks) > 0 {
		// The webhook secret is sealed with the server's key, as the
		// server would: PLACARD_KEY, or the data directory's key file.
		if box, err = c.box(data); err != nil {
			return err
		}
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	ops := c.ops(store)
	ops.Box = box
	made, err := ops.MakeLight(c.ctx, cliActor(), n)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s\n\nThis light key (%s, id %s) reads the presence of %s and nothing else. It is shown only now:\n"+
		"put it on the light. Send it as \"Authorization: Bearer <key>\" to GET /api/v1/presence.\n",
		made.Key, made.Light.Name, made.Light.ID, made.Light.Account)
	if made.WebhookSecret != "" {
		fmt.Fprintf(c.out, "Its webhooks are signed as Standard Webhooks sign theirs (webhook-id, webhook-timestamp, webhook-signature): verify them with this secret, also shown only now:\n%s\n", made.WebhookSecret)
	}
	if made.Light.MQTT {
		fmt.Fprintf(c.out, "Its presence is published on the MQTT topic %s, with Home Assistant discovery.\n", mqtt.StateTopic(made.Light))
		if c.getenv("PLACARD_MQTT_URL") == "" {
			// The server is another process, whose flags this one cannot
			// see; its environment is often this one's (a systemd unit's
			// EnvironmentFile, a container's).
			made.Warnings = append(made.Warnings, "PLACARD_MQTT_URL is not set here: if the server runs without it (or -mqtt-url), nothing is published; "+
				"start the server with PLACARD_MQTT_URL=mqtt://host:1883")
		}
	}
	fmt.Fprintf(c.out, "Delete it with: %s lights revoke %s\n", selfCommand(), made.Light.ID)
	for _, w := range made.Warnings {
		fmt.Fprintf(c.errOut, "placard: warning: %s\n", w)
	}
	return nil
}

func (c *cli) lightsList(args []string) error {
	fs, data := c.flags("lights list")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	all, err := c.ops(store).ListLights(c.ctx, cliActor())
	if err != nil {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintf(c.out, "No light key: make one with %s lights add NAME -account UPN.\n", selfCommand())
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tACCOUNT\tMQTT\tWEBHOOKS\tCREATED")
	for _, l := range all {
		withMQTT := "no"
		if l.MQTT {
			withMQTT = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", l.ID, l.Name, l.Account, withMQTT, len(l.Webhooks), l.CreatedAt.UTC().Format("2006-01-02 15:04Z"))
	}
	return tw.Flush()
}

func (c *cli) lightsRevoke(args []string) error {
	fs, data := c.flags("lights revoke")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("placard lights revoke needs the key's id (" + selfCommand() + " lights list shows them)")
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	l, err := c.ops(store).RevokeLight(c.ctx, cliActor(), rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Deleted light key %s (%s): it stops working at once, and a running server closes its streams within seconds.\n", l.ID, l.Name)
	return nil
}

func (c *cli) audit(args []string) error {
	fs, data := c.flags("audit")
	n := fs.Int("n", 50, "how many events, newest first")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("-n %d must be 1 or more", *n)
	}
	store, err := c.open(data, false)
	if err != nil {
		return err
	}
	defer store.Close()
	events, err := c.ops(store).AuditTrail(c.ctx, cliActor(), *n)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tSCREEN\tACCOUNT\tOUTCOME\tDETAIL")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, e := range events {
		screen := e.ScreenName
		if screen != "" {
			screen = strconv.Quote(screen)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05Z"), e.Kind,
			dash(screen), dash(e.Account), dash(e.Outcome), e.Detail)
	}
	return tw.Flush()
}

func (c *cli) key(args []string) error {
	fs := flag.NewFlagSet("placard key", flag.ContinueOnError)
	fs.SetOutput(c.errOut)
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return errors.New("placard key takes no argument")
	}
	k, err := secret.NewKeyString()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%s\n", k)
	return nil
}
