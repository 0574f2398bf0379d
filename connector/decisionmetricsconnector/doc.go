//go:generate mdatagen metadata.yaml

// Package decisionmetricsconnector turns govaudit governance records into
// decision metrics (logs -> metrics): decisions, latency, tokens, errors and
// human oversight by provider, model and model version.
package decisionmetricsconnector // import "github.com/govaudit/govaudit/connector/decisionmetricsconnector"
