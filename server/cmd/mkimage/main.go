// Command mkimage writes placard's container image as an OCI image
// layout in a tar archive (what `podman load` and `docker load` read),
// with no base image: one layer holding the static binary, the build
// machine's CA certificates and time zone database, a non-root user
// (65532, as distroless's "nonroot") and the directories the server
// needs. `make image` runs it.
//
// It writes the layout itself rather than asking podman or buildah to
// build a Containerfile, for the health check: OCI's image configuration
// has none, podman drops a Containerfile's HEALTHCHECK when it writes an
// OCI archive, and podman applies a health check only from an image in
// Docker's format. So the layout (oci-layout, index.json, blobs/) is
// OCI's, and the manifest and configuration in it are Docker's image
// manifest v2, schema 2, with its Healthcheck: what `docker save` itself
// writes since Docker 25, and what both podman and Docker load with the
// health check. Every byte is also fixed by the inputs (entries sorted,
// owners and times set, gzip without a name or time), so the same binary
// and files give the same image digest.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The user the server runs as, and its group: distroless's nonroot.
const (
	uid  = 65532
	user = "nonroot"
)

// Port is the port the image's server listens on (PLACARD_ADDR).
const port = "8080"

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "the static placard binary (CGO_ENABLED=0) for -arch")
	flag.StringVar(&o.arch, "arch", "amd64", "the binary's architecture: amd64, arm64 or arm/v7")
	flag.StringVar(&o.version, "version", "devel", "the version (org.opencontainers.image.version, and the image's tag)")
	flag.StringVar(&o.revision, "revision", "unknown", "the git commit (org.opencontainers.image.revision)")
	flag.StringVar(&o.created, "created", "", "RFC 3339 time of the image and of every file in it (the commit's time, for a reproducible image); now when empty")
	flag.StringVar(&o.source, "source", "", "URL of the source repository (org.opencontainers.image.source); none when empty")
	flag.StringVar(&o.name, "name", "localhost/placard", "the image's name, without its tag")
	flag.StringVar(&o.caCerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "the CA certificates bundle to copy (Debian's ca-certificates)")
	flag.StringVar(&o.zoneinfo, "zoneinfo", "/usr/share/zoneinfo", "the time zone database to copy (Debian's tzdata)")
	flag.StringVar(&o.out, "out", "", "the OCI archive to write")
	flag.Parse()
	if err := o.write(); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

type options struct {
	binary, arch, version, revision, created, source, name string
	caCerts, zoneinfo, out                                 string
}

func (o options) write() error {
	if o.binary == "" || o.out == "" {
		return errors.New("-binary and -out are required")
	}
	goarch, variant, _ := strings.Cut(o.arch, "/")
	switch o.arch {
	case "amd64", "arm/v7":
	case "arm64":
		variant = "v8"
	default:
		return fmt.Errorf("-arch %q must be amd64, arm64 or arm/v7", o.arch)
	}
	created := time.Now().UTC().Truncate(time.Second)
	if o.created != "" {
		t, err := time.Parse(time.RFC3339, o.created)
		if err != nil {
			return fmt.Errorf("-created %q is not an RFC 3339 time: %w", o.created, err)
		}
		created = t.UTC()
	}
	tag := tagOf(o.version)

	layer, diffID, err := o.layer(created)
	if err != nil {
		return err
	}
	layerDigest := digest(layer)

	labels := map[string]string{
		"org.opencontainers.image.title":       "placard",
		"org.opencontainers.image.description": "placard: a signed-in Microsoft 365 display on any screen with a browser; the edge server, with the screen's app embedded",
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.revision":    o.revision,
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "MIT", // LICENSE
		"org.opencontainers.image.base.name":   "scratch",
	}
	if o.source != "" {
		labels["org.opencontainers.image.source"] = o.source
	}
	cfg := imageConfig{
		Created:      created.Format(time.RFC3339),
		Architecture: goarch,
		Variant:      variant,
		OS:           "linux",
		Config: containerConfig{
			User:         fmt.Sprintf("%d:%d", uid, uid),
			ExposedPorts: map[string]struct{}{port + "/tcp": {}},
			Env: []string{
				"PATH=/",
				"PLACARD_ADDR=:" + port,
				"PLACARD_DATA=/data",
				"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
				"ZONEINFO=/usr/share/zoneinfo",
			},
			Entrypoint: []string{"/placard"},
			Volumes:    map[string]struct{}{"/data": {}},
			WorkingDir: "/data",
			Labels:     labels,
			StopSignal: "SIGTERM",
			// No shell, no curl: the binary checks its own /readyz.
			Healthcheck: &healthcheck{
				Test:        []string{"CMD", "/placard", "healthcheck"},
				Interval:    30 * time.Second,
				Timeout:     10 * time.Second,
				StartPeriod: 10 * time.Second,
				Retries:     3,
			},
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{diffID}},
		History: []history{{Created: created.Format(time.RFC3339), CreatedBy: "make image (server/cmd/mkimage): placard " + o.version + ", no base image"}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	manifest := ociManifest{
		SchemaVersion: 2,
		MediaType:     "application/vnd.docker.distribution.manifest.v2+json",
		Config:        descriptor{MediaType: "application/vnd.docker.container.image.v1+json", Digest: digest(cfgJSON), Size: int64(len(cfgJSON))},
		Layers:        []descriptor{{MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Digest: layerDigest, Size: int64(len(layer))}},
	}
	manJSON, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	index := ociIndex{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.index.v1+json",
		Manifests: []descriptor{{
			MediaType: manifest.MediaType, Digest: digest(manJSON), Size: int64(len(manJSON)),
			Platform: &platform{Architecture: goarch, OS: "linux", Variant: variant},
			Annotations: map[string]string{
				// The tag, as the OCI image layout names it (podman
				// load), and the full name Docker tags a loaded image
				// with (containerd's annotation).
				"org.opencontainers.image.ref.name": tag,
				"io.containerd.image.name":          o.name + ":" + tag,
			},
		}},
	}
	idxJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	return writeArchive(o.out, created, []file{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", idxJSON},
		{blobPath(manifest.Config.Digest), cfgJSON},
		{blobPath(layerDigest), layer},
		{blobPath(index.Manifests[0].Digest), manJSON},
	})
}

// tagOf is a version as an image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func tagOf(version string) string {
	b := []byte(version)
	for i, c := range b {
		ok := c == '_' || c == '.' || c == '-' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok || (i == 0 && (c == '.' || c == '-')) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "latest"
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// entry is one file, directory or link of the layer.
type entry struct {
	name     string // without a leading slash; directories end with /
	mode     int64
	owner    int
	data     []byte
	linkname string // a symbolic link's target
}

// layer returns the image's one layer, gzipped, and its diff id (the
// digest of the uncompressed tar).
func (o options) layer(mtime time.Time) ([]byte, string, error) {
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, "", fmt.Errorf("reading -binary: %w", err)
	}
	certs, err := os.ReadFile(o.caCerts)
	if err != nil {
		return nil, "", fmt.Errorf("reading -ca-certs (Debian's ca-certificates package): %w", err)
	}
	entries := []entry{
		{name: "placard", mode: 0o755, data: bin},
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", user, uid, uid, user, user))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\n%s:x:%d:\n", user, uid))},
		// Go's resolver reads it to look names up in /etc/hosts first.
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "home/", mode: 0o755},
		{name: "home/" + user + "/", mode: 0o700, owner: uid},
		// placard refuses a data directory others may read.
		{name: "data/", mode: 0o700, owner: uid},
		{name: "tmp/", mode: 0o1777},
		{name: "usr/", mode: 0o755},
		{name: "usr/share/", mode: 0o755},
	}
	zones, err := o.zoneEntries()
	if err != nil {
		return nil, "", err
	}
	entries = append(entries, zones...)
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.owner, Gid: e.owner, ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag = tar.TypeDir
		case e.linkname != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.linkname
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if e.owner != 0 {
			h.Uname, h.Gname = user, user
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	diffID := digest(raw.Bytes())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), diffID, nil
}

// zoneEntries copies the time zone database under usr/share/zoneinfo/,
// with its links. The host's localtime link is left out: a container's
// zone is UTC unless TZ says otherwise.
func (o options) zoneEntries() ([]entry, error) {
	var out []entry
	err := filepath.WalkDir(o.zoneinfo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(o.zoneinfo, p)
		name := path.Join("usr/share/zoneinfo", filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			out = append(out, entry{name: name + "/", mode: 0o755})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if path.IsAbs(target) {
				return nil
			}
			out = append(out, entry{name: name, mode: 0o777, linkname: target})
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, entry{name: name, mode: 0o644, data: b})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading -zoneinfo (Debian's tzdata package): %w", err)
	}
	return out, nil
}

type file struct {
	name string
	data []byte
}

// writeArchive writes the layout's files into a tar archive, blobs/ and
// blobs/sha256/ first, as podman and Docker expect directories before
// their files.
func writeArchive(out string, mtime time.Time, files []file) error {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }

// The OCI image layout's index (image-spec v1.1), and Docker's image
// manifest v2 schema 2 and image configuration (moby/docker-image-spec),
// whose fields OCI's configuration shares, plus Healthcheck.
type (
	descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Platform    *platform         `json:"platform,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	platform struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant,omitempty"`
	}
	ociIndex struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}
	ociManifest struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}
	imageConfig struct {
		Created      string          `json:"created"`
		Architecture string          `json:"architecture"`
		Variant      string          `json:"variant,omitempty"`
		OS           string          `json:"os"`
		Config       containerConfig `json:"config"`
		RootFS       rootFS          `json:"rootfs"`
		History      []history       `json:"history"`
	}
	containerConfig struct {
		User         string              `json:"User"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Volumes      map[string]struct{} `json:"Volumes"`
		WorkingDir   string              `json:"WorkingDir"`
		Labels       map[string]string   `json:"Labels"`
		StopSignal   string              `json:"StopSignal"`
		Healthcheck  *healthcheck        `json:"Healthcheck,omitempty"`
	}
	// healthcheck is Docker's: durations in nanoseconds.
	healthcheck struct {
		Test        []string      `json:"Test"`
		Interval    time.Duration `json:"Interval"`
		Timeout     time.Duration `json:"Timeout"`
		StartPeriod time.Duration `json:"StartPeriod"`
		Retries     int           `json:"Retries"`
	}
	rootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
	history struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	}
)
