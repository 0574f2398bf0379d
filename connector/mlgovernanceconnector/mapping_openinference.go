package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"strings"

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

// mapOpenInference reads the OpenInference attributes. The span kind itself
// stays in Attributes, so the original kind remains visible.
func (b *builder) mapOpenInference() record.Type {
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

	var provider string
	b.take(&provider, "llm.provider", "llm.system")
	r.Provider = strings.ToLower(provider)
	b.take(&r.RequestModel, "llm.model_name", "embedding.model_name", "reranker.model_name")
	r.InputTokens = b.count("llm.token_count.prompt", "input_tokens")
	r.OutputTokens = b.count("llm.token_count.completion", "output_tokens")
	if v, ok := b.jsonValue("llm.invocation_parameters"); ok {
		b.mergeParams("llm.invocation_parameters", "invocation_parameters", v)
	}
	b.param("top_n", "reranker.top_k")

	// Content. Where a span carries both the parsed messages and the raw
	// input.value / output.value, both are kept as parts of the same field.
	in, out := capture.Input, capture.Output
	if k.typ == record.TypeToolCall {
		in, out = capture.ToolArguments, capture.ToolResult
	}
	b.addContent(capture.Input, "llm.input_messages", b.unflatten("llm.input_messages.", nil))
	b.addContent(capture.Output, "llm.output_messages", b.unflatten("llm.output_messages.", nil))
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
	b.take(&r.AgentName, "agent.name")
	return k.typ
}
