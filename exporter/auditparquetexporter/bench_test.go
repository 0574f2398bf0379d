package auditparquetexporter

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"syscall"
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
	start, cpu0 := time.Now(), processCPU()
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
	elapsed, cpu := time.Since(start), processCPU()-cpu0
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
	// CPU time, not wall time: on a shared machine the wall time of a
	// run says more about the neighbours than about the exporter.
	b.ReportMetric(float64(cpu.Microseconds())/float64(rows*b.N), "cpu_µs/row")
}

// processCPU returns the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOpenFileMemory fills one open file with rows GenAI-shaped
// records (about 1.5 KB of content each, batches of 500 leaves and a
// checkpoint) and seals it at shutdown, for two rotation sizes. It reports
// the peak live heap (runtime/metrics /gc/heap/live:bytes, sampled every
// 5 ms: the heap still reachable at each GC, so it includes what the
// exporter retains and the seal's working memory) and the process's peak
// RSS (VmHWM; only meaningful when one sub-benchmark runs alone in its
// process, e.g. -bench 'OpenFileMemory/rows=50000$'). Memory that grows
// with rows is what a rotation size costs.
func BenchmarkOpenFileMemory(b *testing.B) {
	for _, rows := range []int{10_000, 50_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			var peak uint64
			for range b.N {
				root := b.TempDir()
				cfg := testConfig(root)
				cfg.Rotation.MaxRows, cfg.Rotation.MaxAge = 1<<30, time.Hour // sealed at shutdown only
				s := newStream("mem-origin", 1)
				runtime.GC()
				stop := make(chan struct{})
				done := make(chan uint64)
				go func() {
					sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
					var top uint64
					tick := time.NewTicker(5 * time.Millisecond)
					defer tick.Stop()
					for {
						metrics.Read(sample)
						top = max(top, sample[0].Value.Uint64())
						select {
						case <-stop:
							done <- top
							return
						case <-tick.C:
						}
					}
				}()
				exp := startExporter(b, cfg, exportertest.NewNopSettings(metadata.Type))
				for sent := 0; sent < rows; sent += 500 {
					consume(b, exp, s.batch(b, 500))
				}
				if err := exp.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
				runtime.GC() // a last sample after the seal's garbage is gone
				close(stop)
				peak = max(peak, <-done)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak_live_heap_MiB")
			b.ReportMetric(float64(vmHWM())/(1<<20), "rss_hwm_MiB")
		})
	}
}

// vmHWM returns the process's peak resident set size in bytes (0 if
// unknown).
func vmHWM() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}
