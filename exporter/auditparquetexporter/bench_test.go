package auditparquetexporter

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/internal/archive"
)

// BenchmarkArchive writes 10,000 GenAI-shaped records (about 1.5 KB of
// content each) in batches of 100 leaves plus a checkpoint, and reports the
// archive's bytes per record against OTLP JSON of the same log records (what
// contrib's fileexporter writes: one JSON line per batch), and rows/s.
func BenchmarkArchive(b *testing.B) {
	const batches, perBatch = 100, 100
	s := newStream("bench-origin", 1)
	var lds []plog.Logs
	var jsonBytes, rows int
	for range batches {
		ld := toLogs(s.batch(b, perBatch))
		j, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		if err != nil {
			b.Fatal(err)
		}
		jsonBytes += len(j) + 1
		rows += ld.LogRecordCount()
		lds = append(lds, ld)
	}
	var root string
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		root = b.TempDir()
		exp := startExporter(b, testConfig(root), exportertest.NewNopSettings(metadata.Type))
		for _, ld := range lds {
			if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
				b.Fatal(err)
			}
		}
		if err := exp.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sizes := map[string]int64{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, _ error) error {
		if fi, err := d.Info(); err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			sizes[strings.Split(rel, string(os.PathSeparator))[0]] += fi.Size()
		}
		return nil
	})
	b.ReportMetric(float64(sizes[archive.RecordsDir])/float64(rows), "parquet_B/record")
	b.ReportMetric(float64(sizes[archive.RecordsDir]+sizes[archive.IndexDir]+sizes[archive.CheckpointsDir])/float64(rows), "archive_B/record")
	b.ReportMetric(float64(jsonBytes)/float64(rows), "otlpjson_B/record")
	b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
}
