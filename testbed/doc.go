// Package loadtest holds govaudit's load scenarios: the built
// otelcol-govaudit distribution runs as a child process of the
// OpenTelemetry contrib testbed, once with the governance pipeline
// (examples/quickstart.yaml) and once with an OTLP -> file exporter
// baseline, under the same GenAI span load. Run them with `make loadtest`
// after `make build`; docs/performance.md explains the figures.
//
// This is its own module because the contrib testbed pins its own
// collector versions, which must not leak into govaudit's go.mod.
package loadtest
