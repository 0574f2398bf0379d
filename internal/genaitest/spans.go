// Package genaitest makes the GenAI spans the benchmarks feed the
// connector and the whole governance pipeline, so that both measure the
// same input.
package genaitest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Spans returns n GenAI chat client spans of one service shaped like
// the load test's (testbed/genai_test.go): the OTel GenAI attributes,
// ~0.7–1.3 KB of input messages, ~0.2–0.6 KB of output, system
// instructions, each span its own trace. Seeds give different content and
// trace ids; seed 0 is what the connector's benchmarks have measured.
func Spans(seed uint64, n int) ptrace.Traces {
	rnd := rand.New(rand.NewPCG(13+seed, 13))
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
		binary.BigEndian.PutUint64(tid[:8], 0x6761756469740000|seed<<40)
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
