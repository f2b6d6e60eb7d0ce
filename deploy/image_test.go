package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The documents of the image's archive, as the tests read them.
type (
	descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations"`
		Platform    *struct {
			Architecture string `json:"architecture"`
			OS           string `json:"os"`
		} `json:"platform"`
	}
	imageConfig struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Created      string `json:"created"`
		Config       struct {
			User         string
			ExposedPorts map[string]struct{}
			Env          []string
			Entrypoint   []string
			Cmd          []string
			Volumes      map[string]struct{}
			WorkingDir   string
			Labels       map[string]string
			StopSignal   string
			Healthcheck  *struct {
				Test                           []string
				Interval, Timeout, StartPeriod time.Duration
				Retries                        int
			}
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	// layerFile is one entry of the image's layer.
	layerFile struct {
		hdr  *tar.Header
		data []byte
	}
)

// image is the image's archive read through: index.json → manifest →
// configuration and layer, every blob checked against its digest.
type image struct {
	index    descriptor
	config   imageConfig
	rawCfg   []byte
	layer    map[string]layerFile
	tag, ref string
}

func readImage(t *testing.T, archive string) image {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", archive, err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout is %q: not an OCI image layout", files["oci-layout"])
	}
	blob := func(d descriptor) []byte {
		t.Helper()
		b, ok := files["blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:")]
		if !ok {
			t.Fatalf("no blob %s", d.Digest)
		}
		if sum := sha256.Sum256(b); "sha256:"+hex.EncodeToString(sum[:]) != d.Digest || int64(len(b)) != d.Size {
			t.Fatalf("blob %s does not match its digest or size", d.Digest)
		}
		return b
	}
	var index struct {
		SchemaVersion int          `json:"schemaVersion"`
		Manifests     []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil || index.SchemaVersion != 2 || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, files["index.json"])
	}
	var manifest struct {
		MediaType string       `json:"mediaType"`
		Config    descriptor   `json:"config"`
		Layers    []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(blob(index.Manifests[0]), &manifest); err != nil || len(manifest.Layers) != 1 {
		t.Fatalf("the manifest: %v %+v", err, manifest)
	}
	img := image{index: index.Manifests[0], layer: map[string]layerFile{}}
	img.rawCfg = blob(manifest.Config)
	if err := json.Unmarshal(img.rawCfg, &img.config); err != nil {
		t.Fatal(err)
	}
	gz := blob(manifest.Layers[0])
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); len(img.config.RootFS.DiffIDs) != 1 || img.config.RootFS.DiffIDs[0] != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("the layer's diff id is not the configuration's %v", img.config.RootFS.DiffIDs)
	}
	lr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(lr)
		img.layer["/"+strings.TrimSuffix(h.Name, "/")] = layerFile{h, b}
	}
	img.tag = img.index.Annotations["org.opencontainers.image.ref.name"]
	img.ref = img.index.Annotations["io.containerd.image.name"]
	return img
}

func TestTheImageIsNonRootWithAHealthCheckAndNoBase(t *testing.T) {
	s := want(t)
	img := readImage(t, artifact(t, "placard-image-linux-amd64.tar"))
	c := img.config.Config
	if img.config.Architecture != "amd64" || img.config.OS != "linux" || img.index.Platform == nil || img.index.Platform.Architecture != "amd64" {
		t.Errorf("platform %s/%s (index %+v), want linux/amd64", img.config.OS, img.config.Architecture, img.index.Platform)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/placard"}) || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want /placard alone", c.Entrypoint, c.Cmd)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 || !slices.Contains(c.Env, "PLACARD_ADDR=:8080") {
		t.Errorf("ports %v, env %v: want 8080/tcp, where PLACARD_ADDR listens", c.ExposedPorts, c.Env)
	}
	if _, ok := c.Volumes["/data"]; !ok || !slices.Contains(c.Env, "PLACARD_DATA=/data") {
		t.Errorf("volumes %v, env %v: want /data, the data directory", c.Volumes, c.Env)
	}
	if h := c.Healthcheck; h == nil || !slices.Equal(h.Test, []string{"CMD", "/placard", "healthcheck"}) || h.Interval <= 0 || h.Timeout <= 5*time.Second || h.Retries < 1 {
		t.Errorf("health check %+v, want CMD /placard healthcheck, with a timeout over the check's own 5 s", h)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.title":     "placard",
		"org.opencontainers.image.version":   s.version,
		"org.opencontainers.image.revision":  s.commit,
		"org.opencontainers.image.licenses":  "MIT",
		"org.opencontainers.image.base.name": "scratch",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	created, err := time.Parse(time.RFC3339, s.created)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := time.Parse(time.RFC3339, c.Labels["org.opencontainers.image.created"]); err != nil || !got.Equal(created) || img.config.Created != c.Labels["org.opencontainers.image.created"] {
		t.Errorf("created %q / %q, want the commit's time %s (the same image for the same commit)", img.config.Created, c.Labels["org.opencontainers.image.created"], s.created)
	}

	// The file system: nothing but what the server needs.
	want := map[string]struct {
		mode int64
		uid  int
	}{
		"/placard":                           {0o755, 0},
		"/etc/passwd":                        {0o644, 0},
		"/etc/group":                         {0o644, 0},
		"/etc/ssl/certs/ca-certificates.crt": {0o644, 0},
		"/data":                              {0o700, 65532},
		"/tmp":                               {0o1777, 0},
		"/home/nonroot":                      {0o700, 65532},
		"/usr/share/zoneinfo/Europe/Paris":   {0o644, 0},
	}
	for name, w := range want {
		f, ok := img.layer[name]
		if !ok {
			t.Errorf("the image has no %s", name)
			continue
		}
		if f.hdr.Mode != w.mode || f.hdr.Uid != w.uid || f.hdr.Gid != w.uid {
			t.Errorf("%s: mode %04o owner %d:%d, want %04o %d:%d", name, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, w.mode, w.uid, w.uid)
		}
		if !f.hdr.ModTime.Equal(created) {
			t.Errorf("%s dated %v, want the commit's time", name, f.hdr.ModTime)
		}
	}
	for name := range img.layer {
		if strings.HasPrefix(name, "/bin") || strings.HasPrefix(name, "/usr/bin") || strings.HasSuffix(name, "/sh") {
			t.Errorf("the image holds %s: it should have no shell or tools", name)
		}
	}
	if !regexp.MustCompile(`(?m)^nonroot:x:65532:65532:`).Match(img.layer["/etc/passwd"].data) || !regexp.MustCompile(`(?m)^nonroot:x:65532:`).Match(img.layer["/etc/group"].data) {
		t.Errorf("/etc/passwd and /etc/group name no user 65532:\n%s%s", img.layer["/etc/passwd"].data, img.layer["/etc/group"].data)
	}
	n, rest := 0, img.layer["/etc/ssl/certs/ca-certificates.crt"].data
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err == nil {
			n++
		}
	}
	if n < 50 {
		t.Errorf("the CA bundle holds %d certificates, want Debian's (over 100)", n)
	}
	if _, err := time.LoadLocationFromTZData("Europe/Paris", img.layer["/usr/share/zoneinfo/Europe/Paris"].data); err != nil {
		t.Errorf("the image's Europe/Paris: %v", err)
	}

	// The binary taken out of the image serves, until /readyz answers,
	// with its health check.
	bin := filepath.Join(t.TempDir(), "placard")
	if err := os.WriteFile(bin, img.layer["/placard"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := command(t, "", cleanEnv(), bin, "version")
	if err != nil || !strings.Contains(out, "placard "+s.version+" (commit "+s.commit) {
		t.Errorf("the image's placard version: %q %v", out, err)
	}
	srv := startServer(t, bin)
	port := srv.url[strings.LastIndex(srv.url, ":")+1:]
	// As the image's HEALTHCHECK runs it: the address from PLACARD_ADDR.
	out, err = command(t, "", cleanEnv("PLACARD_ADDR=:"+port), bin, "healthcheck")
	if err != nil || !strings.Contains(out, "/readyz: ready") {
		t.Errorf("placard healthcheck against the image's binary: %q %v", out, err)
	}
	res, err := http.Get(srv.url + "/web/app.wasm")
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	io.ReadFull(res.Body, head)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(head) != "\x00asm" {
		t.Errorf("/web/app.wasm: %s %q: the screen's app is not embedded", res.Status, head)
	}
}

// Each architecture's image holds that architecture's binary, the same
// bytes as the release's.
func TestEachArchitecturesImageHoldsItsReleaseBinary(t *testing.T) {
	for _, tc := range []struct{ arch, image, binary string }{
		{"amd64", "placard-image-linux-amd64.tar", "placard-linux-amd64"},
		{"arm64", "placard-image-linux-arm64.tar", "placard-linux-arm64"},
		{"arm", "placard-image-linux-armv7.tar", "placard-linux-armv7"},
	} {
		img := readImage(t, artifact(t, tc.image))
		bin, err := os.ReadFile(artifact(t, tc.binary))
		if err != nil {
			t.Fatal(err)
		}
		if img.config.Architecture != tc.arch || !bytes.Equal(img.layer["/placard"].data, bin) {
			t.Errorf("%s: architecture %s, binary the release's: %v", tc.image, img.config.Architecture, bytes.Equal(img.layer["/placard"].data, bin))
		}
	}
}

// podman loads the archive, with the health check (podman applies one
// only from Docker's manifest format, which the archive carries). It
// cannot run containers here: crun's setrlimit is refused.
func TestPodmanLoadsTheImageWithItsHealthCheck(t *testing.T) {
	podman := tool(t, "podman", "podman")
	archive := artifact(t, "placard-image-linux-amd64.tar")
	img := readImage(t, archive)
	out, err := command(t, "", nil, podman, "load", "-i", archive)
	if err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	t.Cleanup(func() { command(t, "", nil, podman, "rmi", "--force", img.ref) })
	if !strings.Contains(out, "Loaded image: "+img.ref) {
		t.Fatalf("podman load said %q, want the image named %s", out, img.ref)
	}
	out, err = command(t, "", nil, podman, "image", "inspect", img.ref)
	if err != nil {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	var inspected []struct {
		User        string
		Labels      map[string]string
		HealthCheck *struct{ Test []string }
		Config      struct {
			Entrypoint   []string
			ExposedPorts map[string]struct{}
			Volumes      map[string]struct{}
		}
	}
	if err := json.Unmarshal([]byte(out), &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	got := inspected[0]
	if got.User != "65532:65532" || got.HealthCheck == nil || !slices.Equal(got.HealthCheck.Test, []string{"CMD", "/placard", "healthcheck"}) ||
		!slices.Equal(got.Config.Entrypoint, []string{"/placard"}) || got.Labels["org.opencontainers.image.revision"] != img.config.Config.Labels["org.opencontainers.image.revision"] {
		t.Errorf("podman sees user %q, health check %+v, entrypoint %q, labels %v", got.User, got.HealthCheck, got.Config.Entrypoint, got.Labels)
	}
	if _, ok := got.Config.Volumes["/data"]; !ok {
		t.Errorf("podman sees volumes %v, want /data", got.Config.Volumes)
	}
}
