//go:generate mdatagen metadata.yaml

// Package auditsignprocessor seals governance records into an append-only
// RFC 6962 Merkle log per (origin, epoch) and emits signed checkpoints.
package auditsignprocessor // import "github.com/govaudit/govaudit/processor/auditsignprocessor"
