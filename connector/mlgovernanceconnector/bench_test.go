package mlgovernanceconnector

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
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
)

// benchSpans returns n GenAI chat client spans of one service shaped like
// the load test's (testbed/genai_test.go): the OTel GenAI attributes,
// ~0.7–1.3 KB of input messages, ~0.2–0.6 KB of output, system
// instructions, each span its own trace.
func benchSpans(n int) ptrace.Traces {
	rnd := rand.New(rand.NewPCG(13, 13))
	words := strings.Fields("order shipped refund invoice account password delivery address payment card " +
		"support ticket the a of to and is in for on with your my please thanks when where why how can")
	text := func(size int) string {
		var b strings.Builder
		for b.Len() < size {
			b.WriteString(words[rnd.IntN(len(words))])
			b.WriteByte(' ')
		}
		return b.String()
	}
	messages := func(roles []string, size int, finish string) string {
		var b strings.Builder
		b.WriteByte('[')
		for i, role := range roles {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"role":%q,"parts":[{"type":"text","content":%q}]`, role, text(size))
			if finish != "" {
				fmt.Fprintf(&b, `,"finish_reason":%q`, finish)
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
		return b.String()
	}

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "support-bot")
	res.PutStr("service.version", "2.14.1")
	res.PutStr("deployment.environment.name", "production")
	res.PutStr("telemetry.sdk.language", "python")
	res.PutStr("telemetry.sdk.name", "opentelemetry")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	now := time.Unix(1795720303, 0)
	for i := range n {
		s := ss.Spans().AppendEmpty()
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[:8], 0x6761756469740000)
		binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
		s.SetTraceID(pcommon.TraceID(tid))
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		s.SetSpanID(pcommon.SpanID(sid))
		s.SetName("chat gpt-4o")
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-1500 * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o")
		a.PutStr("gen_ai.response.model", "gpt-4o-2024-08-06")
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%016x", rnd.Uint64()))
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutDouble("gen_ai.request.top_p", 0.9)
		a.PutInt("gen_ai.request.max_tokens", 1024)
		a.PutInt("gen_ai.usage.input_tokens", int64(200+rnd.IntN(800)))
		a.PutInt("gen_ai.usage.output_tokens", int64(50+rnd.IntN(400)))
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutStr("gen_ai.conversation.id", fmt.Sprintf("conv-%016x", i/4))
		a.PutStr("user.id", fmt.Sprintf("user-%016x", rnd.IntN(5000)))
		a.PutStr("server.address", "api.example-llm.com")
		a.PutInt("server.port", 443)
		a.PutStr("gen_ai.system_instructions", `[{"type":"text","content":"You are a customer support assistant. `+text(160)+`"}]`)
		a.PutStr("gen_ai.input.messages", messages([]string{"user", "assistant", "user"}, 250+rnd.IntN(150), ""))
		a.PutStr("gen_ai.output.messages", messages([]string{"assistant"}, 200+rnd.IntN(400), "stop"))
	}
	return td
}

// BenchmarkConsumeTraces measures the connector as the collector runs it:
// created by the factory with the default (digest) capture policy, fed
// batches of 100 load-test-shaped GenAI spans through ConsumeTraces, its
// records consumed by a no-op consumer. Time and allocations are per batch;
// ns/span and allocs/span per span.
func BenchmarkConsumeTraces(b *testing.B) {
	const perBatch = 100
	c := startBenchConnector(b, keyedDefaultConfig())
	td := benchSpans(perBatch)
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
