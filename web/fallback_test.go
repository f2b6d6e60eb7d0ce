package web

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// parseES5 is a Node.js program that parses its standard input with acorn
// as an ECMAScript 5 script, and prints the first error.
const parseES5 = `
const acorn = require(process.argv[1]);
let src = "";
process.stdin.on("data", (b) => { src += b; });
process.stdin.on("end", () => {
  try {
    acorn.parse(src, {ecmaVersion: 5, sourceType: "script"});
  } catch (err) {
    console.log(err.message);
    process.exit(1);
  }
});`

// acornOrSkip returns the path of acorn (`make acorn`) and of node; without
// them the test skips, or fails with CI=true.
func acornOrSkip(t *testing.T) (acorn, node string) {
	t.Helper()
	fail := func(msg string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	acorn = os.Getenv("PLACARD_ACORN")
	if acorn == "" {
		acorn = filepath.Join("..", ".cache", "acorn", "node_modules", "acorn", "dist", "acorn.js")
	}
	acorn, err := filepath.Abs(acorn)
	if err == nil {
		_, err = os.Stat(acorn)
	}
	if err != nil {
		fail(fmt.Sprintf("the ES5 check needs acorn (%v): run `make acorn`, or set PLACARD_ACORN to acorn.js", err))
	}
	node, err = exec.LookPath("node")
	if err != nil {
		fail("the ES5 check needs Node.js: run `make node`")
	}
	return acorn, node
}

// es5Error parses src as ECMAScript 5 and returns acorn's error, or "".
func es5Error(t *testing.T, src string) string {
	t.Helper()
	acorn, node := acornOrSkip(t)
	cmd := exec.Command(node, "-e", parseES5, acorn)
	cmd.Stdin = strings.NewReader(src)
	out, err := cmd.CombinedOutput()
	if _, failed := err.(*exec.ExitError); failed && cmd.ProcessState.ExitCode() == 1 {
		return strings.TrimSpace(string(out))
	}
	if err != nil {
		t.Fatalf("running acorn: %v\n%s", err, out)
	}
	return ""
}

func TestFallbackScriptIsECMAScript5(t *testing.T) {
	src, err := fs.ReadFile(Static(), "fallback.js")
	if err != nil {
		t.Fatal(err)
	}
	if msg := es5Error(t, string(src)); msg != "" {
		t.Errorf("web/static/fallback.js is not ECMAScript 5 (old TVs cannot run it): %s", msg)
	}
	// Valid ES5 that old engines still lack.
	for _, api := range []*regexp.Regexp{regexp.MustCompile(`\bfetch\s*\(`), regexp.MustCompile(`\bPromise\b`), regexp.MustCompile(`\.classList\b`)} {
		if loc := api.FindIndex(src); loc != nil {
			t.Errorf("web/static/fallback.js uses %s, which old TVs lack", src[loc[0]:loc[1]])
		}
	}
}

// The check itself refuses what an old engine cannot parse.
func TestTheES5CheckRefusesNewerSyntax(t *testing.T) {
	for _, src := range []string{
		`let a = 1;`,
		`const a = 1;`,
		`var f = (x) => x;`,
		"var s = `template`;",
		`async function f() {}`,
		`class A {}`,
		`for (var x of []) {}`,
	} {
		if es5Error(t, src) == "" {
			t.Errorf("the ES5 check accepted %q", src)
		}
	}
}
