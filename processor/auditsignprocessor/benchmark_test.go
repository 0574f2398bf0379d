package auditsignprocessor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/govaudit/govaudit/exporter/auditparquetexporter"
	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// BenchmarkSealRecord measures the per-record path: decode the record from
// its log record, canonical encoding + leaf hash (SetLeaf), encode it back
// and append the leaf to the tree.
func BenchmarkSealRecord(b *testing.B) {
	ld := batch(1, "bench")
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	tree := auditlog.NewTree()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec, err := record.FromLogRecord(lr)
		if err != nil {
			b.Fatal(err)
		}
		rec.SetLeaf("collector-1", 1, uint64(i))
		rec.PutLeaf(lr)
		tree.Append(rec.LeafHash)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCheckpoint measures the per-checkpoint path: the root of a
// million-leaf tree and its Ed25519-signed note.
func BenchmarkCheckpoint(b *testing.B) {
	key, _ := writeKey(b, "k", 0o600)
	signer, err := auditlog.LoadSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	tree := testTree(0)
	for i := 0; i < 1<<20-1; i++ {
		tree.Append(auditlog.Hasher.HashLeaf([]byte{byte(i), byte(i >> 8), byte(i >> 16)}))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auditlog.Sign(signer, "collector-1", 1, tree.Size(), tree.Root()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/checkpoint")
}

// BenchmarkConsumeLogs measures the whole processor on batches of 100
// records (no storage, checkpoints every second).
func BenchmarkConsumeLogs(b *testing.B) {
	key, _ := writeKey(b, "k", 0o600)
	p := startProcessor(b, testConfig(key, false, time.Second), componenttest.NewNopHost(), consumertest.NewNop())
	ctx := context.Background()
	src := batch(100, "bench")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ld := src
		src = batch(100, "bench") // sealing mutates in place: feed fresh records
		b.StartTimer()
		if err := p.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
	if err := p.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGroupCommit measures the logs/audit pipeline as the distribution
// runs it — this processor in front of the real auditparquet exporter,
// whose write-ahead log fsyncs every batch it acknowledges — under S
// concurrent senders of 100-record requests, with group commit on and off
// (off: one request per group, as before group commit). It reports
// fsyncs/record (write-ahead log entries, each one write and one fsync,
// over records), requests per WAL entry and records/s. The archive is on
// the working directory's file system (t.TempDir), so fsyncs cost what
// the disk makes them cost.
func BenchmarkGroupCommit(b *testing.B) {
	const perRequest = 100
	for _, senders := range []int{1, 4, 16} {
		for _, grouped := range []bool{false, true} {
			name := fmt.Sprintf("senders=%d/group=%v", senders, grouped)
			b.Run(name, func(b *testing.B) {
				key, _ := writeKey(b, "k", 0o600)
				dir := b.TempDir()
				ef := auditparquetexporter.NewFactory()
				ecfg := ef.CreateDefaultConfig().(*auditparquetexporter.Config)
				ecfg.Directory, ecfg.SigningKeyFile = dir, key
				ecfg.Rotation.MaxRows, ecfg.Rotation.MaxAge = 1<<30, time.Hour // count the WAL before sealing
				exp, err := ef.CreateLogs(context.Background(), exportertest.NewNopSettings(ef.Type()), ecfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
					b.Fatal(err)
				}
				p := startProcessor(b, testConfig(key, false, time.Second), componenttest.NewNopHost(), exp)
				if !grouped {
					p.limits = groupLimits{records: 1, bytes: 1} // each request alone
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							if err := p.ConsumeLogs(context.Background(), batch(perRequest, "bench")); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				pending, err := archive.ReadPending(dir)
				if err != nil {
					b.Fatal(err)
				}
				records := float64(b.N * perRequest)
				b.ReportMetric(float64(pending.Entries)/records, "fsyncs/record")
				b.ReportMetric(float64(b.N)/float64(pending.Entries), "requests/fsync")
				b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
				if err := p.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
				if err := exp.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
