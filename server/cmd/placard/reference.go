package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// The configuration reference (docs/configuration.md) is generated from
// the flag sets themselves, as Prometheus generates its command-line
// reference: `placard docs configuration` prints it, `make docs` writes
// it, and a test fails when the file and the flags differ. The command is
// left out of placard's usage: it is for the repository, not for people
// running placard.

// envOnly are the variables placard reads that no flag sets: a secret has
// no flag, so that it never shows in a process list.
var envOnly = []struct{ name, what string }{
	{"PLACARD_KEY", "the key that seals every token cache (base64, 32 bytes; make one with `./bin/placard key`); without it placard keeps a key file in -data. Required with -database: every replica seals with the same key"},
}

// seeAlso links a flag's row to the page that explains it.
var seeAlso = map[string]string{
	"database":               "[replicas](replicas.md)",
	"sign-in":                "[tenant](tenant.md#which-sign-in--sign-in-device-code-qr-or-both)",
	"sandbox-addr":           "[sandbox](sandbox.md#try-your-own-app-against-it--sandbox-addr)",
	"mqtt-url":               "[lights](lights.md#mqtt-and-home-assistant)",
	"sse-per-key":            "[lights](lights.md#http-and-server-sent-events)",
	"sse-per-address":        "[lights](lights.md#http-and-server-sent-events)",
	"sse-total":              "[lights](lights.md#http-and-server-sent-events)",
	"webhook-allow-networks": "[lights](lights.md#where-webhooks-may-go)",
	"debug-addr":             "[operations](operations.md)",
}

// envRE reads the variable a flag's usage names at its end.
var envRE = regexp.MustCompile(`\s*\((PLACARD_[A-Z0-9_]+)\)$`)

// writeConfigReference writes the configuration reference in Markdown.
// Defaults are those of an empty environment: the built-in ones.
func writeConfigReference(w io.Writer) error {
	var server *flag.FlagSet
	if _, err := parseConfig(nil, noEnvironment, io.Discard, func(fs *flag.FlagSet) { server = fs }); err != nil {
		return fmt.Errorf("reading the edge server's flags: %w", err)
	}
	c := &cli{getenv: noEnvironment, out: io.Discard, errOut: io.Discard}
	sandboxFS, _ := c.sandboxFlags()
	storeFS, _ := c.flags("screens list")

	fmt.Fprint(w, `# Configuration reference

<!-- Generated from placard's flags by `+"`make docs`"+` (placard docs configuration): do not edit by hand. A test fails when this file and the flags differ. -->

Every flag of the edge server can also be set by the environment variable
beside it; a flag given on the command line wins over its variable. The
defaults below are placard's own, with no variable set. Commands are
written as typed from the repository after `+"`make build`"+`. Durations are Go
durations (`+"`30s`, `2m`, `1h30m`"+`); lists are comma-separated.

## The edge server: `+"`./bin/placard [flags]`"+`

`)
	writeFlagTable(w, server)
	fmt.Fprint(w, `
## Variables without a flag

| Variable | What it does |
| --- | --- |
`)
	for _, v := range envOnly {
		fmt.Fprintf(w, "| `%s` | %s |\n", v.name, cell(v.what))
	}
	fmt.Fprint(w, `
## The sandbox on its own: `+"`./bin/placard sandbox [flags]`"+`

The emulated Entra ID and Graph over HTTPS, for edge servers pointed at it
as at a real tenant (several replicas, or anyone's client).

`)
	writeFlagTable(w, sandboxFS)
	fmt.Fprint(w, `
## The commands: `+"`./bin/placard screens|admin|lights|audit ...`"+`

Each command works on the store of a server: its data directory, or the
PostgreSQL database of several replicas. Its flags go before or after its
arguments.

`)
	writeFlagTable(w, storeFS)
	fmt.Fprint(w, `
## Tokens and state

Tokens live only on the server: MSAL's cache of each account is encrypted
(XChaCha20-Poly1305) in the database with a key from `+"`PLACARD_KEY`"+` or from
`+"`key`"+` in the data directory (mode 0600, made on first start). State survives
restarts: screens reconnect and stay signed in.
`)
	return nil
}

// writeFlagTable writes a flag set as a Markdown table, in the flags'
// alphabetical order.
func writeFlagTable(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, "| Flag | Variable | Default | What it does |\n| --- | --- | --- | --- |\n")
	fs.VisitAll(func(f *flag.Flag) {
		what, env := f.Usage, ""
		if m := envRE.FindStringSubmatchIndex(what); m != nil {
			env = "`" + what[m[2]:m[3]] + "`"
			what = what[:m[0]]
		}
		def := "`" + f.DefValue + "`"
		if f.DefValue == "" || f.DefValue == "[]" {
			def = "none"
		}
		if see := seeAlso[f.Name]; see != "" {
			what += " (" + see + ")"
		}
		fmt.Fprintf(w, "| `-%s` | %s | %s | %s |\n", f.Name, env, def, cell(what))
	})
}

// cell makes text safe in a Markdown table cell: a bar would end the
// cell, and <public url> would be read as HTML.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// noEnvironment is an environment with no variable set.
func noEnvironment(string) string { return "" }

// docsCmd is `placard docs configuration`: the configuration reference on
// stdout.
func (c *cli) docsCmd(args []string) error {
	if len(args) != 1 || args[0] != "configuration" {
		return fmt.Errorf("placard docs takes one argument, configuration (it prints docs/configuration.md)")
	}
	return writeConfigReference(c.out)
}
