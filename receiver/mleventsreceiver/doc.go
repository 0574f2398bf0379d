//go:generate mdatagen metadata.yaml

// Package mleventsreceiver receives model lifecycle, human-oversight and
// configuration events over HTTP (CloudEvents 1.0 and MLflow model-registry
// webhooks) and emits them as govaudit governance records (logs).
package mleventsreceiver // import "github.com/govaudit/govaudit/receiver/mleventsreceiver"
