package auditparquetexporter

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector"
	"github.com/govaudit/govaudit/exporter/auditparquetexporter/internal/metadata"
	"github.com/govaudit/govaudit/processor/auditsignprocessor"
)

// BenchmarkGovernancePipeline runs the governance path of the quickstart
// in process — the mlgovernance connector (digest capture policy), the
// auditsign processor (file_storage state, checkpoint every second) and
// this exporter (the default rotation) — with 4 concurrent senders of
// 100 load-test-shaped GenAI chat spans per request (about 1.5 KB of
// message content each; fresh trace ids per request), and reports the
// process's CPU time per span (user + system, GC and the final seal
// included; what a load test's "CPU µs/span" measures, minus OTLP
// decoding) and spans/s. On a shared machine, compare CPU, not wall time.
func BenchmarkGovernancePipeline(b *testing.B) {
	const senders, perRequest = 4, 100
	key, _ := signingKey(b)
	dir, stateDir := b.TempDir(), b.TempDir()

	ecfg := testConfig(dir)
	ecfg.SigningKeyFile = key
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), ecfg)
	if err != nil {
		b.Fatal(err)
	}
	host, tracker := startStorage(b, stateDir)
	defer tracker.Shutdown(context.Background())
	if err := exp.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	pf := auditsignprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*auditsignprocessor.Config)
	pcfg.Origin, pcfg.SigningKeyFile = "bench.pipeline", key
	id := storageID
	pcfg.Storage = &id
	proc, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), pcfg, exp)
	if err != nil {
		b.Fatal(err)
	}
	if err := proc.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	cf := mlgovernanceconnector.NewFactory()
	ccfg := cf.CreateDefaultConfig().(*mlgovernanceconnector.Config)
	ccfg.Capture.DigestKey.Value = configopaque.String(strings.Repeat("5a", 32))
	conn, err := cf.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(cf.Type()), ccfg, proc)
	if err != nil {
		b.Fatal(err)
	}
	if err := conn.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}

	tds := make([]ptrace.Traces, senders)
	for i := range tds {
		tds[i] = genAISpans(uint64(i), perRequest)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := processCPU()
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spans := tds[s].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				for k := range spans.Len() { // new traces, as under load
					tid := [16]byte(spans.At(k).TraceID())
					binary.BigEndian.PutUint32(tid[4:8], uint32(n))
					spans.At(k).SetTraceID(pcommon.TraceID(tid))
				}
				if err := conn.ConsumeTraces(context.Background(), tds[s]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range []interface{ Shutdown(context.Context) error }{conn, proc, exp} {
		if err := c.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	spans := float64(b.N * perRequest)
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/spans, "cpu_µs/span")
	b.ReportMetric(spans/b.Elapsed().Seconds(), "spans/s")
}

// genAISpans returns n GenAI chat CLIENT spans as the load test sends them:
// OTel GenAI attributes and 1-2 KB of message content per span.
func genAISpans(seed uint64, n int) ptrace.Traces {
	rnd := rand.New(rand.NewPCG(seed, 2026))
	words := strings.Fields("order shipped refund invoice account password delivery address payment card " +
		"support ticket the a of to and is in for on with your my please thanks when where why how can")
	text := func(size int) string {
		var sb strings.Builder
		for sb.Len() < size {
			sb.WriteString(words[rnd.IntN(len(words))])
			sb.WriteByte(' ')
		}
		return sb.String()
	}
	messages := func(roles []string, size int, finish string) string {
		var sb strings.Builder
		sb.WriteByte('[')
		for i, role := range roles {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"role":%q,"parts":[{"type":"text","content":%q}]`, role, text(size))
			if finish != "" {
				fmt.Fprintf(&sb, `,"finish_reason":%q`, finish)
			}
			sb.WriteByte('}')
		}
		sb.WriteByte(']')
		return sb.String()
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "support-bot")
	rs.Resource().Attributes().PutStr("service.version", "2.14.1")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	now := time.Unix(1795720303, 0)
	for i := range n {
		s := ss.Spans().AppendEmpty()
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[:8], 0x6761756469740000|seed<<40)
		binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
		s.SetTraceID(pcommon.TraceID(tid))
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		s.SetSpanID(pcommon.SpanID(sid))
		s.SetName("chat gpt-4o")
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o")
		a.PutStr("gen_ai.response.model", "gpt-4o-2024-08-06")
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%016x", rnd.Uint64()))
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutInt("gen_ai.request.max_tokens", 1024)
		a.PutInt("gen_ai.usage.input_tokens", int64(200+rnd.IntN(800)))
		a.PutInt("gen_ai.usage.output_tokens", int64(50+rnd.IntN(400)))
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutStr("gen_ai.conversation.id", fmt.Sprintf("conv-%d", i/4))
		a.PutStr("user.id", fmt.Sprintf("user-%d", rnd.IntN(5000)))
		a.PutStr("server.address", "api.example-llm.com")
		a.PutInt("server.port", 443)
		a.PutStr("gen_ai.system_instructions", messages([]string{"system"}, 160, ""))
		a.PutStr("gen_ai.input.messages", messages([]string{"user", "assistant", "user"}, 250, ""))
		a.PutStr("gen_ai.output.messages", messages([]string{"assistant"}, 300, "stop"))
	}
	return td
}
