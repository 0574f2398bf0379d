//go:generate mdatagen metadata.yaml

// Package auditparquetexporter archives govaudit governance records and
// signed checkpoints as sealed, write-once Parquet files with audit indexes,
// in the layout defined by internal/archive.
package auditparquetexporter // import "github.com/govaudit/govaudit/exporter/auditparquetexporter"
