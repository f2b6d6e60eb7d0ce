package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// block is a fenced block of a Markdown page, with the docs-test mark on
// the line before it (docs/testing.md), if any.
type block struct {
	info, text, mark string
	line             int
}

var markRE = regexp.MustCompile(`^\s*<!--\s*docs-test(?::\s*(.*?))?\s*-->\s*$`)

func fencedBlocks(t *testing.T, path string) []block {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	var cur *block
	prev := ""
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{info: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: i + 1}
			if m := markRE.FindStringSubmatch(prev); m != nil {
				cur.mark = m[1]
			}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
	if cur != nil {
		t.Fatalf("%s: the block at line %d is not closed", path, cur.line)
	}
	return out
}

// TestTheDeployPagesCommandsRun runs the shell blocks of docs/deploy.md
// that the docs test leaves to this one (their mark: "skip deploy: ..."),
// in order, from the repository's root, as a newcomer would once make
// release has built dist/. Every other shell block is make lines whose
// targets make test runs, or says what it needs that is not here.
func TestTheDeployPagesCommandsRun(t *testing.T) {
	page := filepath.Join(root, "docs", "deploy.md")
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	testDeps := regexp.MustCompile(`(?m)^test-deploy:(.*)$`).FindSubmatch(makefile)
	testLine := regexp.MustCompile(`(?m)^test:(.*)$`).FindSubmatch(makefile)
	if testDeps == nil || testLine == nil || !strings.Contains(string(testLine[1]), "test-deploy") {
		t.Fatal("make test does not run test-deploy")
	}
	madeByTest := strings.Fields(string(testDeps[1]))
	needs := regexp.MustCompile(`^skip needs (a Raspberry Pi|a Kubernetes cluster|a container runtime that runs containers|a Docker daemon)`)

	ran, overlay := 0, false
	for _, b := range fencedBlocks(t, page) {
		if b.info == "yaml" {
			overlay = overlay || b.text == overlayKustomization
		}
		if b.info != "sh" {
			continue
		}
		lines := strings.Split(strings.TrimSpace(b.text), "\n")
		onlyMake := true
		for _, line := range lines {
			target, ok := strings.CutPrefix(line, "make ")
			onlyMake = onlyMake && ok && contains(madeByTest, target)
		}
		switch {
		case strings.HasPrefix(b.mark, "skip deploy:"):
		case onlyMake:
			continue
		case needs.MatchString(b.mark):
			t.Logf("docs/deploy.md:%d: not run: %s", b.line, b.mark)
			continue
		default:
			t.Errorf("docs/deploy.md:%d: a block marked %q: mark it \"skip deploy: ...\" for this test to run it, or say what it needs", b.line, b.mark)
			continue
		}
		if strings.Contains(b.text, "podman ") {
			tool(t, "podman", "podman")
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.text)
		cmd.Dir = root
		cmd.Env = cleanEnv("HOME=" + t.TempDir())
		out, err := cmd.CombinedOutput()
		t.Logf("docs/deploy.md:%d:\n%s\n%s", b.line, b.text, out)
		if err != nil {
			t.Errorf("docs/deploy.md:%d: %v", b.line, err)
		}
		ran++
		if strings.Contains(b.text, "podman load") {
			ref := readImage(t, artifact(t, "placard-image-linux-amd64.tar")).ref
			t.Cleanup(func() { exec.Command("podman", "rmi", "--force", ref).Run() })
		}
	}
	if ran < 2 {
		t.Errorf("%d blocks of docs/deploy.md ran", ran)
	}
	if !overlay {
		t.Error("docs/deploy.md does not show the overlay the Kubernetes tests build (overlayKustomization)")
	}
}
