package mlgovernanceconnector

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/metadata"
	"github.com/govaudit/govaudit/internal/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// goldenConfig shows every capture mode in the golden files: inputs and tool
// results redacted, outputs and tool arguments kept, the rest digested.
func goldenConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Capture.DigestKey.Value = testKey
	cfg.Capture.Input = capture.ModeRedact
	cfg.Capture.Output = capture.ModeKeep
	cfg.Capture.ToolArguments = capture.ModeKeep
	cfg.Capture.ToolResult = capture.ModeRedact
	return cfg
}

// keyedDefaultConfig is the default policy (digest everything) with a key.
func keyedDefaultConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Capture.DigestKey.Value = testKey
	return cfg
}

// testPipeline is one connector instance with both sides built (not "pipeline":
// the generated lifecycle test imports the collector's pipeline package).
type testPipeline struct {
	traces connector.Traces
	logs   connector.Logs
	sink   *consumertest.LogsSink
}

// newPipeline creates both sides of one component through the factory, as
// the collector does: the same *Config for traces -> logs and logs -> logs.
func newPipeline(t *testing.T, cfg *Config) *testPipeline {
	t.Helper()
	f := NewFactory()
	sink := new(consumertest.LogsSink)
	set := connectortest.NewNopSettings(metadata.Type)
	tc, err := f.CreateTracesToLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	lc, err := f.CreateLogsToLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, tc.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, lc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		assert.NoError(t, tc.Shutdown(context.Background()))
		assert.NoError(t, lc.Shutdown(context.Background()))
	})
	return &testPipeline{traces: tc, logs: lc, sink: sink}
}

func readTraces(t testing.TB, name string) ptrace.Traces {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
	require.NoError(t, err)
	return td
}

func readLogs(t testing.TB, name string) plog.Logs {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(b)
	require.NoError(t, err)
	return ld
}

// records decodes every record in the sink, checks that each is valid and
// that the log record's own fields agree, and clears the fields that change
// on every run (record_id, observed_time).
//
// A "duplicate_of:<record_id>" flag is rewritten "duplicate_of:span:<span_id>"
// naming the span of the record it points to, so golden files stay stable.
func (p *testPipeline) records(t *testing.T) []record.Record {
	t.Helper()
	var out []record.Record
	spanOf := map[string]string{}
	defer func() {
		for i := range out {
			for j, f := range out[i].Flags {
				if id, ok := strings.CutPrefix(f, record.FlagDuplicateOf+":"); ok && spanOf[id] != "" {
					out[i].Flags[j] = record.FlagDuplicateOf + ":span:" + spanOf[id]
				}
			}
		}
	}()
	for _, ld := range p.sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				assert.Equal(t, metadata.ScopeName, sls.At(j).Scope().Name())
			}
		}
		for it, err := range record.DecodeLogs(ld) {
			require.NoError(t, err)
			r := it.Record
			assert.Equal(t, record.EventNameRecord, it.LogRecord.EventName())
			assert.NotEmpty(t, r.ID)
			assert.NotZero(t, r.ObservedTime)
			assert.Empty(t, r.Origin, "origin is auditsign's to fill")
			spanOf[r.ID] = r.SpanID
			r.ID, r.ObservedTime = "", 0
			out = append(out, r)
		}
	}
	return out
}

func checkGolden(t *testing.T, name string, recs []record.Record) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(recs))
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	if got := buf.String(); got != string(want) {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Fatalf("%s line %d:\nwant %s\ngot  %s\n(run go test -update and review the diff)", path, i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("%s: %d lines, got %d (run go test -update and review the diff)", path, len(wl), len(gl))
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		golden string
		traces string
		logs   string
	}{
		{golden: "genai.golden.json", traces: "genai_traces.json", logs: "genai_logs.json"},
		{golden: "genai_openai_captured.golden.json", traces: "genai_openai_captured_traces.json", logs: "genai_openai_captured_logs.json"},
		{golden: "openllmetry.golden.json", traces: "openllmetry_traces.json"},
		{golden: "openinference.golden.json", traces: "openinference_traces.json"},
		{golden: "classicml.golden.json", traces: "classicml_traces.json"},
		{golden: "vercel.golden.json", traces: "vercel_traces.json"},
		{golden: "vercel_captured.golden.json", traces: "vercel_captured_traces.json"},
		{golden: "anthropic.golden.json", traces: "anthropic_traces.json"},
		{golden: "anthropic_captured.golden.json", traces: "anthropic_captured_traces.json"},
		{golden: "anthropic_native_captured.golden.json", traces: "anthropic_native_captured_traces.json"},
		{golden: "openinference_params.golden.json", traces: "openinference_params_traces.json"},
		{golden: "duplicate.golden.json", traces: "duplicate_traces.json"},
		{golden: "openinference_langchain.golden.json", traces: "openinference_langchain_traces.json"},
		{golden: "openinference_langchain_captured.golden.json", traces: "openinference_langchain_captured_traces.json"},
		{golden: "openinference_agents_captured.golden.json", traces: "openinference_agents_captured_traces.json"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			p := newPipeline(t, goldenConfig())
			td := readTraces(t, tt.traces)
			td.MarkReadOnly() // MutatesData is false: the connector must not write to its input
			require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
			if tt.logs != "" {
				ld := readLogs(t, tt.logs)
				ld.MarkReadOnly()
				require.NoError(t, p.logs.ConsumeLogs(context.Background(), ld))
			}
			checkGolden(t, tt.golden, p.records(t))
		})
	}
}

// TestConventions checks the headline fields of each convention directly,
// so a wrong golden file cannot hide a mapping regression.
func TestConventions(t *testing.T) {
	p := newPipeline(t, goldenConfig())
	for _, f := range []string{"genai_traces.json", "openllmetry_traces.json", "openinference_traces.json", "classicml_traces.json"} {
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, f)))
	}
	bySpan := map[string]record.Record{}
	for _, r := range p.records(t) {
		bySpan[r.SpanID] = r
	}
	i64 := func(n int64) *int64 { return &n }

	chat := bySpan["eee19b7ec3c1b175"]
	assert.Equal(t, record.TypeInference, chat.Type)
	assert.Equal(t, record.SourceOTelGenAI, chat.SourceConvention)
	assert.Equal(t, "chat", chat.Operation)
	assert.Equal(t, "openai", chat.Provider)
	assert.Equal(t, "gpt-4o-mini", chat.RequestModel)
	assert.Equal(t, "gpt-4o-mini-2024-07-18", chat.ResponseModel)
	assert.Equal(t, i64(42), chat.InputTokens)
	assert.Equal(t, i64(17), chat.OutputTokens)
	assert.Equal(t, []string{"stop"}, chat.FinishReasons)
	assert.Equal(t, `{"max_tokens":256,"temperature":0.2,"top_p":1}`, chat.Parameters)
	assert.Equal(t, "u-1842", chat.UserID, "user.id from the parent HTTP span")
	assert.Equal(t, "support-bot", chat.ServiceName)
	assert.Equal(t, "prod", chat.DeploymentEnvironment)

	assert.Equal(t, record.TypeEmbedding, bySpan["eee19b7ec3c1b176"].Type)
	tool := bySpan["eee19b7ec3c1b177"]
	assert.Equal(t, record.TypeToolCall, tool.Type)
	assert.Equal(t, "lookup_order", tool.ToolName)
	assert.Equal(t, `{"order_id": "A-1001"}`, tool.ToolArguments)
	assert.Equal(t, "u-1842", tool.UserID, "grandparent attribution through the agent span")
	assert.Equal(t, record.TypeAgent, bySpan["eee19b7ec3c1b178"].Type)
	legacy := bySpan["eee19b7ec3c1b179"]
	assert.Equal(t, i64(5), legacy.InputTokens, "deprecated gen_ai.usage.prompt_tokens")
	assert.Equal(t, i64(7), legacy.OutputTokens)
	assert.Equal(t, "error", legacy.StatusCode)
	assert.Equal(t, "Hi Carol", legacy.Output, "deprecated gen_ai.content.completion span event")
	assert.Contains(t, legacy.Input, "[REDACTED:email]")

	llm := bySpan["b7ad6b7169203332"]
	assert.Equal(t, record.SourceOpenLLMetry, llm.SourceConvention)
	assert.Equal(t, "openai", llm.Provider, "OpenLLMetry's OpenAI, lower-cased")
	assert.Equal(t, i64(30), llm.InputTokens)
	assert.Equal(t, "u-77", llm.UserID)
	assert.Equal(t, "acme", llm.TenantID, "tenant from the workflow parent")
	assert.Equal(t, `[{"content":"Your refund was issued on 2026-01-02.","finish_reason":"stop","role":"assistant"}]`, llm.Output)
	assert.Equal(t, []string{"stop"}, llm.FinishReasons)
	assert.Equal(t, `{"max_tokens":512,"stream":false,"temperature":0.7}`, llm.Parameters)
	assert.Equal(t, record.TypeWorkflow, bySpan["b7ad6b7169203331"].Type)
	assert.Equal(t, "lookup_refund", bySpan["b7ad6b7169203333"].ToolName)

	oi := bySpan["00f067aa0ba902b9"]
	assert.Equal(t, record.SourceOpenInference, oi.SourceConvention)
	assert.Equal(t, record.TypeInference, oi.Type)
	assert.Equal(t, "gpt-4o-mini", oi.RequestModel, "from llm.invocation_parameters.model")
	assert.Equal(t, "gpt-4o-mini-2024-07-18", oi.ResponseModel, "llm.model_name is the model the provider reported")
	assert.Equal(t, i64(55), oi.InputTokens)
	assert.Equal(t, `{"max_tokens":200,"model":"gpt-4o-mini","temperature":0.1}`, oi.Parameters)
	assert.Equal(t, "u-9", oi.UserID)
	assert.Equal(t, "s-9", oi.SessionID)
	assert.NotContains(t, oi.Input, "4111 1111 1111 1111")
	assert.Equal(t, record.TypeRetrieval, bySpan["00f067aa0ba902b8"].Type)
	assert.Equal(t, record.TypeToolCall, bySpan["00f067aa0ba902ba"].Type)
	emb := bySpan["00f067aa0ba902bb"]
	assert.Equal(t, record.TypeEmbedding, emb.Type)
	assert.NotContains(t, emb.Attributes+emb.Input, "0.3", "embedding vectors are dropped")

	ml := bySpan["2222222222222222"]
	assert.Equal(t, record.SourceClassicML, ml.SourceConvention)
	assert.Equal(t, "credit-risk", ml.RequestModel)
	assert.Equal(t, "7", ml.ModelVersion)
	assert.Equal(t, "models:/credit-risk/7", ml.ModelRegistryURI)
	assert.Equal(t, "approve", ml.Prediction)
	require.NotNil(t, ml.Score)
	assert.InDelta(t, 0.87, *ml.Score, 0)
	assert.Equal(t, "loans-2025-12", ml.DatasetVersion)
	assert.Equal(t, `{"threshold":0.5}`, ml.Parameters)
	assert.Equal(t, "analyst-17", ml.UserID)
	assert.Equal(t, "bank-eu", ml.TenantID)

	_, httpSpan := bySpan["eee19b7ec3c1b174"]
	assert.False(t, httpSpan, "the HTTP span has no ML meaning")
}

func TestEvents(t *testing.T) {
	p := newPipeline(t, goldenConfig())
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, "genai_traces.json")))
	p.sink.Reset()
	require.NoError(t, p.logs.ConsumeLogs(context.Background(), readLogs(t, "genai_logs.json")))
	byEvent := map[string]record.Record{}
	for _, r := range p.records(t) {
		byEvent[r.EventName] = r
	}
	require.Len(t, byEvent, 6, "six GenAI events; the access log is skipped")
	for name, r := range byEvent {
		assert.Equal(t, "5b8efff798038103d269b633813fc60c", r.TraceID, name)
		assert.Equal(t, "u-1842", r.UserID, "%s: attributed through the trace cache", name)
	}
	user := byEvent["gen_ai.user.message"]
	assert.Equal(t, record.TypeContent, user.Type)
	assert.Equal(t, "eee19b7ec3c1b175", user.SpanID)
	assert.Equal(t, `{"content":"My email is [REDACTED:email], where is order A-1001?"}`, user.Input)
	assert.NotEmpty(t, user.InputDigest)
	choice := byEvent["gen_ai.choice"]
	assert.Equal(t, []string{"stop"}, choice.FinishReasons)
	assert.Contains(t, choice.Output, "Your order A-1001 has shipped.")
	toolMsg := byEvent["gen_ai.tool.message"]
	assert.Equal(t, "call_9x", toolMsg.ToolCallID, "event named by the event.name attribute")
	eval := byEvent["gen_ai.evaluation.result"]
	assert.Equal(t, record.TypeEvaluation, eval.Type)
	require.NotNil(t, eval.Score)
	assert.InDelta(t, 0.92, *eval.Score, 0)
	assert.Equal(t, "relevant", eval.Prediction)
	assert.Equal(t, "chatcmpl-AbC123", eval.Reference)
	details := byEvent["gen_ai.client.inference.operation.details"]
	assert.Equal(t, record.TypeContent, details.Type)
	assert.Equal(t, "gpt-4o", details.RequestModel)
	assert.Equal(t, `{"seed":7}`, details.Parameters)
	assert.Contains(t, details.Input, `"content":"I am [REDACTED:email]"`, "structured gen_ai.input.messages")
}

// TestDefaultPolicyHidesEmail is the acceptance check: under the
// default policy no raw e-mail address leaves the connector, in any field.
func TestDefaultPolicyHidesEmail(t *testing.T) {
	p := newPipeline(t, keyedDefaultConfig())
	traces, err := filepath.Glob(filepath.Join("testdata", "*_traces.json"))
	require.NoError(t, err)
	for _, f := range traces {
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), readTraces(t, filepath.Base(f))))
	}
	require.NoError(t, p.logs.ConsumeLogs(context.Background(), readLogs(t, "genai_logs.json")))
	var all bytes.Buffer
	for _, ld := range p.sink.AllLogs() {
		b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		require.NoError(t, err)
		all.Write(b)
	}
	for _, addr := range []string{"alice@example.com", "bob@example.org", "carol@example.net", "dave@example.com", "4111 1111 1111 1111", "support@bank.example", "jane@example.com"} {
		assert.NotContains(t, all.String(), addr)
	}
	recs := p.records(t)
	digests := 0
	for _, r := range recs {
		assert.Empty(t, r.Input+r.Output+r.SystemInstructions+r.ToolArguments+r.ToolResult+r.RetrievalDocuments)
		if r.InputDigest != "" {
			digests++
			assert.True(t, strings.HasPrefix(r.InputDigest, capture.DigestPrefix))
			assert.Equal(t, "fp:c3e8b8fca6e48a8d", r.DigestKeyID)
		}
	}
	assert.Greater(t, digests, 10)
}

// TestCaptureModes runs one record through each mode and checks the stored
// fields against the policy's own digest of the same text.
func TestCaptureModes(t *testing.T) {
	const prompt = "I am alice@example.com"
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID([16]byte{1})
	s.SetSpanID([8]byte{2})
	s.Attributes().PutStr("gen_ai.operation.name", "chat")
	s.Attributes().PutStr("gen_ai.input.messages", "not json: "+prompt)

	policy, err := capture.New(keyedDefaultConfig().Capture)
	require.NoError(t, err)
	wantDigest := policy.Digest("not json: " + prompt)

	tests := []struct {
		mode      capture.Mode
		input     string
		digest    string
		wantFlags []string
	}{
		{capture.ModeKeep, "not json: " + prompt, wantDigest, []string{record.FlagMalformedJSON}},
		{capture.ModeDigest, "", wantDigest, []string{record.FlagMalformedJSON}},
		{capture.ModeRedact, "not json: I am [REDACTED:email]", wantDigest, []string{record.FlagMalformedJSON, record.FlagRedacted}},
		{capture.ModeDrop, "", "", []string{record.FlagDropped, record.FlagMalformedJSON}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			cfg := keyedDefaultConfig()
			cfg.Capture.Input = tt.mode
			p := newPipeline(t, cfg)
			require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
			recs := p.records(t)
			require.Len(t, recs, 1)
			assert.Equal(t, tt.input, recs[0].Input)
			assert.Equal(t, tt.digest, recs[0].InputDigest)
			assert.Equal(t, tt.wantFlags, recs[0].Flags)
		})
	}
}

func TestMaxContentBytes(t *testing.T) {
	cfg := keyedDefaultConfig()
	cfg.Capture.Output = capture.ModeKeep
	cfg.Capture.MaxContentBytes = 10
	p := newPipeline(t, cfg)
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.Attributes().PutStr("gen_ai.operation.name", "chat")
	s.Attributes().PutStr("gen_ai.completion", strings.Repeat("x", 100))
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	recs := p.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "xxxxxxxxxx", recs[0].Output)
	assert.Equal(t, []string{record.FlagTruncated, "truncated:output"}, recs[0].Flags)
}
