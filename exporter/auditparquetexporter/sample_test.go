package auditparquetexporter

import (
	"context"
	"os"
	"testing"

	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// TestWriteSampleArchive writes a small, varied archive to
// $AUDITPARQUET_SAMPLE_DIR, for trying the queries of docs/querying.md.
// Skipped unless the variable is set.
func TestWriteSampleArchive(t *testing.T) {
	dir := os.Getenv("AUDITPARQUET_SAMPLE_DIR")
	if dir == "" {
		t.Skip("set AUDITPARQUET_SAMPLE_DIR to write a sample archive")
	}
	cfg := testConfig(dir)
	cfg.Rotation.MaxRows = 100
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	models := [][3]string{{"openai", "gpt-4o", "gpt-4o-2024-08-06"}, {"anthropic", "claude-sonnet-4", "claude-sonnet-4-20250514"}, {"aws.bedrock", "titan-embed", "titan-embed-v2"}}
	n := 0
	vary := func(r *record.Record) {
		m := models[n%3]
		r.Provider, r.RequestModel, r.ResponseModel, r.ModelVersion = m[0], m[1], m[2], m[2]
		if m[0] == "aws.bedrock" {
			r.Type, r.Operation, r.Output, r.OutputDigest = record.TypeEmbedding, "embeddings", "", ""
		}
		switch n % 7 {
		case 0:
			r.Flags = []string{record.FlagTruncated}
		case 3:
			r.Flags = []string{record.FlagRedacted, record.FlagInvalidUTF8}
			r.Input = "[REDACTED]"
		}
		n++
	}
	a, b := newStream("collector-a", 1767225600000000000), newStream("collector-b", 1767225600000000001)
	a.vary, b.vary = vary, vary
	for range 10 {
		consume(t, exp, a.batch(t, 30))
		consume(t, exp, b.batch(t, 12))
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
