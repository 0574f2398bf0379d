package decisionmetricsconnector

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/govaudit/govaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

// BenchmarkBothOutputs: one batch of 1,000 GenAI chat decisions delivered
// to the logs→metrics and the logs→logs instance of one component, as the
// fan-out of logs/decisions does: read-only (as the fan-out marks it, so
// decoded once and shared) and mutable (decoded by each instance, as every
// batch was before they shared a decoder). Default config (drift on).
func BenchmarkBothOutputs(b *testing.B) {
	var recs []record.Record
	for i := range 1000 {
		r := rec(fmt.Sprint("d", i), record.TypeInference)
		r.Provider, r.RequestModel, r.ResponseModel, r.Operation = "openai", "gpt-4o", "gpt-4o-2024-08-06", "chat"
		r.ServiceName, r.TraceID, r.SpanID = "support-bot", fmt.Sprintf("%032x", i+1), fmt.Sprintf("%016x", i+1)
		r.StartTime, r.EndTime = t0, t0+int64(i%2000)*1e6
		r.InputTokens, r.OutputTokens = i64(int64(300+i%500)), i64(int64(80+i%200))
		r.FinishReasons = []string{"stop"}
		r.InputDigest, r.OutputDigest = fmt.Sprintf("hmac-sha256:%064x", i), fmt.Sprintf("hmac-sha256:%064x", i+7)
		r.SetLeaf("bench", 1, uint64(i))
		recs = append(recs, r)
	}
	for _, readOnly := range []bool{true, false} {
		b.Run(fmt.Sprintf("readonly=%t", readOnly), func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			f := NewFactory()
			m, err := f.CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			l, err := f.CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			// The same batch every time: a shared decode is taken by the
			// second instance, so the next round decodes it again.
			ld := logsOf(recs...)
			if readOnly {
				ld.MarkReadOnly()
			}
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if err := m.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
				if err := l.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N*len(recs)), "cpu-ns/record")
		})
	}
}

// cpuTime returns the process's user and system CPU time in nanoseconds
// (GC included): on a shared machine, compare CPU, not wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
