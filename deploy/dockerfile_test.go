package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	stage     string // the stage's name (AS ...), or its index
}

// parseDockerfile reads a Dockerfile's instructions, as Docker's parser
// splits them: comments dropped, lines ending in \ joined.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	stage := ""
	known := regexp.MustCompile(`^(?i)(FROM|ARG|ENV|RUN|COPY|ADD|WORKDIR|USER|VOLUME|EXPOSE|LABEL|HEALTHCHECK|ENTRYPOINT|CMD|STOPSIGNAL|SHELL|ONBUILD)$`)
	stages := 0
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(trimmed)
		text := cur.String()
		cur.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		if !known.MatchString(cmd) {
			t.Fatalf("%s: %q is not a Dockerfile instruction", path, cmd)
		}
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stages++
			stage = strings.Fields(args)[0]
			if f := strings.Fields(args); len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stage = f[2]
			}
		}
		out = append(out, instruction{cmd: cmd, args: strings.TrimSpace(args), stage: stage})
	}
	if cur.Len() > 0 {
		t.Fatalf("%s ends inside a continued line", path)
	}
	return out
}

// The Dockerfile builds with the Makefile's own release target and ends
// in the image make image writes: same user, entrypoint, port, volume,
// environment and health check.
func TestTheDockerfileBuildsWhatMakeImageWrites(t *testing.T) {
	ins := parseDockerfile(t, "Dockerfile")
	stages := map[string]bool{}
	var final []instruction
	for i, in := range ins {
		if in.cmd == "FROM" {
			if i > 0 && stages[in.stage] {
				t.Errorf("stage %s named twice", in.stage)
			}
			stages[in.stage] = true
			final = nil
		}
		if in.cmd == "COPY" {
			if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(in.args); m != nil && !stages[m[1]] {
				t.Errorf("COPY --from=%s names no earlier stage", m[1])
			}
		}
		final = append(final, in)
	}
	if final[0].args != "scratch" {
		t.Errorf("the last stage is FROM %s, want scratch", final[0].args)
	}
	if !slices.ContainsFunc(ins, func(in instruction) bool {
		return in.cmd == "RUN" && strings.Contains(in.args, "make release-binary") && strings.Contains(in.args, `VERSION="${VERSION}"`) && strings.Contains(in.args, `COMMIT="${COMMIT}"`)
	}) {
		t.Error("no stage builds with make release-binary VERSION=... COMMIT=...: the Dockerfile's build would differ from make release's")
	}

	img := readImage(t, artifact(t, "placard-image-linux-amd64.tar")).config.Config
	get := func(cmd string) []string {
		var v []string
		for _, in := range final {
			if in.cmd == cmd {
				v = append(v, in.args)
			}
		}
		return v
	}
	jsonArgs := func(s string) []string {
		var v []string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Errorf("%q is not JSON form (exec form, no shell): %v", s, err)
		}
		return v
	}
	if u := get("USER"); len(u) != 1 || u[0] != img.User {
		t.Errorf("USER %q, the image's %q", u, img.User)
	}
	if e := get("ENTRYPOINT"); len(e) != 1 || !slices.Equal(jsonArgs(e[0]), img.Entrypoint) {
		t.Errorf("ENTRYPOINT %q, the image's %q", e, img.Entrypoint)
	}
	if e := get("EXPOSE"); len(e) != 1 || img.ExposedPorts[e[0]] != struct{}{} {
		t.Errorf("EXPOSE %q, the image's %v", e, img.ExposedPorts)
	}
	if v := get("VOLUME"); len(v) != 1 || img.Volumes[v[0]] != struct{}{} {
		t.Errorf("VOLUME %q, the image's %v", v, img.Volumes)
	}
	if w := get("WORKDIR"); len(w) != 1 || w[0] != img.WorkingDir {
		t.Errorf("WORKDIR %q, the image's %q", w, img.WorkingDir)
	}
	if env := get("ENV"); len(env) != 1 || !slices.Equal(strings.Fields(env[0]), img.Env) {
		t.Errorf("ENV %q, the image's %q", env, img.Env)
	}
	h := get("HEALTHCHECK")
	if len(h) != 1 || img.Healthcheck == nil {
		t.Fatalf("HEALTHCHECK %q", h)
	}
	_, test, ok := strings.Cut(h[0], "CMD ")
	if !ok || !slices.Equal(append([]string{"CMD"}, jsonArgs(test)...), img.Healthcheck.Test) {
		t.Errorf("HEALTHCHECK %q, the image's %q", h[0], img.Healthcheck.Test)
	}
	for _, opt := range []string{"--interval=" + img.Healthcheck.Interval.String(), "--timeout=" + img.Healthcheck.Timeout.String(), "--start-period=" + img.Healthcheck.StartPeriod.String()} {
		if !strings.Contains(h[0], opt) {
			t.Errorf("HEALTHCHECK %q lacks %s, as the image has it", h[0], opt)
		}
	}
	labels := strings.Join(get("LABEL"), " ")
	for _, k := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.licenses", "org.opencontainers.image.base.name"} {
		if !strings.Contains(labels, k+"=") {
			t.Errorf("no LABEL %s, which make image's has", k)
		}
	}
}
