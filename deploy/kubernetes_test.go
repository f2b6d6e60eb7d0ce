package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// manifests is what kustomize made of a kustomization, each resource
// decoded strictly into its Kubernetes API type: a field the API does not
// know, or a value of the wrong type, fails.
type manifests struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
	pdb        *policyv1.PodDisruptionBudget
	secret     *corev1.Secret
	configMap  *corev1.ConfigMap
}

// build runs kustomize (what kubectl apply -k runs) on dir of an
// in-memory copy of files, and decodes its output.
func build(t *testing.T, files map[string]string, dir string) manifests {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for name, text := range files {
		if err := fs.MkdirAll(filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
		if err := fs.WriteFile(name, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var m manifests
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var into any
		switch r.GetKind() {
		case "Deployment":
			m.deployment = &appsv1.Deployment{}
			into = m.deployment
		case "Service":
			m.service = &corev1.Service{}
			into = m.service
		case "PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			into = m.pdb
		case "Secret":
			m.secret = &corev1.Secret{}
			into = m.secret
		case "ConfigMap":
			m.configMap = &corev1.ConfigMap{}
			into = m.configMap
		default:
			t.Fatalf("a resource of kind %s: the test knows no type to decode it into", r.GetKind())
		}
		if err := yaml.UnmarshalStrict(y, into); err != nil {
			t.Fatalf("%s %s does not decode strictly into the Kubernetes API: %v\n%s", r.GetKind(), r.GetName(), err, y)
		}
	}
	if m.deployment == nil || m.service == nil || m.pdb == nil || m.secret == nil || m.configMap == nil {
		t.Fatalf("kustomize made %d resources: want a Deployment, a Service, a PodDisruptionBudget, a Secret and a ConfigMap", rm.Size())
	}
	return m
}

// base is deploy/kubernetes, under /base.
func base(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir("kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "secret.env" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("kubernetes", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["/base/"+e.Name()] = string(b)
	}
	return files
}

func TestTheKubernetesManifestsDecodeStrictlyAndFitTheLeaseHandOver(t *testing.T) {
	m := build(t, base(t), "/base")
	d := m.deployment
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %v: the base runs several", d.Spec.Replicas)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe %+v, want GET %s on the http port", name, p, path)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if c.ReadinessProbe != nil && c.ReadinessProbe.TimeoutSeconds <= 5 {
		t.Errorf("readiness timeout %d s: /readyz itself waits up to 5 s for the store and the identity platform", c.ReadinessProbe.TimeoutSeconds)
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http" && p.ContainerPort == 8080 }) {
		t.Errorf("ports %+v, want http on 8080", c.Ports)
	}

	// Stopping: preStop's wait, then placard's shutdown (5 s at most for
	// requests under way) and the hand-over of its accounts' leases
	// (0.5–3 s measured), inside the grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatalf("preStop %+v: want Kubernetes' sleep (the image has no shell)", c.Lifecycle)
	}
	preStop := c.Lifecycle.PreStop.Sleep.Seconds
	if preStop < 3 || pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < preStop+5+3+5 {
		t.Errorf("preStop %d s, grace %v s: want time for the endpoint to go, then 5 s of shutdown and 3 s of hand-over, with room", preStop, pod.TerminationGracePeriodSeconds)
	}
	if s := d.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable == nil || s.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v: want a new replica ready before an old one stops", s)
	}

	// Non-root, read-only, nothing but what it needs.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod security %+v: want non-root, user 65532 (the image's)", psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security %+v: want a read-only root, no escalation, every capability dropped", sc)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("service links are on: a Service named placard would put PLACARD_* variables in the environment")
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = vm.Name
	}
	for _, path := range []string{"/data", "/tmp"} {
		v := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == mounts[path] })
		if v < 0 || pod.Volumes[v].EmptyDir == nil {
			t.Errorf("%s is not an emptyDir volume: the root is read-only", path)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().Cmp(*c.Resources.Requests.Memory()) < 0 {
		t.Errorf("resources %+v: want CPU and memory requests, and a memory limit above the request", c.Resources)
	}

	// The Service and the budget select the Deployment's pods.
	labels := d.Spec.Template.Labels
	matches := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !matches(d.Spec.Selector.MatchLabels) || !matches(m.service.Spec.Selector) || m.pdb.Spec.Selector == nil || !matches(m.pdb.Spec.Selector.MatchLabels) {
		t.Errorf("selectors: deployment %v, service %v, budget %v; pod labels %v", d.Spec.Selector.MatchLabels, m.service.Spec.Selector, m.pdb.Spec.Selector, labels)
	}
	if len(m.service.Spec.Ports) != 1 || m.service.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("service ports %+v, want the pods' http port", m.service.Spec.Ports)
	}
	if m.pdb.Spec.MaxUnavailable == nil || m.pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("budget %+v, want one replica away at a time", m.pdb.Spec)
	}

	// The settings come from the ConfigMap and the Secret kustomize named.
	from := map[string]bool{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			from[ef.ConfigMapRef.Name] = true
		case ef.SecretRef != nil:
			from[ef.SecretRef.Name] = true
		}
	}
	if !from[m.configMap.Name] || !from[m.secret.Name] {
		t.Errorf("envFrom %v, want the ConfigMap %s and the Secret %s", from, m.configMap.Name, m.secret.Name)
	}
	for _, k := range []string{"PLACARD_KEY", "PLACARD_DATABASE_URL"} {
		if _, ok := m.secret.StringData[k]; !ok {
			t.Errorf("the Secret has no %s", k)
		}
	}
}

// checkConfig runs placard -check-config with the container's arguments
// and environment as the kubelet gives them, its emptyDir mounts replaced
// by directories of the test's.
func checkConfig(t *testing.T, m manifests) (string, error) {
	t.Helper()
	c := m.deployment.Spec.Template.Spec.Containers[0]
	mounted := map[string]string{}
	for _, vm := range c.VolumeMounts {
		dir := filepath.Join(t.TempDir(), strings.Trim(vm.MountPath, "/"))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		mounted[vm.MountPath] = dir
	}
	var env []string
	add := func(k, v string) {
		if dir, ok := mounted[v]; ok {
			v = dir
		}
		env = append(env, k+"="+v)
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			for k, v := range m.configMap.Data {
				add(k, v)
			}
		case ef.SecretRef != nil:
			for k, v := range m.secret.StringData {
				add(k, v)
			}
			for k, v := range m.secret.Data {
				add(k, string(v))
			}
		}
	}
	for _, e := range c.Env { // env wins over envFrom, as in Kubernetes
		add(e.Name, e.Value)
	}
	args := append(append([]string{"-check-config"}, c.Command...), c.Args...)
	return command(t, "", cleanEnv(env...), artifact(t, "placard-linux-amd64"), args...)
}

// The base's Secret holds no usable value: a replica started with it
// stops at once, naming the setting to fix, the database's URL first,
// then the key.
func TestTheBaseSecretStopsAStartNamingWhatToSet(t *testing.T) {
	m := build(t, base(t), "/base")
	out, err := checkConfig(t, m)
	if err == nil || !strings.Contains(out, "PLACARD_DATABASE_URL") {
		t.Errorf("-check-config with the base's Secret: %v\n%s\nwant a refusal naming PLACARD_DATABASE_URL", err, out)
	}
	m.secret.StringData["PLACARD_DATABASE_URL"] = "postgres://placard:pw@db.example.internal:5432/placard"
	out, err = checkConfig(t, m)
	if err == nil || !strings.Contains(out, "PLACARD_KEY") {
		t.Errorf("-check-config with the base's key: %v\n%s\nwant a refusal naming PLACARD_KEY", err, out)
	}
}

// An overlay as docs/deploy.md writes it: its image, its secrets; its
// manifests decode strictly and pass placard -check-config.
func TestAnOverlayWithItsSecretsPassesCheckConfig(t *testing.T) {
	files := base(t)
	key := strings.TrimSpace(mustRun(t, artifact(t, "placard-linux-amd64"), "key"))
	files["/overlay/kustomization.yaml"] = overlayKustomization
	files["/overlay/secret.env"] = fmt.Sprintf("PLACARD_KEY=%s\nPLACARD_DATABASE_URL=postgres://placard:s3cret@db.example.internal:5432/placard\n", key)
	m := build(t, files, "/overlay")
	if img := m.deployment.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/placard:v1.0.0" {
		t.Errorf("image %q, want the overlay's", img)
	}
	if m.secret.StringData["PLACARD_KEY"] != key && string(m.secret.Data["PLACARD_KEY"]) != key {
		t.Errorf("the overlay's key did not replace the base's: %v %v", m.secret.StringData, m.secret.Data)
	}
	out, err := checkConfig(t, m)
	if err != nil || !strings.Contains(out, "this configuration starts") {
		t.Errorf("placard -check-config with the overlay's manifests: %v\n%s", err, out)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("-check-config printed the database's password:\n%s", out)
	}
}

// overlayKustomization is docs/deploy.md's overlay (the docs test checks
// that the page shows the same).
const overlayKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
images:
  - name: placard
    newName: registry.example.com/placard
    newTag: v1.0.0
secretGenerator:
  - name: placard
    behavior: replace
    envs:
      - secret.env
`

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := command(t, "", cleanEnv(), name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
