// Package kubernetes holds no code: its tests check the Kubernetes
// manifests in this directory and the repository's Dockerfile offline.
// Every manifest decodes strictly (unknown fields rejected) into the
// k8s.io/api types; the objects refer to each other consistently (Services
// to pod labels and ports, the agents' dns resolver to the gateways'
// headless Service, the origin to the pod name, the data volume to
// GOVAUDIT_DATA); the pods meet the restricted Pod Security Standard; and,
// with GOVAUDIT_BIN set (make test), the embedded collector configurations
// validate with the built otelcol-govaudit.
package kubernetes
