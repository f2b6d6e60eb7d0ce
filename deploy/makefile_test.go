package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeBuildBuildsAgainWhenTheVersionOrPlatformChanges runs make -n
// build on a copy of the Makefile beside empty sources whose outputs are
// newer than them: make must plan to build bin/placard again when only
// what it is built for changes (VERSION, COMMIT, GOARCH), which no source
// file's time says, and plan nothing when nothing changed.
func TestMakeBuildBuildsAgainWhenTheVersionOrPlatformChanges(t *testing.T) {
	dir := t.TempDir()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	write := func(name string, data []byte, at time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("Makefile", makefile, old)
	for _, src := range []string{"go.mod", "go.sum", "app/screen.go", "server/cmd/precompress/main.go", "web/static/placard.css", "web/web.go"} {
		write(src, nil, old)
	}
	write(".cache/wasm/app.wasm", nil, old.Add(time.Minute))
	write("web/wasm/app.wasm.br", nil, old.Add(2*time.Minute))

	// plan runs make -n build and reports whether it would link the
	// binary; then it makes the binary newer than the stamp make keeps,
	// as the build it planned would have.
	plan := func(env []string, version string) bool {
		t.Helper()
		out, err := command(t, dir, cleanEnv(env...), "make", "--no-print-directory", "-n", "build", "VERSION="+version, "COMMIT=abc")
		if err != nil {
			t.Fatalf("%v make -n build VERSION=%s: %v\n%s", env, version, err, out)
		}
		stamp, err := os.Stat(filepath.Join(dir, ".cache", "build-for"))
		if err != nil {
			t.Fatalf("%v make -n build VERSION=%s kept no stamp of what it builds for: %v", env, version, err)
		}
		write("bin/placard", nil, stamp.ModTime().Add(time.Millisecond))
		return strings.Contains(out, "-o bin/placard ./server/cmd/placard")
	}
	if !plan(nil, "v1.0.0") {
		t.Fatal("make -n build plans no build of bin/placard before one was made")
	}
	arm := []string{"GOARCH=arm64"}
	for _, step := range []struct {
		name    string
		env     []string
		version string
		want    bool
	}{
		{"nothing changed", nil, "v1.0.0", false},
		{"GOARCH=arm64", arm, "v1.0.0", true},
		{"GOARCH=arm64 again", arm, "v1.0.0", false},
		{"back to this machine's platform", nil, "v1.0.0", true},
		{"a new version", nil, "v1.1.0", true},
		{"the same version again", nil, "v1.1.0", false},
	} {
		if got := plan(step.env, step.version); got != step.want {
			t.Errorf("%s: make -n build plans a build of bin/placard: %v, want %v", step.name, got, step.want)
		}
	}
}
