package mlgovernanceconnector // import "github.com/govaudit/govaudit/connector/mlgovernanceconnector"

import (
	"strings"

	"github.com/govaudit/govaudit/connector/mlgovernanceconnector/internal/capture"
	"github.com/govaudit/govaudit/internal/record"
)

// genAIOperationTypes maps gen_ai.operation.name values to record types
// (OpenTelemetry GenAI semantic conventions, gen-ai-spans.md and
// gen-ai-agent-spans.md).
var genAIOperationTypes = map[string]record.Type{
	"chat":             record.TypeInference,
	"text_completion":  record.TypeInference,
	"generate_content": record.TypeInference,
	"embeddings":       record.TypeEmbedding,
	"retrieval":        record.TypeRetrieval,
	"execute_tool":     record.TypeToolCall,
	"create_agent":     record.TypeAgent,
	"invoke_agent":     record.TypeAgent,
	"invoke_workflow":  record.TypeWorkflow,
}

// isGenAI reports whether attrs carry an OpenTelemetry GenAI operation.
func isGenAI(b *builder) bool {
	for _, k := range []string{"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model", "gen_ai.response.model"} {
		if _, ok := b.attrs.Get(k); ok {
			return true
		}
	}
	return false
}

// mapGenAI reads the OpenTelemetry GenAI attributes, current and deprecated
// names, into empty record fields. It runs after the convention-specific
// mappers, since OpenLLMetry and OpenInference also emit some gen_ai.* names.
// It returns the record type implied by gen_ai.operation.name, or "".
func (b *builder) mapGenAI() record.Type {
	r := &b.rec
	var typ record.Type
	if op, ok := b.str("gen_ai.operation.name"); ok && op != "" {
		if r.Operation == "" {
			r.Operation = op
		}
		var known bool
		if typ, known = genAIOperationTypes[op]; !known {
			b.flag(record.FlagUnknownOperation)
			typ = record.TypeInference
		}
	}
	b.takeProvider(normalizeProvider, "gen_ai.provider.name", "gen_ai.system") // gen_ai.system: deprecated in semconv 1.37
	b.take(&r.RequestModel, "gen_ai.request.model")
	b.take(&r.ResponseModel, "gen_ai.response.model")

	if r.InputTokens == nil {
		r.InputTokens = b.count("gen_ai.usage.input_tokens", "input_tokens")
	}
	if r.InputTokens == nil {
		r.InputTokens = b.count("gen_ai.usage.prompt_tokens", "input_tokens") // deprecated
	}
	if r.OutputTokens == nil {
		r.OutputTokens = b.count("gen_ai.usage.output_tokens", "output_tokens")
	}
	if r.OutputTokens == nil {
		r.OutputTokens = b.count("gen_ai.usage.completion_tokens", "output_tokens") // deprecated
	}
	if len(r.FinishReasons) == 0 {
		r.FinishReasons = b.stringList("gen_ai.response.finish_reasons")
	}
	if len(r.FinishReasons) == 0 {
		// @anthropic-ai/sdk's own span (1.x) records the stop reason only here.
		r.FinishReasons = b.stringList("anthropic.message.stop_reason")
	}

	// Every gen_ai.request.* but the model is an invocation parameter:
	// temperature, top_p, top_k, max_tokens, frequency_penalty,
	// presence_penalty, stop_sequences, seed, choice.count, encoding_formats.
	for _, k := range b.keysWithPrefix("gen_ai.request.") {
		if k != "gen_ai.request.model" {
			b.param(strings.ReplaceAll(strings.TrimPrefix(k, "gen_ai.request."), ".", "_"), k)
		}
	}
	b.param("output_type", "gen_ai.output.type")

	b.contentJSON(capture.Input, "gen_ai.input.messages")
	b.contentJSON(capture.Output, "gen_ai.output.messages")
	b.contentJSON(capture.SystemInstructions, "gen_ai.system_instructions")
	b.contentAttr(capture.Input, "gen_ai.prompt")      // deprecated
	b.contentAttr(capture.Output, "gen_ai.completion") // deprecated
	b.contentAttr(capture.Input, "gen_ai.retrieval.query.text")
	b.contentJSON(capture.RetrievalDocuments, "gen_ai.retrieval.documents")
	b.contentAttr(capture.ToolArguments, "gen_ai.tool.call.arguments")
	b.contentAttr(capture.ToolResult, "gen_ai.tool.call.result")

	b.take(&r.ToolName, "gen_ai.tool.name")
	b.take(&r.ToolCallID, "gen_ai.tool.call.id")
	b.take(&r.AgentID, "gen_ai.agent.id")
	b.take(&r.AgentName, "gen_ai.agent.name")
	b.take(&r.ConversationID, "gen_ai.conversation.id")
	b.take(&r.DataSourceID, "gen_ai.data_source.id")
	b.take(&r.ErrorType, "error.type")
	return typ
}

// keysWithPrefix returns the unused attribute keys starting with prefix.
func (b *builder) keysWithPrefix(prefix string) []string {
	var keys []string
	for k := range b.attrs.All() {
		if strings.HasPrefix(k, prefix) && !b.used[k] {
			keys = append(keys, k)
		}
	}
	return keys
}

// takeProvider sets the record's provider, when empty, from the first
// present key, normalised by norm (normalizeProvider, vercelProvider).
// When normalising changed more than the case, the attribute stays in
// Attributes, so the value as sent is kept beside the normalised one.
func (b *builder) takeProvider(norm func(string) string, keys ...string) {
	for _, k := range keys {
		if b.rec.Provider != "" {
			return
		}
		s, ok := b.str(k)
		if !ok || s == "" {
			continue
		}
		b.rec.Provider = norm(s)
		if b.rec.Provider != strings.ToLower(s) {
			b.used[k] = false
		}
	}
}
