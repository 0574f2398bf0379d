package auditsignprocessor

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"

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
