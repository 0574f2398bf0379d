package loadtest

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
)

// genAIProvider is a testbed.DataProvider of GenAI chat spans in the OTel
// GenAI semantic conventions (gen_ai.*, as the official instrumentations
// emit them with content capture on): every span is one "chat <model>"
// CLIENT span with request parameters, usage, finish reasons, a
// conversation and user, and 1–2 KB of message content
// (gen_ai.input.messages, gen_ai.output.messages, gen_ai.system_instructions).
//
// Everything is drawn from seeded generators, so two runs at the same rate
// send spans of the same distribution: the governance archive and the
// baseline's output of one run are comparable in size.
type genAIProvider struct {
	perBatch  int
	generated *atomic.Uint64

	mu  sync.Mutex
	rnd *rand.Rand
	seq uint64
}

var _ testbed.DataProvider = (*genAIProvider)(nil)

func newGenAIProvider(perBatch int) *genAIProvider {
	return &genAIProvider{perBatch: perBatch, rnd: rand.New(rand.NewPCG(8, 2026))}
}

// contentPool holds 16,384 text chunks of 100–250 bytes (words drawn from a
// 2,000-word synthetic vocabulary with a Zipf distribution, so the text
// compresses roughly like prose) and 8 system instructions. Each span's
// messages join 4–7 random chunks: content is practically unique per span,
// so neither HMAC digests nor compressors see artificial repeats, while
// generating it costs a few string copies.
var contentPool = sync.OnceValue(func() (p struct{ chunks, systems []string }) {
	rnd := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 2000)
	for i := range vocab {
		b := make([]byte, 2+rnd.IntN(8))
		for j := range b {
			b[j] = byte('a' + rnd.IntN(26))
		}
		vocab[i] = string(b)
	}
	zipf := rand.NewZipf(rnd, 1.1, 2, uint64(len(vocab)-1))
	text := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(vocab[zipf.Uint64()])
		}
		return b.String()
	}
	for range 1 << 14 {
		p.chunks = append(p.chunks, text(100+rnd.IntN(150)))
	}
	for range 8 {
		p.systems = append(p.systems, `[{"type":"text","content":"You are a customer support assistant. `+text(160)+`"}]`)
	}
	return p
})

// messages returns the JSON of GenAI messages (gen_ai.input.messages,
// gen_ai.output.messages) with one text part per role, each of n chunks.
func (p *genAIProvider) messages(roles []string, n []int, finish string) string {
	chunks := contentPool().chunks
	var b strings.Builder
	b.Grow(1600)
	b.WriteByte('[')
	for i, role := range roles {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"` + role + `","parts":[{"type":"text","content":"`)
		for j := range n[i] {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(chunks[p.rnd.IntN(len(chunks))])
		}
		b.WriteString(`"}]`)
		if finish != "" {
			b.WriteString(`,"finish_reason":"` + finish + `"`)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}

var (
	inputRoles  = []string{"user", "assistant", "user"}
	outputRoles = []string{"assistant"}
)

var models = []struct{ provider, request, response string }{
	{"openai", "gpt-4o", "gpt-4o-2024-08-06"},
	{"openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"},
	{"anthropic", "claude-sonnet-4", "claude-sonnet-4-20250514"},
	{"aws.bedrock", "meta.llama3-70b-instruct-v1:0", "meta.llama3-70b-instruct-v1:0"},
}

func (p *genAIProvider) SetLoadGeneratorCounters(generated *atomic.Uint64) { p.generated = generated }

// GenerateTraces returns one batch of perBatch spans of one service.
func (p *genAIProvider) GenerateTraces() (ptrace.Traces, bool) {
	pool := contentPool()
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
	ss.Scope().SetVersion("2.1b0")
	spans := ss.Spans()
	spans.EnsureCapacity(p.perBatch)

	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for range p.perBatch {
		p.seq++
		seq := p.seq
		m := models[p.rnd.IntN(len(models))]
		in, out := int64(200+p.rnd.IntN(800)), int64(50+p.rnd.IntN(400))

		s := spans.AppendEmpty()
		var tid [16]byte
		binary.BigEndian.PutUint64(tid[:8], 0x6761756469740000|uint64(p.rnd.Uint32()))
		binary.BigEndian.PutUint64(tid[8:], seq)
		s.SetTraceID(pcommon.TraceID(tid))
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], seq)
		s.SetSpanID(pcommon.SpanID(sid))
		s.SetName("chat " + m.request)
		s.SetKind(ptrace.SpanKindClient)
		start := now.Add(-time.Duration(300+p.rnd.IntN(2000)) * time.Millisecond)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))

		a := s.Attributes()
		a.EnsureCapacity(20)
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", m.provider)
		a.PutStr("gen_ai.request.model", m.request)
		a.PutStr("gen_ai.response.model", m.response)
		a.PutStr("gen_ai.response.id", "chatcmpl-"+hex64(p.rnd.Uint64()))
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutDouble("gen_ai.request.top_p", 0.9)
		a.PutInt("gen_ai.request.max_tokens", 1024)
		a.PutInt("gen_ai.usage.input_tokens", in)
		a.PutInt("gen_ai.usage.output_tokens", out)
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutStr("gen_ai.conversation.id", "conv-"+hex64(seq/4))
		a.PutStr("user.id", "user-"+hex64(uint64(p.rnd.IntN(5000))))
		a.PutStr("server.address", "api.example-llm.com")
		a.PutInt("server.port", 443)
		a.PutStr("gen_ai.system_instructions", pool.systems[p.rnd.IntN(len(pool.systems))])
		// ~0.7–1.3 KB of conversation in, ~0.2–0.6 KB out.
		a.PutStr("gen_ai.input.messages", p.messages(inputRoles, []int{1 + p.rnd.IntN(2), 1 + p.rnd.IntN(2), 2 + p.rnd.IntN(2)}, ""))
		a.PutStr("gen_ai.output.messages", p.messages(outputRoles, []int{1 + p.rnd.IntN(2)}, "stop"))
	}
	p.generated.Add(uint64(p.perBatch))
	return td, false
}

func (*genAIProvider) GenerateMetrics() (pmetric.Metrics, bool) { return pmetric.NewMetrics(), true }

func (*genAIProvider) GenerateLogs() (plog.Logs, bool) { return plog.NewLogs(), true }

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}
