package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"encoding/json"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

// openInferenceKinds maps openinference.span.kind to the record type and the
// normalised operation name (OpenInference semantic conventions, spec/semantic_conventions.md).
var openInferenceKinds = map[string]struct {
	typ record.Type
	op  string
}{
	"LLM":       {record.TypeInference, "chat"},
	"EMBEDDING": {record.TypeEmbedding, "embeddings"},
	"RETRIEVER": {record.TypeRetrieval, "retrieval"},
	"RERANKER":  {record.TypeRetrieval, "rerank"},
	"TOOL":      {record.TypeToolCall, "execute_tool"},
	"AGENT":     {record.TypeAgent, "invoke_agent"},
	"CHAIN":     {record.TypeWorkflow, "invoke_workflow"},
	"GUARDRAIL": {record.TypeGuardrail, "guardrail"},
	"EVALUATOR": {record.TypeEvaluation, "evaluate"},
	"PROMPT":    {record.TypeWorkflow, "prompt"},
}

// mapOpenInference reads the OpenInference attributes and returns the
// record type and the span kind (upper-cased). The span kind itself stays in
// Attributes, so the original kind remains visible.
func (b *builder) mapOpenInference() (record.Type, string) {
	r := &b.rec
	kindValue, _ := b.attrs.Get("openinference.span.kind")
	kind := strings.ToUpper(b.text(kindValue, true))
	k, known := openInferenceKinds[kind]
	if !known {
		b.flag(record.FlagUnknownOperation)
		k.typ, k.op = record.TypeInference, strings.ToLower(kind)
	}
	if kind == "LLM" && !b.hasPrefix("llm.input_messages.") && b.hasPrefix("llm.prompts") {
		k.op = "text_completion"
	}
	r.Operation = k.op

	// Provider: the hosting provider (llm.provider: azure for Azure OpenAI),
	// else the model vendor (llm.system), else LangChain's ls_provider in
	// metadata, which LangChain spans carry instead of either.
	b.takeProvider(normalizeProvider, "llm.provider", "llm.system")
	meta := b.metadata()
	if r.Provider == "" {
		if p, _ := meta["ls_provider"].(string); p != "" {
			r.Provider = normalizeProvider(b.clean(p))
		}
	}
	// Models: llm.model_name is the model the provider reported, a dated
	// snapshot such as gpt-4.1-2025-04-14 (the spec: it equals
	// llm.response.model_name when known); the requested one is
	// llm.request.model_name, else the model of the invocation parameters,
	// else LangChain's ls_model_name.
	b.take(&r.ResponseModel, "llm.response.model_name", "llm.model_name")
	b.take(&r.RequestModel, "llm.request.model_name", "embedding.model_name", "reranker.model_name")
	r.InputTokens = b.count("llm.token_count.prompt", "input_tokens")
	r.OutputTokens = b.count("llm.token_count.completion", "output_tokens")
	for _, key := range []string{"llm.invocation_parameters", "embedding.invocation_parameters"} {
		if v, ok := b.jsonValue(key); ok {
			b.mergeParams(key, "invocation_parameters", v)
			if m, ok := v.(map[string]any); ok {
				for _, name := range []string{"model", "model_name"} {
					if s, ok := m[name].(string); ok {
						set(&r.RequestModel, b.clean(s))
					}
				}
			}
		}
	}
	if s, ok := meta["ls_model_name"].(string); ok {
		set(&r.RequestModel, b.clean(s))
	}
	if fr, ok := b.str("llm.finish_reason"); ok && fr != "" {
		r.FinishReasons = []string{fr}
	}
	b.param("top_n", "reranker.top_k")

	// Content. Where a span carries both the parsed messages and the raw
	// input.value / output.value, both are kept as parts of the same field.
	in, out := capture.Input, capture.Output
	if k.typ == record.TypeToolCall {
		in, out = capture.ToolArguments, capture.ToolResult
	}
	b.addContent(capture.Input, "llm.input_messages", b.unflatten("llm.input_messages.", nil))
	outMessages := b.unflatten("llm.output_messages.", nil)
	b.addContent(capture.Output, "llm.output_messages", outMessages)
	if len(r.FinishReasons) == 0 {
		r.FinishReasons = messageFinishReasons(outMessages)
	}
	b.addContent(capture.Output, "llm.choices", b.unflatten("llm.choices.", nil))
	b.addContent(capture.Input, "llm.prompts", b.unflatten("llm.prompts.", nil))
	b.contentAttr(capture.Input, "llm.prompts")
	b.contentJSON(capture.Input, "llm.prompt_template.variables")
	b.contentAttr(capture.SystemInstructions, "llm.prompt_template.template")
	b.contentAttr(in, "input.value")
	b.contentAttr(out, "output.value")
	b.contentAttr(capture.Input, "reranker.query")
	b.addContent(capture.RetrievalDocuments, "retrieval.documents", b.unflatten("retrieval.documents.", nil))
	b.addContent(capture.RetrievalDocuments, "reranker.input_documents", b.unflatten("reranker.input_documents.", nil))
	b.addContent(capture.RetrievalDocuments, "reranker.output_documents", b.unflatten("reranker.output_documents.", nil))
	// Embedding vectors are dropped: they are derived from the text (and can
	// be inverted), large, and the text is captured under the policy.
	b.addContent(capture.Input, "embedding.embeddings", b.unflatten("embedding.embeddings.", func(rest string) bool {
		return strings.HasSuffix(rest, ".embedding.vector")
	}))
	b.contentAttr(capture.ToolArguments, "tool_call.function.arguments")

	b.take(&r.ToolName, "tool.name", "tool_call.function.name")
	b.take(&r.ToolCallID, "tool_call.id")
	b.take(&r.AgentName, "agent.name", "graph.node.id") // graph.node.id: the LangGraph node, e.g. "agent"
	return k.typ, kind
}

// metadata returns the span's OpenInference metadata (a JSON object string)
// parsed, or nil. It is only read: metadata stays in Attributes, under the
// unmapped policy.
func (b *builder) metadata() map[string]any {
	v, ok := b.attrs.Get("metadata")
	if !ok {
		return nil
	}
	switch v.Type() {
	case pcommon.ValueTypeMap:
		m, _ := b.raw(v).(map[string]any)
		return m
	case pcommon.ValueTypeStr:
		var m map[string]any
		if json.Unmarshal([]byte(v.Str()), &m) == nil {
			return m
		}
	}
	return nil
}

// messageFinishReasons returns the finish reasons of unflattened
// llm.output_messages ([{"message":{"finish_reason":...}}]), which some
// instrumentations set per message although the spec names only
// llm.finish_reason.
func messageFinishReasons(messages any) []string {
	list, _ := messages.([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		msg, _ := m["message"].(map[string]any)
		if fr, ok := msg["finish_reason"].(string); ok && fr != "" {
			out = append(out, fr)
		}
	}
	return out
}
