package mlgovernanceconnector

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/govaudit/govaudit/internal/record"
)

func TestNormalizeProvider(t *testing.T) {
	tests := map[string]string{
		"openai": "openai", "OpenAI": "openai", "Anthropic": "anthropic",
		"aws.bedrock": "aws.bedrock", "amazon": "aws.bedrock", "bedrock": "aws.bedrock",
		"azure": "azure.ai.openai", "az.ai.inference": "azure.ai.inference",
		"google": "gcp.gen_ai", "google_genai": "gcp.gemini", "vertexai": "gcp.vertex_ai",
		"mistralai": "mistral_ai", "xai": "x_ai", "my-gateway": "my-gateway",
		"openai.responses": "openai.responses", // only the Vercel AI SDK's ids are split at the dot
	}
	for in, want := range tests {
		assert.Equal(t, want, normalizeProvider(in), in)
	}
}

func TestVercelProvider(t *testing.T) {
	tests := map[string]string{
		"openai.responses": "openai", "openai.chat": "openai", "openai.embedding": "openai",
		"anthropic.messages": "anthropic", "mistral.chat": "mistral_ai", "amazon-bedrock": "aws.bedrock",
		"azure.chat": "azure.ai.openai", "azure.responses": "azure.ai.openai",
		"google.generative-ai": "gcp.gemini", "google.vertex.chat": "gcp.vertex_ai",
		"groq.chat": "groq", "xai.chat": "x_ai", "deepseek.chat": "deepseek", "ollama": "ollama",
	}
	for in, want := range tests {
		assert.Equal(t, want, vercelProvider(in), in)
	}
}

func TestNormalizeFinishReasons(t *testing.T) {
	in := []string{"stop", "tool-calls", "content-filter", "length", "error", "other", "end_turn", "tool_use", "max_tokens", "STOP", "SAFETY", "unknown", "tool_calls"}
	want := []string{"stop", "tool_calls", "content_filter", "length", "error", "other", "stop", "tool_calls", "length", "stop", "content_filter", "unknown", "tool_calls"}
	assert.Equal(t, want, normalizeFinishReasons(in))
}

// TestVercel checks the headline fields of the AI SDK fixture directly.
func TestVercel(t *testing.T) {
	p := newPipeline(t, goldenConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "vercel_traces.json")))
	recs := p.records(t)
	byName := map[string]record.Record{}
	for _, r := range recs {
		assert.Equal(t, record.SourceVercelAI, r.SourceConvention)
		assert.Equal(t, "user-vercel-1", r.UserID, r.EventName)
		assert.Equal(t, "sess-vercel-1", r.SessionID, r.EventName)
		byName[r.EventName] = r
	}
	wrapper := byName["ai.generateText"]
	assert.Equal(t, record.TypeWorkflow, wrapper.Type, "the wrapper is not a second model decision")
	assert.Empty(t, wrapper.Provider)
	assert.Nil(t, wrapper.InputTokens, "the wrapper's usage sums its steps")

	gen := byName["ai.generateText.doGenerate"]
	assert.Equal(t, record.TypeInference, gen.Type)
	assert.Equal(t, "chat", gen.Operation)
	assert.Equal(t, "openai", gen.Provider)
	assert.Contains(t, gen.Attributes, `"ai.model.provider":"openai.responses"`, "the raw provider id is kept")
	assert.Equal(t, "gpt-4.1", gen.RequestModel)
	assert.Equal(t, "gpt-4.1-2025-04-14", gen.ResponseModel)
	assert.Equal(t, []string{"tool_calls"}, gen.FinishReasons)

	stream := byName["ai.streamText.doStream"]
	assert.Equal(t, "anthropic", stream.Provider)

	tool := byName["ai.toolCall"]
	assert.Equal(t, record.TypeToolCall, tool.Type)
	assert.Equal(t, "refund", tool.ToolName)
	assert.Equal(t, "call_v1", tool.ToolCallID)
	assert.NotEmpty(t, tool.ToolArgumentsDigest)
	assert.NotEmpty(t, tool.ToolResultDigest)

	emb := byName["ai.embed.doEmbed"]
	assert.Equal(t, record.TypeEmbedding, emb.Type)
	assert.Equal(t, "embeddings", emb.Operation)
	assert.Equal(t, "openai", emb.Provider)

	var decisions int
	for _, r := range recs {
		if r.Type == record.TypeInference {
			decisions++
		}
	}
	assert.Equal(t, 2, decisions, "one per provider call")
}

// TestOpenInferenceSpanKinds: the default leaves out CHAIN (LangChain's
// prompt templates, output parsers, sequences); the list is configurable.
func TestOpenInferenceSpanKinds(t *testing.T) {
	names := func(cfg *Config) []string {
		p := newPipeline(t, cfg)
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "openinference_langchain_traces.json")))
		var out []string
		for _, r := range p.records(t) {
			out = append(out, string(r.Type)+":"+r.EventName)
		}
		return out
	}
	assert.Equal(t, []string{"inference:ChatOpenAI", "agent:Support agent", "inference:Support agent", "tool_call:refund"}, names(goldenConfig()))

	cfg := goldenConfig()
	cfg.OpenInferenceSpanKinds = []string{"LLM", "CHAIN"}
	assert.Equal(t, []string{"workflow:RunnableSequence", "workflow:ChatPromptTemplate", "inference:ChatOpenAI", "workflow:StrOutputParser",
		"inference:Support agent", "workflow:Handoff"}, names(cfg))

	// An excluded span still attributes the spans below it.
	p := newPipeline(t, goldenConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "openinference_langchain_traces.json")))
	for _, r := range p.records(t) {
		if r.EventName == "ChatOpenAI" {
			assert.Equal(t, "sess-lc", r.SessionID, "from the excluded root CHAIN")
			assert.Equal(t, "openai", r.Provider, "from metadata ls_provider")
			assert.Equal(t, "gpt-4.1-mini", r.RequestModel)
			assert.Equal(t, "gpt-4.1-mini-2025-04-14", r.ResponseModel)
		}
	}
}

// TestVercelCaptured reads spans captured from the AI SDK itself
// (testdata/capture): one record per provider call, token sums equal to what
// the (fake) provider reported, the tool call, attribution on every record.
func TestVercelCaptured(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "vercel_captured_traces.json")))
	var calls, tools int
	var in, out int64
	providers := map[string]int{}
	for _, r := range p.records(t) {
		assert.Equal(t, "user-vercel-1", r.UserID, r.EventName)
		assert.Equal(t, "sess-vercel-1", r.SessionID, r.EventName)
		switch r.Type {
		case record.TypeInference, record.TypeEmbedding:
			calls++
			providers[r.Provider]++
			if r.InputTokens != nil {
				in += *r.InputTokens
			}
			if r.OutputTokens != nil {
				out += *r.OutputTokens
			}
		case record.TypeToolCall:
			tools++
			assert.Equal(t, "refund", r.ToolName)
			assert.Equal(t, "call_refund_1", r.ToolCallID)
		}
	}
	assert.Equal(t, 6, calls, "six provider calls")
	assert.Equal(t, 1, tools)
	assert.Equal(t, map[string]int{"openai": 5, "anthropic": 1}, providers)
	assert.Equal(t, int64(61+95+21+33+20+8), in)
	assert.Equal(t, int64(19+14+5+9+7), out)
}

// TestLangChainCaptured reads spans captured from LangChain JS under
// OpenInference (testdata/capture): a prompt template | model | parser
// sequence is one decision, with the provider only in metadata.ls_provider.
func TestLangChainCaptured(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "openinference_langchain_captured_traces.json")))
	recs := p.records(t)
	require.Len(t, recs, 1, "RunnableSequence and StrOutputParser (CHAIN) and ChatPromptTemplate (PROMPT) are not decisions")
	r := recs[0]
	assert.Equal(t, record.TypeInference, r.Type)
	assert.Equal(t, "ChatOpenAI", r.EventName)
	assert.Equal(t, "openai", r.Provider, "from metadata ls_provider")
	assert.Equal(t, "gpt-4.1-mini", r.RequestModel)
	assert.Equal(t, []string{"stop"}, r.FinishReasons)
	assert.Equal(t, "user-lc", r.UserID)
	assert.Equal(t, "sess-lc", r.SessionID)
	require.NotNil(t, r.InputTokens)
	assert.Equal(t, int64(14), *r.InputTokens)
}

// TestOpenAIStreamCaptured reads spans and log events captured from the
// openai package under @opentelemetry/instrumentation-openai with
// captureMessageContent (testdata/capture): a streaming chat completion
// reports its usage in the last chunk, which the span carries; the prompt
// and the choice are log events (event.name attribute), attributed through
// their span and digested.
func TestOpenAIStreamCaptured(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "genai_openai_captured_traces.json")))
	require.NoError(t, p.logs.ConsumeLogs(context.Background(), readLogs(t, "genai_openai_captured_logs.json")))
	recs := p.records(t)
	require.Len(t, recs, 4)
	chat, emb := recs[0], recs[1]
	assert.Equal(t, record.TypeInference, chat.Type)
	assert.Equal(t, "openai", chat.Provider)
	assert.Equal(t, "gpt-4o-mini", chat.RequestModel)
	assert.Equal(t, "gpt-4o-mini-2024-07-18", chat.ResponseModel)
	assert.Equal(t, []string{"stop"}, chat.FinishReasons)
	require.NotNil(t, chat.InputTokens)
	assert.Equal(t, int64(42), *chat.InputTokens)
	assert.Equal(t, int64(17), *chat.OutputTokens)
	assert.Equal(t, "u-1842", chat.UserID)
	assert.Equal(t, "s-77", chat.SessionID)
	assert.Equal(t, record.TypeEmbedding, emb.Type)
	assert.Equal(t, int64(6), *emb.InputTokens)
	for _, r := range recs[2:] {
		assert.Equal(t, record.TypeContent, r.Type)
		assert.Equal(t, chat.SpanID, r.SpanID, r.EventName)
		assert.Equal(t, "u-1842", r.UserID, r.EventName)
		assert.Equal(t, "s-77", r.SessionID, r.EventName)
		assert.Empty(t, r.Input+r.Output, "digest is the default")
		assert.NotEmpty(t, r.InputDigest+r.OutputDigest, r.EventName)
	}
	assert.Equal(t, "gen_ai.user.message", recs[2].EventName)
	assert.Equal(t, "gen_ai.choice", recs[3].EventName)
}

// TestOpenAIAgentsCaptured reads spans captured from the OpenAI Agents SDK
// under OpenInference (testdata/capture), one run in chat completions mode
// and one in the default Responses API mode: the agent's name is only in
// graph.node.id; the turn and workflow CHAIN spans are not decisions; user
// and session come from OpenInference's context attributes (setUser,
// setSession), which the instrumentation's tracer copies onto every span.
func TestOpenAIAgentsCaptured(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "openinference_agents_captured_traces.json")))
	type run struct {
		user     string
		kinds    []string
		models   []string
		in, out  int64
		toolArgs int
	}
	runs := map[string]*run{}
	for _, r := range p.records(t) {
		x := runs[r.SessionID]
		if x == nil {
			x = &run{user: r.UserID}
			runs[r.SessionID] = x
		}
		assert.Equal(t, x.user, r.UserID, "one user per session")
		x.kinds = append(x.kinds, string(r.Type)+":"+r.EventName)
		switch r.Type {
		case record.TypeInference:
			assert.Equal(t, "openai", r.Provider)
			x.models = append(x.models, r.RequestModel+"|"+r.ResponseModel)
			x.in += *r.InputTokens
			x.out += *r.OutputTokens
		case record.TypeToolCall:
			assert.Equal(t, "refund", r.ToolName)
			assert.NotEmpty(t, r.ToolArgumentsDigest)
			assert.NotEmpty(t, r.ToolResultDigest)
			x.toolArgs++
		}
		if r.EventName == "Support agent" {
			assert.Equal(t, "Support agent", r.AgentName, "from graph.node.id")
		}
	}
	require.Len(t, runs, 2, "two sessions, no record without one")

	chat := runs["sess-agents"]
	require.NotNil(t, chat)
	assert.Equal(t, "user-ag", chat.user)
	assert.ElementsMatch(t, []string{"inference:generation", "tool_call:refund", "inference:generation", "agent:Support agent", "agent:support"}, chat.kinds)
	assert.Equal(t, []string{"|gpt-4.1", "|gpt-4.1"}, chat.models, "chat completions mode: llm.model_name is the requested name")
	assert.Equal(t, int64(120+140), chat.in)
	assert.Equal(t, int64(18+12), chat.out)

	resp := runs["sess-agents-2"]
	require.NotNil(t, resp)
	assert.Equal(t, "user-ag-2", resp.user)
	assert.ElementsMatch(t, []string{"inference:response", "tool_call:refund", "inference:response", "agent:Support agent", "agent:support"}, resp.kinds)
	assert.Equal(t, []string{"gpt-4.1-2025-04-14|gpt-4.1-2025-04-14", "gpt-4.1-2025-04-14|gpt-4.1-2025-04-14"}, resp.models,
		"Responses mode: the dated snapshot, in llm.model_name and the invocation parameters")
	assert.Equal(t, int64(130+160), resp.in)
	assert.Equal(t, int64(21+11), resp.out)
}

// TestBuilderReleaseClears checks that a recycled used set carries nothing
// into the next builder: a stale key would silently keep an attribute out
// of the next record's Attributes.
func TestBuilderReleaseClears(t *testing.T) {
	attrs := pcommon.NewMap()
	attrs.PutStr("app.k", "v")
	for range 3 {
		b := newBuilder(attrs)
		require.Empty(t, b.used)
		b.used["app.k"] = true
		b.release()
		require.Nil(t, b.used)
	}
	b := newBuilder(attrs)
	defer b.release()
	assert.Contains(t, b.remaining(), "app.k", "an attribute a previous builder used is unused here")
}
