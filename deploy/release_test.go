package deploy

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The release's targets: a binary's name, its ELF machine and the
// build settings Go records in it.
var targets = []struct {
	name     string
	machine  elf.Machine
	settings map[string]string
}{
	{"placard-linux-amd64", elf.EM_X86_64, map[string]string{"GOOS": "linux", "GOARCH": "amd64"}},
	{"placard-linux-arm64", elf.EM_AARCH64, map[string]string{"GOOS": "linux", "GOARCH": "arm64"}},
	// Raspberry Pi 3, 4 and Zero 2 W under a 32-bit system.
	{"placard-linux-armv7", elf.EM_ARM, map[string]string{"GOOS": "linux", "GOARCH": "arm", "GOARM": "7"}},
}

func TestReleaseBinariesAreStaticStampedAndSummed(t *testing.T) {
	s := want(t)
	// sha256sum -c, as a person checks a download.
	out, err := command(t, dist, nil, "sha256sum", "-c", "SHA256SUMS")
	if err != nil {
		t.Fatalf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
	}
	for _, tg := range targets {
		if !strings.Contains(out, tg.name+": OK") {
			t.Errorf("SHA256SUMS does not cover %s:\n%s", tg.name, out)
		}
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			p := artifact(t, tg.name)
			f, err := elf.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != tg.machine {
				t.Errorf("machine %v, want %v", f.Machine, tg.machine)
			}
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
					t.Errorf("it is dynamically linked (%v): it would need a C library on the Pi", prog.Type)
				}
			}
			bi, err := buildinfo.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, st := range bi.Settings {
				got[st.Key] = st.Value
			}
			for k, v := range tg.settings {
				if got[k] != v {
					t.Errorf("%s=%q, want %q", k, got[k], v)
				}
			}
			for k, v := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
				if got[k] != v {
					t.Errorf("built with %s=%q, want %q", k, got[k], v)
				}
			}
			// -buildvcs=false: git's state is not in it (the stamp is),
			// so a source tree without git builds the same bytes.
			for k := range got {
				if strings.HasPrefix(k, "vcs") {
					t.Errorf("it records %s=%s: built without -buildvcs=false", k, got[k])
				}
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(s.version)) || !bytes.Contains(b, []byte(s.commit)) {
				t.Errorf("it is not stamped with version %s and commit %s", s.version, s.commit)
			}
			if bytes.Contains(b, []byte(root)) {
				t.Errorf("it holds the build's directory %s: built without -trimpath?", root)
			}
			// The screen's app, embedded precompressed.
			if !bytes.Contains(b, []byte("app.wasm.br")) {
				t.Error("no app.wasm.br embedded: built before make wasm?")
			}
		})
	}
	// The one this machine runs says what it is.
	out, err = command(t, "", cleanEnv(), artifact(t, "placard-linux-amd64"), "version")
	if err != nil || !strings.Contains(out, "placard "+s.version+" (commit "+s.commit+", go") {
		t.Errorf("placard version: %q, %v; want version %s and commit %s", out, err, s.version, s.commit)
	}
}

// TestReleaseIsReproducible builds every target again from a copy of the
// source in another directory, without git (as from a source tarball,
// with VERSION and COMMIT given), the Wasm included, and wants the same
// bytes. The packages come from Go's build cache (their cache keys do
// not depend on the directory under -trimpath); the Wasm and the three
// binaries are linked anew and the Wasm compressed anew.
func TestReleaseIsReproducible(t *testing.T) {
	s := want(t)
	src := filepath.Join(t.TempDir(), "elsewhere", "placard")
	copyTree(t, root, src)
	for _, tg := range targets {
		goarch, goarm := tg.settings["GOARCH"], tg.settings["GOARM"]
		out, err := command(t, src, cleanEnv("GOOS=linux", "GOARCH="+goarch, "GOARM="+goarm), "make", "--no-print-directory", "release-binary",
			"OUT="+filepath.Join(src, "again", tg.name), "VERSION="+s.version, "COMMIT="+s.commit)
		if err != nil {
			t.Fatalf("building %s again: %v\n%s", tg.name, err, out)
		}
		first, again := sum(t, artifact(t, tg.name)), sum(t, filepath.Join(src, "again", tg.name))
		if first != again {
			t.Errorf("%s: %s built in %s, %s built in %s: not reproducible", tg.name, first, root, again, src)
		} else {
			t.Logf("%s: %s twice", tg.name, first)
		}
	}
}

// copyTree copies the files git tracks (and the working tree's changes to
// them) into dst, without .git and without what builds make.
func copyTree(t *testing.T, from, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", from, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		srcPath := filepath.Join(from, name)
		info, err := os.Lstat(srcPath)
		if err != nil {
			continue // deleted in the working tree
		}
		if !info.Mode().IsRegular() {
			continue
		}
		copyFile(t, srcPath, filepath.Join(dst, name), info.Mode())
	}
}

func copyFile(t *testing.T, from, to string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func sum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
