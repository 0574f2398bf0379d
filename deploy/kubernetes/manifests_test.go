package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// manifestFiles are the files kustomization.yaml lists, in its order.
var manifestFiles = []string{"namespace.yaml", "gateway.yaml", "agent.yaml"}

// decoder decodes YAML into the k8s.io/api types strictly, as the API
// server does for `kubectl apply --validate=strict`: an unknown field
// (matched case-sensitively), a duplicated field or a kind the scheme does
// not know is an error.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
}()

// decodeManifests splits a multi-document YAML stream and decodes each
// document strictly into its k8s.io/api type; errors name the file and
// the document.
func decodeManifests(name string, data []byte) ([]runtime.Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(probe) == 0 {
			continue // only comments
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d (%v): %w", name, i, gvk, err)
		}
		objs = append(objs, obj)
	}
}

// manifests holds every object of the manifest files, by kind and name.
type manifests struct {
	namespaces   map[string]*corev1.Namespace
	accounts     map[string]*corev1.ServiceAccount
	configMaps   map[string]*corev1.ConfigMap
	services     map[string]*corev1.Service
	statefulSets map[string]*appsv1.StatefulSet
	deployments  map[string]*appsv1.Deployment
	budgets      map[string]*policyv1.PodDisruptionBudget
}

func load(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{
		namespaces: map[string]*corev1.Namespace{}, accounts: map[string]*corev1.ServiceAccount{},
		configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{},
		statefulSets: map[string]*appsv1.StatefulSet{}, deployments: map[string]*appsv1.Deployment{},
		budgets: map[string]*policyv1.PodDisruptionBudget{},
	}
	for _, f := range manifestFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeManifests(f, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			var name string
			switch o := o.(type) {
			case *corev1.Namespace:
				name, m.namespaces[o.Name] = o.Name, o
			case *corev1.ServiceAccount:
				name, m.accounts[o.Name] = o.Name, o
			case *corev1.ConfigMap:
				name, m.configMaps[o.Name] = o.Name, o
			case *corev1.Service:
				name, m.services[o.Name] = o.Name, o
			case *appsv1.StatefulSet:
				name, m.statefulSets[o.Name] = o.Name, o
			case *appsv1.Deployment:
				name, m.deployments[o.Name] = o.Name, o
			case *policyv1.PodDisruptionBudget:
				name, m.budgets[o.Name] = o.Name, o
			}
			if name == "" {
				t.Errorf("%s: an object without a name", f)
			}
		}
	}
	return m
}

// TestStrictDecoding: every manifest decodes strictly, and the decoder does
// reject what it must (so the other tests rest on a check that can fail).
func TestStrictDecoding(t *testing.T) {
	m := load(t)
	if len(m.statefulSets) != 1 || len(m.deployments) != 1 {
		t.Fatalf("want one StatefulSet and one Deployment, got %d and %d", len(m.statefulSets), len(m.deployments))
	}
	gateway, err := os.ReadFile("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"misspelt field", "  serviceName: govaudit-gateway-headless", "  servicename: govaudit-gateway-headless", `unknown field "spec.servicename"`},
		{"field at the wrong level", "      terminationGracePeriodSeconds: 60", "      template:\n        terminationGracePeriodSeconds: 60", "template"},
		{"duplicate field", "  replicas: 2\n", "  replicas: 2\n  replicas: 3\n", "replicas"},
		{"wrong type", "  replicas: 2\n", "  replicas: two\n", "replicas"},
		{"unknown kind", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett", `no kind "PodDisruptionBudgett"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(gateway, []byte(c.old)) {
				t.Fatalf("gateway.yaml no longer contains %q", c.old)
			}
			_, err := decodeManifests("gateway.yaml", bytes.Replace(gateway, []byte(c.old), []byte(c.new), 1))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("decoding: %v, want an error naming %q", err, c.want)
			}
		})
	}
}

// TestKustomization: kustomization.yaml lists exactly the manifest files.
func TestKustomization(t *testing.T) {
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
		} `json:"images"`
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(k.Resources) != fmt.Sprint(manifestFiles) {
		t.Errorf("kustomization resources %v, want %v", k.Resources, manifestFiles)
	}
	yamls, _ := filepath.Glob("*.yaml")
	for _, y := range yamls {
		if y != "kustomization.yaml" && !strings.Contains(fmt.Sprint(manifestFiles), y) {
			t.Errorf("%s is not in kustomization.yaml", y)
		}
	}
	m := load(t)
	if m.namespaces[k.Namespace] == nil {
		t.Errorf("kustomization namespace %q is not created by namespace.yaml", k.Namespace)
	}
	for _, img := range k.Images {
		for _, p := range pods(m) {
			for _, c := range p.spec.Containers {
				if c.Image != img.Name+":"+img.NewTag {
					t.Errorf("%s container %s: image %q, kustomization rewrites %s:%s", p.name, c.Name, c.Image, img.Name, img.NewTag)
				}
			}
		}
	}
}

type pod struct {
	name   string
	labels map[string]string
	spec   *corev1.PodSpec
}

func pods(m *manifests) []pod {
	var ps []pod
	for _, s := range m.statefulSets {
		ps = append(ps, pod{"StatefulSet " + s.Name, s.Spec.Template.Labels, &s.Spec.Template.Spec})
	}
	for _, d := range m.deployments {
		ps = append(ps, pod{"Deployment " + d.Name, d.Spec.Template.Labels, &d.Spec.Template.Spec})
	}
	return ps
}

func env(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func port(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func mountPath(c *corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

// endpointPort returns the port of a host:port value, 0 if it has none.
func endpointPort(v string) int32 {
	_, p, err := net.SplitHostPort(v)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// TestReferences: every name one object gives another resolves, and the
// ports and paths the collector is told match what Kubernetes is told.
func TestReferences(t *testing.T) {
	m := load(t)
	for _, p := range pods(m) {
		volumes := map[string]corev1.Volume{}
		for _, v := range p.spec.Volumes {
			volumes[v.Name] = v
			if v.ConfigMap != nil && m.configMaps[v.ConfigMap.Name] == nil {
				t.Errorf("%s: volume %s names ConfigMap %q, not in the manifests", p.name, v.Name, v.ConfigMap.Name)
			}
		}
		if m.accounts[p.spec.ServiceAccountName] == nil {
			t.Errorf("%s: ServiceAccount %q not in the manifests", p.name, p.spec.ServiceAccountName)
		}
		for _, c := range append(append([]corev1.Container{}, p.spec.InitContainers...), p.spec.Containers...) {
			for _, vm := range c.VolumeMounts {
				if _, ok := volumes[vm.Name]; !ok && !claimTemplate(m, vm.Name) {
					t.Errorf("%s container %s mounts %q: no such volume", p.name, c.Name, vm.Name)
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && m.configMaps[ef.ConfigMapRef.Name] == nil {
					t.Errorf("%s container %s: envFrom ConfigMap %q not in the manifests", p.name, c.Name, ef.ConfigMapRef.Name)
				}
			}
		}
		for _, c := range p.spec.Containers {
			// Each GOVAUDIT_*_ENDPOINT the collector listens on is a declared
			// container port, and the probes ask the health_check's.
			for _, e := range c.Env {
				if strings.HasSuffix(e.Name, "_ENDPOINT") {
					found := false
					for _, cp := range c.Ports {
						found = found || cp.ContainerPort == endpointPort(e.Value)
					}
					if !found {
						t.Errorf("%s container %s: %s=%s is no container port", p.name, c.Name, e.Name, e.Value)
					}
				}
			}
			health := env(&c, "GOVAUDIT_HEALTH_ENDPOINT")
			if health == nil || endpointPort(health.Value) != port(&c, "health") {
				t.Errorf("%s container %s: GOVAUDIT_HEALTH_ENDPOINT does not match the port named health", p.name, c.Name)
			}
			for what, pr := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Port.String() != "health" {
					t.Errorf("%s container %s: want a %s probe on the health_check port", p.name, c.Name, what)
				}
			}
		}
	}
	for _, s := range m.services {
		var target *pod
		for _, p := range pods(m) {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.labels)) {
				if target != nil {
					t.Errorf("Service %s selects both %s and %s", s.Name, target.name, p.name)
				}
				target = &p
			}
		}
		if target == nil {
			t.Errorf("Service %s selects no pods", s.Name)
			continue
		}
		for _, sp := range s.Spec.Ports {
			if port(&target.spec.Containers[0], sp.TargetPort.String()) == 0 {
				t.Errorf("Service %s port %s: %s has no container port %q", s.Name, sp.Name, target.name, sp.TargetPort.String())
			}
		}
	}
	for _, b := range m.budgets {
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pods(m) {
			if sel.Matches(labels.Set(p.labels)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("PodDisruptionBudget %s selects %d workloads, want 1", b.Name, n)
		}
	}
}

func claimTemplate(m *manifests, name string) bool {
	for _, s := range m.statefulSets {
		for _, c := range s.Spec.VolumeClaimTemplates {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

// TestGatewayTier: what docs/scaling.md promises of the gateways.
func TestGatewayTier(t *testing.T) {
	m := load(t)
	s := m.statefulSets["govaudit-gateway"]
	if s == nil {
		t.Fatal("no StatefulSet govaudit-gateway")
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(s.Spec.Template.Labels)) {
		t.Errorf("StatefulSet selector %v does not match its pods' labels %v", s.Spec.Selector, s.Spec.Template.Labels)
	}
	headless := m.services[s.Spec.ServiceName]
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("StatefulSet serviceName %q: want a headless Service (clusterIP: None) of that name", s.Spec.ServiceName)
	}
	if headless != nil && headless.Spec.PublishNotReadyAddresses {
		t.Error("the headless Service publishes pods that are not ready: the agents would route to a gateway still replaying its WAL")
	}
	c := &s.Spec.Template.Spec.Containers[0]

	// One origin per pod, from its name.
	if o := env(c, "GOVAUDIT_ORIGIN"); o == nil || o.ValueFrom == nil || o.ValueFrom.FieldRef == nil || o.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("GOVAUDIT_ORIGIN must come from the pod name (fieldRef metadata.name): %+v", o)
	}
	// WAL and state on the pod's own claim.
	data := env(c, "GOVAUDIT_DATA")
	if len(s.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("want one volumeClaimTemplate, got %d", len(s.Spec.VolumeClaimTemplates))
	}
	claim := s.Spec.VolumeClaimTemplates[0]
	if data == nil || mountPath(c, claim.Name) != data.Value {
		t.Errorf("GOVAUDIT_DATA %v is not where volumeClaimTemplate %q is mounted (%q)", data, claim.Name, mountPath(c, claim.Name))
	}
	if claim.Spec.Resources.Requests.Storage().IsZero() || len(claim.Spec.AccessModes) != 1 || claim.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("volumeClaimTemplate %s: want ReadWriteOnce with a storage request: %+v", claim.Name, claim.Spec)
	}
	if p := s.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
		p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("a scaled-down or deleted gateway's claim (its WAL) must be retained: %+v", p)
	}
	// Keys: from the two Secrets, through the init container, into a
	// memory volume the collector reads from GOVAUDIT_SECRETS_DIR.
	secrets := env(c, "GOVAUDIT_SECRETS_DIR")
	vols := map[string]corev1.Volume{}
	for _, v := range s.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	var keysVolume string
	for _, vm := range c.VolumeMounts {
		if secrets != nil && vm.MountPath == secrets.Value {
			keysVolume = vm.Name
			if !vm.ReadOnly {
				t.Errorf("the keys are mounted writable in the collector")
			}
		}
	}
	if v, ok := vols[keysVolume]; !ok || v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory {
		t.Errorf("GOVAUDIT_SECRETS_DIR %v: want a memory-backed emptyDir, got %+v", secrets, v)
	}
	secretNames := map[string]bool{}
	for _, v := range vols {
		if v.Secret != nil {
			secretNames[v.Secret.SecretName] = true
			if mountPath(c, v.Name) != "" {
				t.Errorf("Secret volume %s is mounted in the collector: its mode (0440 under fsGroup) fails auditsign's key check", v.Name)
			}
		}
	}
	if !secretNames["govaudit-signing-key"] || !secretNames["govaudit-digest-key"] {
		t.Errorf("want the Secrets govaudit-signing-key and govaudit-digest-key, got %v", secretNames)
	}
	if len(s.Spec.Template.Spec.InitContainers) != 1 || mountPath(&s.Spec.Template.Spec.InitContainers[0], keysVolume) != secrets.Value {
		t.Errorf("want one init container writing the keys volume at %s", secrets.Value)
	} else if cmd := strings.Join(s.Spec.Template.Spec.InitContainers[0].Command, " "); !strings.Contains(cmd, "-m 0600") ||
		!strings.Contains(cmd, "signing.key") || !strings.Contains(cmd, "digest.key") {
		t.Errorf("the init container must copy signing.key and digest.key with mode 0600: %s", cmd)
	}
	// The bucket from configuration: the gateways' envFrom holds the
	// bucket and retention, the gateway configuration reads every
	// GOVAUDIT_ variable of it (a misspelt one would be ignored silently;
	// AWS_ ones are the SDK's), and nothing switches the upload off.
	archive := m.configMaps["govaudit-archive"]
	gatewayConfig := m.configMaps["govaudit-gateway-config"].Data["config.yaml"]
	if archive == nil || archive.Data["GOVAUDIT_S3_BUCKET"] == "" || archive.Data["GOVAUDIT_S3_RETENTION_DAYS"] == "" {
		t.Error("want ConfigMap govaudit-archive with GOVAUDIT_S3_BUCKET and GOVAUDIT_S3_RETENTION_DAYS")
	} else {
		fromArchive := false
		for _, ef := range c.EnvFrom {
			fromArchive = fromArchive || (ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == "govaudit-archive")
		}
		if !fromArchive {
			t.Error("the gateway container does not take its environment from ConfigMap govaudit-archive")
		}
		for k := range archive.Data {
			if strings.HasPrefix(k, "GOVAUDIT_") && !strings.Contains(gatewayConfig, "${env:"+k+"}") &&
				!strings.Contains(gatewayConfig, "${env:"+k+":-") {
				t.Errorf("ConfigMap govaudit-archive sets %s, which the gateway configuration does not read", k)
			}
		}
	}
	if !strings.Contains(gatewayConfig, "bucket: ${env:GOVAUDIT_S3_BUCKET") {
		t.Error("the gateway configuration does not take auditparquet's s3 bucket from GOVAUDIT_S3_BUCKET")
	}
	if v := env(c, "GOVAUDIT_S3_ENABLED"); (v != nil && v.Value != "true") || (archive != nil && archive.Data["GOVAUDIT_S3_ENABLED"] != "" && archive.Data["GOVAUDIT_S3_ENABLED"] != "true") {
		t.Error("GOVAUDIT_S3_ENABLED switches the bucket off: the gateways would archive on their volumes only")
	}
	// The collector configuration is the example's, byte for byte.
	example, err := os.ReadFile("../../examples/scale-out/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.configMaps["govaudit-gateway-config"].Data["config.yaml"]; got != string(example) {
		t.Errorf("ConfigMap govaudit-gateway-config config.yaml differs from examples/scale-out/gateway.yaml")
	}
	if s.Spec.Template.Spec.TerminationGracePeriodSeconds == nil || *s.Spec.Template.Spec.TerminationGracePeriodSeconds < 30 {
		t.Error("want terminationGracePeriodSeconds >= 30: the exporter seals its open file on SIGTERM")
	}
	if c.StartupProbe == nil {
		t.Error("want a startup probe: a restart replays the WAL before it is healthy")
	}
}

// TestAgentTier: the agents find the gateways through their headless
// Service, on the gateways' OTLP gRPC port, synchronously.
func TestAgentTier(t *testing.T) {
	m := load(t)
	d := m.deployments["govaudit-agent"]
	s := m.statefulSets["govaudit-gateway"]
	if d == nil || s == nil {
		t.Fatal("want Deployment govaudit-agent and StatefulSet govaudit-gateway")
	}
	var cfg struct {
		Exporters struct {
			LB struct {
				RoutingKey string `json:"routing_key"`
				Protocol   struct {
					OTLP struct {
						Queue struct {
							Enabled bool `json:"enabled"`
						} `json:"sending_queue"`
						Retry struct {
							Enabled bool `json:"enabled"`
						} `json:"retry_on_failure"`
					} `json:"otlp"`
				} `json:"protocol"`
				Resolver struct {
					DNS *struct {
						Hostname string `json:"hostname"`
						Port     string `json:"port"`
					} `json:"dns"`
				} `json:"resolver"`
			} `json:"load_balancing"`
		} `json:"exporters"`
	}
	if err := yaml.Unmarshal([]byte(m.configMaps["govaudit-agent-config"].Data["config.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	lb := cfg.Exporters.LB
	if lb.RoutingKey != "traceID" {
		t.Errorf("routing_key %q, want traceID", lb.RoutingKey)
	}
	if lb.Protocol.OTLP.Queue.Enabled || lb.Protocol.OTLP.Retry.Enabled {
		t.Error("the agent's OTLP exporters must have no sending queue and no retry (acknowledged means in a gateway's WAL)")
	}
	if lb.Resolver.DNS == nil {
		t.Fatal("want the dns resolver")
	}
	c := &d.Spec.Template.Spec.Containers[0]
	host := lb.Resolver.DNS.Hostname
	if v := env(c, "GOVAUDIT_GATEWAY_SERVICE"); strings.HasPrefix(host, "${env:GOVAUDIT_GATEWAY_SERVICE") && v != nil {
		host = v.Value
	}
	if host != s.Spec.ServiceName {
		t.Errorf("dns resolver hostname %q, want the gateways' headless Service %q", host, s.Spec.ServiceName)
	}
	if want := port(&s.Spec.Template.Spec.Containers[0], "otlp-grpc"); lb.Resolver.DNS.Port != strconv.Itoa(int(want)) {
		t.Errorf("dns resolver port %q, want the gateways' otlp-grpc port %d", lb.Resolver.DNS.Port, want)
	}
}

// TestPodSecurity: every container meets the restricted Pod Security
// Standard that namespace.yaml enforces, has resource requests and a
// memory limit, and runs as the image's user (Dockerfile USER).
func TestPodSecurity(t *testing.T) {
	m := load(t)
	user := dockerfileUser(t)
	for _, p := range pods(m) {
		ps := p.spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: want runAsNonRoot and the RuntimeDefault seccomp profile", p.name)
		}
		if ps == nil || ps.RunAsUser == nil || strconv.FormatInt(*ps.RunAsUser, 10) != user {
			t.Errorf("%s: runAsUser must be the Dockerfile's USER %s", p.name, user)
		}
		for _, c := range append(append([]corev1.Container{}, p.spec.InitContainers...), p.spec.Containers...) {
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || fmt.Sprint(sc.Capabilities.Drop) != "[ALL]" || sc.Privileged != nil && *sc.Privileged {
				t.Errorf("%s container %s: want allowPrivilegeEscalation false and capabilities drop [ALL]", p.name, c.Name)
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s container %s: want a read-only root filesystem", p.name, c.Name)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s container %s: want cpu and memory requests and a memory limit", p.name, c.Name)
			}
		}
		for _, v := range p.spec.Volumes {
			if v.HostPath != nil {
				t.Errorf("%s: hostPath volume %s is not allowed under the restricted standard", p.name, v.Name)
			}
		}
	}
	for _, ns := range m.namespaces {
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("Namespace %s does not enforce the restricted Pod Security Standard", ns.Name)
		}
	}
}

// TestConfigsValidate: the collector configurations in the ConfigMaps,
// with the environment each container gets (the pod name for the downward
// API, the ConfigMaps for envFrom), validate with the built distribution.
// GOVAUDIT_DATA and GOVAUDIT_SECRETS_DIR point at a temporary directory
// with real keys, as the volumes would.
func TestConfigsValidate(t *testing.T) {
	bin := os.Getenv("GOVAUDIT_BIN")
	if bin == "" {
		t.Skip("GOVAUDIT_BIN not set: run through `make test`, which builds the binaries")
	}
	bin, _ = filepath.Abs(bin)
	m := load(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if out, err := exec.Command(filepath.Join(bin, "govaudit"), "keygen", "--name", "k8s-test", "--out", keys).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	if err := os.Rename(filepath.Join(keys, "k8s-test.key"), filepath.Join(keys, "signing.key")); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"digest.key": strings.Repeat("k", 32), "mlevents.token": "token\n"} {
		if err := os.WriteFile(filepath.Join(keys, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	overrides := map[string]string{"GOVAUDIT_DATA": filepath.Join(dir, "data"), "GOVAUDIT_SECRETS_DIR": keys}

	type workload struct {
		name, configMap, podName string
		spec                     *corev1.PodSpec
	}
	s, d := m.statefulSets["govaudit-gateway"], m.deployments["govaudit-agent"]
	for _, w := range []workload{
		{"gateway", "govaudit-gateway-config", s.Name + "-0", &s.Spec.Template.Spec},
		{"agent", "govaudit-agent-config", d.Name + "-5d8f7c9b4-x2x7k", &d.Spec.Template.Spec},
	} {
		t.Run(w.name, func(t *testing.T) {
			config := filepath.Join(dir, w.name+".yaml")
			if err := os.WriteFile(config, []byte(m.configMaps[w.configMap].Data["config.yaml"]), 0o644); err != nil {
				t.Fatal(err)
			}
			c := &w.spec.Containers[0]
			if len(c.Args) != 2 || c.Args[0] != "--config" || filepath.Dir(c.Args[1]) != mountPath(c, "config") {
				t.Errorf("container args %v: want --config <file in the config volume>", c.Args)
			}
			environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
			for _, ef := range c.EnvFrom {
				for k, v := range m.configMaps[ef.ConfigMapRef.Name].Data {
					environ = append(environ, k+"="+v)
				}
			}
			for _, e := range c.Env {
				v := e.Value
				switch {
				case overrides[e.Name] != "":
					v = overrides[e.Name]
				case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
					v = w.podName
				case e.ValueFrom != nil:
					t.Fatalf("env %s: a valueFrom this test does not resolve", e.Name)
				}
				environ = append(environ, e.Name+"="+v)
			}
			cmd := exec.Command(filepath.Join(bin, "otelcol-govaudit"), "validate", "--config", config)
			cmd.Env = environ
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("otelcol-govaudit validate: %v\n%s", err, out)
			}
		})
	}
}
