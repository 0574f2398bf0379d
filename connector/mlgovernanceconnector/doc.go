//go:generate mdatagen metadata.yaml

// Package mlgovernanceconnector turns ML spans and GenAI events into govaudit
// governance records (traces -> logs, logs -> logs).
package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"
