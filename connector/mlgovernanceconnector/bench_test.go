package mlgovernanceconnector

import (
	"context"
	"encoding/binary"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/genaitest"
)

// BenchmarkConsumeTraces measures the connector as the collector runs it:
// created by the factory with the default (digest) capture policy, fed
// batches of 100 load-test-shaped GenAI spans through ConsumeTraces, its
// records consumed by a no-op consumer. Time and allocations are per batch;
// ns/span and allocs/span per span.
func BenchmarkConsumeTraces(b *testing.B) {
	const perBatch = 100
	c := startBenchConnector(b, keyedDefaultConfig())
	td := genaitest.Spans(0, perBatch)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	b.ReportAllocs()
	start := cpuTime()
	for i := 0; b.Loop(); i++ {
		// New traces every batch, as under load: the connector remembers
		// each trace's attribution and model calls.
		for k := range spans.Len() {
			tid := [16]byte(spans.At(k).TraceID())
			binary.BigEndian.PutUint32(tid[4:8], uint32(i))
			spans.At(k).SetTraceID(pcommon.TraceID(tid))
		}
		if err := c.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/span")
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N*perBatch), "cpu-ns/span")
}

// startBenchConnector starts a traces->logs connector with cfg whose
// records go to a no-op consumer; it is shut down when b ends.
func startBenchConnector(b *testing.B, cfg *Config) connector.Traces {
	c, err := NewFactory().CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
	})
	return c
}

// cpuTime returns the CPU time (user + system) of this process so far,
// garbage collection included: on the shared machine wall time includes
// waiting for a core, CPU time much less so.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCapturedStacks measures the unmapped-attribute policy on the
// spans captured from the seven stacks of issue 12 (testdata/capture, 44
// spans per batch, every convention): digest (the fail-closed default)
// against drop and keep, in the same run. Time is per batch.
func BenchmarkCapturedStacks(b *testing.B) {
	td := ptrace.NewTraces()
	for _, f := range []string{"vercel_captured_traces.json", "anthropic_captured_traces.json", "anthropic_native_captured_traces.json",
		"openinference_langchain_captured_traces.json", "openinference_agents_captured_traces.json", "genai_openai_captured_traces.json"} {
		readTraces(b, f).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	b.Logf("%d spans per batch", td.SpanCount())
	for _, mode := range []capture.UnmappedMode{capture.UnmappedDigest, capture.UnmappedDrop, capture.UnmappedKeep} {
		b.Run("unmapped="+string(mode), func(b *testing.B) {
			cfg := keyedDefaultConfig()
			cfg.Capture.UnmappedAttributes = mode
			c := startBenchConnector(b, cfg)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// New trace ids every batch: the connector remembers each
				// trace's attribution and model calls.
				for _, rs := range td.ResourceSpans().All() {
					for _, ss := range rs.ScopeSpans().All() {
						for _, s := range ss.Spans().All() {
							tid := [16]byte(s.TraceID())
							binary.BigEndian.PutUint32(tid[:4], uint32(i))
							s.SetTraceID(pcommon.TraceID(tid))
						}
					}
				}
				if err := c.ConsumeTraces(context.Background(), td); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
